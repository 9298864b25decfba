"""Metric names and the ``name@k1;k2`` spec syntax shared by all metric families.

Microsoft's ``cal_metric`` accepts ``ndcg@2;4;6`` (one result per ``k``) and a bare ``ndcg``
meaning ``k in {1, 2}``; ``hit``, ``whit`` and ``wndcg`` follow the same rule (docs/reference.md §4.2).
Parsing here is strict: ``ndcgx`` or ``ndcg@2;a`` raise instead of being guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence

POINTWISE_METRICS: tuple[str, ...] = ("auc", "logloss", "rmse", "acc", "f1")
PAIRWISE_PLAIN: tuple[str, ...] = ("mean_mrr", "group_auc")
PAIRWISE_AT_K: tuple[str, ...] = ("ndcg", "hit")
WEIGHTED_PLAIN: tuple[str, ...] = ("wauc", "wmrr")
WEIGHTED_AT_K: tuple[str, ...] = ("wndcg", "whit")
RANKING_PLAIN: tuple[str, ...] = ("mrr",)
RANKING_AT_K: tuple[str, ...] = ("hit", "ndcg")
DEFAULT_KS: tuple[int, ...] = (1, 2)
DIGITS = 4


def describe(plain: Sequence[str], at_k: Sequence[str] = ()) -> str:
    """Human-readable list of valid names, e.g. ``'mean_mrr, group_auc, ndcg[@k;k...]'``."""
    return ", ".join([*plain, *(f"{name}[@k;k...]" for name in at_k)])


def parse_at_k(metric: str, family: str) -> list[int] | None:
    """Return the cut-offs of ``metric`` if it belongs to ``family``, else ``None``.

    ``parse_at_k("ndcg@2;4;6", "ndcg") -> [2, 4, 6]``; ``parse_at_k("ndcg", "ndcg") -> [1, 2]``;
    ``parse_at_k("hit@2", "ndcg") -> None``. Malformed cut-offs raise ``ValueError``.
    """
    if metric == family:
        return list(DEFAULT_KS)
    prefix = family + "@"
    if not metric.startswith(prefix):
        return None
    tokens = metric[len(prefix) :].split(";")
    ks: list[int] = []
    for token in tokens:
        token = token.strip()
        if not token.isdigit() or int(token) < 1:
            raise ValueError(
                f"metric spec {metric!r}: cut-off {token!r} is not a positive integer "
                f"(expected e.g. '{family}@2;4;6')"
            )
        ks.append(int(token))
    return ks


def metric_keys(metric: str, plain: Sequence[str], at_k: Sequence[str]) -> list[str] | None:
    """Result keys ``metric`` produces (``'ndcg@2;4'`` -> ``['ndcg@2', 'ndcg@4']``), or ``None``."""
    if metric in plain:
        return [metric]
    for family in at_k:
        ks = parse_at_k(metric, family)
        if ks is not None:
            return [f"{family}@{k}" for k in ks]
    return None


def check_metric_specs(metrics: Sequence[str] | None, kind: str) -> None:
    """Raise ``ValueError`` naming every unknown spec in ``metrics``.

    ``kind`` is ``"metrics"``, ``"pairwise_metrics"``, ``"weighted_metrics"`` or
    ``"full_ranking_metrics"`` (the YAML keys); meant for configuration validation before a
    long training run.
    """
    families = {
        "metrics": (POINTWISE_METRICS + PAIRWISE_PLAIN, PAIRWISE_AT_K),
        "pairwise_metrics": (POINTWISE_METRICS + PAIRWISE_PLAIN, PAIRWISE_AT_K),
        "weighted_metrics": (WEIGHTED_PLAIN, WEIGHTED_AT_K),
        "full_ranking_metrics": (RANKING_PLAIN, RANKING_AT_K),
    }
    if kind not in families:
        raise ValueError(f"kind must be one of {sorted(families)}, got {kind!r}")
    plain, at_k = families[kind]
    bad = [m for m in metrics or () if metric_keys(m, plain, at_k) is None]
    if bad:
        raise ValueError(f"{kind}: unknown metric(s) {bad}; valid: {describe(plain, at_k)}")


def rounded(value: float) -> float:
    """Python ``round(value, 4)`` on a plain float, as every reference metric is reported."""
    return round(float(value), DIGITS)
