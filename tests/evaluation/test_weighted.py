"""CLSR weighted per-user metrics against hand-computed values (docs/reference.md §4.3)."""

import numpy as np
import pytest

from tf_lsrec.evaluation.weighted import cal_weighted_metric

# Three users with 2, 4 and 3 rows, interleaved in file order (9 rows in all).
#   user 7: labels [1, 0],       preds [0.6, 0.4]
#   user 3: labels [1, 0, 1, 0], preds [0.9, 0.5, 0.2, 0.5]
#   user 5: labels [1, 0, 0],    preds [0.3, 0.3, 0.8]
ROWS = [  # (user, label, pred)
    (3, 1, 0.9),
    (7, 1, 0.6),
    (5, 1, 0.3),
    (3, 0, 0.5),
    (5, 0, 0.3),
    (3, 1, 0.2),
    (7, 0, 0.4),
    (5, 0, 0.8),
    (3, 0, 0.5),
]
USERS = [r[0] for r in ROWS]
LABELS = [r[1] for r in ROWS]
PREDS = [r[2] for r in ROWS]
# Weights (rows / 9): user 7 -> 2/9, user 3 -> 4/9, user 5 -> 3/9.
#
# Per-user AUC:
#   user 7: 0.6 > 0.4 -> 1
#   user 3: positives 0.9, 0.2 vs negatives 0.5, 0.5 -> 0.9 wins 2, 0.2 wins 0 -> 2/4 = 0.5
#   user 5: positive 0.3 vs 0.3 (tie, 1/2) and 0.8 (0) -> 0.5/2 = 0.25
# wauc = 2/9 * 1 + 4/9 * 0.5 + 3/9 * 0.25 = 0.2222222 + 0.2222222 + 0.0833333 = 0.5277778
#
# Pooled ranking per user (descending; tied rows: the later row first):
#   user 7: 0.6(pos) r1                                    -> rr 1
#   user 3: 0.9(pos) r1, 0.5 (last row) r2, 0.5 r3, 0.2(pos) r4 -> (1 + 1/4) / 2 = 0.625
#   user 5: 0.8 r1, 0.3 (neg, later row) r2, 0.3(pos) r3   -> rr 1/3
# wmrr = 2/9 * 1 + 4/9 * 0.625 + 3/9 * 1/3 = 0.2222222 + 0.2777778 + 0.1111111 = 0.6111111
# whit@1 = whit@2 = 2/9 + 4/9 = 0.6666667 (user 5's positive is 3rd); whit@3 = 1
# wndcg@2: user 7 -> 1; user 3: DCG = 1 (rank 1), IDCG = 1 + 1/log2(3) = 1.6309298 -> 0.6131472;
#          user 5 -> 0.  wndcg@2 = 2/9 + 4/9 * 0.6131472 = 0.2222222 + 0.2725099 = 0.4947321
EXPECTED = {
    "wauc": 0.5278,
    "wmrr": 0.6111,
    "whit@1": 0.6667,
    "whit@2": 0.6667,
    "whit@3": 1.0,
    "wndcg@2": 0.4947,
}


def test_weighted_metrics_by_hand():
    res = cal_weighted_metric(USERS, PREDS, LABELS, ["wauc", "wmrr", "whit@1;2;3", "wndcg@2"])
    assert res == EXPECTED
    assert list(res) == list(EXPECTED)


def test_bare_whit_and_wndcg_and_float_user_ids():
    # the reference feeds users as float32; the ids only need to be comparable
    res = cal_weighted_metric(np.array(USERS, np.float32), PREDS, LABELS, ["whit", "wndcg"])
    assert list(res) == ["whit@1", "whit@2", "wndcg@1", "wndcg@2"]
    # wndcg@1: user 7 -> 1, user 3 -> 1, user 5 -> 0 -> 6/9
    assert res["wndcg@1"] == 0.6667 and res["wndcg@2"] == 0.4947


