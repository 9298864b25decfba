"""The reference's fully connected network ``fcn_net`` (docs/reference.md §3.4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.dice import Dice
from tf_lsrec.layers.initializers import fresh_initializer, serialize_initializer

ACTIVATIONS = ("sigmoid", "softmax", "relu", "tanh", "elu", "identity", "dice")

BN_MOMENTUM = 0.95
BN_EPSILON = 1e-4


def _per_layer(value: Any, n: int, what: str) -> list[Any]:
    """Broadcast a scalar/str to ``n`` entries or check that a list has at least ``n``."""
    if isinstance(value, (str, int, float)):
        return [value] * n
    values = list(value)
    if len(values) < n:
        raise ValueError(
            f"MLP: `{what}` has {len(values)} entries but there are {n} hidden layers; "
            f"expected at least {n} (extra entries are ignored, as in the reference)"
        )
    return values[:n]


@keras.utils.register_keras_serializable(package="tf_lsrec")
class MLP(keras.layers.Layer):
    """Microsoft ``fcn_net``: hidden layers then a linear output projection.

    Per hidden layer ``k``: ``Dense(layer_sizes[k])`` (kernel ``kernel_initializer``, bias 0)
    -> ``BatchNormalization(momentum=0.95, epsilon=1e-4)`` if ``use_bn`` (statistics pooled over
    all leading axes, so padded positions of ``[B, L, C]`` inputs count, as in the reference;
    computed on the ``[N, 1, 1, C]`` view with the fused kernel)
    -> ``Dropout(dropout_rates[k])`` if the rate is > 0 (after BN, *before* the activation)
    -> ``activations[k]``. Then ``Dense(output_units)`` with no BN and no activation (bias 0,
    same initializer); ``output_units=None`` skips it.

    Args:
      layer_sizes: hidden sizes, e.g. ``[100, 64]``; may be empty (output projection only).
      activations: one name per hidden layer from ``sigmoid, softmax, relu, tanh, elu,
        identity, dice`` (a single string is broadcast). Longer lists are allowed and
        truncated, as the reference indexes one shared list by position.
      dropout_rates: ``None`` (no dropout), a float, or one rate per hidden layer.
      use_bn: batch normalisation in the hidden layers (``enable_BN``).
      output_units: size of the final linear projection (1 = a logit), or ``None``.
      kernel_initializer: Keras initializer (name, config or instance) for every kernel; see
        :func:`tf_lsrec.layers.initializers.get_initializer`.
      name: layer name.

    Input shape: ``[..., F]`` (any rank >= 2; applied to the last axis).
    Output shape: ``[..., output_units]``, or ``[..., layer_sizes[-1]]`` if ``output_units``
    is ``None`` (``[..., F]`` if there are no hidden layers either).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.mlp import MLP
      >>> mlp = MLP([8, 4], ["relu", "dice"], dropout_rates=[0.3, 0.3], use_bn=True)
      >>> mlp(tf.ones([2, 5, 6]), training=False).shape
      TensorShape([2, 5, 1])
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activations: Sequence[str] | str,
        dropout_rates: Sequence[float] | float | None = None,
        use_bn: bool = False,
        output_units: int | None = 1,
        kernel_initializer: Any = "glorot_uniform",
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.layer_sizes = [int(s) for s in layer_sizes]
        n = len(self.layer_sizes)
        self.activations = [str(a) for a in _per_layer(activations, n, "activations")]
        for k, act in enumerate(self.activations):
            if act not in ACTIVATIONS:
                raise ValueError(
                    f"MLP: activation {act!r} (hidden layer {k}) is not supported; "
                    f"expected one of {', '.join(ACTIVATIONS)}"
                )
        if dropout_rates is None:
            self.dropout_rates = [0.0] * n
        else:
            self.dropout_rates = [float(r) for r in _per_layer(dropout_rates, n, "dropout_rates")]
        for k, rate in enumerate(self.dropout_rates):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"MLP: dropout rate {rate} (hidden layer {k}) not in [0, 1)")
        self.use_bn = bool(use_bn)
        self.output_units = None if output_units is None else int(output_units)
        self.kernel_initializer = serialize_initializer(kernel_initializer)

        self.dense_layers: list[keras.layers.Dense] = []
        self.bn_layers: list[keras.layers.BatchNormalization] = []
        self.dropout_layers: list[keras.layers.Dropout | None] = []
        self.activation_layers: list[keras.layers.Layer] = []
        for k, size in enumerate(self.layer_sizes):
            self.dense_layers.append(
                keras.layers.Dense(
                    size,
                    kernel_initializer=fresh_initializer(
                        self.kernel_initializer, f"{self.name}/dense_{k}"
                    ),
                    bias_initializer="zeros",
                    name=f"dense_{k}",
                )
            )
            if self.use_bn:
                bn = keras.layers.BatchNormalization(
                    axis=-1, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"bn_{k}"
                )
                # The fused kernel (see _batch_norm) averages the Bessel-corrected batch
                # variance into moving_variance unless told otherwise; the plain path (the
                # reference's) averages the biased one. Keep the latter.
                bn._bessels_correction_test_only = False
                self.bn_layers.append(bn)
            rate = self.dropout_rates[k]
            self.dropout_layers.append(
                keras.layers.Dropout(rate, name=f"dropout_{k}") if rate > 0 else None
            )
            act = self.activations[k]
            if act == "dice":
                self.activation_layers.append(Dice(name=f"dice_{k}"))
            else:
                fn = "linear" if act == "identity" else act
                self.activation_layers.append(keras.layers.Activation(fn, name=f"{act}_{k}"))
        self.output_layer = None
        if self.output_units is not None:
            self.output_layer = keras.layers.Dense(
                self.output_units,
                kernel_initializer=fresh_initializer(self.kernel_initializer, f"{self.name}/out"),
                bias_initializer="zeros",
                name="output",
            )

    def build(self, input_shape: tf.TensorShape) -> None:
        shape = tf.TensorShape(input_shape)
        for k, dense in enumerate(self.dense_layers):
            dense.build(shape)
            shape = shape[:-1].concatenate([self.layer_sizes[k]])
            if self.use_bn:  # run on [N, 1, 1, C] (see _batch_norm); same variables
                self.bn_layers[k].build(tf.TensorShape([None, 1, 1, self.layer_sizes[k]]))
            if self.activations[k] == "dice":
                self.activation_layers[k].build(shape)
        if self.output_layer is not None:
            self.output_layer.build(shape)
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        first = self.first_dense
        x = inputs if first is None else first(inputs)
        return self.call_after_first_dense(x, training=training)

    @property
    def first_dense(self) -> keras.layers.Dense | None:
        """The Dense layer applied to the inputs (the output layer when there is no hidden
        layer; ``None`` for an identity MLP)."""
        return self.dense_layers[0] if self.dense_layers else self.output_layer

    def call_after_first_dense(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        """The rest of the MLP, given ``x = first_dense(inputs)`` computed by the caller (e.g.
        in a factorised form, as :class:`~tf_lsrec.layers.attention.AttentionPooling` does)."""
        for k, dense in enumerate(self.dense_layers):
            if k > 0:
                x = dense(x)
            if self.use_bn:
                x = self._batch_norm(k, x, training)
            dropout = self.dropout_layers[k]
            if dropout is not None:
                x = dropout(x, training=training)
            x = self.activation_layers[k](x)
        if self.output_layer is not None and self.dense_layers:
            x = self.output_layer(x)
        return x

    def _batch_norm(self, k: int, x: tf.Tensor, training: bool | None) -> tf.Tensor:
        """Batch norm ``k`` over all leading axes of ``x [..., C]``, run on the ``[N, 1, 1, C]``
        view so that Keras uses the fused kernel (float32/16, bf16; float64 falls back to the
        plain one): one pass for the statistics and one for the normalisation instead of the
        several element-wise passes of the rank-3 path (~2x on the attention MLP's
        ``[B*L, 80]`` forward + backward). Same statistics and moving averages up to float
        rounding (Keras removes the fused kernel's Bessel correction)."""
        channels = int(x.shape[-1])
        y = self.bn_layers[k](tf.reshape(x, [-1, 1, 1, channels]), training=training)
        y = tf.reshape(y, tf.shape(x))
        y.set_shape(x.shape)
        return y

    def compute_output_shape(self, input_shape: tf.TensorShape) -> tf.TensorShape:
        shape = tf.TensorShape(input_shape)
        last = self.output_units
        if last is None:
            last = self.layer_sizes[-1] if self.layer_sizes else shape[-1]
        return shape[:-1].concatenate([last])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "layer_sizes": list(self.layer_sizes),
            "activations": list(self.activations),
            "dropout_rates": list(self.dropout_rates),
            "use_bn": self.use_bn,
            "output_units": self.output_units,
            "kernel_initializer": self.kernel_initializer,
        }
