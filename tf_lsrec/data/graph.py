"""The user-item interaction graph of a training file, and its symmetric normalisation.

Graph models (LightGCN) train on who-interacted-with-what, not on lines. The graph is derived
from the 8-column training file: every positive line (label 1) contributes an edge from its user
to its target item **and** to every item of its history (the history is the user's earlier
interactions, so a user's first item, which is never a training target under leave-last-two,
is an edge too). Edges are distinct ``(user, item)`` pairs in the vocab's indices; items that map
to index 0 (``default_mid``: unknown to the vocab) are left out, so item 0 is never a neighbour.

``normalized_adjacency`` is Microsoft's ``ImplicitCF.create_norm_adj_mat`` written in numpy:
the bipartite adjacency ``A = [[0, R], [R^T, 0]]`` over ``n_users + n_items`` nodes (users
first), scaled ``D^-1/2 A D^-1/2`` with ``D`` the node degrees (a node without edges keeps a zero
row). It is returned as COO arrays for a ``tf.SparseTensor``, built once.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from tf_lsrec.io import format as fmt


@dataclasses.dataclass(frozen=True)
class InteractionGraph:
    """Distinct user-item edges, sorted by user then item (a CSR layout).

    Attributes:
        users: int32 ``[E]`` user index of each edge (non-decreasing).
        items: int32 ``[E]`` item index of each edge (increasing within a user).
        n_users, n_items: node counts (the user / item embedding table sizes).
    """

    users: np.ndarray
    items: np.ndarray
    n_users: int
    n_items: int

    @classmethod
    def from_pairs(cls, users, items, n_users: int, n_items: int) -> InteractionGraph:
        """Deduplicate and sort ``(users[e], items[e])`` pairs; indices must be in range."""
        users = np.asarray(users, np.int64).reshape(-1)
        items = np.asarray(items, np.int64).reshape(-1)
        if users.shape != items.shape:
            raise ValueError(f"graph: {users.size} users but {items.size} items")
        for name, idx, n in (("user", users, n_users), ("item", items, n_items)):
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"graph: {name} index outside [0, {n})")
        keys = np.unique(users * n_items + items)
        return cls(
            (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32), n_users, n_items
        )

    @property
    def n_edges(self) -> int:
        return int(self.users.size)

    def offsets(self) -> np.ndarray:
        """int64 ``[n_users + 1]``: user ``u``'s items are ``items[offsets[u]:offsets[u+1]]``."""
        counts = np.bincount(self.users, minlength=self.n_users)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def degrees(self) -> tuple[np.ndarray, np.ndarray]:
        """``(user degrees [n_users], item degrees [n_items])``, int64."""
        return (
            np.bincount(self.users, minlength=self.n_users).astype(np.int64),
            np.bincount(self.items, minlength=self.n_items).astype(np.int64),
        )

    def seen(self) -> set[tuple[int, int]]:
        """The edges as a set of ``(user, item)`` (small graphs; tests and top-K filtering)."""
        return set(zip(self.users.tolist(), self.items.tolist()))


def read_graph(train_file: str | os.PathLike, lookup) -> InteractionGraph:
    """The interaction graph of an 8-column training file (positive lines; see module doc).

    ``lookup``: a ``VocabLookup`` (its key sets and sizes; ids are mapped with the vocab dicts'
    order via its tables). Raises ``ValueError`` naming the file and line of a malformed line.
    """
    path = os.fspath(train_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"training file {path} does not exist")
    pairs: dict[str, set[str]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            fields = fmt.split_line(line, f"{path}, line {lineno}")
            if fields[fmt.LABEL].strip() not in ("1", "1.0"):
                continue
            items = pairs.setdefault(fields[fmt.USER], set())
            items.add(fields[fmt.ITEM])
            if fields[fmt.ITEM_HISTORY]:
                items.update(fmt.split_history(fields[fmt.ITEM_HISTORY]))
    users = [u for u, items in pairs.items() for _ in items]
    items = [i for its in pairs.values() for i in its]
    user_idx = lookup.users(np.array(users, dtype=object)).numpy() if users else np.zeros(0)
    item_idx = lookup.items(np.array(items, dtype=object)).numpy() if items else np.zeros(0)
    known = item_idx > 0  # index 0: unknown / default item, never a neighbour
    sizes = lookup.sizes
    return InteractionGraph.from_pairs(
        user_idx[known], item_idx[known], sizes["user"], sizes["item"]
    )


def normalized_adjacency(graph: InteractionGraph) -> tuple[np.ndarray, np.ndarray, int]:
    """``D^-1/2 A D^-1/2`` of the bipartite graph, users first (see module doc).

    Returns ``(indices int64 [2E, 2], values float32 [2E], n)`` with ``n = n_users + n_items``,
    rows sorted (``tf.sparse`` order): each edge ``(u, i)`` appears as ``(u, n_users + i)`` and
    ``(n_users + i, u)`` with value ``1 / sqrt(deg(u) deg(i))``.
    """
    n = graph.n_users + graph.n_items
    du, di = graph.degrees()
    u = graph.users.astype(np.int64)
    i = graph.items.astype(np.int64) + graph.n_users
    value = 1.0 / np.sqrt(du[graph.users] * di[graph.items]).astype(np.float64)
    rows = np.concatenate([u, i])
    cols = np.concatenate([i, u])
    values = np.concatenate([value, value]).astype(np.float32)
    order = np.lexsort((cols, rows))
    return np.stack([rows[order], cols[order]], axis=1), values[order], n