def test_single_class_user_raises_by_default():
    users = USERS + [9, 9]
    with pytest.raises(
        ValueError,
        match=r"wauc is undefined for user 9 \(0 positive\(s\), 2 negative\(s\)\): it needs both "
        r"label classes; 1 such user\(s\) in total \(pass skip_single_class=True",
    ):
        cal_weighted_metric(users, PREDS + [0.1, 0.2], LABELS + [0, 0], ["wauc"])
    with pytest.raises(ValueError, match="wmrr is undefined for user 9"):
        cal_weighted_metric(users, PREDS + [0.1, 0.2], LABELS + [0, 0], ["wmrr"])
    # an all-positive user has an MRR (1) but no AUC
    with pytest.raises(ValueError, match=r"wauc is undefined for user 9 \(2 positive"):
        cal_weighted_metric(users, PREDS + [0.1, 0.2], LABELS + [1, 1], ["wauc"])
    # hit is defined (0) for a user without positives: whit@1 = (2 + 4) / 11 = 0.5455
    res = cal_weighted_metric(users, PREDS + [0.1, 0.2], LABELS + [0, 0], ["whit@1"])
    assert res == {"whit@1": 0.5455}


def test_single_class_users_can_be_skipped_and_are_counted():
    # users 9 (all negative) and 11 (all positive) are dropped; weights renormalise over the 9
    # remaining rows, so the values equal the hand-computed ones above
    users = USERS + [9, 9, 11]
    res = cal_weighted_metric(
        users,
        PREDS + [0.1, 0.2, 0.7],
        LABELS + [0, 0, 1],
        ["wauc", "wmrr", "whit@1;2;3", "wndcg@2"],
        skip_single_class=True,
    )
    assert res == {**EXPECTED, "weighted_skipped_users": 2}
    none_skipped = cal_weighted_metric(USERS, PREDS, LABELS, ["wauc"], skip_single_class=True)
    assert none_skipped == {"wauc": 0.5278, "weighted_skipped_users": 0}
    with pytest.raises(ValueError, match="all 1 user"):
        cal_weighted_metric([4, 4], [0.1, 0.2], [0, 0], ["wauc"], skip_single_class=True)


def test_unknown_empty_and_mismatched():
    assert cal_weighted_metric(USERS, PREDS, LABELS, None) == {}
    assert cal_weighted_metric(USERS, PREDS, LABELS, []) == {}
    with pytest.raises(ValueError, match=r"unknown weighted metric 'auc'; valid: wauc, wmrr"):
        cal_weighted_metric(USERS, PREDS, LABELS, ["auc"])
    with pytest.raises(ValueError, match="users has 9 rows but preds has 8"):
        cal_weighted_metric(USERS, PREDS[:-1], LABELS, ["wauc"])


def test_wauc_matches_a_naive_per_user_loop_randomised():
    rng = np.random.default_rng(2)
    users = rng.integers(0, 30, 600)
    labels = (rng.random(600) < 0.3).astype(float)
    preds = np.round(rng.random(600), 1)
    expected_auc = expected_mrr = 0.0
    kept = [u for u in np.unique(users) if 0 < labels[users == u].sum() < (users == u).sum()]
    total = sum((users == u).sum() for u in kept)
    for u in kept:
        y, s = labels[users == u], preds[users == u]
        pos, neg = s[y == 1], s[y == 0]
        auc = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg])
        ranked = y[np.argsort(s, kind="stable")[::-1]]
        mrr = np.sum(ranked / np.arange(1, len(y) + 1)) / y.sum()
        expected_auc += len(y) / total * auc
        expected_mrr += len(y) / total * mrr
    res = cal_weighted_metric(users, preds, labels, ["wauc", "wmrr"], skip_single_class=True)
    assert res["wauc"] == round(expected_auc, 4)
    assert res["wmrr"] == round(expected_mrr, 4)
    assert res["weighted_skipped_users"] == len(np.unique(users)) - len(kept)
