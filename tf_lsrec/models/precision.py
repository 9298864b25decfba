"""Mixed precision as an opt-in switch: ``train.precision: float32 | mixed_bfloat16 |
mixed_float16`` (default ``float32``, which changes nothing).

With a mixed policy the layers compute in bf16 / fp16 and keep float32 variables (Keras'
``mixed_precision`` policies); what the switch needs around the layers is done here:

* :func:`precision_scope` sets the policy while a model is *constructed* (Keras layers take
  the global policy when created), then restores the previous one, so nothing leaks into
  models built later in the process;
* :func:`make_model` builds ``get_model_class(hp.model_type)(hp)`` in that scope and, for a
  mixed policy, as a subclass with :class:`MixedPrecisionMixin`, which casts the batch's
  float32 features (``mask``, time features) to the compute dtype on the way in, and the
  logits / loss terms back to float32 on the way out (losses, metrics and the optimizer stay
  float32).

``mixed_float16`` additionally needs loss scaling in the train step (not done: GPU only, and
the train step lives in models/base.py); bf16 has float32's exponent range and needs none.
Numerics change under a mixed policy: measure the accuracy cost before using it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf
import tf_keras as keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# float32 features the layers read; labels and sample weights stay float32, float64 times
# (session splitting) stay float64
_INPUT_FEATURES = ("mask", "time_diff", "time_from_first_action", "time_to_now")


@contextlib.contextmanager
def precision_scope(precision: str | None) -> Iterator[None]:
    """Global Keras dtype policy ``precision`` inside the block, the previous one after."""
    precision = precision or "float32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def cast_inputs(batch: dict[str, tf.Tensor], dtype: tf.DType) -> dict[str, tf.Tensor]:
    """``batch`` with its float32 model-input features cast to ``dtype``."""
    out = dict(batch)
    for key in _INPUT_FEATURES:
        value = out.get(key)
        if value is not None and value.dtype == tf.float32 and dtype != tf.float32:
            out[key] = tf.cast(value, dtype)
    return out


def _to_float32(value):
    if isinstance(value, tf.Tensor) and value.dtype in (tf.bfloat16, tf.float16):
        return tf.cast(value, tf.float32)
    return value


class MixedPrecisionMixin:
    """Casts at the model boundary for a mixed policy (see the module docstring)."""

    def _compute_dtype_of_policy(self) -> tf.DType:
        return tf.as_dtype(keras.mixed_precision.Policy(self.hparams.precision).compute_dtype)

    def forward(self, batch, training=False, **kwargs):
        # in the scope too: layers that create sub-layers lazily (in build) get the policy
        with precision_scope(self.hparams.precision):
            out = super().forward(
                cast_inputs(batch, self._compute_dtype_of_policy()), training, **kwargs
            )
        out["logits"] = _to_float32(out["logits"])
        return out

    def extra_losses(self, batch, outputs, training):
        return {
            k: _to_float32(v) for k, v in super().extra_losses(batch, outputs, training).items()
        }

    def score_user_targets(self, user_batch, *args, **kwargs):
        user_batch = cast_inputs(user_batch, self._compute_dtype_of_policy())
        with precision_scope(self.hparams.precision):
            return _to_float32(super().score_user_targets(user_batch, *args, **kwargs))


_MIXED_CLASSES: dict[type, type] = {}


def mixed_class(cls: type) -> type:
    """``cls`` with :class:`MixedPrecisionMixin` (cached, same name)."""
    if cls not in _MIXED_CLASSES:
        _MIXED_CLASSES[cls] = type(cls.__name__, (MixedPrecisionMixin, cls), {})
    return _MIXED_CLASSES[cls]


def make_model(hparams, *args, **kwargs):
    """``get_model_class(hparams.model_type)(hparams, ...)`` under ``hparams.precision``."""
    from tf_lsrec.models import get_model_class

    precision = getattr(hparams, "precision", None) or "float32"
    cls = get_model_class(hparams.model_type)
    if precision == "float32":
        return cls(hparams, *args, **kwargs)
    with precision_scope(precision):
        return mixed_class(cls)(hparams, *args, **kwargs)
