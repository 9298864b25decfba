"""Fusion of a long-term and a short-term interest vector (CLSR §7.8, SLi-Rec §5.3).

Three modes:

* ``"adaptive"`` (CLSR / SLi-Rec default): ``α = σ(MLP(z))`` from gate features ``z``
  (``MLP`` = ``fcn_net(att_fcn_layer_sizes)`` with a 1-unit linear output), then
  ``U = α ⊙ long + (1 − α) ⊙ short``;
* ``"fixed"`` (the official ``manual_alpha``): ``α`` is the constant ``alpha_value``; the layer
  owns no variables;
* ``"concat"`` (the paper's "concatenation" baseline): ``U = [long ; short]``; there is no
  mixing weight, so ``α`` is an empty ``[B, 0]`` tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.initializers import serialize_initializer
from tf_lsrec.layers.mlp import MLP

FUSION_MODES = ("adaptive", "fixed", "concat")


@keras.utils.register_keras_serializable(package="tf_lsrec")
class FusionGate(keras.layers.Layer):
    """Mix two interest vectors with a learned (or fixed) weight ``α``.

    Args:
      mode: ``"adaptive"``, ``"fixed"`` or ``"concat"`` (module docstring).
      att_fcn_layer_sizes: hidden sizes of the gate MLP (``adaptive`` only), e.g. ``[80, 40]``.
      activations, dropout_rates, use_bn, kernel_initializer: the gate MLP's settings
        (:class:`~tf_lsrec.layers.mlp.MLP`).
      alpha_value: the constant ``α`` of ``"fixed"`` (``manual_alpha_value``, default 0.5).

    Call args:
      long: ``[B, D]`` long-term interest ``I_L``.
      short: ``[B, D]`` short-term interest ``I_S`` (same ``D`` unless ``concat``).
      gate_inputs: ``[B, Z]`` features of the gate (``adaptive`` only; ignored otherwise, may
        be ``None``).
      training: forwarded to the MLP.

    Returns:
      ``(fused, alpha)``: ``fused [B, D]`` (``[B, 2D]`` for ``concat``) and ``alpha [B, 1]``
      in (0, 1) for ``adaptive``, the constant for ``fixed``, ``[B, 0]`` for ``concat``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.fusion import FusionGate
      >>> gate = FusionGate("fixed", alpha_value=0.25)
      >>> fused, alpha = gate(tf.ones([2, 3]), tf.zeros([2, 3]))
      >>> fused.numpy()[0], alpha.numpy()[0]
      (array([0.25, 0.25, 0.25], dtype=float32), array([0.25], dtype=float32))
    """

    def __init__(
        self,
        mode: str = "adaptive",
        att_fcn_layer_sizes: Sequence[int] = (80, 40),
        activations: Sequence[str] | str = "relu",
        dropout_rates: Sequence[float] | float | None = None,
        use_bn: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        alpha_value: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in FUSION_MODES:
            raise ValueError(f"FusionGate: mode {mode!r} not in {list(FUSION_MODES)}")
        if not 0.0 <= float(alpha_value) <= 1.0:
            raise ValueError(f"FusionGate: alpha_value must be in [0, 1], got {alpha_value}")
        self.mode = mode
        self.alpha_value = float(alpha_value)
        self.att_fcn_layer_sizes = [int(s) for s in att_fcn_layer_sizes]
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.mlp = None
        if mode == "adaptive":
            self.mlp = MLP(
                self.att_fcn_layer_sizes,
                activations,
                dropout_rates=dropout_rates,
                use_bn=use_bn,
                output_units=1,
                kernel_initializer=self.kernel_initializer,
                name=f"{self.name}_fcn",
            )

    def call(
        self,
        long: tf.Tensor,
        short: tf.Tensor,
        gate_inputs: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        rows = tf.shape(long)[0]
        if self.mode == "concat":
            return tf.concat([long, short], axis=-1), tf.zeros([rows, 0], long.dtype)
        if self.mode == "fixed":
            alpha = tf.fill([rows, 1], tf.constant(self.alpha_value, long.dtype))
        else:
            if gate_inputs is None:
                raise ValueError("FusionGate(mode='adaptive') needs gate_inputs [B, Z]")
            alpha = tf.sigmoid(self.mlp(gate_inputs, training=training))
        return alpha * long + (1.0 - alpha) * short, alpha

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "mode": self.mode,
            "att_fcn_layer_sizes": list(self.att_fcn_layer_sizes),
            "kernel_initializer": self.kernel_initializer,
            "alpha_value": self.alpha_value,
        }
        if self.mlp is not None:
            mlp = self.mlp.get_config()
            config.update(
                activations=mlp["activations"],
                dropout_rates=mlp["dropout_rates"],
                use_bn=mlp["use_bn"],
            )
        return config
