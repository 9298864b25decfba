"""Vectorised per-group ranking: the engine behind group, weighted and pointwise metrics.

Rows carry a group id (a group of one positive and its negatives, or all rows of one user).
One ``np.lexsort`` by ``(group, score)`` yields, for every row,

* its **descending rank with Microsoft's tie rule** (docs/reference.md §4.2): the reference sorts a
  group's scores ascending and reverses the order; with a stable sort, tied rows then appear
  latest-index first, so a positive (index 0 of its group) ranks *below* every negative it ties
  with. Rank of sorted position ``p`` (0-based, ascending) in a group of ``n`` rows is ``n - p``;
* its **average ascending rank** within its tie block, from which ROC AUC follows by the
  Mann-Whitney rank sum (ties count one half, as scikit-learn's ``roc_auc_score``).

No Python loop runs per group or per user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GroupRanking:
    """Ranks of ``R`` rows inside ``G`` groups.

    Attributes:
        group: int64 ``[R]`` group index of each row (``0 .. G-1``), in input order.
        labels: float64 ``[R]`` 0/1 labels, in input order.
        rank: int64 ``[R]`` 1-based descending rank inside the group (Microsoft tie rule).
        avg_rank: float64 ``[R]`` 1-based ascending rank, ties averaged (for AUC).
        sizes: int64 ``[G]`` rows per group.
        positives: int64 ``[G]`` label-1 rows per group.
    """

    group: np.ndarray
    labels: np.ndarray
    rank: np.ndarray
    avg_rank: np.ndarray
    sizes: np.ndarray
    positives: np.ndarray

    @property
    def num_groups(self) -> int:
        return int(self.sizes.shape[0])

    @property
    def negatives(self) -> np.ndarray:
        """int64 ``[G]`` label-0 rows per group."""
        return self.sizes - self.positives

    def _sum(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.group, weights=weights, minlength=self.num_groups)

    def auc(self) -> np.ndarray:
        """float64 ``[G]`` ROC AUC per group; NaN where a group has a single class."""
        pos = self.positives.astype(np.float64)
        neg = self.negatives.astype(np.float64)
        rank_sum = self._sum(self.avg_rank * self.labels)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)

    def mrr(self) -> np.ndarray:
        """float64 ``[G]``: ``sum_r y_(r) / r / sum y``; NaN where a group has no positive."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._sum(self.labels / self.rank) / self.positives

    def hit(self, k: int) -> np.ndarray:
        """float64 ``[G]``: 1 if a positive is among the top ``k`` by score, else 0."""
        return (self._sum(self.labels * (self.rank <= k)) > 0).astype(np.float64)

    def ndcg(self, k: int) -> np.ndarray:
        """float64 ``[G]``: DCG@k by score / DCG@k by label, gains ``2^y - 1``, discount
        ``log2(r + 1)``, ``k' = min(k, group size)``; NaN where a group has no positive."""
        dcg = self._sum(self.labels / np.log2(self.rank + 1.0) * (self.rank <= k))
        # Ideal order puts the P positives first: IDCG = sum_{r=1}^{min(k, P)} 1 / log2(r + 1).
        longest = int(self.positives.max(initial=0))
        cumulative = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, longest + 2)))])
        ideal = cumulative[np.minimum(self.positives, k)]
        with np.errstate(divide="ignore", invalid="ignore"):
            return dcg / ideal


def rank_groups(group: np.ndarray, labels: np.ndarray, preds: np.ndarray) -> GroupRanking:
    """Rank ``R`` rows inside their groups.

    Args:
        group: int ``[R]`` group index per row, values in ``0 .. G-1`` (rows of a group need
            not be contiguous; their relative input order is what the tie rule uses).
        labels: float ``[R]`` 0/1 labels.
        preds: float ``[R]`` finite scores.
    """
    group = np.asarray(group, dtype=np.int64)
    num_rows = group.shape[0]
    num_groups = int(group.max(initial=-1)) + 1
    sizes = np.bincount(group, minlength=num_groups)
    positives = np.bincount(group, weights=labels, minlength=num_groups).astype(np.int64)
    starts = np.cumsum(sizes) - sizes

    order = np.lexsort((preds, group))  # stable: equal scores keep input order
    sorted_group = group[order]
    sorted_preds = preds[order]
    position = np.arange(num_rows) - starts[sorted_group]  # 0-based ascending, per group

    rank = np.empty(num_rows, dtype=np.int64)
    rank[order] = sizes[sorted_group] - position

    new_block = np.ones(num_rows, dtype=bool)
    new_block[1:] = (sorted_group[1:] != sorted_group[:-1]) | (
        sorted_preds[1:] != sorted_preds[:-1]
    )
    block_start = np.flatnonzero(new_block)
    block_end = np.append(block_start[1:], num_rows) - 1
    block_mid = (block_start + block_end) / 2.0
    avg_rank = np.empty(num_rows, dtype=np.float64)
    avg_rank[order] = block_mid[np.cumsum(new_block) - 1] - starts[sorted_group] + 1.0

    return GroupRanking(group, labels, rank, avg_rank, sizes, positives)
