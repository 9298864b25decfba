"""``mean_alpha``: the average fusion weight on positive rows (docs/reference.md §4.4)."""

import pytest

from tf_lsrec.evaluation.alpha import mean_alpha


def test_mean_alpha_by_hand():
    # positives are rows 0 and 2: (0.2 + 0.6) / 2 = 0.4
    assert mean_alpha([0.2, 0.9, 0.6, 0.1], [1, 0, 1, 0]) == 0.4
    # [R, 1] shapes are flattened; (0.12345 + 0.5) / 2 = 0.311725 -> 0.3117
    assert mean_alpha([[0.12345], [0.5]], [[1], [1]]) == 0.3117


def test_mean_alpha_needs_a_positive():
    with pytest.raises(ValueError, match="at least one positive row; got 2 rows"):
        mean_alpha([0.2, 0.3], [0, 0])
    with pytest.raises(ValueError, match="alpha has 1 rows but labels has 2"):
        mean_alpha([0.2], [1, 0])
