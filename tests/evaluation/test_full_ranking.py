"""Full-catalogue HR@k / NDCG@k / MRR with pessimistic ties and history exclusion."""

import math

import numpy as np
import pytest

from tf_lsrec.evaluation.full_ranking import full_ranking_metrics, target_ranks

SCORES = np.array([[0.1, 0.9, 0.5, 0.5], [0.3, 0.3, 0.3, 0.3]])
TARGETS = np.array([2, 0])


def test_ranks_and_metrics_by_hand():
    # user 0: target score 0.5; 0.9 above, item 3 tied (counts above) -> rank 3
    # user 1: all tied -> rank 4
    ranks, kept = target_ranks(SCORES, TARGETS)
    np.testing.assert_array_equal(ranks, [3, 4])
    assert kept == 0
    res = full_ranking_metrics(SCORES, TARGETS, ks=(1, 3, 4))
    # ndcg@3 = (1/log2(4) + 0) / 2 = 0.25; ndcg@4 = (0.5 + 1/log2(5)) / 2; mrr = (1/3 + 1/4) / 2
    assert res == pytest.approx(
        {
            "hr@1": 0.0,
            "hr@3": 0.5,
            "hr@4": 1.0,
            "ndcg@1": 0.0,
            "ndcg@3": 0.25,
            "ndcg@4": (0.5 + 1 / math.log2(5)) / 2,
            "mrr": (1 / 3 + 1 / 4) / 2,
        }
    )
    assert list(res) == ["hr@1", "hr@3", "hr@4", "ndcg@1", "ndcg@3", "ndcg@4", "mrr"]


def test_exclusion_removes_items_but_never_the_target():
    exclude = np.zeros((2, 4), bool)
    exclude[0, 1] = True  # user 0: drop the 0.9 item -> rank 2
    exclude[1, [0, 3]] = (
        True  # user 1: target 0 is marked too (kept, counted); item 3 dropped -> rank 3
    )
    ranks, kept = target_ranks(SCORES, TARGETS, exclude)
    np.testing.assert_array_equal(ranks, [2, 3])
    assert kept == 1
    res = full_ranking_metrics(SCORES, TARGETS, exclude, ks=(2,))
    assert res == pytest.approx(
        {
            "hr@2": 0.5,
            "ndcg@2": (1 / math.log2(3)) / 2,
            "mrr": (1 / 2 + 1 / 3) / 2,
            "excluded_targets_kept": 1,
        }
    )


def test_errors():
    with pytest.raises(ValueError, match=r"user 1 has item 4 outside \[0, 4\)"):
        target_ranks(SCORES, [0, 4])
    with pytest.raises(ValueError, match="targets has 1 entries but scores has 2 users"):
        target_ranks(SCORES, [0])
    with pytest.raises(ValueError, match="expected integer item indices"):
        target_ranks(SCORES, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"exclude: expected shape \(2, 4\)"):
        target_ranks(SCORES, TARGETS, np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match="target score of user 0 is nan"):
        target_ranks(np.array([[np.nan, 1.0]]), [0])
    with pytest.raises(ValueError, match="cut-offs must be positive integers"):
        full_ranking_metrics(SCORES, TARGETS, ks=(0,))
