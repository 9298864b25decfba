"""Pairwise / group metrics against hand-computed values, with Microsoft's tie rule (§4.2)."""

import numpy as np
import pytest

from tf_lsrec.evaluation.full_ranking import ranking_metrics
from tf_lsrec.evaluation.grouped import cal_group_metric, group_rows

ALL = ["mean_mrr", "ndcg@1;2;4", "hit@1;2;4", "group_auc"]


def metrics_of(labels, preds, metrics=ALL):
    return cal_group_metric(np.array([labels], float), np.array([preds], float), metrics)


def test_positive_tied_with_one_negative_ranks_below_it():
    # scores [0.5(pos), 0.5, 0.2, 0.1]: the tie puts the negative first -> positive rank 2
    # mrr 1/2; ndcg@1 0; ndcg@2 = ndcg@4 = 1/log2(3) = 0.6309298; hit@1 0, hit@2 1
    # group_auc: tie -> 1/2, beats 0.2 and 0.1 -> (0.5 + 1 + 1) / 3 = 0.8333
    res = metrics_of([1, 0, 0, 0], [0.5, 0.5, 0.2, 0.1])
    assert res == {
        "mean_mrr": 0.5,
        "ndcg@1": 0.0,
        "ndcg@2": 0.6309,
        "ndcg@4": 0.6309,
        "hit@1": 0.0,
        "hit@2": 1.0,
        "hit@4": 1.0,
        "group_auc": 0.8333,
    }


def test_positive_tied_with_all_negatives_ranks_last():
    # all equal -> positive rank 4: mrr 1/4; ndcg@4 = 1/log2(5) = 0.4306766; hit@4 only
    # group_auc: three ties -> 3 * 0.5 / 3 = 0.5
    res = metrics_of([1, 0, 0, 0], [0.3, 0.3, 0.3, 0.3])
    assert res == {
        "mean_mrr": 0.25,
        "ndcg@1": 0.0,
        "ndcg@2": 0.0,
        "ndcg@4": 0.4307,
        "hit@1": 0.0,
        "hit@2": 0.0,
        "hit@4": 1.0,
        "group_auc": 0.5,
    }


def test_positive_scored_last_and_first():
    # positive lowest -> rank 4, group_auc 0
    last = metrics_of([1, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], ["mean_mrr", "group_auc", "hit@4"])
    assert last == {"mean_mrr": 0.25, "group_auc": 0.0, "hit@4": 1.0}
    # positive highest -> everything 1
    first = metrics_of([1, 0, 0, 0], [0.9, 0.2, 0.3, 0.4])
    assert set(first.values()) == {1.0}


def test_group_where_the_positive_is_the_last_column():
    # labels need not put the positive first for cal_group_metric: positive in column 2,
    # scored 0.6 behind 0.7 -> rank 2 -> mrr 0.5, group_auc: beats 0.2 only -> 1/2
    res = metrics_of([0, 0, 1], [0.7, 0.2, 0.6], ["mean_mrr", "group_auc"])
    assert res == {"mean_mrr": 0.5, "group_auc": 0.5}


def test_ndcg_with_k_larger_than_the_group():
    # G = 3, positive rank 3 -> k' = min(10, 3) = 3 -> 1/log2(4) = 0.5; hit@10 = 1
    res = metrics_of([1, 0, 0], [0.1, 0.2, 0.3], ["ndcg@10", "hit@10"])
    assert res == {"ndcg@10": 0.5, "hit@10": 1.0}


def test_spec_syntax_and_bare_names():
    labels, preds = [1, 0, 0, 0, 0, 0, 0], [0.5, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1]
    assert list(metrics_of(labels, preds, ["ndcg@2;4;6"])) == ["ndcg@2", "ndcg@4", "ndcg@6"]
    assert list(metrics_of(labels, preds, ["ndcg"])) == ["ndcg@1", "ndcg@2"]
    assert list(metrics_of(labels, preds, ["hit"])) == ["hit@1", "hit@2"]
    assert list(metrics_of(labels, preds, ["hit@2;5;10"])) == ["hit@2", "hit@5", "hit@10"]
    # positive rank 2 -> ndcg@1 = 0, ndcg@2 = 0.6309
    assert metrics_of(labels, preds, ["ndcg"]) == {"ndcg@1": 0.0, "ndcg@2": 0.6309}


