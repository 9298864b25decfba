"""Synthetic interaction logs with planted long- and short-term interests.

Generative story, per user ``u`` (all draws from one seeded NumPy ``Generator`` per chunk of
users):

* a **long-term category** ``L_u``, uniform over ``n_categories``;
* a length ``m_u`` (log-normal around ``mean_length``, clipped to ``[min_length, max_length]``);
* the interactions are cut into **sessions**: each interaction after the first starts a new session
  with probability ``1 / mean_session_length``; each session ``s`` has a **short-term category**
  ``S_s != L_u``, uniform over the other categories;
* each interaction's category is ``L_u`` with probability ``p_long``, ``S_s`` with probability
  ``p_short``, otherwise uniform (``source`` = ``"long"`` / ``"short"`` / ``"random"``);
* the item is drawn inside that category with a skewed popularity (item ``c + C*k`` of category ``c``,
  ``k = floor(n_c * U**2)``), so every item belongs to exactly one category
  (``category_of_item(i) = i mod C``);
* timestamps (int seconds): the first interaction uniform in ``[start_time, start_time +
  start_spread_days]``; gaps inside a session exponential with mean ``session_gap_minutes``
  (at least 1 s), gaps between sessions exponential with mean ``between_sessions_hours``.

Ids are strings ``"u<k>"``, ``"i<k>"``, ``"c<k>"``. The ground truth (per interaction: the user's
long-term category, the session id, the session's short-term category and the source) is returned
alongside (or written beside the interactions file), so learned representations can be checked.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd

from tf_lsrec.data.progress import Progress
from tf_lsrec.utils.files import atomic_path

SOURCES = np.array(["long", "short", "random"], dtype=object)
GROUND_TRUTH_COLUMNS = ("user", "long_term_category", "session", "short_term_category", "source")
USERS_PER_CHUNK = 20_000


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the generator (see module docstring)."""

    n_items: int = 1000
    n_categories: int = 20
    mean_length: float = 20.0
    min_length: int = 3
    max_length: int = 1000
    mean_session_length: float = 5.0
    p_long: float = 0.5
    p_short: float = 0.35
    session_gap_minutes: float = 3.0
    between_sessions_hours: float = 20.0
    start_time: int = 1_577_836_800  # 2020-01-01 00:00:00 UTC
    start_spread_days: float = 30.0

    def check(self) -> None:
        if self.n_categories < 2:
            raise ValueError(f"n_categories must be >= 2, got {self.n_categories}")
        if self.n_items < self.n_categories:
            raise ValueError(
                f"n_items ({self.n_items}) must be >= n_categories ({self.n_categories}) so "
                f"every category has an item"
            )
        if not (0 <= self.p_long and 0 <= self.p_short and self.p_long + self.p_short <= 1):
            raise ValueError(
                f"p_long={self.p_long}, p_short={self.p_short}: need both >= 0 and sum <= 1"
            )
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError(
                f"need 1 <= min_length <= max_length, got {self.min_length}, {self.max_length}"
            )
        if self.mean_length <= 0 or self.mean_session_length < 1:
            raise ValueError("mean_length must be > 0 and mean_session_length >= 1")


def category_of_item(item_index: np.ndarray, n_categories: int) -> np.ndarray:
    """Planted category index of each item index (``i mod C``)."""
    return np.asarray(item_index) % n_categories


def _lengths(rng: np.random.Generator, k: int, cfg: SyntheticConfig) -> np.ndarray:
    sigma = 0.75
    raw = np.exp(rng.normal(np.log(cfg.mean_length) - sigma**2 / 2, sigma, size=k))
    return np.clip(np.rint(raw), cfg.min_length, cfg.max_length).astype(np.int64)


def _generate_chunk(
    rng: np.random.Generator,
    lengths: np.ndarray,
    user_offset: int,
    session_offset: int,
    cfg: SyntheticConfig,
) -> dict[str, np.ndarray]:
    """Integer arrays ``[n]`` for users ``user_offset ..`` with the given ``lengths``."""
    k = len(lengths)
    n = int(lengths.sum())
    C = cfg.n_categories
    long_cat = rng.integers(0, C, size=k)
    starts = np.cumsum(lengths) - lengths
    user = np.repeat(np.arange(k), lengths)
    pos = np.arange(n) - np.repeat(starts, lengths)
    new_session = (pos == 0) | (rng.random(n) < 1.0 / cfg.mean_session_length)
    session_local = np.cumsum(new_session) - 1
    n_sessions = int(session_local[-1]) + 1 if n else 0
    session_user = user[new_session]
    short = rng.integers(0, C - 1, size=n_sessions)
    short = short + (short >= long_cat[session_user])
    u = rng.random(n)
    source = np.where(u < cfg.p_long, 0, np.where(u < cfg.p_long + cfg.p_short, 1, 2))
    cate = np.where(
        source == 0,
        long_cat[user],
        np.where(source == 1, short[session_local], rng.integers(0, C, size=n)),
    )
    n_in_cat = (cfg.n_items - cate + C - 1) // C
    rank = np.floor(n_in_cat * rng.random(n) ** 2).astype(np.int64)
    item = cate + C * np.minimum(rank, n_in_cat - 1)
    gaps = np.where(
        new_session,
        rng.exponential(cfg.between_sessions_hours * 3600.0, size=n),
        rng.exponential(cfg.session_gap_minutes * 60.0, size=n),
    )
    gaps = np.maximum(np.rint(gaps), 1).astype(np.int64)
    gaps[pos == 0] = 0
    csum = np.cumsum(gaps)
    first = rng.integers(0, int(cfg.start_spread_days * 86400) + 1, size=k) + cfg.start_time
    ts = np.repeat(first, lengths) + csum - np.repeat(csum[starts], lengths)
    return {
        "user": user + user_offset,
        "item": item,
        "category": cate,
        "timestamp": ts.astype(np.int64),
        "long_term_category": long_cat[user],
        "session": session_local + session_offset,
        "short_term_category": short[session_local],
        "source": source,
    }


