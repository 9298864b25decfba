"""Fast check of an 8-column sequential file (docs/reference.md §1.1) with informative errors.

Errors inside a ``tf.data`` graph cannot say which line of which file is wrong, so every file is
checked once, before it is streamed, by a chunked pandas pass (C tokenizer, vectorised column
checks). The same pass counts lines, positives, history lengths and unknown ids, which the
pipeline reports (Microsoft maps unknown ids to 0 silently; we keep the mapping but count it).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from tf_lsrec.io import format as fmt
from tf_lsrec.io.format import FIELD_INDEX as FIELDS_INDEX
from tf_lsrec.io.format import FIELD_NAMES, N_FIELDS  # noqa: F401  (re-exported)
from tf_lsrec.utils.limits import TIME_LIMIT  # timestamps must lie in [0, TIME_LIMIT]

_PARSER_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_BINARY = r"[01]"  # labels are exactly "0" or "1": no sign, spaces or other integers
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"  # regression labels
_UTF8_BOM = b"\xef\xbb\xbf"


class SequentialFormatError(ValueError):
    """A line of a sequential file breaks the format; ``path``, ``line`` and ``field`` say where."""

    def __init__(self, path: str, line: int | None, field: str | None, message: str):
        self.path, self.line, self.field = path, line, field
        where = f"{path}:{line}" if line is not None else path
        what = f" field {FIELDS_INDEX.get(field, '?')} ({field})" if field else ""
        super().__init__(f"{where}:{what} {message}")


@dataclasses.dataclass
class FileStats:
    """What ``validate_file`` learned about one file.

    ``history_length_counts[n]`` is the number of lines whose (untruncated) history has ``n``
    steps. ``unknown`` counts occurrences of ids missing from the vocab, per kind: ``users``,
    ``items``, ``cates`` (targets) and ``history_items``, ``history_cates``; empty when no vocab
    was given.
    """

    path: str
    lines: int
    positives: int
    history_length_counts: np.ndarray
    unknown: dict[str, int]

    @property
    def max_history_length(self) -> int:
        return int(len(self.history_length_counts) - 1)

    def lines_shorter_than(self, min_seq_length: int) -> int:
        """Number of lines whose history has fewer than ``min_seq_length`` steps."""
        return int(self.history_length_counts[: max(int(min_seq_length), 0)].sum())

    def unknown_summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.unknown.items())


def _read_raw_lines(path: str, numbers: Iterable[int]) -> dict[int, str]:
    wanted = set(numbers)
    found: dict[int, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, start=1):
            if i in wanted:
                found[i] = line.rstrip("\r\n")
                if len(found) == len(wanted):
                    break
    return found


def _key_index(keys) -> pd.Index | None:
    if keys is None:
        return None
    if isinstance(keys, pd.Index):
        return keys
    return pd.Index(list(keys), dtype=object)


def _count_unknown(index: pd.Index | None, values: np.ndarray) -> int:
    if index is None or len(values) == 0:
        return 0
    return int((index.get_indexer(values) < 0).sum())


def _vocab_indexes(vocabs) -> dict[str, pd.Index | None]:
    if vocabs is None:
        return {}
    if hasattr(vocabs, "key_sets"):  # a VocabLookup
        vocabs = vocabs.key_sets
    if isinstance(vocabs, Mapping):
        vocabs = (vocabs["user"], vocabs["item"], vocabs["cate"])
    user, item, cate = vocabs
    return {"user": _key_index(user), "item": _key_index(item), "cate": _key_index(cate)}


class _Checker:
    def __init__(self, path: str, max_errors: int):
        self.path, self.max_errors = path, max(int(max_errors), 1)
        self.errors: list[tuple[int, str | None, str]] = []
        self.pending_raw: dict[int, str | None] = {}  # line -> field, diagnosed from the raw line

    def add(self, line: int, field: str | None, message: str) -> None:
        self.errors.append((line, field, message))

    def full(self) -> bool:
        return len(self.errors) + len(self.pending_raw) >= self.max_errors

    def raise_if_any(self) -> None:
        if self.pending_raw:
            raw = _read_raw_lines(self.path, self.pending_raw)
            for number, field in self.pending_raw.items():
                text = raw.get(number, "")
                n = text.count("\t") + 1
                if n != N_FIELDS:
                    self.add(number, None, f"has {n} tab-separated fields; expected {N_FIELDS}")
                elif field in ("item history", "category history", "time history"):
                    self.add(number, field, "is empty; expected at least one history step")
                else:
                    self.add(number, field, "is empty; expected a value")
            self.pending_raw = {}
        if not self.errors:
            return
        self.errors.sort(key=lambda e: e[0])
        line, field, message = self.errors[0]
        err = SequentialFormatError(self.path, line, field, message)
        if len(self.errors) > 1:
            rest = "; ".join(
                f"line {ln}{f' ({fd})' if fd else ''}: {msg}" for ln, fd, msg in self.errors[1:]
            )
            err.args = (f"{err.args[0]} [also: {rest}]",)
        raise err


def _check_bytes(path: str) -> None:
    """Byte-level problems pandas would hide: a UTF-8 byte-order mark (pandas drops it, the
    ``tf.data`` parser does not) and a last line without a line end (a truncated file)."""
    size = os.path.getsize(path)
    if size == 0:
        raise SequentialFormatError(path, None, None, "file is empty; expected 8-column lines")
    with open(path, "rb") as f:
        head = f.read(len(_UTF8_BOM))
        f.seek(size - 1)
        last = f.read(1)
    if head == _UTF8_BOM:
        raise SequentialFormatError(
            path,
            1,
            None,
            "starts with a UTF-8 byte-order mark (BOM); expected plain UTF-8 "
            "without one (remove it, e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`)",
        )
    if last != b"\n":
        with open(path, "rb") as f:
            n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) + 1
        raise SequentialFormatError(
            path,
            n,
            None,
            "the last line does not end with a line break; the file looks "
            "truncated (an interrupted copy or write). Regenerate it, or add the final newline "
            "if the line is complete",
        )


def validate_file(
    path: str | os.PathLike,
    vocabs=None,
    max_errors: int = 1,
    chunk_lines: int = 200_000,
    group_size: int | None = None,
    labels: str = "binary",
) -> FileStats:
    """Check every line of an 8-column sequential file; count lines, positives, unknown ids.

    Args:
        path: the file.
        vocabs: optional ``VocabLookup``, or ``(user, item, cate)`` dicts / key collections (or a
            mapping with keys ``user``, ``item``, ``cate``) to count unknown ids.
        max_errors: stop and raise after this many bad lines (all are listed in the message).
        chunk_lines: lines per pandas chunk (bounds memory).
        group_size: ``None``: any mix of labels 0/1. ``1``: a training file, every line is a
            positive (label 1; negatives are drawn in the batch). ``G > 1``: an evaluation file
            of groups of ``G`` lines (1 positive then ``G - 1`` negatives): labels ``1, 0 x
            (G-1)`` repeating, and the line count a multiple of ``G``.
        labels: ``"binary"`` (labels exactly ``0`` or ``1``) or ``"numeric"`` (any finite
            number, ``method: regression``; ``group_size`` is then not checked).

    Raises:
        FileNotFoundError: no such file.
        SequentialFormatError: empty file, UTF-8 byte-order mark, missing final line break
            (truncated file), wrong field count, label not ``0``/``1`` (or out of its group
            position), non-numeric or out-of-range timestamp or time history entry (outside
            ``[0, TIME_LIMIT]``), empty history, history columns of unequal length, line count
            not a multiple of ``group_size``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"sequential data file {path} does not exist")
    if labels not in ("binary", "numeric"):
        raise ValueError(f"validate_file labels = {labels!r}; expected 'binary' or 'numeric'")
    _check_bytes(path)
    if labels == "numeric":
        group_size = None
    indexes = _vocab_indexes(vocabs)
    check = _Checker(path, max_errors)
    lines = positives = 0
    length_counts = np.zeros(1, np.int64)
    unknown = dict.fromkeys(("users", "items", "cates", "history_items", "history_cates"), 0)
    reader = pd.read_csv(
        path,
        sep="\t",
        header=None,
        names=list(range(N_FIELDS)),
        index_col=False,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        quoting=3,  # csv.QUOTE_NONE: quotes are ordinary characters
        skip_blank_lines=False,
        chunksize=chunk_lines,
        encoding="utf-8",
    )
    try:
        for chunk in reader:
            base = lines + 1  # file line number of the chunk's first row
            n_rows = len(chunk)
            lines += n_rows
            cols = [chunk[i].to_numpy(dtype=object) for i in range(N_FIELDS)]
            numbers = np.arange(base, base + n_rows)
            ok = np.ones(n_rows, bool)
            # empty fields: too few fields, blank line, or an empty value / history
            for i in range(N_FIELDS):
                empty = cols[i] == ""
                for number in numbers[empty & ok][: check.max_errors]:
                    check.pending_raw.setdefault(int(number), FIELD_NAMES[i])
                ok &= ~empty
            if check.full():
                break
            label_ok = (
                chunk[fmt.LABEL]
                .str.fullmatch(_BINARY if labels == "binary" else _NUMBER)
                .to_numpy(dtype=bool)
            )
            expected = "an integer, exactly 1 or 0" if labels == "binary" else "a number"
            for number in numbers[ok & ~label_ok][: check.max_errors]:
                value = cols[fmt.LABEL][number - base]
                check.add(int(number), "label", f"= {value!r}; expected {expected}")
            ok &= label_ok
            if group_size is not None:
                want = np.where((numbers - 1) % group_size == 0, "1", "0")
                placed = cols[fmt.LABEL] == want
                for number in numbers[ok & ~placed][: check.max_errors]:
                    value = cols[fmt.LABEL][number - base]
                    check.add(int(number), "label", _group_message(number, group_size, value))
                ok &= placed
            stamp = pd.to_numeric(chunk[fmt.TIMESTAMP].where(ok, "0"), errors="coerce").to_numpy(
                float
            )
            stamp_ok = np.isfinite(stamp)
            for number in numbers[ok & ~stamp_ok][: check.max_errors]:
                value = cols[fmt.TIMESTAMP][number - base]
                check.add(int(number), "timestamp", f"= {value!r}; expected a number")
            ok &= stamp_ok
            in_range = (stamp >= 0) & (stamp <= TIME_LIMIT)
            for number in numbers[ok & ~in_range][: check.max_errors]:
                value = cols[fmt.TIMESTAMP][number - base]
                check.add(int(number), "timestamp", f"= {value!r}; {_RANGE}")
            ok &= in_range
            if check.full():
                break
            n_items = chunk[fmt.ITEM_HISTORY].str.count(",").to_numpy(np.int64) + 1
            n_cates = chunk[fmt.CATEGORY_HISTORY].str.count(",").to_numpy(np.int64) + 1
            n_times = chunk[fmt.TIME_HISTORY].str.count(",").to_numpy(np.int64) + 1
            equal = (n_items == n_cates) & (n_items == n_times)
            for number in numbers[ok & ~equal][: check.max_errors]:
                r = number - base
                check.add(
                    int(number),
                    "category history",
                    f"history lists have unequal lengths: {n_items[r]} items, {n_cates[r]} "
                    f"categories, {n_times[r]} timestamps; expected equal lengths",
                )
            ok &= equal
            if check.full():
                break
            flat_times = ",".join(cols[fmt.TIME_HISTORY][ok]).split(",") if ok.any() else []
            times = pd.to_numeric(pd.Series(flat_times, dtype=object), errors="coerce").to_numpy(
                float
            )
            finite = np.isfinite(times)
            bad_times = np.flatnonzero(~finite | (finite & ((times < 0) | (times > TIME_LIMIT))))
            if len(bad_times):
                ends = np.cumsum(n_times[ok])
                rows = numbers[ok]
                for pos in bad_times[: check.max_errors]:
                    row = int(np.searchsorted(ends, pos, side="right"))
                    what = "expected comma-separated numbers" if not finite[pos] else _RANGE
                    check.add(int(rows[row]), "time history", f"entry {flat_times[pos]!r}; {what}")
            if check.full():
                break
            positives += int((pd.to_numeric(chunk[fmt.LABEL][ok]) == 1).sum())
            length_counts = _add_counts(length_counts, np.bincount(n_items[ok]))
            if indexes:
                unknown["users"] += _count_unknown(indexes["user"], cols[fmt.USER][ok])
                unknown["items"] += _count_unknown(indexes["item"], cols[fmt.ITEM][ok])
                unknown["cates"] += _count_unknown(indexes["cate"], cols[fmt.CATEGORY][ok])
                hist_items = np.array(",".join(cols[fmt.ITEM_HISTORY][ok]).split(","), dtype=object)
                hist_cates = np.array(
                    ",".join(cols[fmt.CATEGORY_HISTORY][ok]).split(","), dtype=object
                )
                unknown["history_items"] += _count_unknown(indexes["item"], hist_items)
                unknown["history_cates"] += _count_unknown(indexes["cate"], hist_cates)
    except pd.errors.ParserError as e:
        m = _PARSER_FIELDS.search(str(e))
        if not m:
            raise SequentialFormatError(path, None, None, f"cannot be parsed: {e}") from None
        check.add(
            int(m.group(2)), None, f"has {m.group(3)} tab-separated fields; expected {N_FIELDS}"
        )
    except UnicodeDecodeError as e:
        raise SequentialFormatError(
            path, None, None, f"is not UTF-8 text ({e}); expected UTF-8"
        ) from None
    check.raise_if_any()
    if lines == 0:
        raise SequentialFormatError(path, None, None, "file is empty; expected 8-column lines")
    if group_size is not None and lines % group_size:
        raise SequentialFormatError(
            path,
            lines,
            "label",
            f"the file has {lines} lines, not a multiple of the group size "
            f"{group_size} (1 positive + {group_size - 1} negatives); the last group is cut short",
        )
    return FileStats(
        path=path,
        lines=lines,
        positives=positives,
        history_length_counts=length_counts,
        unknown=unknown if indexes else {},
    )


def _add_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(b) > len(a):
        a, b = b.astype(np.int64), a
    a = a.copy()
    a[: len(b)] += b
    return a


_RANGE = f"expected a timestamp in [0, {TIME_LIMIT:.0e}] (seconds or milliseconds, `time_unit`)"


def _group_message(number: int, group_size: int, value: str) -> str:
    if group_size == 1:
        return (
            f"= {value!r}; a training file holds positives only (label 1): negatives are "
            "drawn in the batch (train_num_ngs)"
        )
    position = (int(number) - 1) % group_size
    if position == 0:
        role, want = "the positive, first line of its group", "1"
    else:
        role, want = f"negative {position} of its group", "0"
    return (
        f"= {value!r}; expected {want} ({role} of 1 positive + {group_size - 1} negatives, "
        f"num_ngs = {group_size - 1})"
    )
