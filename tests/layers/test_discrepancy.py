"""Tests for tf_lsrec/layers/discrepancy.py (docs/reference.md §7.10)."""

import numpy as np
import tensorflow as tf

from tf_lsrec.layers.discrepancy import discrepancy_loss, unique_user_rows


def test_negative_weighted_mean_square_difference():
    long = tf.constant([[1.0, 3.0], [2.0, 2.0]])
    short = tf.constant([[0.0, 0.0], [2.0, 0.0]])
    # squared differences 1, 9, 0, 4 -> mean 3.5 -> -0.01 * 3.5
    np.testing.assert_allclose(float(discrepancy_loss(long, short, 0.01)), -0.035, rtol=1e-6)


def test_official_sign_rewards_moving_the_tables_apart():
    long = tf.Variable([[1.0, 0.0]])
    short = tf.Variable([[0.0, 0.0]])
    with tf.GradientTape() as tape:
        loss = discrepancy_loss(long, short, 0.01)
    g_long, g_short = tape.gradient(loss, [long, short])
    # gradient descent moves long further from short: d loss / d long_0 < 0
    assert g_long.numpy()[0, 0] < 0 and g_short.numpy()[0, 0] > 0


def test_empty_rows_give_zero_not_nan():
    assert float(discrepancy_loss(tf.zeros([0, 4]), tf.zeros([0, 4]), 0.01)) == 0.0


def test_unique_user_rows_once_per_user():
    long = tf.constant([[0.0], [1.0], [2.0]])
    short = tf.constant([[10.0], [11.0], [12.0]])
    lr, sr = unique_user_rows(tf.constant([2, 2, 0, 2, 0]), long, short)
    assert lr.numpy().ravel().tolist() == [2.0, 0.0]
    assert sr.numpy().ravel().tolist() == [12.0, 10.0]
