"""Dominant category of a session: majority, ties by recency, padding ignored."""

import numpy as np
import tensorflow as tf

from tf_lsrec.layers.category_mask import CategoryMask, dominant_category


def _run(cates, mask):
    d, m = dominant_category(tf.constant(cates), tf.constant(mask, tf.float32))
    return d.numpy().tolist(), m.numpy().tolist()


def test_majority_wins_even_when_last_item_differs():
    d, m = _run([[5, 3, 5, 5, 3]], [[1, 1, 1, 1, 1]])
    assert d == [5]
    assert m == [[1, 0, 1, 1, 0]]


def test_tie_goes_to_the_last_item_category():
    d, m = _run([[3, 5, 5, 3]], [[1, 1, 1, 1]])
    assert d == [3] and m == [[1, 0, 0, 1]]
    d, _ = _run([[5, 3, 3, 5]], [[1, 1, 1, 1]])
    assert d == [5]


def test_tie_without_last_item_goes_to_most_recent_tied_category():
    d, m = _run([[1, 2, 1, 2, 7]], [[1, 1, 1, 1, 1]])
    assert d == [2] and m == [[0, 1, 0, 1, 0]]


def test_padding_is_ignored_and_empty_rows_get_zero():
    # padding positions hold category 0 three times; the only real item is category 4
    d, m = _run([[4, 0, 0, 0], [0, 0, 0, 0]], [[1, 0, 0, 0], [0, 0, 0, 0]])
    assert d == [4, 0]
    assert m == [[1, 0, 0, 0], [0, 0, 0, 0]]
    # a padded position of the dominant category is not in the mask
    _, m = _run([[6, 6, 6]], [[1, 1, 0]])
    assert m == [[1, 1, 0]]


def test_layer_in_tf_function_and_config_round_trip():
    layer = CategoryMask(name="cm")
    cates = tf.constant([[2, 2, 9], [9, 2, 9]])
    mask = tf.ones([2, 3])
    d, m = tf.function(lambda c, k: layer(c, k))(cates, mask)
    assert d.numpy().tolist() == [2, 9]
    np.testing.assert_array_equal(m.numpy(), [[1, 1, 0], [1, 0, 1]])
    clone = CategoryMask.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
