"""Input layer: vocab lookups, feature construction, tf.data pipelines, the Python iterator."""

from tf_lsrec.io.features import build_features, time_divisor, time_features
from tf_lsrec.io.lookup import VocabFileError, VocabLookup, load_vocab
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.io.validate import FileStats, SequentialFormatError, validate_file

__all__ = [
    "FileStats",
    "SequentialData",
    "SequentialFormatError",
    "VocabFileError",
    "VocabLookup",
    "build_features",
    "load_vocab",
    "time_divisor",
    "time_features",
    "validate_file",
]
