"""Full-catalogue retrieval metrics: HR@k, NDCG@k and MRR of one target item per user.

Unlike the sampled metrics (100 candidates per user), every catalogue item competes. The rank
of the target is pessimistic, matching the tie rule of the sampled metrics: items scored
*equal* to the target rank above it, so a constant model scores no better than chance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from tf_lsrec.evaluation.spec import RANKING_AT_K, RANKING_PLAIN, check_metric_specs, metric_keys

TARGETS_KEPT_KEY = "excluded_targets_kept"
_RANKING_KEY = re.compile(r"^(full|neg\d+)_")


def is_ranking_key(metric: str) -> bool:
    """Whether a metric name is a catalogue-ranking one (``full_...`` or ``neg<N>_...``, as
    ``tf_lsrec.models.ranking_eval`` writes them)."""
    return bool(_RANKING_KEY.match(metric))


def target_ranks(scores, targets, exclude=None) -> tuple[np.ndarray, int]:
    """1-based rank of each user's target among the non-excluded items.

    Args:
        scores: float ``[U, I]`` score of every item for every user.
        targets: int ``[U]`` target item index per user, in ``[0, I)``.
        exclude: optional bool ``[U, I]``, ``True`` for items removed from the ranking (e.g.
            the user's history). The target itself is never removed: a target marked in
            ``exclude`` is kept and counted.

    Returns:
        ``(ranks int64 [U], number of targets that were marked in exclude)``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores: expected [users, items], got shape {scores.shape}")
    num_users, num_items = scores.shape
    targets = np.asarray(targets).reshape(-1)
    if targets.shape[0] != num_users:
        raise ValueError(f"targets has {targets.shape[0]} entries but scores has {num_users} users")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets: expected integer item indices, got dtype {targets.dtype}")
    out_of_range = (targets < 0) | (targets >= num_items)
    if out_of_range.any():
        first = int(np.flatnonzero(out_of_range)[0])
        raise ValueError(
            f"targets: user {first} has item {targets[first]} outside [0, {num_items}) "
            f"({int(out_of_range.sum())} such user(s))"
        )
    rows = np.arange(num_users)
    target_scores = scores[rows, targets]
    bad = ~np.isfinite(target_scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"scores: target score of user {first} is {target_scores[first]}")

    competing = scores >= target_scores[:, None]  # includes the target itself
    kept_targets = 0
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=bool)
        if exclude.shape != scores.shape:
            raise ValueError(f"exclude: expected shape {scores.shape}, got {exclude.shape}")
        kept_targets = int(exclude[rows, targets].sum())
        competing &= ~exclude
        competing[rows, targets] = True
    return competing.sum(axis=1).astype(np.int64), kept_targets


def full_ranking_metrics(scores, targets, exclude=None, ks: Sequence[int] = (10, 20, 50)) -> dict:
    """HR@k, NDCG@k (one relevant item: ``1 / log2(rank + 1)`` if ``rank <= k``) and MRR.

    Args:
        scores: float ``[U, I]``; targets: int ``[U]``; exclude: optional bool ``[U, I]``
            (see ``target_ranks``); ks: positive cut-offs.

    Returns:
        ``{"hr@k": ..., "ndcg@k": ... for each k, "mrr": ...}`` as unrounded means over users,
        plus ``"excluded_targets_kept"`` (count) when ``exclude`` is given.
    """
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"ks: cut-offs must be positive integers, got {k!r}")
    ranks, kept_targets = target_ranks(scores, targets, exclude)
    if ranks.shape[0] == 0:
        raise ValueError("no users to evaluate (scores has 0 rows)")
    gain = 1.0 / np.log2(ranks + 1.0)
    result: dict[str, float | int] = {}
    for k in ks:
        result[f"hr@{k}"] = float(np.mean(ranks <= k))
    for k in ks:
        result[f"ndcg@{k}"] = float(np.mean(np.where(ranks <= k, gain, 0.0)))
    result["mrr"] = float(np.mean(1.0 / ranks))
    if exclude is not None:
        result[TARGETS_KEPT_KEY] = kept_targets
    return result


def ranking_metrics(ranks, specs: Sequence[str]) -> dict[str, float]:
    """The ``full_ranking_metrics`` specs (``hit@k``, ``ndcg@k``, ``mrr``; ``name@k1;k2``
    syntax of ``tf_lsrec.evaluation.spec``) of 1-based target ranks, unrounded means.

    Args:
        ranks: int ``[U]``, each user's target rank (1 = first), e.g. from :func:`target_ranks`.
        specs: metric specs, e.g. ``["hit@10;20", "ndcg@10", "mrr"]``.

    Returns:
        ``{key: mean over users}`` in spec order: ``hit@k`` = share of ranks ``<= k``,
        ``ndcg@k`` = mean of ``1 / log2(rank + 1)`` over ranks ``<= k`` (0 beyond; one relevant
        item, so the ideal DCG is 1), ``mrr`` = mean of ``1 / rank``.
    """
    check_metric_specs(specs, "full_ranking_metrics")
    ranks = np.asarray(ranks, dtype=np.float64).reshape(-1)
    if ranks.shape[0] == 0:
        raise ValueError("no users to evaluate (ranks is empty)")
    if (ranks < 1).any():
        raise ValueError(f"ranks are 1-based; got a minimum of {ranks.min():g}")
    result: dict[str, float] = {}
    for spec in specs:
        for key in metric_keys(spec, RANKING_PLAIN, RANKING_AT_K):
            if key == "mrr":
                result[key] = float(np.mean(1.0 / ranks))
                continue
            name, k = key.split("@")
            hit = ranks <= int(k)
            value = hit if name == "hit" else np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0)
            result[key] = float(np.mean(value))
    return result
