"""Tests for tf_lsrec/layers/graph_convolution.py (SURGE's interest fusion, docs/reference.md
§5.15)."""

import numpy as np
import tensorflow as tf

from tf_lsrec.layers.graph_convolution import InterestFusion, graph_propagation
from tf_lsrec.layers.interest_graph import InterestGraph

B, L, D = 2, 6, 4
RNG = np.random.default_rng(5)
NODES = RNG.normal(size=(B, L, D)).astype(np.float32)
MASK = np.array([[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]], np.float32)
ADJACENCY = InterestGraph(0.5, seed=1)(NODES, MASK).numpy()


def _softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_shapes_and_config(run_layer_test):
    run_layer_test(
        InterestFusion,
        {"att_fcn_layer_sizes": [8, 4], "activations": ["relu", "relu"], "use_bn": True, "seed": 4},
        (NODES, MASK, ADJACENCY),
        ((B, L, D), (B, L)),
        call_kwargs={"training": False},
    )


def test_propagation_adds_self_loops_and_normalises_symmetrically():
    links, prop = graph_propagation(tf.constant([[[0.0, 1.0], [0.0, 0.0]]]))
    np.testing.assert_array_equal(links.numpy()[0], [[1.0, 1.0], [0.0, 1.0]])
    # row sums 2 and 1: Ã_ij = Â_ij / (√d_i √d_j)
    np.testing.assert_allclose(prop.numpy()[0], [[0.5, 1 / np.sqrt(2)], [0.0, 1.0]], rtol=1e-6)


def test_fusion_is_the_attentive_convolution_by_hand():
    layer = InterestFusion([3], ["relu"], seed=2)
    fused, cluster = [t.numpy() for t in layer(NODES, MASK, ADJACENCY)]
    links, prop = [t.numpy() for t in graph_propagation(tf.constant(ADJACENCY))]
    att = layer.cluster_attention
    clusters = prop @ prop @ NODES
    _, alpha = att(clusters, NODES, MASK)
    logits = np.where(links > 0, links * alpha.numpy()[:, None, :], -np.inf)
    edges = _softmax(logits)
    w = layer.convolution.kernel.numpy()
    expected = edges @ NODES @ w + NODES
    expected = np.where(expected > 0, expected, 0.2 * expected)
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)
    _, expected_cluster = att(prop @ prop @ expected, expected, MASK)
    np.testing.assert_allclose(cluster, expected_cluster.numpy(), rtol=1e-5, atol=1e-6)
    assert np.all(cluster[MASK == 0] == 0.0)


def test_the_references_target_term_cancels_in_the_edge_softmax():
    """Reference: E = softmax_j LeakyReLU(Â_ij (α_j + β_i)). With α, β positive softmax weights,
    β_i only shifts row i, so E equals the target-free softmax_j α_j used here."""
    rng = np.random.default_rng(0)
    links = (rng.random((3, 7, 7)) < 0.4).astype(np.float64)
    links[:, np.arange(7), np.arange(7)] = 1.0
    alpha, beta = _softmax(rng.normal(size=(3, 7))), _softmax(rng.normal(size=(3, 7)) * 3)
    ref = links * (alpha[:, None, :] + beta[:, :, None])
    ref = np.where(ref > 0, ref, 0.2 * ref)
    ref = _softmax(np.where(links > 0, ref, -np.inf))
    ours = _softmax(np.where(links > 0, alpha[:, None, :], -np.inf))
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_gradients_reach_every_variable_and_the_nodes():
    layer = InterestFusion([8], ["relu"], seed=2)
    nodes = tf.Variable(NODES)
    with tf.GradientTape() as tape:
        fused, cluster = layer(nodes, MASK, ADJACENCY, training=True)
        loss = tf.reduce_sum(tf.sin(fused)) + tf.reduce_sum(tf.sin(5.0 * cluster))
    for g in tape.gradient(loss, [nodes, *layer.trainable_variables]):
        assert g is not None and np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0)
