"""Pointwise metrics of ``cal_metric`` against hand-computed values (docs/reference.md §4.1)."""

import math

import numpy as np
import pytest

from tf_lsrec.evaluation.pointwise import auc_score, cal_metric


def naive_auc(labels, preds):
    """O(n^2) pair count: a positive above a negative scores 1, a tie 1/2."""
    pos = [p for p, y in zip(preds, labels) if y == 1]
    neg = [p for p, y in zip(preds, labels) if y == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def test_auc_by_hand_with_a_tie():
    # positives 0.8, 0.3; negatives 0.3, 0.6, 0.1
    # 0.8 beats all three -> 3; 0.3: tie with 0.3 -> 0.5, loses to 0.6, beats 0.1 -> 1.5
    # AUC = 4.5 / (2 * 3) = 0.75
    res = cal_metric([1, 0, 1, 0, 0], [0.8, 0.3, 0.3, 0.6, 0.1], ["auc"])
    assert res == {"auc": 0.75}


def test_auc_all_tied_is_half():
    assert cal_metric([1, 0, 0, 1], [0.4] * 4, ["auc"]) == {"auc": 0.5}


def test_auc_single_class_raises():
    with pytest.raises(ValueError, match=r"auc is undefined: 0 positive\(s\) and 3 negative"):
        cal_metric([0, 0, 0], [0.1, 0.2, 0.3], ["auc"])


def test_auc_matches_naive_pair_count_randomised():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(2, 60))
        labels = rng.integers(0, 2, n)
        labels[0], labels[1] = 1, 0  # both classes present
        preds = np.round(rng.random(n), 1)  # one decimal -> many ties
        assert auc_score(labels, preds) == pytest.approx(naive_auc(labels, preds), abs=1e-12), trial


def test_logloss_by_hand():
    # -(ln 0.8 + ln 0.6) / 2 = (0.2231436 + 0.5108256) / 2 = 0.3669846
    assert cal_metric([1, 0], [0.8, 0.4], ["logloss"]) == {"logloss": 0.367}


def test_logloss_clips_zero_and_one():
    # rows 0 and 1 are certain and wrong: p clipped to 1e-11 -> -ln(1e-11) = 11 ln 10 = 25.3284360
    # rows 2 and 3 are certain and right: -ln(1 - 1e-11) ~ 1e-11
    # mean = 2 * 25.3284360 / 4 = 12.6642180
    res = cal_metric([1, 0, 1, 0], [0.0, 1.0, 1.0, 0.0], ["logloss"])
    assert res == {"logloss": 12.6642}
    assert math.isfinite(res["logloss"])


def test_rmse_rounds_mse_before_the_root():
    # one row: error 0.01234 -> MSE = 0.0001522756 -> round(., 4) = 0.0002 -> sqrt = 0.0141421356
    # (the un-quirked value would be 0.01234); the result itself is not rounded
    res = cal_metric([0.0], [0.01234], ["rmse"])
    assert res["rmse"] == pytest.approx(math.sqrt(0.0002), abs=1e-15)
    # errors 0.1, 0.2, 0.3, 0.4 -> MSE = 0.30 / 4 = 0.075 -> sqrt(0.075) = 0.2738613
    assert cal_metric([1, 0, 1, 0], [0.9, 0.2, 0.7, 0.4], ["rmse"])["rmse"] == pytest.approx(
        math.sqrt(0.075), abs=1e-15
    )


def test_acc_and_f1_threshold_at_half():
    # preds >= 0.5 -> [1, 1, 0, 1] vs labels [1, 1, 1, 0]
    # acc: rows 0, 1 right, rows 2, 3 wrong -> 0.5
    # TP = 2, FN = 1 (row 2), FP = 1 (row 3) -> F1 = 2*2 / (2*2 + 1 + 1) = 4/6 = 0.6667
    res = cal_metric([1, 1, 1, 0], [0.5, 0.6, 0.2, 0.9], ["acc", "f1"])
    assert res == {"acc": 0.5, "f1": 0.6667}


def test_f1_without_any_positive_is_zero():
    assert cal_metric([0, 0], [0.1, 0.2], ["f1", "acc"]) == {"f1": 0.0, "acc": 1.0}


def test_key_order_follows_the_list_and_empty_lists():
    res = cal_metric([1, 0], [0.8, 0.4], ["logloss", "auc"])
    assert list(res) == ["logloss", "auc"]
    assert cal_metric([1, 0], [0.8, 0.4], None) == {}
    assert cal_metric([1, 0], [0.8, 0.4], []) == {}


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown metric 'precision'; valid: auc, logloss, rmse"):
        cal_metric([1, 0], [0.8, 0.4], ["auc", "precision"])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"labels: expected only 0/1 labels.*row 1: 2.0"):
        cal_metric([1, 2], [0.8, 0.4], ["auc"])
    with pytest.raises(ValueError, match=r"preds: 1 non-finite value\(s\) \(first at row 0"):
        cal_metric([1, 0], [np.nan, 0.4], ["auc"])
    with pytest.raises(ValueError, match="labels has 2 rows but preds has 3"):
        cal_metric([1, 0], [0.8, 0.4, 0.1], ["logloss"])


def test_pairwise_names_are_evaluated_on_groups():
    # Microsoft's single cal_metric also takes group arrays for the pairwise names.
    # group 0: positive first by score -> rr 1; group 1: positive 2nd -> rr 1/2; mean 0.75
    res = cal_metric(
        [[1, 0, 0], [1, 0, 0]], [[0.9, 0.1, 0.2], [0.5, 0.6, 0.1]], ["mean_mrr", "hit@1"]
    )
    assert res == {"mean_mrr": 0.75, "hit@1": 0.5}
