"""Pointwise metrics and Microsoft's ``cal_metric`` entry point (docs/reference.md §4.1).

``cal_metric(labels, preds, metrics)`` computes ``auc``, ``logloss``, ``rmse``, ``acc`` and
``f1`` on all rows flattened. Like the reference it also accepts the pairwise names
(``mean_mrr``, ``ndcg@k``, ``hit@k``, ``group_auc``), which it evaluates on groups: pass
``labels`` / ``preds`` as ``[G, N+1]`` arrays (see ``grouped.group_rows``) for those.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tf_lsrec.evaluation._arrays import binary_labels, flat_floats, same_length
from tf_lsrec.evaluation.grouped import cal_group_metric
from tf_lsrec.evaluation.ranking import rank_groups
from tf_lsrec.evaluation.spec import (
    PAIRWISE_AT_K,
    PAIRWISE_PLAIN,
    POINTWISE_METRICS,
    describe,
    metric_keys,
    parse_at_k,
    rounded,
)

LOGLOSS_EPS = 1e-11  # the reference clips to [10e-12, 1 - 10e-12]
THRESHOLD = 0.5  # acc / f1: pred >= 0.5 -> 1


def auc_score(labels, preds) -> float:
    """ROC AUC over all rows ``[R]`` (ties count one half); unrounded.

    Raises:
        ValueError: only one label class present (as scikit-learn's ``roc_auc_score``).
    """
    labels = binary_labels(labels, "labels")
    preds = flat_floats(preds, "preds")
    same_length(labels, preds, "labels", "preds")
    ranking = rank_groups(np.zeros(labels.shape[0], dtype=np.int64), labels, preds)
    if labels.shape[0] == 0 or ranking.positives[0] in (0, labels.shape[0]):
        raise ValueError(
            f"auc is undefined: {int(labels.sum())} positive(s) and "
            f"{int(labels.shape[0] - labels.sum())} negative(s) among {labels.shape[0]} rows; "
            "both classes are needed"
        )
    return float(ranking.auc()[0])


def logloss_score(labels, preds) -> float:
    """Mean binary log loss of ``[R]`` rows, predictions clipped to ``[1e-11, 1 - 1e-11]``."""
    labels = binary_labels(labels, "labels")
    preds = np.clip(flat_floats(preds, "preds"), LOGLOSS_EPS, 1.0 - LOGLOSS_EPS)
    same_length(labels, preds, "labels", "preds")
    return float(-np.mean(labels * np.log(preds) + (1.0 - labels) * np.log(1.0 - preds)))


def rmse_score(labels, preds) -> float:
    """``sqrt(round(MSE, 4))``: the reference rounds before the root and not after (quirk)."""
    labels = flat_floats(labels, "labels")
    preds = flat_floats(preds, "preds")
    same_length(labels, preds, "labels", "preds")
    return float(np.sqrt(round(float(np.mean((labels - preds) ** 2)), 4)))


def _confusion(labels, preds) -> tuple[np.ndarray, np.ndarray]:
    labels = binary_labels(labels, "labels")
    predicted = (flat_floats(preds, "preds") >= THRESHOLD).astype(np.float64)
    same_length(labels, predicted, "labels", "preds")
    return labels, predicted


def acc_score(labels, preds) -> float:
    """Accuracy with predictions thresholded at 0.5 (``>= 0.5`` -> 1)."""
    labels, predicted = _confusion(labels, preds)
    return float(np.mean(labels == predicted))


def f1_score(labels, preds) -> float:
    """Binary F1 of the positive class, threshold 0.5; 0.0 when ``2TP + FP + FN = 0``."""
    labels, predicted = _confusion(labels, preds)
    true_pos = float(np.sum(labels * predicted))
    denominator = 2.0 * true_pos + float(np.sum(predicted != labels))
    return 2.0 * true_pos / denominator if denominator else 0.0


POINTWISE_FUNCTIONS = {
    "auc": auc_score,
    "logloss": logloss_score,
    "rmse": rmse_score,
    "acc": acc_score,
    "f1": f1_score,
}


def _is_pairwise(metric: str) -> bool:
    return metric in PAIRWISE_PLAIN or any(parse_at_k(metric, f) is not None for f in PAIRWISE_AT_K)


def cal_metric(labels, preds, metrics: Sequence[str] | None) -> dict:
    """Microsoft's ``cal_metric``: ``{name: value}`` in the order of ``metrics``.

    Args:
        labels: 0/1 labels, ``[R]`` for pointwise metrics (any shape is flattened), ``[G, N+1]``
            when ``metrics`` holds pairwise names.
        preds: scores of the same shape.
        metrics: names among ``auc, logloss, rmse, acc, f1`` and the pairwise specs; ``None``
            or empty -> ``{}``.

    Returns:
        Values rounded to 4 decimals, except ``rmse`` (``sqrt(round(MSE, 4))``, unrounded).

    Raises:
        ValueError: an unknown name (the message lists the valid ones) or undefined AUC.
    """
    if not metrics:
        return {}
    for metric in metrics:
        if metric not in POINTWISE_FUNCTIONS and not _is_pairwise(metric):
            raise ValueError(
                f"unknown metric {metric!r}; valid: "
                f"{describe(POINTWISE_METRICS + PAIRWISE_PLAIN, PAIRWISE_AT_K)}"
            )
    pairwise = [m for m in metrics if m not in POINTWISE_FUNCTIONS]
    grouped = cal_group_metric(labels, preds, pairwise)  # one ranking for all group metrics
    result: dict[str, float] = {}
    for metric in metrics:
        if metric in POINTWISE_FUNCTIONS:
            value = POINTWISE_FUNCTIONS[metric](labels, preds)
            result[metric] = value if metric == "rmse" else rounded(value)
        else:
            for key in metric_keys(metric, PAIRWISE_PLAIN, PAIRWISE_AT_K):
                result[key] = grouped[key]
    return result
