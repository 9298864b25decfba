"""Tests for tf_lsrec/layers/dice.py (docs/reference.md §3.4, CLSR ``dice``)."""

import numpy as np
import tensorflow as tf

from tf_lsrec.layers.dice import Dice


def _dice_numpy(x, alpha, eps=1e-9):
    axes = tuple(range(x.ndim - 1))
    mu = x.mean(axis=axes, keepdims=True)
    s = np.sqrt(((x - mu) ** 2 + eps).mean(axis=axes, keepdims=True))
    p = 1.0 / (1.0 + np.exp(-(x - mu) / (s + eps)))
    return alpha * (1 - p) * x + p * x


def test_dice_shape_and_config(run_layer_test):
    run_layer_test(Dice, {}, tf.random.stateless_normal([4, 3, 5], seed=[0, 1]), (4, 3, 5))


def test_dice_matches_numpy_with_batch_statistics():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 5)).astype(np.float32)
    alpha = rng.normal(size=5).astype(np.float32)
    dice = Dice()
    dice.build(tf.TensorShape([None, None, 5]))
    assert np.all(dice.alpha.numpy() == 0)
    dice.set_weights([alpha])
    np.testing.assert_allclose(dice(x).numpy(), _dice_numpy(x, alpha), rtol=1e-5, atol=1e-6)


def test_dice_with_zero_alpha_on_constant_feature_is_half_x():
    # constant column: x - mu = 0, p = sigmoid(0) = 0.5, alpha 0 -> 0.5 x
    x = np.array([[2.0, 1.0], [2.0, 3.0]], np.float32)
    got = Dice()(x).numpy()
    np.testing.assert_allclose(got[:, 0], [1.0, 1.0])