def test_unweighted_mean_over_groups():
    # group 0: positive rank 1 -> rr 1, ndcg@2 1, auc 1
    # group 1: positive rank 3 (0.2 < 0.4 < 0.8) -> rr 1/3, ndcg@2 0, auc 0
    # means: mrr (1 + 1/3) / 2 = 0.6667; ndcg@2 0.5; group_auc 0.5
    labels = [[1, 0, 0], [1, 0, 0]]
    preds = [[0.9, 0.1, 0.2], [0.2, 0.8, 0.4]]
    res = cal_group_metric(np.array(labels), np.array(preds), ["mean_mrr", "ndcg@2", "group_auc"])
    assert res == {"mean_mrr": 0.6667, "ndcg@2": 0.5, "group_auc": 0.5}


def test_two_positives_in_a_group():
    # order by score: 0.9(pos) r1, 0.5 r2, 0.3 r3, 0.1(pos) r4
    # mrr = (1/1 + 1/4) / 2 = 0.625
    # ndcg@2: DCG = 1/log2(2) = 1; IDCG = 1 + 1/log2(3) = 1.6309298 -> 0.6131472
    # group_auc: 0.9 beats 2, 0.1 beats 0 -> 2/4 = 0.5; hit@1 = 1
    res = metrics_of(
        [1, 1, 0, 0], [0.9, 0.1, 0.5, 0.3], ["mean_mrr", "ndcg@2", "group_auc", "hit@1"]
    )
    assert res == {"mean_mrr": 0.625, "ndcg@2": 0.6131, "group_auc": 0.5, "hit@1": 1.0}


def test_ragged_list_of_groups_like_microsoft():
    # group 0 (2 rows): rank 1 -> rr 1; group 1 (3 rows): 0.5 above the positive -> rr 1/2
    res = cal_group_metric([[1, 0], [1, 0, 0]], [[0.2, 0.1], [0.1, 0.5, 0.0]], ["mean_mrr"])
    assert res == {"mean_mrr": 0.75}


def test_groups_without_a_positive_or_a_class():
    labels = np.array([[1, 0, 0], [0, 0, 0]])
    preds = np.array([[0.3, 0.2, 0.1], [0.3, 0.2, 0.1]])
    with pytest.raises(ValueError, match=r"mean_mrr is undefined for group 1 \(0 positive"):
        cal_group_metric(labels, preds, ["mean_mrr"])
    with pytest.raises(ValueError, match="group_auc is undefined for group 1"):
        cal_group_metric(labels, preds, ["group_auc"])
    with pytest.raises(ValueError, match="ndcg@2 is undefined for group 1"):
        cal_group_metric(labels, preds, ["ndcg@2"])
    # hit has a value (0) for a group without a positive, as in the reference: (1 + 0) / 2
    assert cal_group_metric(labels, preds, ["hit@1"]) == {"hit@1": 0.5}


def test_unknown_and_empty():
    assert cal_group_metric(np.ones((1, 2)), np.ones((1, 2)), None) == {}
    assert cal_group_metric(np.ones((1, 2)), np.ones((1, 2)), []) == {}
    with pytest.raises(ValueError, match=r"unknown pairwise metric 'auc'; valid: mean_mrr"):
        cal_group_metric(np.ones((1, 2)), np.ones((1, 2)), ["auc"])
    with pytest.raises(ValueError, match="expected a 2-D array"):
        cal_group_metric(np.ones(3), np.ones(3), ["mean_mrr"])
    with pytest.raises(ValueError, match="no groups to evaluate"):
        cal_group_metric(np.ones((0, 3)), np.ones((0, 3)), ["mean_mrr"])


def naive_group_metrics(labels, preds, k):
    """Per-group loop in the reference style: stable ascending argsort, then reversed."""
    mrr, ndcg, hit, auc = [], [], [], []
    for y, s in zip(labels, preds):
        order = np.argsort(s, kind="stable")[::-1]
        ranked = y[order]
        mrr.append(np.sum(ranked / np.arange(1, len(y) + 1)) / np.sum(y))
        kk = min(k, len(y))
        disc = np.log2(np.arange(kk) + 2)
        ideal = np.sort(y)[::-1]
        ndcg.append(np.sum((2 ** ranked[:kk] - 1) / disc) / np.sum((2 ** ideal[:kk] - 1) / disc))
        hit.append(float(any(y[i] == 1 for i in order[:k])))
        pos, neg = s[y == 1], s[y == 0]
        auc.append(np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg]))
    return np.mean(mrr), np.mean(ndcg), np.mean(hit), np.mean(auc)


