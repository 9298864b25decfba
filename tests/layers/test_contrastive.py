"""Tests for tf_lsrec/layers/contrastive.py (docs/reference.md §7.10)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.contrastive import (
    CLSRContrastiveLoss,
    bpr_contrastive,
    clsr_contrastive_terms,
    length_mask,
    masked_row_mean,
    triplet_per_dimension,
    triplet_vector,
)


def t(x):
    return tf.constant(np.asarray(x, np.float32))


def softplus(x):
    return float(np.log1p(np.exp(x)))


# ----------------------------------------------------------------- single-triple functions
def test_triplet_is_exactly_zero_when_the_margin_is_met():
    a, p, q = t([[0.0, 0.0]]), t([[1.0, 1.0]]), t([[2.0, 2.0]])
    # per dim: 1 - 4 + 1 = -2 -> 0 ; vector: 2 - 8 + 1 = -5 -> 0
    assert triplet_per_dimension(a, p, q, 1.0).numpy().tolist() == [0.0]
    assert triplet_vector(a, p, q, 1.0).numpy().tolist() == [0.0]


def test_triplet_is_positive_when_violated_hand_computed():
    a, p, q = t([[0.0, 0.0]]), t([[2.0, 0.0]]), t([[1.0, 0.0]])
    # per dim: dim0 4 - 1 + 1 = 4, dim1 0 - 0 + 1 = 1 -> 5 ; vector: 4 - 1 + 1 = 4
    assert triplet_per_dimension(a, p, q, 1.0).numpy().tolist() == [5.0]
    assert triplet_vector(a, p, q, 1.0).numpy().tolist() == [4.0]


def test_the_two_triplet_forms_differ_where_the_paper_and_code_do():
    # satisfied as vectors (1 - 4 + 1 < 0) but dimension 1 (a = p = q) still pays the margin
    a, p, q = t([[0.0, 0.0]]), t([[1.0, 0.0]]), t([[2.0, 0.0]])
    assert triplet_vector(a, p, q, 1.0).numpy().tolist() == [0.0]
    assert triplet_per_dimension(a, p, q, 1.0).numpy().tolist() == [1.0]


def test_bpr_is_softplus_of_the_inner_product_gap():
    a, p, q = t([[1.0, 2.0]]), t([[3.0, 0.0]]), t([[0.0, 1.0]])
    # <a,q> = 2, <a,p> = 3 -> softplus(-1)
    np.testing.assert_allclose(bpr_contrastive(a, p, q).numpy(), [softplus(-1.0)], rtol=1e-6)
    # violated: swap p and q -> softplus(1) > softplus(-1)
    np.testing.assert_allclose(bpr_contrastive(a, q, p).numpy(), [softplus(1.0)], rtol=1e-6)


# ----------------------------------------------------------------- the four CLSR terms
# D = 1: disentangled I_L = 0, P_L = 1, P_S = 3, I_S = 4 -> every term satisfied;
# entangled (I_L and I_S swapped) -> every term = 9 - 1 + 1 = 9.
GOOD = dict(
    long_interest=t([[0.0]]),
    short_interest=t([[4.0]]),
    long_proxy=t([[1.0]]),
    short_proxy=t([[3.0]]),
)
BAD = dict(
    long_interest=t([[4.0]]),
    short_interest=t([[0.0]]),
    long_proxy=t([[1.0]]),
    short_proxy=t([[3.0]]),
)


@pytest.mark.parametrize("form", ["per_dimension", "vector"])
def test_four_terms_zero_when_disentangled_and_nine_when_swapped(form):
    good = clsr_contrastive_terms(**GOOD, row_mask=t([1.0]), loss="triplet", form=form)
    assert {k: float(v) for k, v in good.items()} == {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    bad = clsr_contrastive_terms(**BAD, row_mask=t([1.0]), loss="triplet", form=form)
    assert {k: float(v) for k, v in bad.items()} == {1: 9.0, 2: 9.0, 3: 9.0, 4: 9.0}


def test_four_bpr_terms_hand_computed():
    il, is_, pl, ps = 1.0, -1.0, 2.0, 3.0
    terms = clsr_contrastive_terms(t([[il]]), t([[is_]]), t([[pl]]), t([[ps]]), t([1.0]), "bpr")
    want = {
        1: softplus(il * ps - il * pl),  # f(I_L, P_L, P_S)
        2: softplus(is_ * pl - is_ * ps),  # f(I_S, P_S, P_L)
        3: softplus(pl * is_ - pl * il),  # f(P_L, I_L, I_S)
        4: softplus(ps * il - ps * is_),  # f(P_S, I_S, I_L)
    }
    for k, v in want.items():
        np.testing.assert_allclose(float(terms[k]), v, rtol=1e-6)


def test_pairs_subset_selects_terms():
    terms = clsr_contrastive_terms(**BAD, row_mask=t([1.0]), pairs=[2, 4])
    assert sorted(terms) == [2, 4]
    with pytest.raises(ValueError, match="subset of"):
        clsr_contrastive_terms(**BAD, row_mask=t([1.0]), pairs=[5])


# ----------------------------------------------------------------- row mask and the NaN guard
def test_length_mask_is_strictly_greater_than_threshold():
    mask = t([[1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])
    np.testing.assert_array_equal(length_mask(mask, 5).numpy(), [1.0, 0.0, 1.0])


def test_rows_at_or_below_threshold_contribute_nothing():
    # row 0: length 6 (> 5), disentangled -> 0 ; row 1: length 5, entangled with big values
    il, is_, pl, ps = t([[0.0], [40.0]]), t([[4.0], [0.0]]), t([[1.0], [1.0]]), t([[3.0], [3.0]])
    mask = t([[1] * 6 + [0], [1] * 5 + [0] * 2])
    layer = CLSRContrastiveLoss("triplet", weight=1.0, length_threshold=5)
    loss, terms = layer(il, is_, pl, ps, mask)
    assert float(loss) == 0.0
    # with threshold 4 row 1 qualifies and the mean over the 2 rows becomes positive
    loss4, _ = CLSRContrastiveLoss("triplet", weight=1.0, length_threshold=4)(il, is_, pl, ps, mask)
    assert float(loss4) > 0.0


def test_mean_is_over_qualifying_rows_only():
    values = t([2.0, 100.0, 4.0])
    assert float(masked_row_mean(values, t([1.0, 0.0, 1.0]))) == 3.0


def test_no_qualifying_row_gives_zero_loss_and_finite_gradients():
    x = tf.Variable(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    mask = tf.ones([4, 5])  # every row has length 5 = threshold -> none qualifies
    layer = CLSRContrastiveLoss("triplet", weight=0.1, length_threshold=5)
    with tf.GradientTape() as tape:
        loss, _ = layer(x, 2 * x, 3 * x, 4 * x, mask)
    grad = tape.gradient(loss, x)
    assert float(loss) == 0.0
    assert np.all(np.isfinite(grad.numpy()))
    for kind in ("bpr", "triplet"):
        assert float(CLSRContrastiveLoss(kind, length_threshold=9)(x, x, x, x, mask)[0]) == 0.0


def test_weighted_sum_of_selected_terms():
    layer = CLSRContrastiveLoss("triplet", pairs=[1, 3], weight=0.1, length_threshold=0)
    loss, terms = layer(
        BAD["long_interest"],
        BAD["short_interest"],
        BAD["long_proxy"],
        BAD["short_proxy"],
        t([[1.0]]),
    )
    np.testing.assert_allclose(float(loss), 0.1 * (9.0 + 9.0), rtol=1e-6)
    assert sorted(terms) == [1, 3]


def test_layer_shape_and_config_round_trip():
    layer = CLSRContrastiveLoss(
        "bpr", form="vector", margin=0.5, pairs=[1, 2], weight=0.3, length_threshold=2
    )
    args = (
        BAD["long_interest"],
        BAD["short_interest"],
        BAD["long_proxy"],
        BAD["short_proxy"],
        t([[1.0, 1.0, 1.0]]),
    )
    loss, terms = layer(*args)
    assert loss.shape == () and all(v.shape == () for v in terms.values())
    config = layer.get_config()
    for clone in (
        CLSRContrastiveLoss.from_config(config),
        keras.layers.deserialize(keras.layers.serialize(layer)),
    ):
        assert clone.get_config() == config
        assert float(clone(*args)[0]) == float(loss)
    traced = tf.function(lambda *a: layer(*a)[0])(*args)
    assert float(traced) == float(loss)


def test_bad_names():
    with pytest.raises(ValueError, match="contrastive loss 'nce'"):
        CLSRContrastiveLoss("nce")
    with pytest.raises(ValueError, match="triplet form 'cosine'"):
        CLSRContrastiveLoss("triplet", form="cosine")
