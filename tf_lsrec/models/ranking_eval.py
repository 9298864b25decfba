"""Ranking evaluation: each positive line's target ranked against the item catalogue.

The sampled metrics of ``run_eval`` rank a positive among the ``num_ngs`` negatives written in
the file. Here the candidates come from the catalogue (every vocab item with its category,
``tf_lsrec.serving.catalogue``) instead, with one of two protocols (``full_ranking_negatives``):

* ``0`` — full catalogue: every catalogue item competes (RecBole-style HR@k / NDCG@k / MRR;
  sampled metrics can reverse model orderings, Krichene & Rendle, KDD'20);
* ``N > 0`` — the target against ``N`` negatives drawn uniformly without replacement from the
  catalogue (CLSR's protocol with ``N = 99``), seeded by ``hparams.seed``.

With ``full_ranking_exclude_history`` (default) the items of the line's whole history column
are left out of the competition (for ``N > 0``: never drawn as negatives); the target always
competes, even when it is in the history. Ranks are pessimistic as in
``tf_lsrec.evaluation.full_ranking.target_ranks`` (items scored equal to the target rank above
it) and use logits, so saturated probabilities do not create ties.

Only lines with label 1 are ranked, so a validation or test file of groups (1 positive + its
negatives) gives one ranking per group. A target that is not in the catalogue (unknown to the
item vocab) cannot be ranked: it is left out and counted (``targets_outside_catalogue``).

Each user's history is encoded once per model call and scored against a chunk of items
(``SequentialModel.forward`` with ``group_size``: ``encode_history`` on ``B`` rows,
``score_targets`` on ``B x C``); ``full_ranking_chunk_size`` bounds ``B x C``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from tf_lsrec.evaluation.full_ranking import ranking_metrics, target_ranks
from tf_lsrec.evaluation.spec import rounded
from tf_lsrec.io.catalogue_index import CatalogueIndex
from tf_lsrec.io.features import build_features
from tf_lsrec.io.pipeline import parse_lines

_READ_LINES = 4096


@dataclasses.dataclass(frozen=True)
class RankingProtocol:
    """How targets are ranked (the ``full_ranking_*`` hyper-parameters)."""

    metrics: tuple[str, ...]
    negatives: int = 0
    exclude_history: bool = True
    chunk_size: int = 4096
    seed: int = 0

    @classmethod
    def from_hparams(cls, hp) -> RankingProtocol:
        return cls(
            metrics=tuple(hp.get("full_ranking_metrics") or ()),
            negatives=int(hp.get("full_ranking_negatives") or 0),
            exclude_history=bool(hp.get("full_ranking_exclude_history", True)),
            chunk_size=int(hp.get("full_ranking_chunk_size") or 4096),
            seed=int(hp.get("seed") or 0),
        )

    @property
    def prefix(self) -> str:
        """Prefix of the result keys: ``full_`` or ``neg<N>_``."""
        return "full_" if self.negatives == 0 else f"neg{self.negatives}_"

    def describe(self) -> str:
        what = "full catalogue" if self.negatives == 0 else f"{self.negatives} sampled negatives"
        return what + (", history excluded" if self.exclude_history else "")


def model_catalogue(model, data_paths=None) -> CatalogueIndex:
    """The catalogue of ``model``: its item vocab, categories from the training file
    (``build_catalogue``; paths from ``data_paths`` when given, else ``model.hparams``)."""
    from tf_lsrec.serving.catalogue import build_catalogue

    paths = data_paths.as_hparams() if data_paths is not None else model.hparams
    if not paths.get("item_vocab") or not paths.get("train_file"):
        raise ValueError(
            "full_ranking_metrics need the item catalogue: set `item_vocab` and `train_file` "
            "(section `data`; the item -> category map is read from the training file)"
        )
    catalogue = build_catalogue(model.hparams, data_paths=data_paths)
    return CatalogueIndex.from_catalogue(
        catalogue, model.data.lookup, model.data.vocab_sizes["item"]
    )


def ranking_record(model) -> dict | None:
    """The ``ranking_protocol`` entry of a run's ``results.json``: the counts of the model's last
    ranking (``Trainer.last_ranking_info``), the metrics and the chunk size; None without
    ``full_ranking_metrics``."""
    hp = model.hparams
    if not hp.full_ranking_metrics:
        return None
    return {
        **model.trainer.last_ranking_info,
        "metrics": list(hp.full_ranking_metrics),
        "chunk_size": hp.full_ranking_chunk_size,
    }


def positive_batches(data, filename, batch: int) -> Iterator[tuple[dict, list[np.ndarray]]]:
    """Features ``[b <= batch]`` of the label-1 lines of ``filename`` (lines with a history
    shorter than ``min_seq_length`` skipped, as ``eval_dataset`` does) and, per row, the item
    indices of its whole history column."""
    min_len = int(data.hparams.min_seq_length)
    for lines in tf.data.TextLineDataset(os.fspath(filename)).batch(_READ_LINES):
        raw = parse_lines(lines)
        keep = (raw["labels"] > 0.5) & (raw["item_history"].row_lengths() >= min_len)
        raw = parse_lines(tf.boolean_mask(lines, keep))
        if raw["labels"].shape[0] == 0:
            continue
        feats = build_features(raw, data.lookup, data.max_seq_length, data.divisor)
        history = [np.asarray(h) for h in data.lookup.items(raw["item_history"]).to_list()]
        rows = len(history)
        for start in range(0, rows, batch):
            stop = min(start + batch, rows)
            yield {k: v[start:stop] for k, v in feats.items()}, history[start:stop]


class Ranker:
    """Ranks the positive lines of files for one model (compiled scoring, traced once per
    group width)."""

    def __init__(self, model, catalogue: CatalogueIndex, protocol: RankingProtocol):
        if not protocol.metrics:
            raise ValueError("full_ranking_metrics is empty: nothing to compute")
        if protocol.negatives >= len(catalogue):
            raise ValueError(
                f"full_ranking_negatives = {protocol.negatives} but the catalogue has "
                f"{len(catalogue)} items; use 0 (full catalogue) or fewer negatives"
            )
        self.model = model
        self.catalogue = catalogue
        self.protocol = protocol
        n = len(catalogue)
        if protocol.negatives:
            self.width = protocol.negatives + 1
        else:
            self.width = min(n, protocol.chunk_size)
        self.users_per_call = max(1, protocol.chunk_size // self.width)
        self._score = tf.function(self._score_groups)

    def _score_groups(self, features, items, cates):
        """Logits ``[B, G]`` of ``items``/``cates`` ``[B, G]`` for the users of ``features``
        ``[B, ...]``: each history encoded once, scored against its ``G`` targets."""
        g = self.width
        rows = {k: tf.repeat(v, g, axis=0) for k, v in features.items()}
        rows["items"] = tf.reshape(items, [-1])
        rows["cates"] = tf.reshape(cates, [-1])
        out = self.model.forward(rows, training=False, group_size=g, checked=False)
        return tf.reshape(tf.cast(out["logits"], tf.float32), [-1, g])

    def _pad_users(self, features: dict) -> dict:
        """Rows padded to ``users_per_call`` (copies of the last row) so the step traces once."""
        b = int(features["users"].shape[0])
        idx = tf.minimum(tf.range(self.users_per_call), b - 1)
        return {k: tf.gather(v, idx) for k, v in features.items()}

    def _scores(self, padded: dict, b: int, items: np.ndarray, cates: np.ndarray) -> np.ndarray:
        """Logits ``[b, G]`` of the first ``b`` users of ``padded`` (:meth:`_pad_users`) for
        ``items``/``cates`` ``[b, G]``."""
        pad = self.users_per_call - b
        items = np.pad(items, [(0, pad), (0, 0)], mode="edge")
        cates = np.pad(cates, [(0, pad), (0, 0)], mode="edge")
        out = self._score(padded, tf.constant(items), tf.constant(cates))
        return out.numpy()[:b].astype(np.float64)

    def _catalogue_scores(self, padded: dict, b: int) -> np.ndarray:
        """``[b, n]`` logits of every catalogue item, in chunks of ``width`` items."""
        n, c = len(self.catalogue), self.width
        chunks = []
        for start in range(0, n, c):
            idx = np.minimum(np.arange(start, start + c), n - 1)  # last chunk: pad with item n-1
            items = np.broadcast_to(self.catalogue.items[idx], (b, c))
            cates = np.broadcast_to(self.catalogue.cates[idx], (b, c))
            chunks.append(self._scores(padded, b, items, cates))
        return np.concatenate(chunks, axis=1)[:, :n]

    def _history_positions(self, history: np.ndarray) -> np.ndarray:
        pos = self.catalogue.position[history]
        return pos[pos >= 0]

    def rank(self, filename) -> tuple[dict[str, float], dict]:
        """``(metrics, info)`` for the positive lines of ``filename``: metrics keyed
        ``<prefix><key>`` (rounded to 4 digits), info as :meth:`ranks`."""
        ranks, info = self.ranks(filename)
        values = ranking_metrics(ranks, self.protocol.metrics)
        return {self.protocol.prefix + k: rounded(v) for k, v in values.items()}, info

    def ranks(self, filename) -> tuple[np.ndarray, dict]:
        """``(ranks int64 [U], info)``: the 1-based rank of each ranked positive line's target
        (file order); info: protocol, catalogue size, users ranked, targets outside the
        catalogue, and targets found in their own (excluded) history, which still compete."""
        proto, cat = self.protocol, self.catalogue
        n = len(cat)
        rng = np.random.default_rng(proto.seed)
        ranks, outside, in_history = [], 0, 0
        for features, histories in positive_batches(self.model.data, filename, self.users_per_call):
            target = cat.position[features["items"].numpy()]
            known = target >= 0
            outside += int((~known).sum())
            if not known.any():
                continue
            rows = np.flatnonzero(known)
            padded = self._pad_users({k: tf.gather(v, rows) for k, v in features.items()})
            target, b = target[rows], len(rows)
            excluded = [
                self._history_positions(histories[r])
                if proto.exclude_history
                else np.zeros(0, np.int64)
                for r in rows
            ]
            in_history += sum(int(t in e) for t, e in zip(target, excluded))
            if proto.negatives:
                cands = np.stack([self._candidates(t, e, rng, n) for t, e in zip(target, excluded)])
                scores = self._scores(padded, b, cat.items[cands], cat.cates[cands])
                ranks.append(target_ranks(scores, np.zeros(b, np.int64))[0])
            else:
                scores = self._catalogue_scores(padded, b)
                exclude = np.zeros(scores.shape, bool)
                for i, e in enumerate(excluded):
                    exclude[i, e] = True
                ranks.append(target_ranks(scores, target, exclude)[0])
        if not ranks:
            raise ValueError(
                f"{filename}: no positive line with a target in the catalogue to rank "
                f"({outside} target(s) outside it)"
            )
        ranks = np.concatenate(ranks)
        info = {
            "protocol": proto.describe(),
            "catalogue_size": n,
            "users_ranked": int(ranks.size),
            "targets_outside_catalogue": outside,
            "targets_in_history_kept": in_history,
        }
        return ranks, info

    def _candidates(self, target: int, excluded: np.ndarray, rng, n: int) -> np.ndarray:
        """``[1 + N]`` catalogue positions: the target, then ``N`` distinct negatives drawn
        from the catalogue without the target and the excluded positions."""
        allowed = np.ones(n, bool)
        allowed[excluded] = False
        allowed[target] = False
        pool = np.flatnonzero(allowed)
        k = self.protocol.negatives
        if pool.size < k:
            raise ValueError(
                f"full_ranking_negatives = {k} but only {pool.size} catalogue items are neither "
                "the target nor in the history; lower it or set "
                "full_ranking_exclude_history: false"
            )
        return np.concatenate([[target], rng.choice(pool, size=k, replace=False)])
