"""Self-attention blocks over a history: causal (SASRec, Kang & McAuley, ICDM'18) or
bidirectional (BERT4Rec, Sun et al., CIKM'19).

One block, as in SASRec (docs/reference.md §5.12)::

    Q = LayerNorm(X)
    A = MultiHeadAttention(query=Q, key=X, value=X, mask: causal and over real steps) + Q
    Y = (A' + FFN(A')) * m,   A' = LayerNorm(A),   FFN = Dense(D, relu) -> Dense(D)

with dropout after the attention weights and after each FFN layer. Causal: step ``i`` reads
steps ``j <= i`` only; bidirectional (``causal=False``): every real step. Either way only real
steps are read and padded steps are zeroed, so a left-aligned history's real steps never see
the right padding.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.initializers import fresh_initializer

LN_EPSILON = 1e-8


def key_mask(mask: tf.Tensor, causal: bool = True) -> tf.Tensor:
    """``[B, L]`` step mask -> ``[B, L, L]`` bool attention mask: query ``i`` may read key
    ``j`` when step ``j`` is real (and, if ``causal``, ``j <= i``)."""
    if causal:
        return causal_key_mask(mask)
    keep = tf.cast(mask, tf.bool)
    return tf.broadcast_to(keep[:, None, :], tf.concat([tf.shape(keep), tf.shape(keep)[1:]], 0))


def causal_key_mask(mask: tf.Tensor) -> tf.Tensor:
    """``[B, L]`` step mask -> ``[B, L, L]`` bool attention mask: query ``i`` may read key
    ``j`` when ``j <= i`` and step ``j`` is real."""
    keep = tf.cast(mask, tf.bool)
    steps = tf.shape(mask)[1]
    causal = tf.linalg.band_part(tf.ones([steps, steps], tf.bool), -1, 0)  # j <= i
    return tf.logical_and(causal[None, :, :], keep[:, None, :])


@keras.utils.register_keras_serializable(package="tf_lsrec")
class CausalSelfAttentionBlock(keras.layers.Layer):
    """SASRec's block: ``[B, L, D]`` (+ mask ``[B, L]``) -> ``[B, L, D]``.

    Args:
      num_heads: attention heads; ``D`` must be divisible by it.
      dropout_rate: dropout on the attention weights and after each FFN layer.
      seed: seed of the kernel initialisers (salted per variable), or ``None``.
      causal: ``True`` (SASRec) lets step ``i`` read steps ``<= i``; ``False`` (BERT4Rec)
        lets it read every real step.

    Call args: ``inputs [B, L, D]``, ``mask [B, L]`` (1 real / 0 padding), ``training``.
    """

    def __init__(
        self,
        num_heads: int = 1,
        dropout_rate: float = 0.2,
        seed: int | None = None,
        causal: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.causal = bool(causal)
        self.num_heads = int(num_heads)
        self.dropout_rate = float(dropout_rate)
        self.seed = seed
        if self.num_heads < 1:
            raise ValueError(f"{self.name}: num_heads = {num_heads}; expected >= 1")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"{self.name}: dropout_rate = {dropout_rate}; expected in [0, 1)")

    def _init(self, name: str):
        return fresh_initializer(
            keras.initializers.GlorotUniform(seed=self.seed), f"{self.name}/{name}"
        )

    def build(self, input_shape: Any) -> None:
        dim = int(tf.TensorShape(input_shape)[-1])
        if dim % self.num_heads:
            raise ValueError(
                f"{self.name}: width {dim} is not divisible by num_heads = {self.num_heads}"
            )
        self.attention_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="ln_att")
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads,
            dim // self.num_heads,
            dropout=self.dropout_rate,
            kernel_initializer=self._init("attention"),
            name="attention",
        )
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="ln_ffn")
        self.ffn_in = keras.layers.Dense(
            dim, activation="relu", kernel_initializer=self._init("ffn_in"), name="ffn_in"
        )
        self.ffn_out = keras.layers.Dense(
            dim, kernel_initializer=self._init("ffn_out"), name="ffn_out"
        )
        self.dropout = keras.layers.Dropout(self.dropout_rate)
        shape = tf.TensorShape(input_shape)
        self.attention_norm.build(shape)
        self.attention._build_from_signature(shape, shape)
        self.ffn_norm.build(shape)
        self.ffn_in.build(shape)
        self.ffn_out.build(shape)
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, mask: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        steps = tf.cast(mask, inputs.dtype)[..., None]
        queries = self.attention_norm(inputs)
        attended = self.attention(
            queries, inputs, inputs, attention_mask=key_mask(mask, self.causal), training=training
        )
        x = self.ffn_norm(attended + queries)
        ffn = self.dropout(self.ffn_in(x), training=training)
        x = x + self.dropout(self.ffn_out(ffn), training=training)
        return x * steps

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "dropout_rate": self.dropout_rate,
            "seed": self.seed,
            "causal": self.causal,
        }
