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
    np.testing.assert_allclose(clone(tf.constant(X), tf.constant(MASK)).numpy(), out.numpy(),
                               rtol=1e-6)


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
