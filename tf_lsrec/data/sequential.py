"""Interactions -> train / valid / test 8-column files + vocabs (Microsoft pipeline, docs/reference.md §1.3).

Steps, as the reference does them:

1. group the rows by user, users in order of first appearance; within a user sort by
   timestamp ascending (stable, ties keep input order);
2. leave-last-two split: position ``i < m-2`` -> train, ``i = m-2`` -> valid, ``i = m-1`` -> test;
3. history expansion: a user's first interaction writes nothing; every later interaction is a
   line whose history is all earlier interactions of the user (oldest first; for test this
   includes the valid one). A user with ``m >= 3`` interactions gives ``m-3`` train lines, 1 valid
   and 1 test line; ``m = 2`` gives 1 test line; ``m = 1`` gives nothing (counted in the manifest);
4. vocabs from the training file (``tf_lsrec.data.vocab`` conventions);
5. offline negatives for valid/test: after each positive line, ``N`` copies with label 0 whose
   item is drawn uniformly from the pool of **all rows' items** (so popularity-proportional),
   rejecting the positive item and items already drawn for that line; the category is the
   item's category in the last row (instance order) that has that item.

Differences from the reference, all deliberate: the randomness is a seeded NumPy ``Generator``
(same seed -> byte-identical files, independent of chunking); ``max_history`` may truncate the
histories at write time (``None`` = the reference); every file is written atomically.

Scale: no per-interaction Python. Rows are processed in chunks of whole users; each output line
is assembled from byte ranges of a per-chunk buffer by one vectorised NumPy gather, and written in
pieces of at most ``chunk_bytes``, so memory is bounded by the chunk, not by the ``O(m^2)`` output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os

import numpy as np
import pandas as pd

from tf_lsrec.data.interactions import validate_interactions
from tf_lsrec.data.paths import DataPaths
from tf_lsrec.data.progress import Progress
from tf_lsrec.data.vocab import _defaults, rank_vocab, save_vocabs
from tf_lsrec.io import format as fmt
from tf_lsrec.utils.files import atomic_path, atomic_write_text

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
_CONST = b"10\t\n"  # label "1" at 0, label "0" at 1, tab at 2, newline at 3
_ONE, _ZERO, _TAB, _NL = 0, 1, 2, 3


class InstanceTable:
    """The interactions in instance order (user by first appearance, then time), as codes.

    Attributes (``n`` rows, ``U`` users, ``I`` items, ``C`` categories):
        user_code, item_code, cate_code: int64 ``[n]`` codes into ``users``/``items``/``cates``.
        users, items, cates: object ``[U]``/``[I]``/``[C]`` raw id strings.
        ts: int64 ``[n]`` timestamps.
        user_start: int64 ``[U+1]`` first row of each user, plus ``n``.
        start, pos, m: int64 ``[n]`` first row of the row's user, position in the user, user length.
    """

    def __init__(self, df: pd.DataFrame):
        df = validate_interactions(df)
        ucode, users = pd.factorize(df["user"].to_numpy(dtype=object))
        ts = df["timestamp"].to_numpy(dtype=np.int64)
        by_time = np.argsort(ts, kind="stable")
        perm = by_time[np.argsort(ucode[by_time], kind="stable")]
        item_code, items = pd.factorize(df["item"].to_numpy(dtype=object)[perm])
        cate_code, cates = pd.factorize(df["category"].to_numpy(dtype=object)[perm])
        self._set(ucode[perm], users, item_code, items, cate_code, cates, ts[perm])

    @classmethod
    def from_codes(cls, user_code, users, item_code, items, cate_code, cates, ts) -> InstanceTable:
        """A table whose rows are already in instance order (``user_code`` non-decreasing).

        ``items`` / ``cates`` may be global name arrays (codes need not all occur here).
        """
        t = cls.__new__(cls)
        t._set(user_code, users, item_code, items, cate_code, cates, ts)
        return t

    def _set(self, user_code, users, item_code, items, cate_code, cates, ts) -> None:
        self.users = np.asarray(users, dtype=object)
        self.items = np.asarray(items, dtype=object)
        self.cates = np.asarray(cates, dtype=object)
        self.user_code = np.asarray(user_code).astype(np.int64, copy=False)
        self.item_code = np.asarray(item_code).astype(np.int64, copy=False)
        self.cate_code = np.asarray(cate_code).astype(np.int64, copy=False)
        self.ts = np.asarray(ts).astype(np.int64, copy=False)
        n = len(self.ts)
        self.n = n
        lengths = np.bincount(self.user_code, minlength=len(self.users)).astype(np.int64)
        self.user_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.start = np.repeat(self.user_start[:-1], lengths)
        self.m = np.repeat(lengths, lengths)
        self.pos = np.arange(n, dtype=np.int64) - self.start
        self.lengths = lengths

    # ------------------------------------------------------------------ derived
    def history_start(self, max_history: int | None) -> np.ndarray:
        """First history row of each row's line, int64 ``[n]``."""
        if max_history is None:
            return self.start
        return np.maximum(self.start, np.arange(self.n, dtype=np.int64) - max_history)

    def category_of_item(self) -> np.ndarray:
        """Category code of each item code, int64 ``[I]``: the last row (instance order) wins."""
        order = np.argsort(self.item_code, kind="stable")
        codes = self.item_code[order]
        last = np.r_[codes[1:] != codes[:-1], True]
        out = np.empty(len(self.items), dtype=np.int64)
        out[codes[last]] = self.cate_code[order[last]]
        return out


