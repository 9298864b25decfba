"""``evaluate``: the run_eval entry point (key order, list sources, errors) and a 100k-user run."""

from types import SimpleNamespace

import numpy as np
import pytest

from tf_lsrec.evaluation.metrics import evaluate

# Two groups of 1 positive + 2 negatives (num_ngs = 2) for users 1 and 2, file order.
LABELS = [1, 0, 0, 1, 0, 0]
PREDS = [0.9, 0.2, 0.4, 0.3, 0.6, 0.1]
USERS = [1, 1, 1, 2, 2, 2]
# auc over all rows: positives 0.9, 0.3 vs negatives 0.2, 0.4, 0.6, 0.1:
#   0.9 beats 4; 0.3 beats 0.2 and 0.1 -> 2; AUC = 6 / 8 = 0.75
# group 0: positive rank 1 -> rr 1, auc 1; group 1: 0.6 above -> rank 2, rr 1/2, auc 1/2
#   mean_mrr 0.75, ndcg@1 0.5, ndcg@2 (1 + 1/log2(3)) / 2 = 0.8155, group_auc 0.75
# one group per user with equal row counts -> wauc = group_auc = 0.75
EXPECTED = {
    "auc": 0.75,
    "mean_mrr": 0.75,
    "ndcg@1": 0.5,
    "ndcg@2": 0.8155,
    "group_auc": 0.75,
    "wauc": 0.75,
}


def test_evaluate_with_keyword_lists_in_reference_key_order():
    res = evaluate(
        LABELS,
        PREDS,
        USERS,
        num_ngs=2,
        metrics=["auc"],
        pairwise_metrics=["mean_mrr", "ndcg", "group_auc"],
        weighted_metrics=["wauc"],
    )
    assert res == EXPECTED
    assert list(res) == list(EXPECTED)


def test_evaluate_reads_lists_from_hparams_like_objects_and_dicts():
    lists = dict(
        metrics=["auc"],
        pairwise_metrics=["mean_mrr", "ndcg", "group_auc"],
        weighted_metrics=["wauc"],
    )
    assert evaluate(LABELS, PREDS, USERS, SimpleNamespace(**lists), 2) == EXPECTED
    assert evaluate(LABELS, PREDS, USERS, lists, 2) == EXPECTED
    # keywords override the hparams; [] switches a family off
    res = evaluate(LABELS, PREDS, USERS, lists, 2, pairwise_metrics=[], weighted_metrics=[])
    assert res == {"auc": 0.75}


def test_evaluate_with_real_hparams_and_mean_alpha():
    from tf_lsrec.hparams import prepare_hparams

    hparams = prepare_hparams(None, model_type="sli_rec")
    res = evaluate(LABELS, PREDS, None, hparams, 2, alphas=[0.2, 0, 0, 0.4, 0, 0])
    assert list(res)[:2] == ["auc", "logloss"] and list(res)[-1] == "mean_alpha"
    assert res["mean_alpha"] == 0.3  # (0.2 + 0.4) / 2


def test_evaluate_errors():
    with pytest.raises(ValueError, match="need num_ngs"):
        evaluate(LABELS, PREDS, USERS, pairwise_metrics=["mean_mrr"])
    with pytest.raises(ValueError, match="need users per row"):
        evaluate(LABELS, PREDS, None, weighted_metrics=["wauc"])
    with pytest.raises(ValueError, match=r"pairwise_metrics: unknown metric\(s\) \['wauc'\]"):
        evaluate(LABELS, PREDS, USERS, num_ngs=2, pairwise_metrics=["wauc"])
    with pytest.raises(ValueError, match=r"group 1 \(rows 3\.\.5\)"):
        evaluate([1, 0, 0, 0, 1, 0], PREDS, USERS, num_ngs=2, pairwise_metrics=["mean_mrr"])


def test_100k_users_with_5_rows_each_completes():
    users = np.repeat(np.arange(100_000), 5)
    labels = np.tile([1.0, 0, 0, 0, 0], 100_000)
    preds = np.random.default_rng(3).random(500_000).round(3)  # rounding -> some ties
    res = evaluate(
        labels,
        preds,
        users,
        num_ngs=4,
        metrics=["auc", "logloss"],
        pairwise_metrics=["mean_mrr", "ndcg@2;5;10", "hit@2;5;10", "group_auc"],
        weighted_metrics=["wauc", "wmrr", "wndcg@2", "whit@2"],
    )
    # one group per user, all of 5 rows -> the weighted metrics equal the group means
    assert res["wauc"] == res["group_auc"]
    assert res["wmrr"] == res["mean_mrr"]
    assert res["wndcg@2"] == res["ndcg@2"] and res["whit@2"] == res["hit@2"]
    # random scores: AUCs near 1/2, hit@5 = 1 with 5 rows per group
    assert abs(res["auc"] - 0.5) < 0.01 and abs(res["group_auc"] - 0.5) < 0.01
    assert res["hit@5"] == 1.0 and res["ndcg@10"] == res["ndcg@5"]
