"""Pairwise (group) metrics of Microsoft's ``cal_metric`` on groups ``[G, N+1]`` (§4.2).

A group is one positive followed by its ``N`` negatives, formed positionally from the file.
Every metric is computed per group with the reference tie rule (see ``ranking``) and averaged
without weights over groups; results are rounded to 4 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tf_lsrec.evaluation._arrays import binary_labels, flat_floats, same_length
from tf_lsrec.evaluation.ranking import GroupRanking, rank_groups
from tf_lsrec.evaluation.spec import PAIRWISE_AT_K, PAIRWISE_PLAIN, describe, parse_at_k, rounded


def group_rows(labels, preds, num_ngs: int) -> tuple[np.ndarray, np.ndarray]:
    """Reshape flat file-order rows into groups of one positive and ``num_ngs`` negatives.

    Args:
        labels: ``[R]`` (or ``[R, 1]``) 0/1 labels in file order.
        preds: ``[R]`` (or ``[R, 1]``) scores in file order.
        num_ngs: negatives per group ``N``.

    Returns:
        ``(group_labels, group_preds)``, both float64 ``[R / (N+1), N+1]``.

    Raises:
        ValueError: ``R`` is not a multiple of ``N+1``, or a group is not exactly
            ``[1, 0, ..., 0]`` (the message names the first bad group and its rows).
    """
    if isinstance(num_ngs, bool) or not isinstance(num_ngs, (int, np.integer)) or num_ngs < 0:
        raise ValueError(f"num_ngs must be an integer >= 0, got {num_ngs!r}")
    labels = binary_labels(labels, "labels")
    preds = flat_floats(preds, "preds")
    same_length(labels, preds, "labels", "preds")
    width = int(num_ngs) + 1
    rows = labels.shape[0]
    if rows % width:
        raise ValueError(
            f"{rows} rows is not a multiple of num_ngs + 1 = {width}: {rows // width} whole "
            f"group(s) and {rows % width} trailing row(s); each group must be 1 positive "
            f"followed by {num_ngs} negatives"
        )
    group_labels = labels.reshape(-1, width)
    valid = (group_labels[:, 0] == 1) & (group_labels[:, 1:] == 0).all(axis=1)
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        raise ValueError(
            f"group {bad} (rows {bad * width}..{bad * width + width - 1}) must be 1 positive "
            f"followed by {num_ngs} negatives, got labels {group_labels[bad].tolist()} "
            f"({int((~valid).sum())} bad group(s) in total)"
        )
    return group_labels, preds.reshape(-1, width)


def _flatten_groups(group_labels, group_preds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[G, M]`` arrays, or equal-count sequences of 1-D groups (ragged allowed), ->
    flat ``(group index [R], labels [R], preds [R])``."""

    def sizes_of(groups, name: str) -> np.ndarray:
        if isinstance(groups, np.ndarray) or hasattr(groups, "numpy"):
            array = np.asarray(groups)
            if array.ndim != 2:
                raise ValueError(
                    f"{name}: expected a 2-D array [groups, group size], got shape {array.shape}"
                )
            return np.full(array.shape[0], array.shape[1], dtype=np.int64)
        return np.array([np.size(g) for g in groups], dtype=np.int64)

    sizes = sizes_of(group_labels, "group_labels")
    pred_sizes = sizes_of(group_preds, "group_preds")
    if sizes.shape != pred_sizes.shape or (sizes != pred_sizes).any():
        raise ValueError(
            f"group_labels and group_preds disagree: {sizes.shape[0]} vs {pred_sizes.shape[0]} "
            "groups or different group sizes"
        )
    if sizes.shape[0] == 0:
        raise ValueError("no groups to evaluate (group_labels is empty)")

    def flat(groups) -> np.ndarray:
        if isinstance(groups, np.ndarray) or hasattr(groups, "numpy"):
            return np.asarray(groups).reshape(-1)
        return np.concatenate([np.asarray(g).reshape(-1) for g in groups])

    labels = binary_labels(flat(group_labels), "group_labels")
    preds = flat_floats(flat(group_preds), "group_preds")
    group = np.repeat(np.arange(sizes.shape[0]), sizes)
    return group, labels, preds


def _defined(values: np.ndarray, ranking: GroupRanking, metric: str, needs: str) -> np.ndarray:
    undefined = np.isnan(values)
    if undefined.any():
        bad = int(np.flatnonzero(undefined)[0])
        raise ValueError(
            f"{metric} is undefined for group {bad} ({ranking.positives[bad]} positive(s), "
            f"{ranking.negatives[bad]} negative(s)): it needs {needs}; "
            f"{int(undefined.sum())} such group(s) in total"
        )
    return values


def cal_group_metric(group_labels, group_preds, pairwise_metrics: Sequence[str] | None) -> dict:
    """Microsoft's pairwise metrics, one group per row.

    Args:
        group_labels: 0/1 labels ``[G, N+1]`` (or a sequence of ``G`` 1-D groups).
        group_preds: scores, same shape as ``group_labels``.
        pairwise_metrics: specs among ``mean_mrr``, ``ndcg[@k;k...]``, ``hit[@k;k...]``,
            ``group_auc``; ``None`` or empty -> ``{}``.

    Returns:
        ``{key: float}`` in spec order (``ndcg@2;4`` -> keys ``ndcg@2``, ``ndcg@4``), each the
        unweighted mean over groups rounded to 4 decimals.

    Raises:
        ValueError: unknown spec; a group with no positive (``mean_mrr``, ``ndcg``) or a single
            class (``group_auc``), naming the group.
    """
    if not pairwise_metrics:
        return {}
    for metric in pairwise_metrics:
        if metric not in PAIRWISE_PLAIN and all(
            parse_at_k(metric, f) is None for f in PAIRWISE_AT_K
        ):
            raise ValueError(
                f"unknown pairwise metric {metric!r}; valid: {describe(PAIRWISE_PLAIN, PAIRWISE_AT_K)}"
            )
    ranking = rank_groups(*_flatten_groups(group_labels, group_preds))
    result: dict[str, float] = {}
    for metric in pairwise_metrics:
        if metric == "mean_mrr":
            values = _defined(ranking.mrr(), ranking, metric, "at least one positive")
            result["mean_mrr"] = rounded(values.mean())
        elif metric == "group_auc":
            values = _defined(ranking.auc(), ranking, metric, "both label classes")
            result["group_auc"] = rounded(values.mean())
        elif (ks := parse_at_k(metric, "ndcg")) is not None:
            for k in ks:
                values = _defined(ranking.ndcg(k), ranking, f"ndcg@{k}", "at least one positive")
                result[f"ndcg@{k}"] = rounded(values.mean())
        else:
            for k in parse_at_k(metric, "hit"):
                result[f"hit@{k}"] = rounded(ranking.hit(k).mean())
    return result