NONE, TRAIN, VALID, TEST = 0, 1, 2, 3
SPLIT_NAMES = {TRAIN: "train", VALID: "valid", TEST: "test"}


@dataclasses.dataclass(frozen=True)
class SplitRule:
    """Which interactions become train / valid / test lines (the first one of a user never does).

    ``kind="last_two"`` (Microsoft, reference §1.3): per user, position ``m-1`` -> test,
    ``m-2`` -> valid, earlier -> train.

    ``kind="time"`` (official CLSR, reference §1.4): a global split on the target's timestamp:
    ``ts >= test_start`` -> test, ``valid_start <= ts < test_start`` -> valid, earlier -> train.
    ``window`` instead of explicit starts: ``test_start = T - window``, ``valid_start = T -
    2*window`` with ``T`` the largest timestamp (resolved by ``resolve``).

    ``keep_train`` / ``keep_eval``: probability of writing a train / valid-or-test line (the CLSR
    code keeps a random 15 % of Taobao's valid/test lines and 5 % of all Kuaishou lines). The draw
    for a row is a hash of ``(seed, row index in instance order)``, so it does not depend on how
    the rows are chunked. A line that is not written still extends its user's history.
    """

    kind: str = "last_two"
    window: int | None = None
    valid_start: int | None = None
    test_start: int | None = None
    keep_train: float = 1.0
    keep_eval: float = 1.0

    def __post_init__(self):
        if self.kind not in ("last_two", "time"):
            raise ValueError(f"split kind must be 'last_two' or 'time', got {self.kind!r}")
        if self.kind == "time":
            explicit = self.valid_start is not None and self.test_start is not None
            if not explicit and (self.window is None or self.window <= 0):
                raise ValueError("a time split needs window > 0 or both valid_start and test_start")
            if explicit and self.valid_start > self.test_start:
                raise ValueError(
                    f"valid_start {self.valid_start} is after test_start {self.test_start}"
                )
        for name in ("keep_train", "keep_eval"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {v}")

    def resolve(self, max_timestamp: int) -> SplitRule:
        """The rule with ``valid_start``/``test_start`` fixed from ``window`` and ``T``."""
        if self.kind != "time" or self.test_start is not None:
            return self
        T = int(max_timestamp)
        return dataclasses.replace(
            self, valid_start=T - 2 * int(self.window), test_start=T - int(self.window)
        )

    def describe(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def uniform_hash(rows: np.ndarray, seed: int) -> np.ndarray:
    """A uniform float in ``[0, 1)`` per row index (splitmix64 of ``rows`` and ``seed``)."""
    with np.errstate(over="ignore"):
        z = np.asarray(rows, dtype=np.uint64) + np.uint64(seed & 0xFFFFFFFF) * np.uint64(
            0x9E3779B97F4A7C15
        )
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assign_splits(
    t: InstanceTable, rule: SplitRule, seed: int = 42, row_offset: int = 0
) -> np.ndarray:
    """Split code (``NONE``/``TRAIN``/``VALID``/``TEST``) of each row of ``t``, int8 ``[n]``.

    ``rule`` must be resolved (``SplitRule.resolve``) for a window-based time split;
    ``row_offset`` is the instance-order index of ``t``'s first row in the whole table.
    """
    if rule.kind == "last_two":
        split = np.where(t.pos == t.m - 1, TEST, np.where(t.pos == t.m - 2, VALID, TRAIN))
    else:
        if rule.test_start is None:
            raise ValueError("resolve the time split (SplitRule.resolve) before assigning it")
        split = np.where(
            t.ts >= rule.test_start, TEST, np.where(t.ts >= rule.valid_start, VALID, TRAIN)
        )
    split = split.astype(np.int8)
    split[t.pos < 1] = NONE
    if rule.keep_train < 1 or rule.keep_eval < 1:
        u = uniform_hash(np.arange(t.n, dtype=np.int64) + row_offset, seed)
        p = np.where(split == TRAIN, rule.keep_train, rule.keep_eval)
        split[u >= p] = NONE
    return split


class VocabCounter:
    """Accumulates the training file's vocab counts chunk by chunk (whole users, in order).

    Counting (reference §1.2): a train line counts its user, target item and category once and
    each history entry once. First insertion follows the reference's line loop: line ``q``'s
    target before its history entries, history left to right; a row first enters a history in the
    next train line after it (if that line's window reaches it).
    """

    def __init__(self, n_items: int, n_cates: int, max_history: int | None = None):
        self.max_history = max_history
        big = np.iinfo(np.int64).max
        self.counts = {"item": np.zeros(n_items), "cate": np.zeros(n_cates)}
        self.first = {k: np.full((len(v), 2), big, dtype=np.int64) for k, v in self.counts.items()}
        self.user_names: list[np.ndarray] = []
        self.user_counts: list[np.ndarray] = []

    def add(self, t: InstanceTable, split: np.ndarray, row_offset: int = 0) -> None:
        """Count chunk ``t`` (whole users; its first row is row ``row_offset`` overall)."""
        hs = t.history_start(self.max_history)
        is_train = split == TRAIN
        ucount = np.bincount(t.user_code, weights=is_train, minlength=len(t.users))
        present = np.flatnonzero(ucount > 0)
        self.user_names.append(t.users[present])
        self.user_counts.append(ucount[present])
        rows = np.arange(t.n, dtype=np.int64)
        end = t.start + t.m - 1  # last row of the row's user
        train_rows = np.flatnonzero(is_train)
        csum = np.concatenate([[0], np.cumsum(is_train)])
        # history occurrences of row r: train lines q in (r, end] whose window starts at or before r
        # hs is non-decreasing within a user, so these q form a prefix of the train lines after r
        nxt = np.searchsorted(train_rows, rows, side="right")
        q_next = np.append(train_rows, -1)[nxt]  # next train line after r (-1: none)
        # last line whose window still reaches r (hs is non-decreasing within a user)
        reach = t.n if self.max_history is None else self.max_history
        last_q = np.minimum(end, rows + reach)
        hist_count = csum[last_q + 1] - csum[rows + 1]
        in_hist = hist_count > 0
        del hs
        weight = is_train + hist_count
        ev_rows = np.concatenate([train_rows, np.flatnonzero(in_hist)])
        ev_q = np.concatenate([train_rows, q_next[in_hist]]) + row_offset
        ev_s = np.concatenate([np.zeros(len(train_rows), np.int64), 1 + rows[in_hist]])
        order = np.lexsort((ev_s, ev_q))
        for kind, codes in (("item", t.item_code), ("cate", t.cate_code)):
            self.counts[kind] += np.bincount(
                codes, weights=weight, minlength=len(self.counts[kind])
            )
            c = codes[ev_rows[order]]
            uniq, idx = np.unique(c, return_index=True)
            first = self.first[kind]
            new = first[uniq, 0] == np.iinfo(np.int64).max
            sel = order[idx[new]]
            first[uniq[new], 0] = ev_q[sel]
            first[uniq[new], 1] = ev_s[sel] + row_offset

    def vocabs(self, items, cates, user_default: bool) -> tuple[dict, dict, dict]:
        du, di, dc = _defaults(user_default)
        names = np.concatenate(self.user_names) if self.user_names else np.array([], object)
        counts = np.concatenate(self.user_counts) if self.user_counts else np.array([])
        users = rank_vocab(names.tolist(), counts, du)
        out = [users]
        for kind, nm, default in (("item", items, di), ("cate", cates, dc)):
            cnt = self.counts[kind]
            present = np.flatnonzero(cnt > 0)
            f = self.first[kind][present]
            present = present[np.lexsort((f[:, 1], f[:, 0]))]
            out.append(
                rank_vocab(np.asarray(nm, dtype=object)[present].tolist(), cnt[present], default)
            )
        return tuple(out)


def vocabs_from_table(
    t: InstanceTable,
    max_history: int | None,
    user_default: bool,
    split: np.ndarray | None = None,
) -> tuple[dict, dict, dict]:
    """The vocabs ``build_vocabs`` would build from the train file this table writes (vectorised)."""
    if split is None:
        split = assign_splits(t, SplitRule())
    counter = VocabCounter(len(t.items), len(t.cates), max_history)
    counter.add(t, split)
    return counter.vocabs(t.items, t.cates, user_default)


NEGATIVE_BLOCK = 1 << 18


def draw_negatives(
    rng: np.random.Generator, pool: np.ndarray, positives: np.ndarray, n_neg: int
) -> np.ndarray:
    """``_draw_negatives_block`` over consecutive blocks of ``NEGATIVE_BLOCK`` positives (one
    ``rng`` stream), so the working memory stays bounded for millions of positives."""
    positives = np.asarray(positives, dtype=np.int64)
    out = np.empty((len(positives), n_neg), dtype=np.int64)
    for a in range(0, len(positives), NEGATIVE_BLOCK):
        b = min(a + NEGATIVE_BLOCK, len(positives))
        out[a:b] = _draw_negatives_block(rng, pool, positives[a:b], n_neg)
    return out


def _draw_negatives_block(
    rng: np.random.Generator, pool: np.ndarray, positives: np.ndarray, n_neg: int
) -> np.ndarray:
    """For each positive, ``n_neg`` distinct pool values != positive, by sequential rejection.

    Equivalent to: draw ``pool[j]`` with ``j`` uniform, reject the positive and repeats, until
    ``n_neg`` are accepted (vectorised over positives, rounds of draws).

    Args:
        pool: int64 ``[P]`` item codes (one per interaction row: popularity-proportional).
        positives: int64 ``[k]``.
    Returns:
        int64 ``[k, n_neg]``, in draw order.
    """
    k = len(positives)
    out = np.full((k, n_neg), -1, dtype=np.int64)
    filled = np.zeros(k, dtype=np.int64)
    todo = np.arange(k)
    draws = max(2 * n_neg, 8)
    while todo.size:
        cand = pool[rng.integers(0, len(pool), size=(todo.size, draws))]
        x = np.concatenate([out[todo], cand], axis=1)
        order = np.argsort(x, axis=1, kind="stable")
        xs = np.take_along_axis(x, order, axis=1)
        dup_sorted = np.zeros_like(xs, dtype=bool)
        dup_sorted[:, 1:] = xs[:, 1:] == xs[:, :-1]
        dup = np.empty_like(dup_sorted)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        ok = ~dup[:, n_neg:] & (cand != positives[todo, None])
        need = n_neg - filled[todo]
        rank = np.cumsum(ok, axis=1)
        take = ok & (rank <= need[:, None])
        ri, ci = np.nonzero(take)
        out[todo[ri], filled[todo][ri] + rank[ri, ci] - 1] = cand[ri, ci]
        filled[todo] += take.sum(axis=1)
        todo = todo[filled[todo] < n_neg]
        draws = min(draws * 2, 4096)
    return out


def _gather(src: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> bytes:
    """Concatenate the byte ranges ``src[starts[i]:starts[i]+lens[i]]`` (flattened, in order)."""
    starts = starts.ravel()
    lens = lens.ravel()
    total = int(lens.sum())
    # int32 positions when they fit: half the memory traffic of the per-byte index
    dt = np.int32 if len(src) < 2**31 and total < 2**31 else np.int64
    lens = lens.astype(dt, copy=False)
    out_off = np.cumsum(lens, dtype=dt) - lens
    idx = np.repeat(starts.astype(dt, copy=False) - out_off, lens)
    idx += np.arange(total, dtype=dt)
    return src[idx].tobytes()


def _joined(strings: list[str], lengths: np.ndarray, base: int) -> tuple[bytes, np.ndarray]:
    """``",".join(strings)`` as UTF-8 plus each element's start offset (shifted by ``base``)."""
    data = ",".join(strings).encode("utf-8")
    step = lengths + 1
    starts = np.cumsum(step) - step + base
    expected = int(step.sum()) - 1 if len(strings) else 0
    if len(data) != expected:  # pragma: no cover - guards the byte-length bookkeeping
        raise AssertionError(f"joined length {len(data)} != expected {expected}")
    return data, starts


def _byte_lengths(names) -> np.ndarray:
    return np.fromiter((len(s.encode("utf-8")) for s in names), dtype=np.int64, count=len(names))


class _Chunk:
    """Byte buffer of one chunk of whole users: rows ``[ra, rb)`` plus their negatives."""

    def __init__(self, t, ra, rb, name_lens, neg_parts, item_cate):
        pieces = [_CONST]
        base = len(_CONST)
        self.col = {}
        for name, codes, names, lens in (
            ("user", t.user_code, t.users, name_lens[0]),
            ("item", t.item_code, t.items, name_lens[1]),
            ("cate", t.cate_code, t.cates, name_lens[2]),
        ):
            c = codes[ra:rb]
            ln = lens[c]
            data, st = _joined(names[c].tolist(), ln, base)
            self.col[name] = (st, ln)
            pieces.append(data)
            base += len(data)
        ts = t.ts[ra:rb].astype(str)
        ln = np.char.str_len(ts).astype(np.int64)
        data, st = _joined(ts.tolist(), ln, base)
        self.col["ts"] = (st, ln)
        pieces.append(data)
        base += len(data)
        self.neg = {}
        for split, codes in neg_parts.items():
            flat = codes.ravel()
            ilen = name_lens[1][flat]
            idata, ist = _joined(t.items[flat].tolist(), ilen, base)
            base += len(idata)
            ccodes = item_cate[flat]
            clen = name_lens[2][ccodes]
            cdata, cst = _joined(t.cates[ccodes].tolist(), clen, base)
            base += len(cdata)
            pieces += [idata, cdata]
            self.neg[split] = (ist, ilen, cst, clen)
        self.src = np.frombuffer(b"".join(pieces), dtype=np.uint8)

    def segments(self, rows, hs, label, item, cate):
        """``[k, 2 * N_FIELDS]`` starts and lengths of the lines for local ``rows`` (history from ``hs``).

        ``label``: bool ``[k]`` (True -> "1"); ``item``/``cate``: ``(starts, lens)`` of the target.
        """
        k = len(rows)
        # segment 2i is field i (io/format.py), segment 2i + 1 the tab (newline) after it
        n = 2 * fmt.N_FIELDS
        starts = np.empty((k, n), dtype=np.int64)
        lens = np.ones((k, n), dtype=np.int64)
        starts[:, 1::2] = _TAB
        starts[:, n - 1] = _NL
        starts[:, 2 * fmt.LABEL] = np.where(label, _ONE, _ZERO)
        us, ul = self.col["user"]
        starts[:, 2 * fmt.USER], lens[:, 2 * fmt.USER] = us[rows], ul[rows]
        starts[:, 2 * fmt.ITEM], lens[:, 2 * fmt.ITEM] = item
        starts[:, 2 * fmt.CATEGORY], lens[:, 2 * fmt.CATEGORY] = cate
        ts_s, ts_l = self.col["ts"]
        starts[:, 2 * fmt.TIMESTAMP], lens[:, 2 * fmt.TIMESTAMP] = ts_s[rows], ts_l[rows]
        histories = ((fmt.ITEM_HISTORY, "item"), (fmt.CATEGORY_HISTORY, "cate"),
                     (fmt.TIME_HISTORY, "ts"))  # fmt: skip
        for field, name in histories:
            s, ln = self.col[name]
            starts[:, 2 * field] = s[hs]
            lens[:, 2 * field] = s[rows - 1] + ln[rows - 1] - s[hs]
        return starts, lens


def _write_lines(f, chunk: _Chunk, starts, lens, chunk_bytes: int) -> None:
    line_len = lens.sum(axis=1)
    cum = np.cumsum(line_len)
    i, k = 0, len(line_len)
    while i < k:
        before = cum[i - 1] if i else 0
        j = max(int(np.searchsorted(cum, before + chunk_bytes, side="right")), i + 1)
        f.write(_gather(chunk.src, starts[i:j], lens[i:j]))
        i = j


class SplitFiles:
    """The three output files, written atomically, fed one table (chunk of whole users) at a time.

    ``write(t, split, negs)``: ``split`` from ``assign_splits``; ``negs`` maps ``"valid"`` /
    ``"test"`` to int64 ``[k, N]`` negative item codes (codes into ``t.items``) for the chunk's
    valid / test rows in row order.
    """

    def __init__(self, paths: DataPaths, valid_num_ngs: int, test_num_ngs: int,
                 max_history: int | None, item_cate: np.ndarray,
                 chunk_rows: int = 1 << 20, chunk_bytes: int = 8 << 20):  # fmt: skip
        self.paths = paths
        self.num_ngs = {"valid": int(valid_num_ngs), "test": int(test_num_ngs)}
        self.max_history = max_history
        self.item_cate = item_cate
        self.chunk_rows = chunk_rows
        self.chunk_bytes = chunk_bytes
        self.lines = {"train": 0, "valid": 0, "test": 0}
        self._item_lens = None
        self._cate_lens = None

    def __enter__(self) -> SplitFiles:
        self._stack = contextlib.ExitStack()
        stack = self._stack.__enter__()
        tmp = {
            s: stack.enter_context(atomic_path(p))
            for s, p in (
                ("train", self.paths.train_file),
                ("valid", self.paths.valid_file),
                ("test", self.paths.test_file),
            )
        }
        self.files = {s: stack.enter_context(open(p, "wb")) for s, p in tmp.items()}
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def write(self, t: InstanceTable, split: np.ndarray, negs: dict, bar=None) -> None:
        if self._item_lens is None or len(self._item_lens) != len(t.items):
            self._item_lens = _byte_lengths(t.items)
            self._cate_lens = _byte_lengths(t.cates)
        name_lens = (_byte_lengths(t.users), self._item_lens, self._cate_lens)
        split_rows = {
            "valid": np.flatnonzero(split == VALID),
            "test": np.flatnonzero(split == TEST),
        }
        train_rows = np.flatnonzero(split == TRAIN)
        hs_all = t.history_start(self.max_history)
        files = self.files
        ustart = t.user_start
        a = 0
        n_users = len(t.users)
        while a < n_users:
            b = int(np.searchsorted(ustart, ustart[a] + self.chunk_rows, side="right")) - 1
            b = min(max(b, a + 1), n_users)
            ra, rb = int(ustart[a]), int(ustart[b])
            ranges = {
                s: (int(np.searchsorted(r, ra)), int(np.searchsorted(r, rb)))
                for s, r in split_rows.items()
            }
            chunk = _Chunk(
                t,
                ra,
                rb,
                name_lens,
                {s: negs[s][lo:hi] for s, (lo, hi) in ranges.items()},
                self.item_cate,
            )
            # train: positives only
            lo, hi = np.searchsorted(train_rows, [ra, rb])
            rows = train_rows[lo:hi] - ra
            if len(rows):
                st = chunk.segments(
                    rows,
                    hs_all[rows + ra] - ra,
                    np.ones(len(rows), bool),
                    (chunk.col["item"][0][rows], chunk.col["item"][1][rows]),
                    (chunk.col["cate"][0][rows], chunk.col["cate"][1][rows]),
                )
                _write_lines(files["train"], chunk, *st, self.chunk_bytes)
                self.lines["train"] += len(rows)
            # valid / test: positive then its negatives
            for s, n_neg in self.num_ngs.items():
                lo, hi = ranges[s]
                rows = split_rows[s][lo:hi] - ra
                k = len(rows)
                if not k:
                    continue
                per = n_neg + 1
                rrows = np.repeat(rows, per)
                label = np.tile(np.r_[True, np.zeros(n_neg, bool)], k)
                flat = np.repeat(np.arange(k) * n_neg, per) + np.tile(np.arange(-1, n_neg), k)
                flat = np.maximum(flat, 0)
                ist, ilen, cst, clen = chunk.neg[s]
                pi_s, pi_l = chunk.col["item"]
                pc_s, pc_l = chunk.col["cate"]
                item = (
                    np.where(label, pi_s[rrows], ist[flat]),
                    np.where(label, pi_l[rrows], ilen[flat]),
                )
                cate = (
                    np.where(label, pc_s[rrows], cst[flat]),
                    np.where(label, pc_l[rrows], clen[flat]),
                )
                st = chunk.segments(rrows, hs_all[rrows + ra] - ra, label, item, cate)
                _write_lines(files[s], chunk, *st, self.chunk_bytes)
                self.lines[s] += k * per
            if bar is not None:
                bar.update(rb - ra)
            a = b


def check_settings(valid_num_ngs: int, test_num_ngs: int, max_history: int | None) -> None:
    for name, v in (("valid_num_ngs", valid_num_ngs), ("test_num_ngs", test_num_ngs)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if max_history is not None and int(max_history) < 1:
        raise ValueError(f"max_history must be >= 1 or None, got {max_history}")


def check_items(n_distinct: int, valid_num_ngs: int, test_num_ngs: int) -> None:
    need = max(valid_num_ngs, test_num_ngs) + 1
    if n_distinct < need:
        raise ValueError(
            f"only {n_distinct} distinct items; {max(valid_num_ngs, test_num_ngs)} distinct "
            f"negatives different from the positive need at least {need}"
        )


def make_manifest(*, n, users, items, categories, user_lengths_1, user_lengths_2, lines,
                  positives, valid_num_ngs, test_num_ngs, seed, max_history, user_default,
                  vocabs, split_rule) -> dict:  # fmt: skip
    manifest = {
        "interactions": int(n),
        "users": int(users),
        "items": int(items),
        "categories": int(categories),
        "users_without_lines": int(user_lengths_1),
        "users_test_only": int(user_lengths_2),
        "lines": {k: int(v) for k, v in lines.items()},
        "positives": {k: int(v) for k, v in positives.items()},
        "valid_num_ngs": int(valid_num_ngs),
        "test_num_ngs": int(test_num_ngs),
        "seed": int(seed),
        "max_history": None if max_history is None else int(max_history),
        "user_default": bool(user_default),
        "vocab_sizes": {k: len(v) for k, v in zip(("user", "item", "category"), vocabs)},
    }
    if split_rule != SplitRule():
        manifest["split"] = split_rule.describe()
    return manifest


def write_sequential_files(
    interactions: pd.DataFrame,
    out_dir: str | os.PathLike,
    valid_num_ngs: int = 4,
    test_num_ngs: int = 9,
    seed: int = 42,
    max_history: int | None = None,
    user_default: bool = False,
    *,
    split: SplitRule | None = None,
    chunk_rows: int = 1 << 20,
    chunk_bytes: int = 8 << 20,
    progress: bool = False,
) -> DataPaths:
    """Write ``train_data``, ``valid_data``, ``test_data`` and the three vocab pickles.

    Args:
        interactions: table with columns ``user, item, category, timestamp`` (see
            ``tf_lsrec.data.interactions``), ``n`` rows in any order.
        out_dir: created if needed; existing files of the same names are replaced atomically.
        valid_num_ngs, test_num_ngs: offline negatives per valid / test positive (>= 1).
        seed: seeds the NumPy ``Generator`` drawing the negatives (valid first, then test) and
            the line sampling of ``split``.
        max_history: keep only the last ``max_history`` (>= 1) history steps; ``None`` keeps all.
        user_default: CLSR user vocab convention (``"default_uid"`` -> 0).
        split: ``SplitRule`` (default: Microsoft's per-user leave-last-two).
        chunk_rows, chunk_bytes: memory bounds (rows of whole users per chunk, bytes per write).
        progress: print progress lines to stderr.

    Also writes ``manifest.json`` (line counts, users that produced no line, vocab sizes).
    ``tf_lsrec.data.outofcore.prepare_out_of_core`` writes the same files without holding the
    table in memory.
    """
    check_settings(valid_num_ngs, test_num_ngs, max_history)
    t = InstanceTable(interactions)
    if t.n == 0:
        raise ValueError("the interactions table is empty; nothing to write")
    check_items(len(t.items), valid_num_ngs, test_num_ngs)
    rule = (split or SplitRule()).resolve(int(t.ts.max()))
    paths = DataPaths.in_directory(out_dir)
    os.makedirs(os.fspath(out_dir), exist_ok=True)

    codes = assign_splits(t, rule, seed)
    rng = np.random.default_rng(seed)
    negs = {
        "valid": draw_negatives(rng, t.item_code, t.item_code[codes == VALID], valid_num_ngs),
        "test": draw_negatives(rng, t.item_code, t.item_code[codes == TEST], test_num_ngs),
    }
    item_cate = t.category_of_item()
    bar = Progress(t.n, "writing sequential files", enabled=progress)
    with SplitFiles(
        paths, valid_num_ngs, test_num_ngs, max_history, item_cate, chunk_rows, chunk_bytes
    ) as out:
        out.write(t, codes, negs, bar)
    bar.close()

    vocabs = vocabs_from_table(t, max_history, user_default, codes)
    save_vocabs(vocabs, paths.user_vocab, paths.item_vocab, paths.cate_vocab)
    manifest = make_manifest(
        n=t.n,
        users=len(t.users),
        items=len(t.items),
        categories=len(t.cates),
        user_lengths_1=(t.lengths == 1).sum(),
        user_lengths_2=(t.lengths == 2).sum(),
        lines=out.lines,
        positives={"valid": len(negs["valid"]), "test": len(negs["test"])},
        valid_num_ngs=valid_num_ngs,
        test_num_ngs=test_num_ngs,
        seed=seed,
        max_history=max_history,
        user_default=user_default,
        vocabs=vocabs,
        split_rule=rule,
    )
    if manifest["users_without_lines"]:
        log.info(
            "%d user(s) with a single interaction produce no line (no history)",
            manifest["users_without_lines"],
        )
    atomic_write_text(
        os.path.join(os.fspath(out_dir), MANIFEST_NAME), json.dumps(manifest, indent=2) + "\n"
    )
    return paths


def read_manifest(out_dir: str | os.PathLike) -> dict:
    """The ``manifest.json`` written by ``write_sequential_files``."""
    with open(os.path.join(os.fspath(out_dir), MANIFEST_NAME), encoding="utf-8") as f:
        return json.load(f)
