"""The linear probe recovers a planted linear label and scores chance on noise."""

import numpy as np
import pytest

from tf_lsrec.evaluation.probe import fit_linear_probe, probe_accuracy, user_split


def _planted(n, d=16, k=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=d)  # unequal scales: standardised
    w = rng.normal(size=(d, k))
    y = np.argmax((x / x.std(axis=0)) @ w, axis=1)
    return x, y


def test_recovers_planted_linear_label_on_held_out_rows():
    x, y = _planted(3000)
    train = np.arange(3000) < 1500
    assert probe_accuracy(x, y, train) > 0.95


def test_noise_labels_score_chance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 16))
    y = rng.integers(0, 5, size=4000)
    train = np.arange(4000) < 2000
    acc = probe_accuracy(x, y, train)
    assert abs(acc - 0.2) < 0.04  # 2000 test rows: std of chance accuracy ~ 0.009


def test_label_values_are_kept_and_constant_features_are_harmless():
    x, y = _planted(600, d=4, k=3)
    x = np.concatenate([x, np.ones((600, 1))], axis=1)
    labels = np.array(["a", "b", "c"])[y]
    probe = fit_linear_probe(x, labels, l2=1e-3)
    assert set(probe.predict(x)) <= {"a", "b", "c"}
    assert probe.accuracy(x, labels) > 0.9


def test_fit_is_near_optimal_on_separable_two_class_data():
    # one feature decides: the probe must reach (almost) zero training error
    x = np.linspace(-1, 1, 200)[:, None]
    y = (x[:, 0] > 0.05).astype(int)
    assert fit_linear_probe(x, y, l2=1e-4, steps=2000).accuracy(x, y) >= 0.99


def test_user_split_keeps_a_user_on_one_side():
    users = np.array([b"u1", b"u2", b"u1", b"u3"] * 50)
    side = user_split(users)
    for u in set(users):
        assert len(set(side[users == u])) == 1
    big = user_split([f"u{i}" for i in range(4000)])
    assert 0.45 < big.mean() < 0.55


@pytest.mark.parametrize(
    "x,y",
    [
        (np.zeros((3,)), np.zeros(3)),
        (np.zeros((3, 2)), np.zeros(2)),
        (np.full((3, 2), np.nan), np.zeros(3)),
    ],
)
def test_bad_input_is_refused(x, y):
    with pytest.raises(ValueError, match="linear probe"):
        fit_linear_probe(x, y)
