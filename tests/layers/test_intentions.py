"""Tests for tf_lsrec/layers/intentions.py (Ma et al. KDD'20 intentions and seq2seq loss)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.intentions import (
    IntentionEncoder,
    num_kept,
    select_reliable,
    seq2seq_disentangled_loss,
)


def t(x):
    return tf.constant(np.asarray(x, np.float32))


def encoder_with_prototypes(prototypes, temperature):
    layer = IntentionEncoder(len(prototypes), temperature=temperature)
    layer.build(tf.TensorShape([None, None, len(prototypes[0])]))
    layer.prototypes.assign(np.asarray(prototypes, np.float32))
    return layer


# ----------------------------------------------------------------- IntentionEncoder
def test_layer_contract_shapes_and_config_round_trip(run_layer_test):
    steps = tf.random.stateless_normal([3, 5, 6], seed=[1, 2])
    mask = t([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    run_layer_test(
        IntentionEncoder,
        {"num_intentions": 4, "temperature": 0.5},
        (steps, mask),
        ((3, 4, 6), (3, 4)),
    )


def test_intentions_are_assignment_weighted_masked_means_hand_computed():
    # prototypes e1, e2; tau = 1: a step x gets softmax([cos(x,e1), cos(x,e2)])
    layer = encoder_with_prototypes([[1.0, 0.0], [0.0, 1.0]], temperature=1.0)
    x = [[2.0, 0.0], [0.0, 3.0], [5.0, 5.0]]  # third step is padding
    z, w = layer(t([x]), t([[1, 1, 0]]))
    a1 = np.exp([1.0, 0.0]) / np.exp([1.0, 0.0]).sum()  # step 1: cos = (1, 0)
    a2 = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()  # step 2: cos = (0, 1)
    mass = a1 + a2
    expect_z = np.stack(
        [(a1[k] * np.array(x[0]) + a2[k] * np.array(x[1])) / mass[k] for k in range(2)]
    )
    np.testing.assert_allclose(w.numpy()[0], mass, rtol=1e-6)
    np.testing.assert_allclose(z.numpy()[0], expect_z, rtol=1e-5)
    assert abs(float(tf.reduce_sum(w)) - 2.0) < 1e-5  # masses sum to the kept length


def test_sharp_assignment_separates_two_clusters_and_empty_rows_are_zero():
    layer = encoder_with_prototypes([[1.0, 0.0], [0.0, 1.0]], temperature=0.01)
    x = [[[1.0, 0.1], [3.0, -0.1], [0.0, 2.0]], [[9.0, 9.0]] * 3]
    z, w = layer(t(x), t([[1, 1, 1], [0, 0, 0]]))
    np.testing.assert_allclose(w.numpy(), [[2.0, 1.0], [0.0, 0.0]], atol=1e-4)
    np.testing.assert_allclose(z.numpy()[0], [[2.0, 0.0], [0.0, 2.0]], atol=1e-3)
    np.testing.assert_array_equal(z.numpy()[1], np.zeros((2, 2)))
    with tf.GradientTape() as tape:
        steps = t(x)
        tape.watch(steps)
        total = tf.reduce_sum(layer(steps, t([[1, 1, 1], [0, 0, 0]]))[0])
    grad = tape.gradient(total, steps).numpy()
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[1], np.zeros((3, 2)))  # masked steps get no gradient


def test_invalid_arguments_are_reported():
    with pytest.raises(ValueError, match="num_intentions"):
        IntentionEncoder(0)
    with pytest.raises(ValueError, match="temperature"):
        IntentionEncoder(2, temperature=0.0)
    with pytest.raises(ValueError, match=r"\[B, L, D\]"):
        IntentionEncoder(2)(tf.zeros([2, 3]))


# ----------------------------------------------------------------- keep rule
@pytest.mark.parametrize(
    ("k", "ratio", "expected"),
    [(4, 0.5, 2), (4, 0.6, 3), (10, 0.3, 3), (3, 0.25, 1), (4, 0.1, 1), (5, 1.0, 5)],
)
def test_num_kept_is_the_ceiling(k, ratio, expected):
    assert num_kept(k, ratio) == expected


def test_num_kept_rejects_out_of_range_ratio():
    with pytest.raises(ValueError, match="intention_keep_ratio"):
        num_kept(4, 0.0)
    with pytest.raises(ValueError, match="intention_keep_ratio"):
        num_kept(4, 1.5)


def test_select_reliable_keeps_the_largest_scores_per_row():
    scores = t([[0.1, 0.9, 0.5, 0.7], [4.0, 3.0, 2.0, 1.0]])
    np.testing.assert_array_equal(select_reliable(scores, 2).numpy(), [[0, 1, 0, 1], [1, 1, 0, 0]])
    eligible = t([[1, 0, 1, 1], [1, 1, 1, 1]])  # row 0: the best one has no mass
    np.testing.assert_array_equal(
        select_reliable(scores, 2, eligible).numpy(), [[0, 0, 0, 1], [1, 1, 0, 0]]
    )


# ----------------------------------------------------------------- loss
def orthogonal_rows(b, k, d, seed=0):
    """[B, K, D] unit vectors, all B*K of them orthogonal (needs D >= B*K)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q[: b * k].reshape(b, k, d).astype(np.float32)


