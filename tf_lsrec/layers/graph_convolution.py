"""SURGE's interest fusion: cluster-aware graph attentive convolution over the interest graph
(docs/reference.md §5.15).

With ``Â`` the adjacency plus self-loops on every step and ``Ã = D^-½ Â D^-½``:

* cluster-aware attention ``α = att_c(query=Ã²X, keys=X)``, a masked softmax over the steps
  (:class:`AttentionPooling` with one query per step);
* ``E_ij = softmax_j∈N(i) α_j`` and ``X' = LeakyReLU(E X W + X)`` (``W [D, D]``, no bias);
* the cluster fitness of the fused steps, ``α' = att_c(Ã²X', X')`` (same attention layer, as
  the reference shares it), which the pooling adds to its query-aware score.

The reference's edge logits are ``LeakyReLU(Â_ij (α_j + β_i))`` with ``β`` the target's
query-aware attention. Both are softmax outputs, so ``α_j + β_i > 0`` on every edge, LeakyReLU is
the identity there, and ``β_i`` is the same for the whole row ``i``: it cancels in the row's
softmax. The fusion is therefore target-independent, and ``β`` is not computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.attention import AttentionPooling, masked_softmax
from tf_lsrec.layers.initializers import fresh_initializer, serialize_initializer

DEGREE_EPSILON = 1e-7  # K.epsilon() added to the degree roots, as the reference
LEAKY_SLOPE = 0.2  # tf.nn.leaky_relu's default


def graph_propagation(adjacency: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``(links, propagation)``, both ``[B, L, L]``: ``links = Â`` (``adjacency > 0`` with the
    diagonal set to 1 on every step, padding included, as the reference) and
    ``propagation = D^-½ Â D^-½`` with ``D`` the row sums of ``Â`` (plus 1e-7 after the root)."""
    links = tf.cast(adjacency > 0, adjacency.dtype)
    links = tf.linalg.set_diag(links, tf.ones_like(links[..., 0]))
    root = tf.sqrt(tf.reduce_sum(links, axis=-1)) + DEGREE_EPSILON  # [B, L]
    return links, links / root[:, None, :] / root[:, :, None]


@keras.utils.register_keras_serializable(package="tf_lsrec")
class InterestFusion(keras.layers.Layer):
    """SURGE's graph attentive convolution and the cluster fitness of its output.

    Args:
      att_fcn_layer_sizes, activations, dropout_rates, use_bn, kernel_initializer: the
        cluster-aware attention's settings (see :class:`AttentionPooling`).
      seed: seed of the convolution kernel's Glorot-uniform initializer (the reference's
        ``tf.layers.dense`` default), or ``None``.

    Call args:
      nodes: ``[B, L, D]`` (static ``D``). mask: ``[B, L]`` (1 keep / 0 padding).
      adjacency: ``[B, L, L]`` (:class:`~tf_lsrec.layers.interest_graph.InterestGraph`).
      training: forwarded to the attention MLP.

    Returns:
      ``(fused [B, L, D], cluster_weights [B, L])``: ``X'`` and ``α'`` (zero on padding).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.graph_convolution import InterestFusion
      >>> fused, alpha = InterestFusion([8], ["relu"])(
      ...     tf.random.normal([2, 5, 4]), tf.ones([2, 5]), tf.ones([2, 5, 5]))
      >>> fused.shape, alpha.shape
      (TensorShape([2, 5, 4]), TensorShape([2, 5]))
    """

    def __init__(
        self,
        att_fcn_layer_sizes: Sequence[int],
        activations: Sequence[str] | str,
        dropout_rates: Sequence[float] | float | None = None,
        use_bn: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.cluster_attention = AttentionPooling(
            att_fcn_layer_sizes,
            activations,
            dropout_rates=dropout_rates,
            use_bn=use_bn,
            kernel_initializer=serialize_initializer(kernel_initializer),
            name=f"{self.name}_cluster_attention",
        )
        self.convolution: keras.layers.Dense | None = None

    def build(self, input_shape: Any) -> None:
        dim = tf.TensorShape(input_shape)[-1]
        if dim is None:
            raise ValueError(f"{self.name}: nodes need a static last dimension, got {input_shape}")
        # Width D: the reference hard-codes 40, which is D only for its 32 + 8 embeddings; the
        # residual E X W + X needs D.
        init = fresh_initializer(
            keras.initializers.GlorotUniform(seed=self.seed), f"{self.name}/convolution"
        )
        self.convolution = keras.layers.Dense(
            int(dim), use_bias=False, kernel_initializer=init, name=f"{self.name}_convolution"
        )
        self.convolution.build(tf.TensorShape([None, None, int(dim)]))
        super().build(input_shape)

    def _cluster_weights(self, nodes, mask, propagation, training) -> tf.Tensor:
        clusters = tf.matmul(propagation, tf.matmul(propagation, nodes))  # Ã² X
        return self.cluster_attention(clusters, nodes, mask, training=training)[1]

    def call(
        self,
        nodes: tf.Tensor,
        mask: tf.Tensor,
        adjacency: tf.Tensor,
        training: bool | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        mask = tf.cast(mask, nodes.dtype)
        links, propagation = graph_propagation(tf.cast(adjacency, nodes.dtype))
        alpha = self._cluster_weights(nodes, mask, propagation, training)
        edge_weights = masked_softmax(links * alpha[:, None, :], links)  # E_ij over neighbours j
        convolved = self.convolution(tf.matmul(edge_weights, nodes))
        fused = tf.nn.leaky_relu(convolved + nodes, LEAKY_SLOPE)
        return fused, self._cluster_weights(fused, mask, propagation, training)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        att = self.cluster_attention.get_config()
        return {
            **super().get_config(),
            "att_fcn_layer_sizes": att["att_fcn_layer_sizes"],
            "activations": att["activations"],
            "dropout_rates": att["dropout_rates"],
            "use_bn": att["use_bn"],
            "kernel_initializer": att["kernel_initializer"],
            "seed": self.seed,
        }
