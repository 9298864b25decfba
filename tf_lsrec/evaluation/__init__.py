"""Evaluation metrics: sampled (pointwise, grouped, weighted per user) and full-ranking."""

from tf_lsrec.evaluation.metrics import (
    cal_group_metric,
    cal_metric,
    cal_weighted_metric,
    check_metric_specs,
    evaluate,
    full_ranking_metrics,
    group_rows,
    mean_alpha,
)

__all__ = [
    "cal_group_metric",
    "cal_metric",
    "cal_weighted_metric",
    "check_metric_specs",
    "evaluate",
    "full_ranking_metrics",
    "group_rows",
    "mean_alpha",
]
