"""Tests for tf_lsrec/layers/attention.py (docs/reference.md §5.1)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.attention import (
    AttentionPooling,
    BilinearAttention,
    PlainAttention,
    masked_softmax,
)

B, L, D, Q = 3, 5, 6, 4
RNG = np.random.default_rng(7)
KEYS = RNG.normal(size=(B, L, D)).astype(np.float32)
QUERY = RNG.normal(size=(B, Q)).astype(np.float32)
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], np.float32)


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_attention_pooling_shapes_and_config(run_layer_test):
    run_layer_test(
        AttentionPooling,
        {"att_fcn_layer_sizes": [8, 4], "activations": ["relu", "dice"], "use_bn": True},
        (QUERY, KEYS, MASK),
        ((B, D), (B, L)),
        call_kwargs={"training": False},
    )


def test_bilinear_attention_shapes_and_config(run_layer_test):
    run_layer_test(BilinearAttention, {}, (QUERY, KEYS, MASK), ((B, D), (B, L)))


@pytest.mark.parametrize("use_mask", [False, True])
def test_plain_attention_shapes_and_config(run_layer_test, use_mask):
    run_layer_test(PlainAttention, {"use_mask": use_mask}, (KEYS, MASK), ((B, D), (B, L)))


def test_plain_attention_size_must_equal_d():
    with pytest.raises(ValueError, match="attention_size=5 but the inputs' last dimension is 6"):
        PlainAttention(attention_size=5)(KEYS, MASK)


def test_masked_softmax_zero_on_padding_and_on_empty_rows():
    scores = tf.constant(RNG.normal(size=(B, L)) * 50, tf.float32)
    w = masked_softmax(scores, MASK).numpy()
    assert np.all(w[MASK == 0] == 0.0)
    np.testing.assert_allclose(w.sum(-1), [1.0, 1.0, 0.0], rtol=1e-6)
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w[0, :3], _softmax(scores.numpy()[0, :3]), rtol=1e-5)


def test_attention_pooling_matches_numpy():
    att = AttentionPooling([3], ["relu"])
    att(QUERY, KEYS, MASK)
    w_a = RNG.normal(size=(D, Q))
    w0, b0 = RNG.normal(size=(4 * Q, 3)), RNG.normal(size=3)
    wo, bo = RNG.normal(size=(3, 1)), RNG.normal(size=1)
    att.kernel.assign(w_a)
    att.mlp.dense_layers[0].set_weights([w0, b0])
    att.mlp.output_layer.set_weights([wo, bo])

    v = KEYS @ w_a  # [B, L, Q]
    q = np.broadcast_to(QUERY[:, None, :], v.shape)
    z = np.concatenate([v, q, v - q, v * q], axis=-1)
    s = (np.maximum(z @ w0 + b0, 0) @ wo + bo)[..., 0]
    expected_w = np.zeros((B, L))
    for b in range(2):
        keep = MASK[b] == 1
        expected_w[b, keep] = _softmax(s[b, keep])
    expected_pooled = (expected_w[..., None] * KEYS).sum(1)  # raw keys, not projected

    pooled, weights = att(QUERY, KEYS, MASK, training=False)
    np.testing.assert_allclose(weights.numpy(), expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pooled.numpy(), expected_pooled, rtol=1e-5, atol=1e-5)
    assert np.all(weights.numpy()[MASK == 0] == 0.0)
    assert np.all(pooled.numpy()[2] == 0.0)  # all-masked row -> zeros, not NaN


def test_bilinear_attention_matches_numpy():
    att = BilinearAttention()
    att(QUERY, KEYS, MASK)
    w = RNG.normal(size=(D, Q))
    att.kernel.assign(w)
    s = np.einsum("bld,dq,bq->bl", KEYS, w, QUERY)
    pooled, weights = att(QUERY, KEYS, MASK)
    keep = MASK[0] == 1
    np.testing.assert_allclose(weights.numpy()[0, keep], _softmax(s[0, keep]), rtol=1e-5)
    np.testing.assert_allclose(weights.numpy()[1], _softmax(s[1]), rtol=1e-5)
    np.testing.assert_allclose(
        pooled.numpy()[:2], (weights.numpy()[:2, :, None] * KEYS[:2]).sum(1), rtol=1e-5
    )
    assert np.all(weights.numpy()[2] == 0.0) and np.all(pooled.numpy()[2] == 0.0)


def _plain_numpy(x, w, q):
    return _softmax(np.einsum("bld,de,e->bl", x, w, q))


def test_plain_attention_quirk_attends_to_padding_unless_use_mask():
    w = RNG.normal(size=(D, D)) * 0.3
    q = RNG.normal(size=D)
    quirk, fixed = PlainAttention(), PlainAttention(use_mask=True)
    for layer in (quirk, fixed):
        layer(KEYS, MASK)
        layer.set_weights([w, q])

    pooled, weights = quirk(KEYS, MASK)
    expected = _plain_numpy(KEYS, w, q)  # over all L positions, padding included
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert np.all(weights.numpy()[MASK == 0] > 0)
    np.testing.assert_allclose(pooled.numpy(), (expected[..., None] * KEYS).sum(1), rtol=1e-4)

    _, weights = fixed(KEYS, MASK)
    assert np.all(weights.numpy()[MASK == 0] == 0.0)
    keep = MASK[0] == 1
    np.testing.assert_allclose(
        weights.numpy()[0, keep], _softmax(np.einsum("ld,de,e->l", KEYS[0, keep], w, q)), rtol=1e-5
    )
    assert np.all(weights.numpy()[2] == 0.0)


def test_gradients_are_finite_with_an_all_masked_row():
    att = AttentionPooling([4], ["relu"])
    keys = tf.Variable(KEYS)
    with tf.GradientTape() as tape:
        pooled, _ = att(QUERY, keys, MASK)
        loss = tf.reduce_sum(pooled)
    grads = tape.gradient(loss, [keys, *att.trainable_variables])
    for g in grads:
        assert g is not None and np.all(np.isfinite(g.numpy()))
    assert np.all(grads[0].numpy()[2] == 0.0)  # empty row: no gradient reaches its keys


def test_bool_mask_and_float16_scores():
    w = masked_softmax(
        tf.constant([[1.0, 2.0, 3.0]], tf.float16), tf.constant([[True, True, False]])
    )
    assert w.dtype == tf.float16 and float(w[0, 2]) == 0.0
    np.testing.assert_allclose(
        w.numpy()[0, :2].astype(np.float32), _softmax(np.array([1.0, 2.0])), rtol=1e-3
    )


@pytest.mark.parametrize("sizes", [[], [4], [5, 3]])
def test_attention_pooling_with_encoded_keys_matches_plain_call(sizes):
    """Scoring against precomputed ``encode_keys`` (serving: one history, many queries) gives
    the plain call's result, also with no hidden layer (the output layer is the first Dense)."""
    att = AttentionPooling(sizes, ["relu"] * len(sizes), use_bn=bool(sizes))
    plain_pooled, plain_w = att(QUERY, KEYS, MASK, training=False)
    encoded = att.encode_keys(KEYS)
    assert encoded["projected"].shape == (B, L, Q)
    assert encoded["key_part"].shape == (B, L, sizes[0] if sizes else 1)
    pooled, w = att(QUERY, KEYS, MASK, training=False, encoded_keys=encoded)
    np.testing.assert_allclose(w.numpy(), plain_w.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pooled.numpy(), plain_pooled.numpy(), rtol=1e-6, atol=1e-6)
    # a query prefix shared by all queries (CLSR's q_S) folded into key_part
    prefix = att.encode_keys(KEYS, query_prefix=QUERY[:, :2])
    assert prefix["projected_suffix"].shape == (B, L, Q - 2)
    pooled, w = att(QUERY, KEYS, MASK, training=False, encoded_keys=prefix)
    np.testing.assert_allclose(w.numpy(), plain_w.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pooled.numpy(), plain_pooled.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_mask", [False, True])
def test_plain_attention_contracts_kernel_with_query_first_exactly(use_mask):
    """``X (W q)`` (the layer) equals the previous ``einsum("bld,de,e->bl")`` ``(X W) q``, for
    the weights and for the gradients, in float64."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(3, 7, 6)))
    mask = tf.constant((np.arange(7)[None] < np.array([[7], [2], [0]])).astype(np.float64))
    att = PlainAttention(use_mask=use_mask, dtype="float64")
    att.build(x.shape)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        pooled, weights = att(x, mask)
        scores = tf.einsum("bld,de,e->bl", x, att.kernel, att.query)
        old_w = masked_softmax(scores, mask if use_mask else None)
        old_pooled = tf.reduce_sum(x * old_w[..., None], axis=1)
        new_loss = tf.reduce_sum(tf.sin(pooled))
        old_loss = tf.reduce_sum(tf.sin(old_pooled))
    np.testing.assert_allclose(weights.numpy(), old_w.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(pooled.numpy(), old_pooled.numpy(), rtol=1e-12, atol=1e-14)
    sources = [x, att.kernel, att.query]
    for g_new, g_old in zip(tape.gradient(new_loss, sources), tape.gradient(old_loss, sources)):
        np.testing.assert_allclose(g_new.numpy(), g_old.numpy(), rtol=1e-10, atol=1e-12)


def test_attention_pooling_with_one_query_per_step_matches_numpy():
    """A ``[B, L, Q]`` query (SURGE's cluster-aware attention) scores step ``j`` with query
    ``j``; a query repeated over the steps equals the ``[B, Q]`` call."""
    att = AttentionPooling([3], ["relu"])
    att(QUERY, KEYS, MASK)
    queries = RNG.normal(size=(B, L, Q)).astype(np.float32)
    w_a = att.kernel.numpy()
    (w0, b0), (wo, bo) = att.mlp.dense_layers[0].get_weights(), att.mlp.output_layer.get_weights()
    v = KEYS @ w_a
    z = np.concatenate([v, queries, v - queries, v * queries], axis=-1)
    s = (np.maximum(z @ w0 + b0, 0) @ wo + bo)[..., 0]
    keep = MASK[0] == 1
    _, weights = att(queries, KEYS, MASK)
    np.testing.assert_allclose(weights.numpy()[0, keep], _softmax(s[0, keep]), rtol=1e-5)
    np.testing.assert_allclose(weights.numpy()[1], _softmax(s[1]), rtol=1e-5)
    tiled = np.repeat(QUERY[:, None, :], L, axis=1)
    np.testing.assert_allclose(
        att(tiled, KEYS, MASK)[1].numpy(), att(QUERY, KEYS, MASK)[1].numpy(), rtol=1e-6
    )
