"""Metric spec parsing: ``name@k1;k2``, bare defaults, strict errors."""

import pytest

from tf_lsrec.evaluation.spec import check_metric_specs, metric_keys, parse_at_k, rounded


def test_parse_at_k_lists_and_defaults():
    assert parse_at_k("ndcg@2;4;6", "ndcg") == [2, 4, 6]
    assert parse_at_k("ndcg", "ndcg") == [1, 2]
    assert parse_at_k("hit@2;5;10", "hit") == [2, 5, 10]
    assert parse_at_k("hit@2", "ndcg") is None
    assert parse_at_k("whit@3", "hit") is None  # no prefix confusion between families


@pytest.mark.parametrize("spec", ["ndcg@", "ndcg@2;x", "ndcg@0", "ndcg@-1"])
def test_parse_at_k_rejects_bad_cutoffs(spec):
    with pytest.raises(ValueError, match="not a positive integer"):
        parse_at_k(spec, "ndcg")


def test_metric_keys():
    assert metric_keys("ndcg@2;4", ("mean_mrr",), ("ndcg", "hit")) == ["ndcg@2", "ndcg@4"]
    assert metric_keys("mean_mrr", ("mean_mrr",), ("ndcg",)) == ["mean_mrr"]
    assert metric_keys("ndcgx", ("mean_mrr",), ("ndcg",)) is None


def test_check_metric_specs():
    check_metric_specs(["auc", "logloss"], "metrics")
    check_metric_specs(["mean_mrr", "ndcg@2;4;6", "hit", "group_auc"], "pairwise_metrics")
    check_metric_specs(["wauc", "wmrr", "whit@2", "wndcg"], "weighted_metrics")
    check_metric_specs(None, "metrics")
    with pytest.raises(ValueError, match=r"weighted_metrics: unknown metric\(s\) \['auc'\]"):
        check_metric_specs(["wauc", "auc"], "weighted_metrics")
    with pytest.raises(ValueError, match="kind must be one of"):
        check_metric_specs([], "other")


def test_rounded_is_python_round_to_4():
    assert rounded(0.12345678) == 0.1235
    assert type(rounded(1)) is float
