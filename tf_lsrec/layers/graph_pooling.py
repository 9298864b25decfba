"""SURGE's interest extraction: query-aware graph pooling of the fused history to a short
sequence (docs/reference.md §5.15).

Given the fused steps ``X'`` and their cluster fitness ``α'``
(:class:`~tf_lsrec.layers.graph_convolution.InterestFusion`) and the target ``e_t``:

* ``β' = att_q(query=e_t, keys=X')`` and ``γ = softmax(α' + β')`` over the real steps;
* keep the top ``k = min(n, P)`` steps by ``γ`` (``n`` real steps, ``P = pool_length``): those
  strictly above the ``(k+1)``-th largest score plus 1e-7, as the reference (so a tie at rank
  ``k``, or scores within 1e-7 of it, keep fewer steps);
* readout ``r = Σ_kept γ_i X'_i`` (``γ`` not renormalised);
* the kept steps, in their original order, moved to the front of a ``[B, min(L, P), D]``
  sequence (the reference cuts its sequence to the batch's longest kept length instead; the
  padding it drops carries no weight downstream).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.attention import AttentionPooling, masked_softmax
from tf_lsrec.layers.initializers import serialize_initializer

POOL_EPSILON = 1e-7  # K.epsilon() added to the reference's pooling threshold


def top_k_steps(scores: tf.Tensor, mask: tf.Tensor, pool_length: int) -> tf.Tensor:
    """The reference's pooling mask ``[B, L]`` (scores' dtype): with ``n`` real steps and
    ``k = min(n, pool_length)``, the steps whose score exceeds the ``(k+1)``-th largest masked
    score (0 past the end) plus 1e-7; at most ``k`` steps."""
    mask = tf.cast(mask, scores.dtype)
    scores = scores * mask
    keep = tf.minimum(tf.cast(tf.reduce_sum(mask, axis=-1), tf.int32), pool_length)
    ranked = tf.pad(tf.sort(scores, axis=-1, direction="DESCENDING"), [[0, 0], [0, 1]])
    threshold = tf.gather(ranked, keep, batch_dims=1) + POOL_EPSILON
    return tf.cast(scores > threshold[:, None], scores.dtype)


def compact_steps(values: tf.Tensor, keep: tf.Tensor, length: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Move the kept steps of ``values [B, L, D]`` (``keep [B, L]``, 1 = kept) to the front in
    their order and cut to ``length``: ``([B, length, D], mask [B, length])``. Rows must keep at
    most ``length`` steps."""
    order = compact_order(keep, length)
    return tf.gather(values, order, batch_dims=1), tf.gather(keep, order, batch_dims=1)


def compact_order(keep: tf.Tensor, length: int) -> tf.Tensor:
    """The step indices ``[B, length]`` that :func:`compact_steps` gathers: kept steps first,
    in their order."""
    order = tf.argsort(tf.cast(keep, tf.int32), axis=-1, direction="DESCENDING", stable=True)
    return order[:, :length]


@keras.utils.register_keras_serializable(package="tf_lsrec")
class InterestGraphPooling(keras.layers.Layer):
    """SURGE's query-aware graph pooling.

    Args:
      pool_length: ``P``, the most steps kept (reference: 30 on Taobao, 150 on Kuaishou).
      att_fcn_layer_sizes, activations, dropout_rates, use_bn, kernel_initializer: the
        query-aware attention's settings (see :class:`AttentionPooling`).

    Call args:
      target: ``[B, Q]``. fused: ``[B, L, D]`` (static ``L``). mask: ``[B, L]``.
      cluster_weights: ``α' [B, L]``.
      training: forwarded to the attention MLP.
      query_keys: :meth:`encode_query_keys` of ``fused``, to score many targets against one
        history (computed when ``None``).
      return_order: also return ``order [B, P']``, the indices of ``fused``'s steps that make
        ``pooled`` (to gather per-step tensors computed once per history, e.g. projections).

    Returns:
      ``(pooled [B, P', D], pooled_mask [B, P'], readout [B, D], scores [B, L])`` with
      ``P' = min(L, P)``, ``pooled_mask`` left-aligned and ``scores = γ`` (then ``order``
      with ``return_order``).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.graph_pooling import InterestGraphPooling
      >>> out = InterestGraphPooling(3, [8], ["relu"])(
      ...     tf.ones([2, 4]), tf.random.normal([2, 5, 4]), tf.ones([2, 5]), tf.ones([2, 5]) / 5)
      >>> [t.shape.as_list() for t in out]
      [[2, 3, 4], [2, 3], [2, 4], [2, 5]]
    """

    def __init__(
        self,
        pool_length: int,
        att_fcn_layer_sizes: Sequence[int],
        activations: Sequence[str] | str,
        dropout_rates: Sequence[float] | float | None = None,
        use_bn: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool_length = int(pool_length)
        if self.pool_length <= 0:
            raise ValueError(f"InterestGraphPooling: pool_length={pool_length}; expected > 0")
        self.query_attention = AttentionPooling(
            att_fcn_layer_sizes,
            activations,
            dropout_rates=dropout_rates,
            use_bn=use_bn,
            kernel_initializer=serialize_initializer(kernel_initializer),
            name=f"{self.name}_query_attention",
        )

    def encode_query_keys(self, fused: tf.Tensor) -> dict[str, tf.Tensor]:
        """The query-aware attention's key side on ``fused`` (layer built)."""
        return self.query_attention.encode_keys(fused)

    def call(
        self,
        target: tf.Tensor,
        fused: tf.Tensor,
        mask: tf.Tensor,
        cluster_weights: tf.Tensor,
        training: bool | None = None,
        query_keys: dict[str, tf.Tensor] | None = None,
        return_order: bool = False,
    ) -> tuple[tf.Tensor, ...]:
        mask = tf.cast(mask, fused.dtype)
        _, beta = self.query_attention(
            target, fused, mask, training=training, encoded_keys=query_keys
        )
        scores = masked_softmax(cluster_weights + beta, mask)
        keep = top_k_steps(scores, mask, self.pool_length)
        readout = tf.reduce_sum(fused * (scores * keep)[..., None], axis=1)
        length = min(int(fused.shape[1]), self.pool_length)
        order = compact_order(keep, length)
        pooled = tf.gather(fused, order, batch_dims=1)
        pooled_mask = tf.gather(keep, order, batch_dims=1)
        if return_order:
            return pooled, pooled_mask, readout, scores, order
        return pooled, pooled_mask, readout, scores

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        att = self.query_attention.get_config()
        return {
            **super().get_config(),
            "pool_length": self.pool_length,
            "att_fcn_layer_sizes": att["att_fcn_layer_sizes"],
            "activations": att["activations"],
            "dropout_rates": att["dropout_rates"],
            "use_bn": att["use_bn"],
            "kernel_initializer": att["kernel_initializer"],
        }
