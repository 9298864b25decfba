"""Shared pytest setup: legacy Keras before TensorFlow, quiet logs, one thread pool."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tf_lsrec  # noqa: E402,F401  (sets up legacy Keras before any test imports TensorFlow)
