"""Input layer: vocab lookups, feature construction, tf.data pipelines, the Python iterator.

The names below are resolved on first use (PEP 562), so that the TensorFlow-free parts of this
package (``tf_lsrec.io.format``, ``tf_lsrec.io.validate``) can be imported by data preparation
without loading TensorFlow (about 0.6 GB of resident memory and a second of start-up).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "build_features": "tf_lsrec.io.features",
    "time_divisor": "tf_lsrec.io.features",
    "time_features": "tf_lsrec.io.features",
    "VocabFileError": "tf_lsrec.io.lookup",
    "VocabLookup": "tf_lsrec.io.lookup",
    "load_vocab": "tf_lsrec.io.lookup",
    "SequentialData": "tf_lsrec.io.pipeline",
    "FileStats": "tf_lsrec.io.validate",
    "SequentialFormatError": "tf_lsrec.io.validate",
    "validate_file": "tf_lsrec.io.validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tf_lsrec.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
