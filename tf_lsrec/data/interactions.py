"""The interactions table: one row per (user, item, category, timestamp) event.

Schema (``COLUMNS``): ``user``, ``item``, ``category`` are strings (raw ids, read as text so
that ids such as ``"007"`` survive: docs/reference.md §1.3 QUIRK), ``timestamp`` is ``int64`` (seconds or
milliseconds, the caller's unit). Ids must be non-empty and must not contain a tab, a comma or a
line break, because they are written into the comma/tab-separated sequential files.
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np
import pandas as pd

from tf_lsrec.utils.limits import TIME_LIMIT

log = logging.getLogger(__name__)
_PARSER_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")

COLUMNS = ("user", "item", "category", "timestamp")
ID_COLUMNS = ("user", "item", "category")


def _row_label(index, header_lines: int | None) -> str:
    """``line N`` (1-based file line, header counted) for files, ``row <index>`` for frames."""
    if header_lines is not None and isinstance(index, (int, np.integer)):
        return f"line {int(index) + 1 + header_lines}"
    return f"row {index!r}"


def validate_interactions(
    df: pd.DataFrame, source: str = "<DataFrame>", header_lines: int | None = None
) -> pd.DataFrame:
    """Check and normalise an interactions table; return a new frame with exactly ``COLUMNS``.

    Ids become ``str``; the timestamp becomes ``int64`` (integral floats are accepted). Errors
    name ``source``, the row and the column: ``line N`` when ``header_lines`` is given (``df`` read
    from a file with a default index and that many header lines), else ``row <index>``.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"{source}: missing column(s) {missing}; an interactions table needs {list(COLUMNS)} "
            f"(found {list(df.columns)})"
        )
    out = {}
    for col in ID_COLUMNS:
        s = df[col]
        null = s.isna().to_numpy()
        if null.any():
            i = df.index[int(np.argmax(null))]
            raise ValueError(
                f"{source}, {_row_label(i, header_lines)}, column {col!r}: missing value "
                f"({int(null.sum())} row(s) in total); every interaction needs a {col} id"
            )
        s = s.astype(str)
        bad = (s.str.len() == 0) | s.str.contains(r"[\t,\n\r]", regex=True)
        bad = bad.to_numpy()
        if bad.any():
            i = df.index[int(np.argmax(bad))]
            raise ValueError(
                f"{source}, {_row_label(i, header_lines)}, column {col!r}: invalid id "
                f"{s.loc[i]!r} ({int(bad.sum())} row(s) in total); ids must be non-empty and "
                f"contain no tab, comma or line break"
            )
        out[col] = s.to_numpy(dtype=object)
    ts = df["timestamp"]
    num = pd.to_numeric(ts, errors="coerce")
    bad = num.isna().to_numpy()
    if not bad.any():
        vals = num.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(vals) | (vals != np.floor(vals))
    if bad.any():
        i = df.index[int(np.argmax(bad))]
        raise ValueError(
            f"{source}, {_row_label(i, header_lines)}, column 'timestamp': {str(ts.loc[i])!r} is not "
            f"an integer timestamp ({int(bad.sum())} bad row(s) in total)"
        )
    # 1e19 and more do not fit int64 (they became int64 min and moved the row to the start of
    # the user's history); the sequential files accept [0, TIME_LIMIT] (tf_lsrec.io.validate)
    out_of_range = ((vals < 0) | (vals > TIME_LIMIT)) & ~np.isnan(vals)
    if out_of_range.any():
        i = df.index[int(np.argmax(out_of_range))]
        raise ValueError(
            f"{source}, {_row_label(i, header_lines)}, column 'timestamp': {str(ts.loc[i])!r} is "
            f"outside [0, {TIME_LIMIT:.0e}] ({int(out_of_range.sum())} row(s) in total); expected "
            "seconds or milliseconds since the epoch"
        )
    if pd.api.types.is_integer_dtype(num.dtype):
        out["timestamp"] = num.to_numpy(dtype=np.int64)
    else:
        out["timestamp"] = num.to_numpy(dtype=np.float64).astype(np.int64)
    return pd.DataFrame(out, columns=list(COLUMNS))


def _infer_sep(path: str) -> str | None:
    low = path.lower()
    for ext in (".gz", ".bz2", ".xz", ".zip"):
        if low.endswith(ext):
            low = low[: -len(ext)]
    if low.endswith(".parquet") or low.endswith(".pq"):
        return None
    if low.endswith(".csv"):
        return ","
    if low.endswith((".tsv", ".txt", ".data", ".inter")):
        return "\t"
    raise ValueError(
        f"{path}: cannot tell the format from the extension; pass sep=',' (CSV) or sep='\\t' "
        f"(TSV), or use a .csv/.tsv/.parquet file name"
    )


def read_interactions(
    path: str | os.PathLike,
    user_col: str | int = "user",
    item_col: str | int = "item",
    category_col: str | int = "category",
    time_col: str | int = "timestamp",
    sep: str | None = None,
) -> pd.DataFrame:
    """Read a CSV / TSV / Parquet log into the interactions schema (``COLUMNS``).

    Args:
        path: ``.csv`` (comma), ``.tsv``/``.txt`` (tab), ``.parquet``; ``sep`` overrides.
        user_col, item_col, category_col, time_col: column names in the file's header, or all
            four integer positions for a headerless text file.
        sep: field separator for text files; ``None`` infers it from the extension.

    Returns:
        DataFrame ``[n, 4]`` with string ids and int64 timestamps, rows in file order.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"interactions file {path} does not exist")
    cols = (user_col, item_col, category_col, time_col)
    positional = all(isinstance(c, int) for c in cols)
    if not positional and not all(isinstance(c, str) for c in cols):
        raise ValueError(
            f"{path}: give all four columns as header names or all four as integer positions, "
            f"got {cols}"
        )
    if sep is None:
        sep = _infer_sep(path)
    if sep is None:
        try:
            raw = pd.read_parquet(path)
        except ImportError as e:
            raise ImportError(
                f"reading {path} needs a Parquet engine: pip install pyarrow ({e})"
            ) from e
        header_lines = 0
    else:
        ids = {c: str for c in cols[:3]}
        header_lines = 0 if positional else 1
        try:
            # every column is read (no usecols), so that a row with more fields than the header
            # fails instead of losing its extra field silently
            raw = pd.read_csv(
                path,
                sep=sep,
                header=None if positional else 0,
                dtype=ids,
                keep_default_na=False,
                na_values=[""],
            )
        except pd.errors.ParserError as e:
            m = _PARSER_FIELDS.search(str(e))
            if not m:
                raise ValueError(f"{path}: cannot be parsed: {e}") from None
            raise ValueError(
                f"{path}, line {m.group(2)}: {m.group(3)} fields; expected {m.group(1)} "
                f"like {'the first line' if positional else 'the header'} (separator {sep!r})"
            ) from None
        except ValueError as e:
            raise ValueError(f"{path}: cannot read columns {list(cols)}: {e}") from e
    missing = [c for c in cols if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: column(s) {missing} not found; the file has {list(raw.columns)}")
    ignored = [c for c in raw.columns if c not in cols]
    if ignored:
        log.info("%s: column(s) %s not used (only %s are read)", path, ignored, list(cols))
    raw = raw[list(cols)]
    raw.columns = list(COLUMNS)
    raw = raw.reset_index(drop=True)
    return validate_interactions(raw, source=path, header_lines=header_lines)
