"""Dice activation (Zhou et al., DIN), as in the CLSR code's ``deeprec_utils.dice``."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="tf_lsrec")
class Dice(keras.layers.Layer):
    """Data-adaptive activation with a learnable per-feature ``alpha`` (docs/reference.md §3.4).

    With ``mu`` and ``s = sqrt(mean((x - mu)^2 + eps))`` computed over **all axes but the
    last** from the *current batch* (also at inference, as the reference does; there are no
    moving averages), ``p = sigmoid((x - mu) / (s + eps))`` and the output is
    ``alpha * (1 - p) * x + p * x``. ``alpha`` starts at 0.

    Args:
      epsilon: the reference's 1e-9, used both inside the square root and in the denominator.

    Input shape: ``[..., C]`` (any rank >= 2). Output shape: same as the input.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.dice import Dice
      >>> Dice()(tf.constant([[1.0, -1.0], [3.0, 1.0]])).shape
      TensorShape([2, 2])
    """

    def __init__(self, epsilon: float = 1e-9, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape: tf.TensorShape) -> None:
        channels = int(input_shape[-1])
        self.alpha = self.add_weight(
            name="alpha", shape=(channels,), initializer="zeros", trainable=True
        )
        super().build(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        axes = list(range(inputs.shape.rank - 1))
        mean = tf.reduce_mean(inputs, axis=axes, keepdims=True)
        centred = inputs - mean
        std = tf.sqrt(tf.reduce_mean(tf.square(centred) + self.epsilon, axis=axes, keepdims=True))
        p = tf.sigmoid(centred / (std + self.epsilon))
        alpha = tf.cast(self.alpha, inputs.dtype)
        return alpha * (1.0 - p) * inputs + p * inputs

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}