def test_infonce_value_hand_computed():
    # B = 2, K = 1, keep all: s = cos / tau
    past = t([[[1.0, 0.0]], [[0.0, 1.0]]])
    future = t([[[1.0, 1.0]], [[0.0, 2.0]]])
    tau = 0.5
    c = 1 / math.sqrt(2)
    s = np.array([[c, 0.0], [c, 1.0]]) / tau  # s[b, c] = cos(past_b, future_c) / tau
    expect = np.mean([np.log(np.exp(s[b]).sum()) - s[b, b] for b in range(2)])
    loss = seq2seq_disentangled_loss(past, future, tf.ones([2, 1]), 1.0, tau)
    np.testing.assert_allclose(float(loss), expect, rtol=1e-5)


def test_loss_is_lower_when_futures_match_their_own_past_than_when_shuffled():
    z = orthogonal_rows(4, 3, 16)
    w = tf.ones([4, 3])
    matched = float(seq2seq_disentangled_loss(t(z), t(z), w, 1.0, 0.1))
    shuffled = float(seq2seq_disentangled_loss(t(z), t(np.roll(z, 1, axis=0)), w, 1.0, 0.1))
    # matched: each anchor has cos 1 with its own future and 0 with the 3 others
    np.testing.assert_allclose(matched, math.log(1 + 3 * math.exp(-10)), atol=1e-6)
    # shuffled: the own future is orthogonal (s = 0), another row's future has s = 10
    np.testing.assert_allclose(shuffled, math.log(3 + math.exp(10)), rtol=1e-5)
    assert matched < 1e-3 < math.log(4) < shuffled


def test_exactly_ceil_ratio_k_kept_and_dropped_intentions_get_zero_gradient():
    rng = np.random.default_rng(3)
    past = t(rng.normal(size=(5, 4, 6)))
    future = t(rng.normal(size=(5, 4, 6)))
    w = t(rng.uniform(0.5, 2.0, size=(5, 4)))
    for ratio, keep_count in [(0.5, 2), (0.6, 3), (0.2, 1)]:
        for keep_by in ("similarity", "weight"):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([past, future])
                loss, keep = seq2seq_disentangled_loss(
                    past, future, w, ratio, 0.2, keep_by=keep_by, return_keep=True
                )
            keep = keep.numpy()
            np.testing.assert_array_equal(keep.sum(axis=1), [keep_count] * 5)
            cos = tf.reduce_sum(
                tf.math.l2_normalize(past, -1) * tf.math.l2_normalize(future, -1), -1
            ).numpy()
            score = cos if keep_by == "similarity" else w.numpy()
            for b in range(5):  # the kept ones are the best-scored ones
                assert score[b][keep[b] > 0].min() >= score[b][keep[b] == 0].max()
            g_past, g_future = tape.gradient(loss, [past, future])
            dropped = keep == 0
            assert np.all(g_past.numpy()[dropped] == 0)
            assert np.all(g_future.numpy()[dropped] == 0)
            assert np.abs(g_past.numpy()[~dropped]).sum(axis=-1).min() > 0


def test_masked_rows_contribute_nothing_and_all_masked_gives_zero_not_nan():
    rng = np.random.default_rng(4)
    past = rng.normal(size=(3, 2, 5)).astype(np.float32)
    future = rng.normal(size=(3, 2, 5)).astype(np.float32)
    w = np.ones((3, 2), np.float32)
    sub = seq2seq_disentangled_loss(t(past[:2]), t(future[:2]), t(w[:2]), 0.5, 0.2)
    garbage = future.copy()
    garbage[2] = 1e6  # the excluded row's values must not matter
    masked = seq2seq_disentangled_loss(t(past), t(garbage), t(w), 0.5, 0.2, row_mask=t([1, 1, 0]))
    np.testing.assert_allclose(float(masked), float(sub), rtol=1e-6)

    p = t(past)
    with tf.GradientTape() as tape:
        tape.watch(p)
        none = seq2seq_disentangled_loss(p, t(future), t(w), 0.5, 0.2, row_mask=tf.zeros([3]))
    assert float(none) == 0.0
    np.testing.assert_array_equal(tape.gradient(none, p).numpy(), np.zeros_like(past))


def test_copies_of_a_row_are_not_its_negatives():
    z = t([[[1.0, 0.0]], [[1.0, 0.0]]])  # two copies of one sequence
    w = tf.ones([2, 1])
    with_copies = seq2seq_disentangled_loss(z, z, w, 1.0, 0.1)
    np.testing.assert_allclose(float(with_copies), math.log(2), rtol=1e-6)  # a tie with the copy
    same = tf.ones([2, 2], tf.bool)
    assert float(seq2seq_disentangled_loss(z, z, w, 1.0, 0.1, same_row=same)) == 0.0


def test_zero_mass_future_intentions_are_never_kept():
    past = t([[[1.0, 0.0], [0.0, 1.0]]])
    future = t([[[1.0, 0.0], [0.0, 0.0]]])  # intention 1 has no future step
    _, keep = seq2seq_disentangled_loss(past, future, t([[3.0, 0.0]]), 1.0, 0.1, return_keep=True)
    np.testing.assert_array_equal(keep.numpy(), [[1.0, 0.0]])


def test_loss_rejects_unknown_keep_rule():
    with pytest.raises(ValueError, match="keep_by"):
        seq2seq_disentangled_loss(
            tf.zeros([1, 1, 2]), tf.zeros([1, 1, 2]), tf.ones([1, 1]), 1.0, keep_by="random"
        )
