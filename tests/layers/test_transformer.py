"""CausalSelfAttentionBlock: shapes and config, causality (or not), padding, and its mask
helpers."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.transformer import CausalSelfAttentionBlock, causal_key_mask, key_mask

B, L, D = 2, 6, 8
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, L, D)).astype(np.float32)
MASK = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], np.float32)


def test_causal_key_mask_by_hand():
    m = causal_key_mask(tf.constant([[1.0, 1.0, 0.0]])).numpy()[0]
    expected = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 0]], bool)
    np.testing.assert_array_equal(m, expected)


def test_shape_and_config_round_trip():
    block = CausalSelfAttentionBlock(num_heads=2, dropout_rate=0.1, seed=3, name="blk")
    out = block(tf.constant(X), tf.constant(MASK), training=False)
    assert out.shape == (B, L, D)
    clone = CausalSelfAttentionBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    clone(tf.constant(X), tf.constant(MASK))
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(
        clone(tf.constant(X), tf.constant(MASK)).numpy(), out.numpy(), rtol=1e-6
    )


def test_step_reads_only_earlier_real_steps_and_padding_is_zero():
    block = CausalSelfAttentionBlock(num_heads=1, dropout_rate=0.0, seed=1)
    base = block(tf.constant(X), tf.constant(MASK)).numpy()
    changed = X.copy()
    changed[:, 3:] += 5.0  # steps 3.. (and row 0's padding at 4, 5)
    out = block(tf.constant(changed), tf.constant(MASK)).numpy()
    np.testing.assert_allclose(out[:, :3], base[:, :3], rtol=1e-5, atol=1e-6)  # causal
    assert np.abs(out[:, 3] - base[:, 3]).max() > 1e-3
    assert np.all(base[0, 4:] == 0.0)  # padded steps are zeroed


def test_width_must_divide_into_heads():
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        CausalSelfAttentionBlock(num_heads=3)(tf.constant(X), tf.constant(MASK))


def _layer_norm(x, gamma, beta):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-8) * gamma + beta


def test_block_values_match_numpy_by_hand():
    # the module docstring's formula, written out in numpy from the block's own weights:
    # Q = LN(X); per head softmax(Q Wq (X Wk)^T / sqrt(d) + causal/padding mask) X Wv; output
    # projection; A = attn + Q; A' = LN(A); Y = (A' + FFN(A')) * m
    heads = 2
    block = CausalSelfAttentionBlock(num_heads=heads, dropout_rate=0.0, seed=5, name="blk")
    block(tf.constant(X), tf.constant(MASK), training=False)
    rng = np.random.default_rng(1)
    for v in block.weights:  # non-trivial LayerNorm scales and biases too
        v.assign(rng.normal(scale=0.5, size=v.shape).astype(np.float32))
    out = block(tf.constant(X), tf.constant(MASK), training=False).numpy()
    mha = block.attention
    w = {
        "ln_att/gamma": block.attention_norm.gamma, "ln_att/beta": block.attention_norm.beta,
        "ln_ffn/gamma": block.ffn_norm.gamma, "ln_ffn/beta": block.ffn_norm.beta,
        "ffn_in/kernel": block.ffn_in.kernel, "ffn_in/bias": block.ffn_in.bias,
        "ffn_out/kernel": block.ffn_out.kernel, "ffn_out/bias": block.ffn_out.bias,
        **{f"attention/{v.name.split('attention/')[-1].split(':')[0]}": v for v in mha.weights},
    }  # fmt: skip
    w = {name: var.numpy() for name, var in w.items()}
    assert len(w) == 16 == len(block.weights)

    q_in = _layer_norm(X, w["ln_att/gamma"], w["ln_att/beta"])

    def project(x, part):  # [B, L, D] -> per head [B, H, L, d]
        kernel, bias = w[f"attention/{part}/kernel"], w[f"attention/{part}/bias"]
        return np.einsum("bld,dhk->bhlk", x, kernel) + bias[None, :, None, :]

    q = project(q_in, "query")
    k = project(X, "key")
    v = project(X, "value")
    scores = np.einsum("bhik,bhjk->bhij", q, k) / np.sqrt(D // heads)
    allowed = np.tril(np.ones((L, L), bool))[None] & (MASK[:, None, :] > 0)  # [B, i, j]
    scores = np.where(allowed[:, None], scores, -np.inf)
    att = np.exp(scores - scores.max(-1, keepdims=True))
    att /= att.sum(-1, keepdims=True)
    heads_out = np.einsum("bhij,bhjk->bhik", att, v)
    attended = np.einsum("bhik,hkd->bid", heads_out, w["attention/attention_output/kernel"])
    attended += w["attention/attention_output/bias"]
    a = _layer_norm(attended + q_in, w["ln_ffn/gamma"], w["ln_ffn/beta"])
    ffn = np.maximum(a @ w["ffn_in/kernel"] + w["ffn_in/bias"], 0) @ w["ffn_out/kernel"]
    expected = (a + ffn + w["ffn_out/bias"]) * MASK[..., None]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_bidirectional_key_mask_by_hand():
    m = key_mask(tf.constant([[1.0, 1.0, 0.0]]), causal=False).numpy()[0]
    np.testing.assert_array_equal(m, np.array([[1, 1, 0]] * 3, bool))


def test_bidirectional_step_reads_later_real_steps_but_not_padding():
    block = CausalSelfAttentionBlock(num_heads=2, dropout_rate=0.0, seed=1, causal=False)
    assert CausalSelfAttentionBlock.from_config(block.get_config()).causal is False
    base = block(tf.constant(X), tf.constant(MASK)).numpy()
    later = X.copy()
    later[:, 3] += 5.0  # a real step of both rows
    out = block(tf.constant(later), tf.constant(MASK)).numpy()
    assert np.abs(out[:, 0] - base[:, 0]).max() > 1e-3  # step 0 reads step 3
    padding = X.copy()
    padding[0, 4:] += 5.0  # row 0's padding
    out = block(tf.constant(padding), tf.constant(MASK)).numpy()
    np.testing.assert_allclose(out, base, rtol=1e-5, atol=1e-6)
