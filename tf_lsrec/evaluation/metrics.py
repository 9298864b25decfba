"""Public metric API: Microsoft's ``cal_metric`` family plus one ``evaluate`` entry point.

``evaluate`` is what a model's ``run_eval`` calls with the flat, file-order rows of an
evaluation file: it returns pointwise (``metrics``), then pairwise (``pairwise_metrics``), then
weighted (``weighted_metrics``) results, in the key order of the reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tf_lsrec.evaluation.alpha import mean_alpha
from tf_lsrec.evaluation.full_ranking import full_ranking_metrics, target_ranks
from tf_lsrec.evaluation.grouped import cal_group_metric, group_rows
from tf_lsrec.evaluation.pointwise import (
    acc_score,
    auc_score,
    cal_metric,
    f1_score,
    logloss_score,
    rmse_score,
)
from tf_lsrec.evaluation.spec import check_metric_specs
from tf_lsrec.evaluation.weighted import cal_weighted_metric

__all__ = [
    "acc_score",
    "auc_score",
    "cal_group_metric",
    "cal_metric",
    "cal_weighted_metric",
    "check_metric_specs",
    "evaluate",
    "f1_score",
    "full_ranking_metrics",
    "group_rows",
    "logloss_score",
    "mean_alpha",
    "rmse_score",
    "target_ranks",
]

_LIST_KEYS = ("metrics", "pairwise_metrics", "weighted_metrics")


def _metric_list(hparams: Any, key: str, given: Sequence[str] | None) -> list[str]:
    if given is not None:
        return list(given)
    if hparams is None:
        return []
    value = hparams.get(key) if isinstance(hparams, Mapping) else getattr(hparams, key, None)
    return list(value or [])


def evaluate(
    labels,
    preds,
    users=None,
    hparams: Any = None,
    num_ngs: int | None = None,
    *,
    metrics: Sequence[str] | None = None,
    pairwise_metrics: Sequence[str] | None = None,
    weighted_metrics: Sequence[str] | None = None,
    alphas=None,
    skip_single_class: bool = False,
) -> dict:
    """All configured metrics of one evaluation file.

    Args:
        labels: ``[R]`` 0/1 labels in file order (groups of 1 positive + ``num_ngs``
            negatives, padding rows already removed).
        preds: ``[R]`` predicted probabilities.
        users: ``[R]`` user index per row; needed only for ``weighted_metrics``.
        hparams: anything with ``metrics`` / ``pairwise_metrics`` / ``weighted_metrics``
            attributes (``HParams``) or keys (a dict); ``None`` = use the keyword lists only.
        num_ngs: negatives per group; needed only for ``pairwise_metrics``.
        metrics, pairwise_metrics, weighted_metrics: override the lists of ``hparams``
            (``[]`` disables a family).
        alphas: optional ``[R]`` fusion weights; adds ``mean_alpha`` last (CLSR).
        skip_single_class: passed to ``cal_weighted_metric``.

    Returns:
        ``{key: value}``: pointwise keys, then pairwise, then weighted (then ``mean_alpha``).
    """
    lists = {
        key: _metric_list(hparams, key, given)
        for key, given in zip(_LIST_KEYS, (metrics, pairwise_metrics, weighted_metrics))
    }
    for key, names in lists.items():
        check_metric_specs(names, key)
    result = cal_metric(labels, preds, lists["metrics"])
    if lists["pairwise_metrics"]:
        if num_ngs is None:
            raise ValueError(
                f"pairwise_metrics {lists['pairwise_metrics']} need num_ngs (negatives per group)"
            )
        group_labels, group_preds = group_rows(labels, preds, num_ngs)
        result.update(cal_group_metric(group_labels, group_preds, lists["pairwise_metrics"]))
    if lists["weighted_metrics"]:
        if users is None:
            raise ValueError(f"weighted_metrics {lists['weighted_metrics']} need users per row")
        result.update(
            cal_weighted_metric(
                users,
                preds,
                labels,
                lists["weighted_metrics"],
                skip_single_class=skip_single_class,
            )
        )
    if alphas is not None:
        result["mean_alpha"] = mean_alpha(alphas, labels)
    return result
