"""Microsoft's BPR sampler for graph models, in the graph, as ``tf.data`` batches.

``ImplicitCF.train_loader(batch_size)`` draws, per batch, ``batch_size`` users that have at
least one training edge (without replacement when there are at least ``batch_size`` of them,
with replacement otherwise), one positive item uniformly among each user's items and one
negative item uniformly among the items the user has **not** interacted with (rejection
sampling). An epoch is ``n_edges // batch_size + 1`` such batches.

Here the same distribution is drawn with stateless random ops (seeded per epoch and batch): the
negative is the ``r``-th item of the user's complement, found without a loop by a search in the
user's sorted items (``r + #{j : p_j - j <= r}`` is the ``r``-th integer not among the sorted
``p_j``). The negative domain is the real items ``1 .. n_items - 1`` (index 0 is the vocab's
unknown / default item).

``GraphData`` is ``SequentialData`` (same vocab lookups and evaluation pipeline) whose
``train_dataset(file)`` yields these batches in the batch contract of docs/architecture.md:
``2B`` rows, a positive and its negative per user (``labels`` 1, 0), so the library's group
softmax over groups of 2 is exactly the BPR loss ``softplus(s_neg - s_pos)``. The history
features are zeros (a graph model reads none).
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tf_lsrec.data.graph import InteractionGraph, read_graph
from tf_lsrec.io.pipeline import SequentialData


class BPRSampler:
    """Draws ``(users, positives, negatives)`` of one batch from an ``InteractionGraph``."""

    def __init__(self, graph: InteractionGraph):
        if graph.n_edges == 0:
            raise ValueError("BPR sampler: the interaction graph has no edges")
        offsets = graph.offsets()
        degrees = np.diff(offsets)
        train_users = np.flatnonzero(degrees > 0)
        self.n_train_users = int(train_users.size)
        self.n_edges = graph.n_edges
        self.n_real_items = graph.n_items - 1  # domain 1 .. n_items-1
        if np.any(degrees[train_users] >= self.n_real_items):
            u = int(train_users[np.argmax(degrees[train_users])])
            raise ValueError(f"BPR sampler: user index {u} has interacted with every item; "
                             "no negative can be drawn")  # fmt: skip
        items = graph.items.astype(np.int64)
        rank_in_user = np.arange(graph.n_edges) - offsets[graph.users]
        # user's j-th item p_j (shifted to the 0-based domain) minus j; made globally sorted by
        # adding user * n_items, so one searchsorted serves every user
        keys = graph.users.astype(np.int64) * graph.n_items + (items - 1 - rank_in_user)
        self._train_users = tf.constant(train_users, tf.int32)
        self._offsets = tf.constant(offsets, tf.int64)
        self._items = tf.constant(graph.items, tf.int32)
        self._keys = tf.constant(keys, tf.int64)
        self._n_items = int(graph.n_items)

    def batches_per_epoch(self, batch_size: int) -> int:
        """Microsoft's ``n_edges // batch_size + 1``."""
        return self.n_edges // int(batch_size) + 1

    def sample(self, batch_size: int, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """int32 ``users [B]``, ``positives [B]``, ``negatives [B]``; ``seed`` int ``[2]``."""
        seeds = tf.random.experimental.stateless_split(seed, 4)
        n_users = self.n_train_users
        if n_users >= batch_size:  # random.sample: without replacement
            order = tf.argsort(tf.random.stateless_uniform([n_users], seeds[0]))
            picked = order[:batch_size]
        else:  # random.choice per row
            picked = tf.random.stateless_uniform(
                [batch_size], seeds[0], minval=0, maxval=n_users, dtype=tf.int32
            )
        users = tf.gather(self._train_users, picked)
        start = tf.gather(self._offsets, users)
        degree = tf.gather(self._offsets, users + 1) - start
        pos_at = start + _uniform_below(degree, seeds[1])
        positives = tf.gather(self._items, pos_at)
        rank = _uniform_below(self.n_real_items - degree, seeds[2])  # in the complement
        base = tf.cast(users, tf.int64) * self._n_items
        below = tf.searchsorted(self._keys, base + rank, side="right", out_type=tf.int64) - start
        negatives = tf.cast(rank + below + 1, tf.int32)  # back from the 0-based domain
        return users, positives, negatives


def _uniform_below(n: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """int64 ``[B]`` uniform in ``[0, n[b])`` (``n > 0``)."""
    u = tf.random.stateless_uniform(tf.shape(n), seed, dtype=tf.float64)
    return tf.minimum(tf.cast(tf.floor(u * tf.cast(n, tf.float64)), tf.int64), n - 1)


def bpr_rows(users, positives, negatives, max_seq_length: int) -> dict[str, tf.Tensor]:
    """A training batch in the batch contract: rows ``2b`` (positive) and ``2b+1`` (negative)
    of user ``b``; history features zero-filled with width ``max_seq_length``."""
    b = tf.shape(users)[0]
    rows = 2 * b
    zeros_seq = tf.zeros([rows, max_seq_length])
    return {
        "labels": tf.reshape(tf.tile([[1.0], [0.0]], [b, 1]), [rows, 1]),
        "users": tf.repeat(users, 2),
        "items": tf.reshape(tf.stack([positives, negatives], axis=1), [rows]),
        "cates": tf.zeros([rows], tf.int32),
        "item_history": tf.zeros([rows, max_seq_length], tf.int32),
        "item_cate_history": tf.zeros([rows, max_seq_length], tf.int32),
        "mask": zeros_seq,
        "time": tf.zeros([rows], tf.float64),
        "time_history": tf.zeros([rows, max_seq_length], tf.float64),
        "time_diff": zeros_seq,
        "time_from_first_action": zeros_seq,
        "time_to_now": zeros_seq,
        "sample_weight": tf.ones([rows]),
    }


class GraphData(SequentialData):
    """``SequentialData`` whose training batches are Microsoft's BPR samples of the graph of
    the training file (module doc); evaluation is the inherited 8-column pipeline."""

    def __init__(self, hparams, lookup=None):
        super().__init__(hparams, lookup)
        self._graphs: dict[tuple, InteractionGraph] = {}

    def graph(self, train_file: str | os.PathLike) -> InteractionGraph:
        """The interaction graph of ``train_file`` (read once per path, size and mtime)."""
        path = os.fspath(train_file)
        self.file_stats(path, group_size=1)  # a clear error for a malformed file
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
        if key not in self._graphs:
            self._graphs[key] = read_graph(path, self.lookup)
        return self._graphs[key]

    def train_dataset(self, file, seed: int | None = None, **_ignored) -> tf.data.Dataset:
        """One epoch of ``n_edges // batch_size + 1`` BPR batches of ``batch_size`` users
        (``2 * batch_size`` rows) drawn from the graph of ``file``; ``seed`` (default
        ``hparams.seed``) makes the epoch reproducible."""
        sampler = BPRSampler(self.graph(file))
        batch = int(self.hparams.batch_size)
        seed = self.hparams.seed if seed is None else seed
        base = tf.constant([0 if seed is None else int(seed), 0x6C67636E], tf.int64)
        if seed is None:
            base = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
        max_len = self.max_seq_length

        def make(step):
            users, pos, neg = sampler.sample(batch, base + tf.stack([0, step]))
            return bpr_rows(users, pos, neg, max_len)

        n = sampler.batches_per_epoch(batch)
        return tf.data.Dataset.range(n).map(make).prefetch(tf.data.AUTOTUNE)
