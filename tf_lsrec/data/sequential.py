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
        ucode, self.users = pd.factorize(df["user"].to_numpy(dtype=object))
        ts = df["timestamp"].to_numpy(dtype=np.int64)
        by_time = np.argsort(ts, kind="stable")
        perm = by_time[np.argsort(ucode[by_time], kind="stable")]
        self.user_code = ucode[perm].astype(np.int64)
        self.ts = ts[perm]
        self.item_code, self.items = pd.factorize(df["item"].to_numpy(dtype=object)[perm])
        self.cate_code, self.cates = pd.factorize(df["category"].to_numpy(dtype=object)[perm])
        self.item_code = self.item_code.astype(np.int64)
        self.cate_code = self.cate_code.astype(np.int64)
        n = len(perm)
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


def _train_token_weights(
    t: InstanceTable, max_history: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Occurrences of each row's item/category in the training file and its first-seen key.

    Returns ``(weight [n], key [n])``: ``weight`` counts the row as a train target (positions
    ``1..m-3``) plus as a history entry of later train lines; ``key`` orders first insertion as the
    reference's line loop meets tokens (row 0 of a user is first met in line 1's history, just after
    line 1's target).
    """
    last_train = t.m - 3
    target = ((t.pos >= 1) & (t.pos <= last_train)).astype(np.int64)
    upper = last_train if max_history is None else np.minimum(last_train, t.pos + max_history)
    hist = np.maximum(0, upper - t.pos)
    rows = np.arange(t.n, dtype=np.int64)
    key = np.where(t.pos >= 1, 2 * rows, 2 * (rows + 1) + 1)
    return target + hist, key


def _ranked(codes, names, weight, key, default_key) -> dict:
    k = len(names)
    counts = np.bincount(codes, weights=weight, minlength=k)
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    used = weight > 0
    np.minimum.at(first, codes[used], key[used])
    present = np.flatnonzero(counts > 0)
    present = present[np.argsort(first[present], kind="stable")]
    return rank_vocab([names[i] for i in present.tolist()], counts[present], default_key)


def vocabs_from_table(
    t: InstanceTable, max_history: int | None, user_default: bool
) -> tuple[dict, dict, dict]:
    """The vocabs ``build_vocabs`` would build from the train file this table writes (vectorised)."""
    du, di, dc = _defaults(user_default)
    weight, key = _train_token_weights(t, max_history)
    user_counts = np.maximum(0, t.lengths - 3)
    present = np.flatnonzero(user_counts > 0)
    users = rank_vocab([t.users[i] for i in present.tolist()], user_counts[present], du)
    items = _ranked(t.item_code, t.items, weight, key, di)
    cates = _ranked(t.cate_code, t.cates, weight, key, dc)
    return users, items, cates


def draw_negatives(
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
    out_off = np.cumsum(lens) - lens
    idx = np.repeat(starts - out_off, lens) + np.arange(total, dtype=np.int64)
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


def write_sequential_files(
    interactions: pd.DataFrame,
    out_dir: str | os.PathLike,
    valid_num_ngs: int = 4,
    test_num_ngs: int = 9,
    seed: int = 42,
    max_history: int | None = None,
    user_default: bool = False,
    *,
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
        seed: seeds the NumPy ``Generator`` drawing the negatives (valid first, then test).
        max_history: keep only the last ``max_history`` (>= 1) history steps; ``None`` keeps all.
        user_default: CLSR user vocab convention (``"default_uid"`` -> 0).
        chunk_rows, chunk_bytes: memory bounds (rows of whole users per chunk, bytes per write).
        progress: print progress lines to stderr.

    Also writes ``manifest.json`` (line counts, users that produced no line, vocab sizes).
    """
    for name, v in (("valid_num_ngs", valid_num_ngs), ("test_num_ngs", test_num_ngs)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if max_history is not None and int(max_history) < 1:
        raise ValueError(f"max_history must be >= 1 or None, got {max_history}")
    t = InstanceTable(interactions)
    if t.n == 0:
        raise ValueError("the interactions table is empty; nothing to write")
    n_distinct = len(t.items)
    need = max(valid_num_ngs, test_num_ngs) + 1
    if n_distinct < need:
        raise ValueError(
            f"only {n_distinct} distinct items; {max(valid_num_ngs, test_num_ngs)} distinct "
            f"negatives different from the positive need at least {need}"
        )
    paths = DataPaths.in_directory(out_dir)
    os.makedirs(os.fspath(out_dir), exist_ok=True)

    written = t.pos >= 1
    is_train = written & (t.pos < t.m - 2)
    valid_rows = np.flatnonzero(written & (t.pos == t.m - 2))
    test_rows = np.flatnonzero(written & (t.pos == t.m - 1))
    train_rows = np.flatnonzero(is_train)
    hs_all = t.history_start(max_history)

    rng = np.random.default_rng(seed)
    negs = {
        "valid": draw_negatives(rng, t.item_code, t.item_code[valid_rows], valid_num_ngs),
        "test": draw_negatives(rng, t.item_code, t.item_code[test_rows], test_num_ngs),
    }
    split_rows = {"valid": valid_rows, "test": test_rows}
    item_cate = t.category_of_item()
    name_lens = (_byte_lengths(t.users), _byte_lengths(t.items), _byte_lengths(t.cates))

    bar = Progress(t.n, "writing sequential files", enabled=progress)
    with contextlib.ExitStack() as stack:
        tmp = {
            s: stack.enter_context(atomic_path(p))
            for s, p in (
                ("train", paths.train_file),
                ("valid", paths.valid_file),
                ("test", paths.test_file),
            )
        }
        files = {s: stack.enter_context(open(p, "wb")) for s, p in tmp.items()}
        ustart = t.user_start
        a = 0
        n_users = len(t.users)
        while a < n_users:
            b = int(np.searchsorted(ustart, ustart[a] + chunk_rows, side="right")) - 1
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
                item_cate,
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
                _write_lines(files["train"], chunk, *st, chunk_bytes)
            # valid / test: positive then its negatives
            for s, n_neg in (("valid", valid_num_ngs), ("test", test_num_ngs)):
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
                _write_lines(files[s], chunk, *st, chunk_bytes)
            bar.update(rb - ra)
            a = b
        for f in files.values():
            f.close()
    bar.close()

    vocabs = vocabs_from_table(t, max_history, user_default)
    save_vocabs(vocabs, paths.user_vocab, paths.item_vocab, paths.cate_vocab)

    lengths = t.lengths
    manifest = {
        "interactions": int(t.n),
        "users": int(n_users),
        "items": int(len(t.items)),
        "categories": int(len(t.cates)),
        "users_without_lines": int((lengths == 1).sum()),
        "users_test_only": int((lengths == 2).sum()),
        "lines": {
            "train": int(len(train_rows)),
            "valid": int(len(valid_rows) * (valid_num_ngs + 1)),
            "test": int(len(test_rows) * (test_num_ngs + 1)),
        },
        "positives": {"valid": int(len(valid_rows)), "test": int(len(test_rows))},
        "valid_num_ngs": int(valid_num_ngs),
        "test_num_ngs": int(test_num_ngs),
        "seed": int(seed),
        "max_history": None if max_history is None else int(max_history),
        "user_default": bool(user_default),
        "vocab_sizes": {k: len(v) for k, v in zip(("user", "item", "category"), vocabs)},
    }
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