def test_matches_a_naive_per_group_loop_randomised():
    rng = np.random.default_rng(1)
    labels = np.zeros((50, 8))
    labels[:, 0] = 1
    labels[::7, 3] = 1  # a few groups with two positives
    preds = np.round(rng.random((50, 8)), 1)  # many ties
    for k in (1, 3, 8, 12):
        res = cal_group_metric(labels, preds, ["mean_mrr", f"ndcg@{k}", f"hit@{k}", "group_auc"])
        mrr, ndcg, hit, auc = naive_group_metrics(labels, preds, k)
        assert res == {
            "mean_mrr": round(mrr, 4),
            f"ndcg@{k}": round(ndcg, 4),
            f"hit@{k}": round(hit, 4),
            "group_auc": round(auc, 4),
        }


# ------------------------------------------------------------------ group_rows


def test_group_rows_reshapes_file_order():
    labels = [1, 0, 0, 1, 0, 0]
    preds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    gl, gp = group_rows(labels, preds, num_ngs=2)
    np.testing.assert_array_equal(gl, [[1, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(gp, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    gl, _ = group_rows(np.array([[1], [0]]), np.array([[0.3], [0.1]]), num_ngs=1)  # [R, 1] ok
    assert gl.shape == (1, 2)


def test_group_rows_errors():
    with pytest.raises(
        ValueError,
        match=r"7 rows is not a multiple of num_ngs \+ 1 = 3: 2 whole "
        r"group\(s\) and 1 trailing row",
    ):
        group_rows([1, 0, 0, 1, 0, 0, 1], [0.0] * 7, num_ngs=2)
    with pytest.raises(
        ValueError,
        match=r"group 1 \(rows 3\.\.5\) must be 1 positive followed by "
        r"2 negatives, got labels \[0\.0, 1\.0, 0\.0\]",
    ):
        group_rows([1, 0, 0, 0, 1, 0], [0.0] * 6, num_ngs=2)
    with pytest.raises(ValueError, match=r"group 0 \(rows 0\.\.2\).*\[1\.0, 1\.0, 0\.0\] \(2 bad"):
        group_rows([1, 1, 0, 1, 0, 1], [0.0] * 6, num_ngs=2)
    with pytest.raises(ValueError, match="labels has 3 rows but preds has 2"):
        group_rows([1, 0, 0], [0.0, 0.0], num_ngs=2)
    with pytest.raises(ValueError, match="num_ngs must be an integer >= 0"):
        group_rows([1, 0], [0.0, 0.0], num_ngs=-1)


def test_group_metrics_equal_rank_based_metrics_on_random_groups_with_ties():
    # 200 groups of 1 + 9 with scores on a coarse grid (many ties): mean_mrr, ndcg@k and hit@k
    # equal the metrics of the pessimistic rank 1 + #(negatives scored >= the positive), worked
    # out here directly and by the full-ranking code; group_auc = mean of (wins + ties / 2) / 9
    rng = np.random.default_rng(3)
    preds = rng.integers(0, 6, size=(200, 10)) / 5.0
    labels = np.zeros((200, 10))
    labels[:, 0] = 1.0
    res = cal_group_metric(labels, preds, ["mean_mrr", "ndcg@1;3;10", "hit@1;3", "group_auc"])
    pos, neg = preds[:, :1], preds[:, 1:]
    ranks = 1 + (neg >= pos).sum(axis=1)
    by_hand = {
        "mean_mrr": np.mean(1.0 / ranks),
        **{
            f"ndcg@{k}": np.mean(np.where(ranks <= k, 1 / np.log2(ranks + 1), 0))
            for k in (1, 3, 10)
        },
        **{f"hit@{k}": np.mean(ranks <= k) for k in (1, 3)},
        "group_auc": np.mean(((neg < pos).sum(1) + 0.5 * (neg == pos).sum(1)) / 9),
    }
    assert res == {k: round(float(v), 4) for k, v in by_hand.items()}
    assert 1.0 not in res.values() and 0.0 not in res.values()  # a mix of ranks, not a corner
    full = ranking_metrics(ranks, ["mrr", "ndcg@1;3;10", "hit@1;3"])
    assert res["mean_mrr"] == round(full["mrr"], 4)
    for key in ("ndcg@1", "ndcg@3", "ndcg@10", "hit@1", "hit@3"):
        assert res[key] == round(full[key], 4), key
