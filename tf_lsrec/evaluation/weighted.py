"""CLSR's weighted per-user metrics (``weighted_metrics``, docs/reference.md §4.3).

All rows of a user are pooled across that user's groups; each per-user metric is weighted by
``rows_u / total rows`` (positives and negatives both count) and summed. ``wauc`` is the
papers' GAUC. Users are whatever ids the caller passes (vocab indices in the reference, so all
unknown users share index 0 and form one pseudo-user there).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tf_lsrec.evaluation._arrays import binary_labels, flat_floats, same_length
from tf_lsrec.evaluation.ranking import rank_groups
from tf_lsrec.evaluation.spec import WEIGHTED_AT_K, WEIGHTED_PLAIN, describe, parse_at_k, rounded

SKIPPED_KEY = "weighted_skipped_users"


def _check_specs(metrics: Sequence[str]) -> None:
    for metric in metrics:
        if metric not in WEIGHTED_PLAIN and all(
            parse_at_k(metric, f) is None for f in WEIGHTED_AT_K
        ):
            raise ValueError(
                f"unknown weighted metric {metric!r}; valid: {describe(WEIGHTED_PLAIN, WEIGHTED_AT_K)}"
            )


def cal_weighted_metric(
    users, preds, labels, metrics: Sequence[str] | None, *, skip_single_class: bool = False
) -> dict:
    """Weighted per-user metrics over ``R`` rows.

    Args:
        users: ``[R]`` user id of every row (any sortable dtype).
        preds: ``[R]`` scores.
        labels: ``[R]`` 0/1 labels.
        metrics: specs among ``wauc``, ``wmrr``, ``whit[@k;k...]``, ``wndcg[@k;k...]``
            (bare ``whit`` / ``wndcg`` -> k in {1, 2}); ``None`` or empty -> ``{}``.
        skip_single_class: ``False`` (reference): a user whose rows are all one class raises
            for ``wauc``, and a user with no positive raises for ``wmrr`` / ``wndcg``.
            ``True``: such users are left out of every weighted metric, the weights are
            renormalised over the remaining rows, and their count is returned under
            ``"weighted_skipped_users"``.

    Returns:
        ``{key: float}`` in spec order, rounded to 4 decimals (plus the skipped count).

    Raises:
        ValueError: unknown spec, mismatched lengths, or an undefined user metric (the message
            gives the user id and its class counts).
    """
    if not metrics:
        return {}
    _check_specs(metrics)
    users = np.asarray(users).reshape(-1)
    preds = flat_floats(preds, "preds")
    labels = binary_labels(labels, "labels")
    same_length(users, preds, "users", "preds")
    same_length(users, labels, "users", "labels")
    if users.shape[0] == 0:
        raise ValueError("no rows to evaluate (users is empty)")

    user_ids, group = np.unique(users, return_inverse=True)
    ranking = rank_groups(group.reshape(-1), labels, preds)
    single_class = (ranking.positives == 0) | (ranking.negatives == 0)
    keep = ~single_class if skip_single_class else np.ones_like(single_class)
    if not keep.any():
        raise ValueError(
            f"all {user_ids.shape[0]} user(s) have a single label class; no weighted metric "
            "can be computed"
        )
    kept_rows = ranking.sizes * keep
    weights = kept_rows / kept_rows.sum()

    def weighted(values: np.ndarray, metric: str, undefined: np.ndarray, needs: str) -> float:
        bad = undefined & keep
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            user = user_ids[first].item()  # plain Python value: "user 9", not "np.int64(9)"
            raise ValueError(
                f"{metric} is undefined for user {user!r} "
                f"({ranking.positives[first]} positive(s), {ranking.negatives[first]} "
                f"negative(s)): it needs {needs}; {int(bad.sum())} such user(s) in total "
                "(pass skip_single_class=True to leave them out)"
            )
        return rounded(np.sum(np.where(keep, values, 0.0) * weights))

    no_positive = ranking.positives == 0
    result: dict[str, float | int] = {}
    for metric in metrics:
        if metric == "wauc":
            result["wauc"] = weighted(ranking.auc(), metric, single_class, "both label classes")
        elif metric == "wmrr":
            result["wmrr"] = weighted(ranking.mrr(), metric, no_positive, "a positive")
        elif (ks := parse_at_k(metric, "wndcg")) is not None:
            for k in ks:
                key = f"wndcg@{k}"
                result[key] = weighted(ranking.ndcg(k), key, no_positive, "a positive")
        else:
            for k in parse_at_k(metric, "whit"):
                key = f"whit@{k}"
                result[key] = weighted(ranking.hit(k), key, np.zeros_like(keep), "")
    if skip_single_class:
        result[SKIPPED_KEY] = int(single_class.sum())
    return result
