"""Tests for tf_lsrec/layers/interest_proxy.py (docs/reference.md §7.3, §7.5)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.interest_proxy import InterestProxy, masked_mean, recent_mask

# Two rows, L = 5, D = 2. Row 0 keeps 4 steps, row 1 keeps 2 steps.
X = np.array(
    [
        [[1.0, 0.0], [2.0, 4.0], [3.0, 8.0], [6.0, 0.0], [100.0, 100.0]],
        [[5.0, 1.0], [7.0, 3.0], [50.0, 50.0], [60.0, 60.0], [70.0, 70.0]],
    ],
    np.float32,
)
M = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], np.float32)


@pytest.mark.parametrize("mode", ["all", "recent"])
def test_shape_and_config_round_trip(run_layer_test, mode):
    run_layer_test(
        InterestProxy, {"mode": mode, "recent_k": 3}, (tf.constant(X), tf.constant(M)), (2, 2)
    )


def test_long_proxy_is_the_masked_mean_of_all_kept_steps():
    got = InterestProxy("all")(tf.constant(X), tf.constant(M)).numpy()
    # row 0: mean of (1,0),(2,4),(3,8),(6,0) = (3, 3); row 1: mean of (5,1),(7,3) = (6, 2)
    np.testing.assert_allclose(got, [[3.0, 3.0], [6.0, 2.0]])


def test_short_proxy_is_the_mean_of_the_last_k_kept_steps():
    got = InterestProxy("recent", recent_k=3)(tf.constant(X), tf.constant(M)).numpy()
    # row 0: last 3 kept = (2,4),(3,8),(6,0) -> (11/3, 4); row 1 (ℓ = 2 < k): (6, 2)
    np.testing.assert_allclose(got, [[11.0 / 3.0, 4.0], [6.0, 2.0]], rtol=1e-6)


def test_recent_mask_marks_the_last_min_k_len_positions():
    got = recent_mask(tf.constant(M), 3).numpy()
    np.testing.assert_array_equal(got, [[0, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    got1 = recent_mask(tf.constant(M), 1).numpy()
    np.testing.assert_array_equal(got1, [[0, 0, 0, 1, 0], [0, 1, 0, 0, 0]])


def test_all_padding_row_gives_zeros_not_nan():
    mask = tf.constant([[0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    for mode in ("all", "recent"):
        got = InterestProxy(mode)(tf.constant(X), mask).numpy()
        np.testing.assert_array_equal(got[0], [0.0, 0.0])
        np.testing.assert_allclose(got[1], [5.0, 1.0])


def test_gradient_of_all_padding_row_is_finite():
    x = tf.Variable(X)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(masked_mean(x, tf.zeros([2, 5])))
    grad = tape.gradient(loss, x)
    assert np.all(np.isfinite(grad.numpy()))


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="mode 'last'"):
        InterestProxy("last")
    with pytest.raises(ValueError, match="recent_k must be > 0"):
        InterestProxy("recent", recent_k=0)
