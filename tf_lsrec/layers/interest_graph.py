"""SURGE's interest graph: an item-item graph per history by metric learning (docs/reference.md
§5.15).

For the nodes ``x_i`` (the history steps) of one row:

1. ``S_ij = cos(w ⊙ x_i, w ⊙ x_j)`` with a learnt weight vector ``w [D]`` (one metric head);
2. each row of ``S`` is min-max normalised over all ``L`` columns, padding columns included
   (as the reference), then rows and columns of padding steps are zeroed;
3. relative-rank sparsification: with ``m`` the number of non-zero entries of ``S`` (``L × L``),
   ``k = ⌈ε m⌉`` (``ε = relative_threshold``); the edges are the entries strictly greater than
   the ``(k+1)``-th largest entry (a rank past the end reads 0), i.e. the top ``k`` entries.

The adjacency is a hard threshold, so no gradient reaches ``w`` or the embeddings through it; as
in the reference, ``w`` moves only under the layer L2 term.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.initializers import fresh_initializer


@keras.utils.register_keras_serializable(package="tf_lsrec")
class InterestGraph(keras.layers.Layer):
    """Target-independent adjacency ``[B, L, L]`` of SURGE's interest graph.

    Args:
      relative_threshold: ``ε`` in ``(0, 1]``, the share of the non-zero similarities kept as
        edges (reference: 0.5).
      seed: seed of ``w``'s Glorot-uniform initializer (the reference's ``tf.layers.dense``
        kernel of shape ``[1, D]``), or ``None``.

    Call args:
      nodes: ``[B, L, D]`` float. mask: ``[B, L]`` (1 keep / 0 padding).

    Returns:
      ``adjacency [B, L, L]`` in the nodes' dtype: 1 on an edge, else 0 (no self-loops added;
      rows and columns of padding steps are 0).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.interest_graph import InterestGraph
      >>> InterestGraph(0.5)(tf.random.normal([2, 4, 6]), tf.ones([2, 4])).shape
      TensorShape([2, 4, 4])
    """

    def __init__(self, relative_threshold: float = 0.5, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.relative_threshold = float(relative_threshold)
        if not 0.0 < self.relative_threshold <= 1.0:
            raise ValueError(
                f"InterestGraph: relative_threshold={relative_threshold}; expected a value in "
                "(0, 1]"
            )
        self.seed = seed

    def build(self, input_shape: Any) -> None:
        dim = tf.TensorShape(input_shape)[-1]
        if dim is None:
            raise ValueError(f"{self.name}: nodes need a static last dimension, got {input_shape}")
        init = fresh_initializer(
            keras.initializers.GlorotUniform(seed=self.seed), f"{self.name}/metric_weight"
        )
        self.metric_weight = self.add_weight(
            name="metric_weight", shape=(1, int(dim)), initializer=init, trainable=True
        )
        super().build(input_shape)

    def similarity(self, nodes: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        """Steps 1-2: the normalised, masked similarity ``S [B, L, L]`` (values in ``[0, 1]``)."""
        mask = tf.cast(mask, nodes.dtype)
        weighted = tf.math.l2_normalize(nodes * tf.cast(self.metric_weight, nodes.dtype), axis=-1)
        sim = tf.matmul(weighted, weighted, transpose_b=True)
        low = tf.reduce_min(sim, axis=-1, keepdims=True)
        high = tf.reduce_max(sim, axis=-1, keepdims=True)
        # A row whose similarities are all equal is 0/0 in the reference (NaN); here it is 0.
        sim = tf.math.divide_no_nan(sim - low, high - low)
        return sim * mask[:, :, None] * mask[:, None, :]

    def call(self, nodes: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        sim = self.similarity(nodes, mask)
        rows, steps = tf.shape(sim)[0], tf.shape(sim)[1]
        flat = tf.reshape(sim, [rows, steps * steps])
        ranked = tf.pad(tf.sort(flat, axis=-1, direction="DESCENDING"), [[0, 0], [0, 1]])
        edges = tf.math.count_nonzero(flat, axis=-1, dtype=tf.float32)
        keep = tf.cast(tf.math.ceil(edges * self.relative_threshold), tf.int32)
        threshold = tf.gather(ranked, keep, batch_dims=1)  # the (k+1)-th largest
        return tf.cast(sim > threshold[:, None, None], nodes.dtype)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "relative_threshold": self.relative_threshold,
            "seed": self.seed,
        }