def _frames(arrays: dict[str, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    def ids(prefix, values):
        return (prefix + pd.Series(values, dtype=np.int64).astype(str)).to_numpy(dtype=object)

    inter = pd.DataFrame(
        {
            "user": ids("u", arrays["user"]),
            "item": ids("i", arrays["item"]),
            "category": ids("c", arrays["category"]),
            "timestamp": arrays["timestamp"],
        }
    )
    truth = pd.DataFrame(
        {
            "user": inter["user"],
            "long_term_category": ids("c", arrays["long_term_category"]),
            "session": arrays["session"].astype(np.int64),
            "short_term_category": ids("c", arrays["short_term_category"]),
            "source": SOURCES[arrays["source"]],
        }
    )
    return inter, truth


def generate_interactions(
    n_users: int, seed: int = 0, config: SyntheticConfig | None = None, **overrides
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a planted log in memory (small sizes).

    Args:
        n_users: number of users.
        seed: seeds the generator; the same ``(n_users, seed, config)`` gives identical frames.
        config / overrides: ``SyntheticConfig`` fields (``n_items=200, p_long=0.6``, ...).

    Returns:
        ``(interactions, ground_truth)``: interactions ``[n, 4]`` (``user, item, category,
        timestamp``), rows grouped by user in time order; ground truth ``[n, 5]`` aligned row by
        row (``user, long_term_category, session, short_term_category, source``).
    """
    cfg = dataclasses.replace(config or SyntheticConfig(), **overrides)
    cfg.check()
    if n_users < 1:
        raise ValueError(f"n_users must be >= 1, got {n_users}")
    rng = np.random.default_rng([seed, 0])
    arrays = _generate_chunk(rng, _lengths(rng, n_users, cfg), 0, 0, cfg)
    return _frames(arrays)


def write_synthetic_interactions(
    path: str | os.PathLike,
    n_interactions: int,
    seed: int = 0,
    config: SyntheticConfig | None = None,
    ground_truth_path: str | os.PathLike | None = None,
    progress: bool = False,
    **overrides,
) -> dict[str, int]:
    """Stream exactly ``n_interactions`` planted rows to a CSV or Parquet file (bounded memory).

    Users are generated in chunks of ``USERS_PER_CHUNK`` (chunk ``j`` seeded by ``[seed, j+1]``);
    the last user is shortened so the total is exact. Writes are atomic (temporary + rename).

    Args:
        path: CSV with header ``user,item,category,timestamp``, or Parquet (``.parquet``: one row
            group per chunk of users, needs pyarrow) with those columns.
        ground_truth_path: optional CSV with ``GROUND_TRUTH_COLUMNS``, aligned row by row.

    Returns:
        ``{"interactions": n, "users": U, "sessions": S}``.
    """
    cfg = dataclasses.replace(config or SyntheticConfig(), **overrides)
    cfg.check()
    if n_interactions < 1:
        raise ValueError(f"n_interactions must be >= 1, got {n_interactions}")
    bar = Progress(n_interactions, "generating synthetic interactions", enabled=progress)
    done = users = sessions = 0
    with atomic_path(path) as tmp, _maybe_atomic(ground_truth_path) as gtmp:
        parquet = os.fspath(path).lower().endswith((".parquet", ".pq"))
        with _ParquetOrCsv(tmp, parquet) as f, _maybe_open(gtmp) as g:
            header = True
            chunk = 0
            while done < n_interactions:
                rng = np.random.default_rng([seed, chunk + 1])
                lengths = _lengths(rng, USERS_PER_CHUNK, cfg)
                csum = np.cumsum(lengths)
                left = n_interactions - done
                if csum[-1] >= left:
                    cut = int(np.searchsorted(csum, left))
                    lengths = lengths[: cut + 1].copy()
                    lengths[-1] -= int(csum[cut] - left)
                arrays = _generate_chunk(rng, lengths, users, sessions, cfg)
                inter, truth = _frames(arrays)
                f.write(inter, header)
                if g is not None:
                    truth.to_csv(g, index=False, header=header)
                header = False
                n = int(lengths.sum())
                done += n
                users += len(lengths)
                sessions = int(arrays["session"][-1]) + 1
                bar.update(n)
                chunk += 1
    bar.close()
    return {"interactions": done, "users": users, "sessions": sessions}


class _ParquetOrCsv:
    """Appends DataFrames to a CSV (text) or a Parquet file."""

    def __init__(self, path: str, parquet: bool):
        self.path, self.parquet, self.writer = path, parquet, None

    def __enter__(self):
        if not self.parquet:
            self.writer = open(self.path, "w", encoding="utf-8", newline="")
        return self

    def write(self, df: pd.DataFrame, header: bool) -> None:
        if not self.parquet:
            df.to_csv(self.writer, index=False, header=header)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def __exit__(self, *exc):
        if self.writer is not None:
            self.writer.close()
        return False


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _maybe_atomic(path):
    return atomic_path(path) if path is not None else _Null()


def _maybe_open(path):
    return open(path, "w", encoding="utf-8", newline="") if path is not None else _Null()
