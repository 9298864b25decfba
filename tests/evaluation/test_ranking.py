"""The per-group ranking engine: descending ranks with the reference tie rule, average ranks."""

import numpy as np

from tf_lsrec.evaluation.ranking import rank_groups


def test_ranks_and_average_ranks_by_hand():
    # group 0 = rows 0, 2, 4 (interleaved with group 1 = rows 1, 3)
    group = np.array([0, 1, 0, 1, 0])
    labels = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    preds = np.array([0.5, 0.2, 0.5, 0.7, 0.1])
    r = rank_groups(group, labels, preds)
    # group 0 ascending stable: row4 (0.1), row0 (0.5), row2 (0.5); reversed -> row2, row0, row4
    # so the earlier tied row 0 ranks 2nd (pessimistic for the positive); group 1: row3, row1.
    np.testing.assert_array_equal(r.rank, [2, 2, 1, 1, 3])
    # ascending average ranks: group 0: row4 -> 1, rows 0 and 2 tie on ranks 2, 3 -> 2.5 each
    np.testing.assert_array_equal(r.avg_rank, [2.5, 1.0, 2.5, 2.0, 1.0])
    np.testing.assert_array_equal(r.sizes, [3, 2])
    np.testing.assert_array_equal(r.positives, [1, 1])
    # group 0 AUC: positive 0.5 vs negatives 0.5 (1/2) and 0.1 (1) -> 1.5 / 2 = 0.75
    # group 1 AUC: positive 0.2 vs negative 0.7 -> 0
    np.testing.assert_allclose(r.auc(), [0.75, 0.0])
    np.testing.assert_allclose(r.mrr(), [0.5, 0.5])


def test_single_class_group_gives_nan_auc():
    r = rank_groups(np.array([0, 0, 1, 1]), np.array([0.0, 0.0, 1.0, 0.0]), np.zeros(4))
    auc = r.auc()
    assert np.isnan(auc[0]) and auc[1] == 0.5
    assert np.isnan(r.mrr()[0])
