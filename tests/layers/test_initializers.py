"""Tests for tf_lsrec/layers/initializers.py (docs/reference.md §3.8)."""

import logging

import numpy as np
import pytest
import tf_keras as keras

from tf_lsrec.layers.initializers import fresh_initializer, get_initializer


def test_tnormal_is_truncated_at_two_sigma_without_rescaling():
    w = get_initializer("tnormal", 0.01, seed=0)((200, 200)).numpy()
    assert np.abs(w).max() <= 0.02
    # truncated N(0, s) at 2s has std 0.8796 s (no rescaling to s)
    assert abs(w.std() - 0.008796) < 3e-4


def test_uniform_and_normal():
    u = get_initializer("uniform", 0.5, seed=0)((100, 100)).numpy()
    assert u.min() >= -0.5 and u.max() <= 0.5 and u.min() < -0.49 and u.max() > 0.49
    n = get_initializer("normal", 2.0, seed=0)((200, 200)).numpy()
    assert abs(n.std() - 2.0) < 0.05 and np.abs(n).max() > 4.0  # not truncated


@pytest.mark.parametrize(
    "name, scale, mode, dist",
    [
        ("xavier_normal", 1.0, "fan_avg", "truncated_normal"),
        ("xavier_uniform", 1.0, "fan_avg", "uniform"),
        ("he_normal", 2.0, "fan_in", "truncated_normal"),
        ("he_uniform", 2.0, "fan_in", "uniform"),
    ],
)
def test_variance_scaling_family(name, scale, mode, dist):
    init = get_initializer(name, 0.01)
    assert isinstance(init, keras.initializers.VarianceScaling)
    assert (init.scale, init.mode, init.distribution) == (scale, mode, dist)


def test_unknown_falls_back_to_tnormal_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="tf_lsrec.layers.initializers"):
        init = get_initializer("bogus", 0.03)
    assert isinstance(init, keras.initializers.TruncatedNormal) and init.stddev == 0.03
    assert "bogus" in caplog.text and "tnormal" in caplog.text


def test_fresh_initializer_distinct_per_salt_and_reproducible():
    base = get_initializer("normal", 1.0, seed=5)
    a1 = fresh_initializer(base, "a")((3, 3)).numpy()
    a2 = fresh_initializer(base, "a")((3, 3)).numpy()
    b = fresh_initializer(base, "b")((3, 3)).numpy()
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, b)
    assert fresh_initializer(base, "a") is not base
