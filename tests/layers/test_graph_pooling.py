"""Tests for tf_lsrec/layers/graph_pooling.py (SURGE's query-aware graph pooling,
docs/reference.md §5.15)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.graph_pooling import InterestGraphPooling, compact_steps, top_k_steps

B, L, D, Q, P = 2, 6, 4, 4, 3
RNG = np.random.default_rng(5)
FUSED = RNG.normal(size=(B, L, D)).astype(np.float32)
MASK = np.array([[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]], np.float32)
CLUSTER = (RNG.random(size=(B, L)) * MASK).astype(np.float32)
TARGET = RNG.normal(size=(B, Q)).astype(np.float32)
ARGS = (TARGET, FUSED, MASK, CLUSTER)


def _layer(**kwargs):
    """A built pooling layer with spread-out weights (the default tiny ones leave the scores
    near-uniform)."""
    layer = InterestGraphPooling(P, [8], ["relu"], **kwargs)
    layer(*ARGS)
    rng = np.random.default_rng(9)
    layer.set_weights([rng.normal(0, 0.8, size=w.shape) for w in layer.get_weights()])
    return layer


def test_shapes_and_config(run_layer_test):
    run_layer_test(
        InterestGraphPooling,
        {
            "pool_length": P,
            "att_fcn_layer_sizes": [8, 4],
            "activations": ["relu", "relu"],
            "use_bn": True,
        },
        ARGS,
        ((B, P, D), (B, P), (B, D), (B, L)),
        call_kwargs={"training": False},
    )


@pytest.mark.parametrize(
    "scores,mask,pool,kept",
    [
        ([0.5, 0.1, 0.3, 0.1], [1, 1, 1, 1], 2, [1, 0, 1, 0]),  # top 2 of 4
        ([0.5, 0.1, 0.3, 0.1], [1, 1, 1, 1], 9, [1, 1, 1, 1]),  # n <= P: all (rank n reads 0)
        ([0.6, 0.4, 0.7, 0.0], [1, 1, 0, 0], 1, [1, 0, 0, 0]),  # padding never kept
        ([0.4, 0.3, 0.3, 0.0], [1, 1, 1, 0], 2, [1, 0, 0, 0]),  # tie at rank P drops both
        ([0.4, 0.3 + 5e-8, 0.3, 0.0], [1, 1, 1, 0], 2, [1, 0, 0, 0]),  # within 1e-7: dropped
    ],
)
def test_top_k_steps_follows_the_reference_threshold(scores, mask, pool, kept):
    got = top_k_steps(tf.constant([scores], tf.float64), tf.constant([mask], tf.float64), pool)
    np.testing.assert_array_equal(got.numpy()[0], kept)


def test_compact_steps_moves_kept_steps_to_the_front_in_order():
    values = tf.constant(np.arange(5, dtype=np.float32)[None, :, None])
    out, mask = compact_steps(values, tf.constant([[0.0, 1.0, 0.0, 1.0, 0.0]]), 3)
    np.testing.assert_array_equal(out.numpy()[0, :, 0][:2], [1.0, 3.0])
    np.testing.assert_array_equal(mask.numpy()[0], [1.0, 1.0, 0.0])


def test_pooling_keeps_the_top_scored_steps_in_order_and_reads_them_out():
    layer = _layer()
    pooled, pooled_mask, readout, scores = [t.numpy() for t in layer(*ARGS)]
    _, beta = layer.query_attention(TARGET, FUSED, MASK)
    expected_scores = np.exp(CLUSTER + beta.numpy()) * MASK
    expected_scores /= expected_scores.sum(-1, keepdims=True)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-7)
    assert pooled.shape == (B, P, D)  # L = 6 steps pooled to P = 3
    np.testing.assert_array_equal(pooled_mask, [[1, 1, 0], [1, 1, 1]])  # 2 real steps <= P
    for b in range(B):
        n = int(MASK[b].sum())
        top = np.sort(np.argsort(-scores[b, :n])[: min(n, P)])  # kept steps, original order
        np.testing.assert_allclose(pooled[b, : len(top)], FUSED[b, top], rtol=1e-6)
        expected = (scores[b, top, None] * FUSED[b, top]).sum(0)
        np.testing.assert_allclose(readout[b], expected, rtol=1e-5, atol=1e-6)


def test_the_target_changes_the_pooled_result():
    layer = _layer()
    a = [t.numpy() for t in layer(*ARGS)]
    b = [t.numpy() for t in layer(-2.0 * TARGET, FUSED, MASK, CLUSTER)]
    assert not np.allclose(a[3], b[3])  # scores
    assert not np.allclose(a[2], b[2])  # readout
    # which steps a full history keeps depends on the target: 20 targets, one history
    n = 20
    targets = np.random.default_rng(1).normal(size=(n, Q)).astype(np.float32) * 3
    rows = [np.repeat(x[1:], n, axis=0) for x in (FUSED, MASK, CLUSTER)]
    pooled, pooled_mask, _, _ = layer(targets, *rows)
    kept = {
        (p * m[:, None]).round(5).tobytes() for p, m in zip(pooled.numpy(), pooled_mask.numpy())
    }
    assert len(kept) > 1


def test_precomputed_query_keys_give_the_same_result():
    layer = InterestGraphPooling(P, [8], ["relu"], use_bn=True)
    plain = layer(*ARGS, training=False)
    keys = layer.encode_query_keys(tf.constant(FUSED))
    split = layer(*ARGS, training=False, query_keys=keys)
    for x, y in zip(plain, split):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)


def test_return_order_gathers_the_pooled_steps():
    layer = _layer()
    pooled, pooled_mask, readout, scores, order = layer(*ARGS, return_order=True)
    assert order.shape == (B, P)
    np.testing.assert_array_equal(tf.gather(FUSED, order, batch_dims=1).numpy(), pooled.numpy())
    plain = layer(*ARGS)
    for x, y in zip(plain, (pooled, pooled_mask, readout, scores)):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
