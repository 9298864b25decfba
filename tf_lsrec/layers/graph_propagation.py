"""LightGCN's light graph convolution (He et al., SIGIR'20; Microsoft ``lightgcn.py``).

No weights, no non-linearity, no self-loop: layer ``k + 1`` is the normalised adjacency times
layer ``k``, and the output is the mean of the ``K + 1`` layers::

    E^(0) = E                       (the embedding tables, users then items)   [N, d]
    E^(k+1) = Â E^(k)               Â = D^-1/2 A D^-1/2 (tf_lsrec.data.graph)  [N, N] sparse
    output = (E^(0) + ... + E^(K)) / (K + 1)                                   [N, d]

A node ``K`` hops away from a user reaches the user's output only when ``n_layers >= K``.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="tf_lsrec")
class LightGCNPropagation(keras.layers.Layer):
    """``call(embeddings [N, d], adjacency tf.SparseTensor [N, N]) -> [N, d]`` (layer mean).

    Args:
        n_layers: ``K >= 0`` propagation steps (``0``: the embeddings unchanged).
    """

    def __init__(self, n_layers: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 0:
            raise ValueError(f"LightGCNPropagation: n_layers = {n_layers!r}; expected an int >= 0")
        self.n_layers = n_layers

    def call(self, embeddings, adjacency: tf.SparseTensor):
        layer = embeddings
        total = embeddings
        for _ in range(self.n_layers):
            layer = tf.sparse.sparse_dense_matmul(adjacency, layer)
            total = total + layer
        return total / float(self.n_layers + 1)

    def get_config(self):
        return {**super().get_config(), "n_layers": self.n_layers}
