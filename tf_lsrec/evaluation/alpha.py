"""CLSR's ``mean_alpha`` (docs/reference.md §4.4): the mean fusion weight on positive rows."""

from __future__ import annotations

import numpy as np

from tf_lsrec.evaluation._arrays import binary_labels, flat_floats, same_length
from tf_lsrec.evaluation.spec import rounded


def mean_alpha(alpha, labels) -> float:
    """``sum(alpha * label) / sum(label)`` over ``[R]`` rows, rounded to 4 decimals.

    Args:
        alpha: ``[R]`` (or ``[R, 1]``) fusion weight of each row.
        labels: ``[R]`` 0/1 labels.

    Raises:
        ValueError: no positive row (the reference would return NaN).
    """
    alpha = flat_floats(alpha, "alpha")
    labels = binary_labels(labels, "labels")
    same_length(alpha, labels, "alpha", "labels")
    positives = labels.sum()
    if positives == 0:
        raise ValueError(
            f"mean_alpha needs at least one positive row; got {labels.shape[0]} rows, none positive"
        )
    return rounded(np.sum(alpha * labels) / positives)
