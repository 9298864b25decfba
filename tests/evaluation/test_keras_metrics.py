"""Streaming Keras group metrics equal ``cal_group_metric`` (and hand-computed values)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.evaluation.grouped import cal_group_metric
from tf_lsrec.evaluation.keras_metrics import (
    NDCG,
    GroupAUC,
    HitRate,
    MeanMRR,
    group_metrics,
)

SPECS = ["group_auc", "mean_mrr", "ndcg@1;2;4", "hit@1;3"]


def _stream(metrics, labels, scores, batch_groups, width, pad=0):
    for m in metrics:
        m.reset_state()
    for start in range(0, labels.shape[0], batch_groups * width):
        y = labels[start : start + batch_groups * width]
        p = scores[start : start + batch_groups * width]
        w = np.ones_like(y)
        if pad:  # rows padding a batch: weight 0, copies of the last row
            y = np.concatenate([y, np.repeat(y[-1:], pad)])
            p = np.concatenate([p, np.repeat(p[-1:], pad)])
            w = np.concatenate([w, np.zeros(pad)])
        for m in metrics:
            m.update_state(y[:, None], p[:, None].astype(np.float32), w.astype(np.float32))
    return {m.name: float(m.result().numpy()) for m in metrics}


@pytest.mark.parametrize("width", [2, 5])
@pytest.mark.parametrize("pad", [0, 3])
def test_streaming_equals_cal_group_metric(width, pad):
    rng = np.random.default_rng(0)
    groups = 37
    labels = np.tile(np.r_[1.0, np.zeros(width - 1)], groups)
    # coarse scores: many ties, the tie rule matters
    scores = rng.integers(0, 4, size=labels.shape[0]).astype(np.float32) / 4
    expected = cal_group_metric(labels.reshape(-1, width), scores.reshape(-1, width), SPECS)
    metrics = group_metrics(SPECS)
    assert [m.name for m in metrics] == list(expected)
    got = _stream(metrics, labels, scores, batch_groups=8, width=width, pad=pad)
    assert {k: round(v, 4) for k, v in got.items()} == expected
    for k in expected:
        assert got[k] == pytest.approx(expected[k], abs=5e-5)


def test_hand_computed_values():
    # group 1: positive 0.9 beats 0.5, 0.1 -> rank 1; group 2: positive 0.2 ties 0.2 (ranks
    # below it) and loses to 0.7 -> rank 3, AUC = (0 + 0.5) / 2
    labels = np.array([1, 0, 0, 1, 0, 0], np.float32)
    scores = np.array([0.9, 0.5, 0.1, 0.2, 0.7, 0.2], np.float32)
    got = _stream(
        [GroupAUC(), MeanMRR(), NDCG(2), NDCG(3), HitRate(1), HitRate(3)],
        labels, scores, batch_groups=1, width=3,
    )  # fmt: skip
    assert got["group_auc"] == pytest.approx((1.0 + 0.25) / 2)
    assert got["mean_mrr"] == pytest.approx((1.0 + 1 / 3) / 2)
    assert got["ndcg@2"] == pytest.approx(0.5)
    assert got["ndcg@3"] == pytest.approx((1.0 + 1 / np.log2(4)) / 2)
    assert got["hit@1"] == pytest.approx(0.5)
    assert got["hit@3"] == pytest.approx(1.0)


def test_partial_groups_fail_clearly():
    m = GroupAUC()
    with pytest.raises(tf.errors.InvalidArgumentError, match="whole groups"):
        m.update_state(np.array([[1.0], [0.0], [0.0], [1.0], [0.0]]), np.zeros([5, 1]))


def test_unknown_spec():
    with pytest.raises(ValueError, match="no streaming metric"):
        group_metrics(["wauc"])
