"""Tests for tf_lsrec/layers/graph_propagation.py (LightGCN's light graph convolution)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.data.graph import InteractionGraph, normalized_adjacency
from tf_lsrec.layers.graph_propagation import LightGCNPropagation

R2 = np.sqrt(2.0)


def _tiny_adjacency() -> tf.SparseTensor:
    """2 users x 3 items, edges u0-i0, u0-i1, u1-i1, u1-i2 (nodes: u0, u1, i0, i1, i2)."""
    graph = InteractionGraph.from_pairs([0, 0, 1, 1], [0, 1, 1, 2], n_users=2, n_items=3)
    indices, values, n = normalized_adjacency(graph)
    return tf.SparseTensor(indices, values, [n, n])


def test_normalised_adjacency_by_hand():
    dense = tf.sparse.to_dense(_tiny_adjacency()).numpy()
    # deg: u0 2, u1 2, i0 1, i1 2, i2 1; entry 1/sqrt(deg(u) deg(i)), symmetric
    expected = np.zeros([5, 5])
    for u, i, v in [(0, 2, 1 / R2), (0, 3, 0.5), (1, 3, 0.5), (1, 4, 1 / R2)]:
        expected[u, i] = expected[i, u] = v
    np.testing.assert_allclose(dense, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "n_layers, expected",
    [
        (0, [1, 0, 0, 0, 0]),
        # E1 = [0, 0, 1/√2, 1/2, 0]; E2 = [3/4, 1/4, 0, 0, 0]
        (2, [7 / 12, 1 / 12, 1 / (3 * R2), 1 / 6, 0]),
        # E3 = [0, 0, 3/(4√2), 1/2, 1/(4√2)]
        (3, [7 / 16, 1 / 16, 7 / (16 * R2), 1 / 4, 1 / (16 * R2)]),
    ],
)
def test_layer_mean_by_hand(n_layers, expected):
    """One-hot on user 0: the layer mean of Â^k e_u0, k = 0..K, computed on paper."""
    e = tf.constant([[1.0], [0.0], [0.0], [0.0], [0.0]])
    out = LightGCNPropagation(n_layers)(e, adjacency=_tiny_adjacency()).numpy()[:, 0]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


def test_shape_and_config_round_trip(run_layer_test):
    e = tf.random.stateless_normal([5, 4], seed=[1, 2])
    run_layer_test(LightGCNPropagation, {"n_layers": 3}, e, (5, 4),
                   call_kwargs={"adjacency": _tiny_adjacency()})  # fmt: skip


def test_rejects_negative_layers():
    with pytest.raises(ValueError, match="n_layers = -1"):
        LightGCNPropagation(-1)


def test_equals_coo_sparse_matmul_with_gradients():
    """The CSR kernels give tf.sparse.sparse_dense_matmul's values and gradients."""
    a = _tiny_adjacency()
    e = tf.Variable(tf.random.stateless_normal([5, 3], seed=[3, 4]))
    with tf.GradientTape(persistent=True) as tape:
        got = LightGCNPropagation(2)(e, adjacency=a)
        one = tf.sparse.sparse_dense_matmul(a, e)
        want = (e + one + tf.sparse.sparse_dense_matmul(a, one)) / 3
        got_loss, want_loss = tf.reduce_sum(got**2), tf.reduce_sum(want**2)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        tape.gradient(got_loss, e).numpy(),
        tape.gradient(want_loss, e).numpy(),
        rtol=1e-5,
        atol=1e-7,
    )
