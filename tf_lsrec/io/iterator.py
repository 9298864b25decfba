"""Pure-Python ``SequentialIterator`` with Microsoft's API (docs/reference.md §2).

The compatibility path for code written against Microsoft Recommenders, and the test oracle of
the ``tf.data`` pipeline: a line-by-line transcription of §2.1-§2.6, kept simple on purpose.
Training does not go through it (it is far slower; see ``tools/bench.py pipeline``).

Differences from Microsoft, all deliberate: batches carry our contract dtypes (int32 users,
float64 time, plus ``time_history`` and ``sample_weight``); shuffling and negative sampling use a
seeded ``numpy.random.Generator``; a batch whose targets all equal an instance's item does not
loop forever (that instance's negatives are item 0 / category 0, counted in
``negative_fallbacks``).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from tf_lsrec.io import format as fmt
from tf_lsrec.io.features import time_divisor
from tf_lsrec.io.lookup import load_vocab
from tf_lsrec.io.validate import SequentialFormatError, validate_file

MIN_TRAIN_BATCH = 5  # §2.5: smaller training batches are dropped (hard-coded in Microsoft)


def _g(x: float) -> float:
    return math.log(max(x, 0.5))


class SequentialIterator:
    """Microsoft-style iterator: ``load_data_from_file`` yields numpy batch dicts.

    Args:
        hparams: ``user_vocab``, ``item_vocab``, ``cate_vocab``, ``batch_size``,
            ``max_seq_length``, ``time_unit``, ``time_unit_quirk`` and ``seed`` are read.
        graph: accepted for API compatibility and ignored (there is no TF1 graph).
        col_spliter: column separator.
    """

    def __init__(self, hparams: Any, graph: Any = None, col_spliter: str = "\t"):
        self.hparams = hparams
        self.graph = graph
        self.col_spliter = col_spliter
        self.userdict = load_vocab(hparams.user_vocab, "user")
        self.itemdict = load_vocab(hparams.item_vocab, "item")
        self.catedict = load_vocab(hparams.cate_vocab, "category")
        self.max_seq_length = int(hparams.max_seq_length)
        self.batch_size = int(hparams.batch_size)
        self.divisor = time_divisor(hparams)
        self.rng = np.random.default_rng(hparams.get("seed"))
        self.negative_fallbacks = 0
        self._cache: dict[str, list[tuple]] = {}

    # ------------------------------------------------------------------ parsing (§2.1, §2.2)
    def parser_one_line(self, line: str) -> tuple:
        """One line -> ``(label, user, item, cate, item_hist, cate_hist, time, time_diff,
        time_from_first_action, time_to_now, time_history)`` (lists of length ``n``)."""
        words = line.strip().split(self.col_spliter)
        label = int(words[fmt.LABEL])
        user = self.userdict.get(words[fmt.USER], 0)
        item = self.itemdict.get(words[fmt.ITEM], 0)
        cate = self.catedict.get(words[fmt.CATEGORY], 0)
        now = float(words[fmt.TIMESTAMP])
        item_hist = [self.itemdict.get(x, 0) for x in fmt.split_history(words[fmt.ITEM_HISTORY])]
        cate_hist = [
            self.catedict.get(x, 0) for x in fmt.split_history(words[fmt.CATEGORY_HISTORY])
        ]
        times = [float(x) for x in fmt.split_history(words[fmt.TIME_HISTORY])]
        r = self.divisor
        nxt = times[1:] + [now]
        time_diff = [_g((b - a) / r) for a, b in zip(times, nxt)]
        from_first = [_g((b - times[0]) / r) for b in nxt]
        to_now = [_g((now - a) / r) for a in times]
        return (label, user, item, cate, item_hist, cate_hist, now, time_diff, from_first,
                to_now, times)  # fmt: skip

    def parse_file(self, input_file: str) -> list[tuple]:
        """All lines of a file, parsed once and cached by file name (§2.1)."""
        key = os.path.abspath(os.fspath(input_file))
        if key not in self._cache:
            # errors naming file, line and field instead of IndexError / ValueError mid-parse
            labels = "numeric" if self.hparams.get("method") == "regression" else "binary"
            validate_file(input_file, labels=labels)
            with open(input_file, encoding="utf-8") as f:
                self._cache[key] = [self.parser_one_line(line) for line in f if line.strip()]
        return self._cache[key]

    # ------------------------------------------------------------------ batching (§2.4)
    def load_data_from_file(
        self, infile: str, batch_num_ngs: int = 0, min_seq_length: int = 1
    ) -> Iterator[dict[str, np.ndarray]]:
        """Yield batch dicts of ``batch_size`` lines (the last one partial).

        ``batch_num_ngs > 0``: training; the cached lines are shuffled first and each instance
        gets ``batch_num_ngs`` in-batch negatives (batches under 5 instances are dropped).
        """
        records = self.parse_file(infile)
        if batch_num_ngs > 0:
            negative = next((i for i, rec in enumerate(records) if rec[0] != 1), None)
            if negative is not None:  # validated: record i is line i + 1
                raise SequentialFormatError(
                    os.fspath(infile),
                    negative + 1,
                    "label",
                    f"= {records[negative][0]}; a training file holds positives only (label 1): "
                    "negatives are drawn in the batch (batch_num_ngs)",
                )
            order = self.rng.permutation(len(records))
            records = [records[i] for i in order]
        batch: list[tuple] = []
        for rec in records:
            if len(rec[4]) < min_seq_length:
                continue
            batch.append(rec)
            if len(batch) == self.batch_size:
                out = self._convert_data(batch, batch_num_ngs)
                if out is not None:
                    yield out
                batch = []
        if batch:
            out = self._convert_data(batch, batch_num_ngs)
            if out is not None:
                yield out

    def _convert_data(self, batch: list[tuple], batch_num_ngs: int) -> dict[str, np.ndarray] | None:
        n = len(batch)
        if batch_num_ngs > 0:
            if n < MIN_TRAIN_BATCH:
                return None
            rows, labels, items, cates = [], [], [], []
            targets = [rec[2] for rec in batch]
            counts = Counter(targets)
            for i, rec in enumerate(batch):
                rows += [i] * (batch_num_ngs + 1)
                labels += [1.0] + [0.0] * batch_num_ngs
                items.append(rec[2])
                cates.append(rec[3])
                if counts[rec[2]] == n:  # no valid negative: Microsoft loops forever
                    self.negative_fallbacks += 1
                    items += [0] * batch_num_ngs
                    cates += [0] * batch_num_ngs
                    continue
                for _ in range(batch_num_ngs):
                    while True:
                        r = int(self.rng.integers(0, n))
                        if targets[r] != rec[2]:
                            break
                    items.append(batch[r][2])
                    cates.append(batch[r][3])
        else:
            rows = list(range(n))
            labels = [float(rec[0]) for rec in batch]
            items = [rec[2] for rec in batch]
            cates = [rec[3] for rec in batch]
        m = len(rows)
        big_l = self.max_seq_length
        hist = {
            "item_history": np.zeros((m, big_l), np.int32),
            "item_cate_history": np.zeros((m, big_l), np.int32),
            "mask": np.zeros((m, big_l), np.float32),
            "time_history": np.zeros((m, big_l), np.float64),
            "time_diff": np.zeros((m, big_l), np.float32),
            "time_from_first_action": np.zeros((m, big_l), np.float32),
            "time_to_now": np.zeros((m, big_l), np.float32),
        }
        sources = {"item_history": 4, "item_cate_history": 5, "time_diff": 7,
                   "time_from_first_action": 8, "time_to_now": 9, "time_history": 10}  # fmt: skip
        for row, i in enumerate(rows):
            rec = batch[i]
            kept = min(len(rec[4]), big_l)
            for name, col in sources.items():
                hist[name][row, :kept] = rec[col][-kept:]
            hist["mask"][row, :kept] = 1.0
        return {
            "labels": np.asarray(labels, np.float32).reshape(m, 1),
            "users": np.asarray([batch[i][1] for i in rows], np.int32),
            "items": np.asarray(items, np.int32),
            "cates": np.asarray(cates, np.int32),
            "time": np.asarray([batch[i][6] for i in rows], np.float64),
            "sample_weight": np.ones(m, np.float32),
            **hist,
        }
