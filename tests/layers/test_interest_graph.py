"""Tests for tf_lsrec/layers/interest_graph.py (SURGE's graph construction, docs/reference.md
§5.15)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.interest_graph import InterestGraph

# Three real steps and one padding step; cosine similarities 1, 1/√2, 0, -1 by construction.
NODES = np.array([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]], np.float32)
MASK = np.array([[1.0, 1.0, 1.0, 0.0]], np.float32)
R = np.sqrt(2.0) / (1.0 + np.sqrt(0.5))  # row 1: (1/√2 + 1/√2) / (1 + 1/√2)
# Row-wise min-max over all four columns (the padding column's -1 sets row 0's minimum), then
# padding row and column zeroed.
EXPECTED_S = np.array(
    [
        [1.0, (1 + np.sqrt(0.5)) / 2, 0.5, 0.0],
        [R, 1.0, R, 0.0],
        [0.0, np.sqrt(0.5), 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
)


def _graph(threshold):
    layer = InterestGraph(threshold)
    layer(NODES, MASK)
    layer.metric_weight.assign(np.ones((1, 2), np.float32))
    return layer


def test_shapes_and_config(run_layer_test):
    rng = np.random.default_rng(0)
    nodes = rng.normal(size=(3, 5, 6)).astype(np.float32)
    mask = (np.arange(5)[None] < np.array([[5], [2], [0]])).astype(np.float32)
    run_layer_test(InterestGraph, {"relative_threshold": 0.4, "seed": 3}, (nodes, mask), (3, 5, 5))


def test_similarity_is_the_masked_row_min_max_normalised_cosine():
    sim = _graph(0.5).similarity(tf.constant(NODES), tf.constant(MASK)).numpy()[0]
    np.testing.assert_allclose(sim, EXPECTED_S, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "threshold,edges",
    [
        # 8 non-zero entries; k = ceil(0.5 * 8) = 4: keep what is strictly above the 5th largest
        # (R, which is tied with the 6th): the diagonal and (0, 1).
        (0.5, {(0, 0), (1, 1), (2, 2), (0, 1)}),
        # k = ceil(0.7 * 8) = 6: above the 7th largest (1/√2): the two R entries join.
        (0.7, {(0, 0), (1, 1), (2, 2), (0, 1), (1, 0), (1, 2)}),
        # k = 8: above the 9th largest (0): every non-zero entry.
        (1.0, {(0, 0), (1, 1), (2, 2), (0, 1), (1, 0), (1, 2), (0, 2), (2, 1)}),
    ],
)
def test_relative_rank_sparsification_keeps_the_top_ceil_share(threshold, edges):
    adjacency = _graph(threshold)(NODES, MASK).numpy()[0]
    expected = np.zeros((4, 4), np.float32)
    for i, j in edges:
        expected[i, j] = 1.0
    np.testing.assert_array_equal(adjacency, expected)


def test_metric_weight_changes_the_similarity_and_gets_no_gradient_from_the_edges():
    rng = np.random.default_rng(1)
    nodes = tf.constant(rng.normal(size=(2, 6, 5)), tf.float32)
    mask = tf.constant((np.arange(6)[None] < np.array([[6], [4]])).astype(np.float32))
    layer = InterestGraph(0.5)
    layer(nodes, mask)
    first = layer.similarity(nodes, mask).numpy()
    layer.metric_weight.assign(rng.normal(size=(1, 5)).astype(np.float32))
    assert not np.allclose(layer.similarity(nodes, mask).numpy(), first)
    with tf.GradientTape() as tape:
        tape.watch(nodes)
        total = tf.reduce_sum(layer(nodes, mask))
    assert all(g is None for g in tape.gradient(total, [nodes, layer.metric_weight]))


def test_constant_rows_and_empty_histories_give_no_nan():
    nodes = np.ones((2, 3, 4), np.float32)  # every similarity 1: min == max on every row
    mask = np.array([[1, 1, 1], [0, 0, 0]], np.float32)
    layer = InterestGraph(0.5)
    adjacency = layer(nodes, mask).numpy()
    assert np.all(np.isfinite(layer.similarity(nodes, mask).numpy()))
    np.testing.assert_array_equal(adjacency, np.zeros((2, 3, 3)))


def test_threshold_out_of_range_is_rejected():
    with pytest.raises(ValueError, match=r"relative_threshold=0.0; expected a value in \(0, 1\]"):
        InterestGraph(0.0)
