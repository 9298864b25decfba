import math

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec import prepare_hparams
from tf_lsrec.io.features import build_features, time_divisor, time_features
from tf_lsrec.io.lookup import VocabLookup

DAY = 86_400.0


def _rows(rt):
    return [list(r) for r in rt.to_list()]


@pytest.mark.parametrize("divisor,scale", [(86_400.0, 1.0), (86.4, 1000.0)])
def test_time_features_three_steps_by_hand(divisor, scale):
    # history at day 0, 1, 3; target at day 7. Units: days (R=86400) or 1/1000 day (R=86.4).
    th = tf.ragged.constant([[0.0, DAY, 3 * DAY], [100.0, 100.0]], dtype=tf.float64)
    t = tf.constant([7 * DAY, 100.0 + 3600.0], tf.float64)
    f = time_features(th, t, divisor)
    s = scale
    # row 0: gaps after each event 1, 2, 4 days; next event since first 1, 3, 7; to now 7, 6, 4
    np.testing.assert_allclose(
        _rows(f["time_diff"])[0], [math.log(1 * s), math.log(2 * s), math.log(4 * s)]
    )
    np.testing.assert_allclose(
        _rows(f["time_from_first_action"])[0], [math.log(1 * s), math.log(3 * s), math.log(7 * s)]
    )
    np.testing.assert_allclose(
        _rows(f["time_to_now"])[0], [math.log(7 * s), math.log(6 * s), math.log(4 * s)]
    )
    # row 1: zero gap clamps to 0.5; one hour = 1/24 day (< 0.5) or 41.67 thousandths
    hour = 3600.0 / divisor
    clamp = math.log(0.5)
    np.testing.assert_allclose(_rows(f["time_diff"])[1], [clamp, math.log(max(hour, 0.5))])
    np.testing.assert_allclose(_rows(f["time_to_now"])[1], [math.log(max(hour, 0.5))] * 2)
    assert f["time_diff"].dtype == tf.float64


def test_time_features_single_step_and_empty_row():
    th = tf.ragged.constant([[0.0], []], dtype=tf.float64)
    f = time_features(th, tf.constant([2 * DAY, 5.0], tf.float64), DAY)
    assert _rows(f["time_diff"]) == [[pytest.approx(math.log(2))], []]
    assert _rows(f["time_from_first_action"]) == [[pytest.approx(math.log(2))], []]


@pytest.mark.parametrize(
    "unit,quirk,expected", [("ms", False, 86_400_000.0), ("s", False, 86_400.0), ("s", True, 86.4)]
)
def test_time_divisor(unit, quirk, expected):
    hp = prepare_hparams(model_type="sli_rec", time_unit=unit, time_unit_quirk=quirk)
    assert time_divisor(hp) == expected


def test_build_features_truncates_last_steps_and_pads():
    lookup = VocabLookup({"u": 0}, {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, {"x": 1, "y": 2})
    days = [0.0, 1 * DAY, 2 * DAY, 4 * DAY, 8 * DAY]
    raw = {
        "users": tf.constant(["u", "nobody"]),
        "items": tf.constant(["e", "zz"]),
        "cates": tf.constant(["x", "y"]),
        "time": tf.constant([16 * DAY, 3 * DAY], tf.float64),
        "item_history": tf.ragged.constant([["a", "b", "c", "d", "e"], ["b", "??"]]),
        "cate_history": tf.ragged.constant([["x", "y", "x", "y", "x"], ["y", "y"]]),
        "time_history": tf.ragged.constant([days, [0.0, DAY]], dtype=tf.float64),
        "labels": tf.constant([1.0, 0.0]),
    }
    out = build_features(raw, lookup, max_seq_length=3, divisor=DAY)
    # n=5 > L=3: the last three steps, oldest first
    assert out["item_history"].numpy().tolist() == [[3, 4, 5], [2, 0, 0]]
    assert out["item_cate_history"].numpy().tolist() == [[1, 2, 1], [2, 2, 0]]
    assert out["mask"].numpy().tolist() == [[1, 1, 1], [1, 1, 0]]  # unknown "??" is still a step
    assert out["time_history"].numpy().tolist() == [[2 * DAY, 4 * DAY, 8 * DAY], [0.0, DAY, 0.0]]
    assert out["users"].numpy().tolist() == [0, 0] and out["items"].numpy().tolist() == [5, 0]
    assert out["labels"].numpy().tolist() == [[1.0], [0.0]]
    # computed on the FULL history: first action is day 0 even though it is truncated away
    np.testing.assert_allclose(
        out["time_from_first_action"].numpy()[0], np.log([4.0, 8.0, 16.0]), rtol=1e-6
    )
    np.testing.assert_allclose(out["time_diff"].numpy()[0], np.log([2.0, 4.0, 8.0]), rtol=1e-6)
    np.testing.assert_allclose(out["time_to_now"].numpy()[0], np.log([14.0, 12.0, 8.0]), rtol=1e-6)
    # row 1: t = 0, 1 day, target 3 days; padding is 0.0
    np.testing.assert_allclose(out["time_to_now"].numpy()[1], [math.log(3), math.log(2), 0.0])
    assert out["time_diff"].dtype == tf.float32 and out["time"].dtype == tf.float64
    assert out["item_history"].dtype == tf.int32
