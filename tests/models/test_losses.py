"""weighted_group_loss: by hand, and equal to the plain data losses when every weight is 1."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models.losses import LOSSES, make_data_loss, weighted_group_loss

LOGITS = np.array([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], np.float32)
LABELS = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], np.float32)


def test_weighted_softmax_by_hand():
    per_group = [-np.log(np.exp(row[0]) / np.exp(row).sum()) for row in LOGITS.astype(np.float64)]
    got = weighted_group_loss("softmax", LABELS, LOGITS, tf.constant([1.0, 0.0]))
    np.testing.assert_allclose(got.numpy(), per_group[0], rtol=1e-6)
    got = weighted_group_loss("softmax", LABELS, LOGITS, tf.constant([1.0, 3.0]))
    np.testing.assert_allclose(got.numpy(), (per_group[0] + 3 * per_group[1]) / 4, rtol=1e-6)
    zero = weighted_group_loss("softmax", LABELS, LOGITS, tf.constant([0.0, 0.0]))
    assert zero.numpy() == 0.0


def test_weighted_cross_entropy_drops_the_zero_weight_groups():
    p = 1 / (1 + np.exp(-LOGITS[0].astype(np.float64)))
    expected = -(np.log(p[0]) + np.log(1 - p[1]) + np.log(1 - p[2])) / 3
    got = weighted_group_loss("cross_entropy_loss", LABELS, LOGITS, tf.constant([1.0, 0.0]))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_unit_weights_equal_the_plain_loss(name):
    got = weighted_group_loss(name, LABELS, LOGITS, tf.ones([2]))
    plain = make_data_loss(name, 3)(LABELS.reshape(-1, 1), LOGITS.reshape(-1, 1))
    np.testing.assert_allclose(got.numpy(), plain.numpy(), rtol=1e-5)


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="not supported"):
        weighted_group_loss("hinge", LABELS, LOGITS, tf.ones([2]))
