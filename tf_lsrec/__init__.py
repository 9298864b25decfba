"""tf_lsrec: long- and short-term interest sequential recommenders on TensorFlow 2 / Keras 2.

TensorFlow Recommenders needs Keras 2, so this package runs on ``tf_keras`` (legacy Keras).
``TF_USE_LEGACY_KERAS=1`` must be in the environment before TensorFlow is imported; importing
``tf_lsrec`` first sets it. If TensorFlow was already imported with Keras 3 bound to ``tf.keras``,
the import fails with instructions instead of producing models that silently mix Keras versions.
"""

import os
import sys

__version__ = "0.1.0"


def _ensure_legacy_keras() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    if "tensorflow" not in sys.modules:
        return
    # TensorFlow resolves `tf.keras` lazily, on first access, from the environment variable:
    # if nothing touched it yet, setting the variable above is still in time.
    import tensorflow as tf

    bound = getattr(tf.keras, "__name__", "")
    if not bound.startswith("tf_keras"):
        raise ImportError(
            "tf_lsrec needs Keras 2 (tf_keras) but TensorFlow was imported before tf_lsrec and "
            f"tf.keras is already bound to Keras 3 ({bound}). Fix: import tf_lsrec before tensorflow, "
            "or set the environment variable TF_USE_LEGACY_KERAS=1 before starting Python "
            "(e.g. `export TF_USE_LEGACY_KERAS=1`), and make sure the tf-keras package is installed."
        )


_ensure_legacy_keras()

from tf_lsrec.hparams import HParams, prepare_hparams  # noqa: E402
from tf_lsrec.utils.logs import set_verbosity  # noqa: E402

__all__ = ["HParams", "prepare_hparams", "set_verbosity", "__version__"]
