"""Loaders for the seed papers' and Microsoft's public datasets, from files the user downloaded.

Each ``load_<name>(path, ...)`` reads the published schema and returns the interactions table
(``user, item, category, timestamp``, ``tf_lsrec.data.interactions``) after that dataset's
filtering; ``DATASETS[name]`` adds how it is split and written (``SplitRule``, user vocab
convention, negatives per valid / test positive). Where each rule comes from (a paper, the
official code, or our own choice where neither says) is in docs/datasets.md and in each docstring.
``prepare_public(name, paths, out_dir)`` runs loader + writer.

Nothing is downloaded: the files are large and their licences vary.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from tf_lsrec.data.interactions import validate_interactions
from tf_lsrec.data.paths import DataPaths
from tf_lsrec.data.sequential import SplitRule, uniform_hash, write_sequential_files

DAY = 86_400
CHINA_TZ = "Asia/Shanghai"  # UTC+8: the zone of the Taobao / Tmall logs
READ_CHUNK = 2_000_000


def _need_columns(df: pd.DataFrame, needed: Sequence[str], path: str, schema: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: column(s) {missing} not found (found {list(df.columns)}); expected the "
            f"{schema} schema"
        )


def kcore_once(df: pd.DataFrame, item_min: int = 10, user_min: int = 10) -> pd.DataFrame:
    """Keep items with >= ``item_min`` rows, then users with >= ``user_min`` rows (one pass each,
    not iterated to a fixed point, as the official CLSR code does)."""
    if item_min > 1:
        df = df[df.groupby("item")["item"].transform("size") >= item_min]
    if user_min > 1:
        df = df[df.groupby("user")["user"].transform("size") >= user_min]
    return df.reset_index(drop=True)


def _sample_users(users: pd.Series, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask: a user is kept when a hash of (user, seed) falls below ``fraction``."""
    codes = pd.util.hash_pandas_object(users.astype(str), index=False).to_numpy()
    return uniform_hash(codes, seed) < fraction


def _local_seconds(text, tz: str):
    """Unix seconds of date-time text (or datetimes) read in zone ``tz`` when they carry none."""
    ts = pd.to_datetime(text)
    if isinstance(ts, pd.Timestamp):
        return int((ts.tz_localize(tz) if ts.tzinfo is None else ts).timestamp())
    if ts.dt.tz is None:
        ts = ts.dt.tz_localize(tz)
    return ((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


# ---------------------------------------------------------------- Amazon (Microsoft Recommenders)
def _literal_lines(path: str):
    """Records of a file of one Python-literal (or JSON) dict per line."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                yield ast.literal_eval(line)
            except (ValueError, SyntaxError):
                try:
                    yield json.loads(line)
                except ValueError as e:
                    raise ValueError(f"{path}, line {lineno}: not a dict literal ({e})") from e


def load_amazon(
    reviews_file: str | os.PathLike,
    meta_file: str | os.PathLike,
    sample_rate: float = 0.01,
    seed: int = 42,
) -> pd.DataFrame:
    """Amazon reviews (``reviews_<Category>_5.json`` + ``meta_<Category>.json``), reference §1.3.

    Reviews: ``reviewerID``, ``asin``, ``unixReviewTime`` (seconds). Meta: ``asin`` and
    ``categories``; an item's category is ``categories[0][-1]``, ``"default_cat"`` without
    metadata. ``sample_rate < 1`` keeps ``int(I * sample_rate)`` distinct items drawn from the
    rows (popularity-proportional, without replacement) as Microsoft's ``_data_processing``
    does, with a seeded NumPy generator instead of ``random.seed(42)``.
    """
    reviews_file, meta_file = os.fspath(reviews_file), os.fspath(meta_file)
    rows = []
    for i, r in enumerate(_literal_lines(reviews_file), start=1):
        try:
            rows.append((str(r["reviewerID"]), str(r["asin"]), int(r["unixReviewTime"])))
        except KeyError as e:
            raise ValueError(f"{reviews_file}, record {i}: missing field {e}") from e
    reviews = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    cats = {}
    for r in _literal_lines(meta_file):
        c = r.get("categories")
        if "asin" in r and c and c[0]:
            cats[str(r["asin"])] = str(c[0][-1])
    reviews["category"] = reviews["item"].map(cats).fillna("default_cat")
    if sample_rate < 1:
        items = reviews["item"].to_numpy(dtype=object)
        want = int(len(pd.unique(items)) * sample_rate)
        order = np.random.default_rng(seed).permutation(len(items))
        chosen = pd.unique(items[order])[:want]
        reviews = reviews[reviews["item"].isin(chosen)].reset_index(drop=True)
    return validate_interactions(reviews, source=reviews_file)


# ---------------------------------------------------------------- Taobao UserBehavior (CLSR)
TAOBAO_COLUMNS = ("user", "item", "category", "behavior", "timestamp")


def load_taobao(
    path: str | os.PathLike,
    user_fraction: float = 0.05,
    seed: int = 42,
    start: str = "2017-11-25 00:00:00",
    end: str = "2017-12-03 23:59:59",
    behaviors: Sequence[str] = ("pv",),
    tz: str = CHINA_TZ,
    min_count: int = 10,
) -> pd.DataFrame:
    """Taobao ``UserBehavior.csv`` (no header: ``user,item,category,behavior,timestamp``).

    Official CLSR ``taobao_main`` (reference §1.4): ``behavior == "pv"``; drop repeated
    ``(user, item)`` keeping the first in file order; drop items seen with several categories;
    ``start <= ts <= end`` (read in ``tz``, UTC+8; the CLSR code used the machine's zone); keep
    ``user_fraction`` of the users; items with >= 10 rows, then users with >= 10 rows.
    The file is read in chunks; users are sampled by a seeded hash of the id (each user kept
    with probability ``user_fraction``, where CLSR draws exactly 5 % of the ids after the other
    filters, unseeded), so memory holds only the sampled users' page views plus the distinct
    (item, category) pairs. Those pairs are taken from all page views, before the ``(user,
    item)`` de-duplication (CLSR checks after it): an item differs only if one user saw it under
    two categories and nobody else saw it under the second.
    """
    path = os.fspath(path)
    lo, hi = _local_seconds(start, tz), _local_seconds(end, tz)
    kept, pairs = [], []
    reader = pd.read_csv(
        path,
        header=None,
        names=list(TAOBAO_COLUMNS),
        dtype={"user": str, "item": str, "category": str, "behavior": str},
        chunksize=READ_CHUNK,
    )
    for chunk in reader:
        chunk = chunk[chunk["behavior"].isin(behaviors)]
        pairs.append(chunk[["item", "category"]].drop_duplicates())
        if user_fraction < 1:
            chunk = chunk[_sample_users(chunk["user"], user_fraction, seed)]
        kept.append(chunk)
    df = pd.concat(kept, ignore_index=True)
    # CLSR's order: duplicates, then multi-category items, then the time window
    df = df.drop_duplicates(["user", "item"], keep="first")
    pairs = pd.concat(pairs).drop_duplicates()
    multi = pairs["item"][pairs["item"].duplicated()].unique()
    df = df[~df["item"].isin(multi)]
    df = df[(df["timestamp"] >= lo) & (df["timestamp"] <= hi)]
    df = kcore_once(df, min_count, min_count)
    return validate_interactions(df, source=path)


# ---------------------------------------------------------------- Kuaishou / KuaiRec (CLSR)
def load_kuairec(
    path: str | os.PathLike,
    categories_file: str | os.PathLike | None = None,
    effective_ratio: float = 2.0,
    min_count: int = 10,
) -> pd.DataFrame:
    """A Kuaishou log: CLSR's columns or the public KuaiRec ``big_matrix.csv``/``small_matrix.csv``.

    CLSR's ``kuaishou_main`` (reference §1.4) expects ``user_id, photo_id,
    photo_kmeans_cluster_id, time_ms, effective_view``; that file was not released. KuaiRec
    (``user_id, video_id, play_duration, video_duration, time, date, timestamp, watch_ratio``,
    timestamp in seconds) is mapped onto it: ``photo_id = video_id``, category = the first tag of
    ``item_categories.csv`` (``video_id, feat``, ``categories_file``), ``time_ms =
    round(timestamp * 1000)``, ``effective_view = watch_ratio >= effective_ratio`` (our choice).
    Then CLSR's filtering: drop repeated ``(user, item)``, items with >= 10 rows (all views),
    users with >= 10 effective views, keep effective views only. Timestamps stay in ms.
    """
    path = os.fspath(path)
    header = pd.read_csv(path, nrows=0).columns
    clsr_schema = "photo_id" in header
    needed = (
        ("user_id", "photo_id", "photo_kmeans_cluster_id", "time_ms", "effective_view")
        if clsr_schema
        else ("user_id", "video_id", "timestamp", "watch_ratio")
    )
    # only the columns used: KuaiRec's `time` strings alone would take GBs at full size
    df = pd.read_csv(path, usecols=[c for c in header if c in needed])
    if clsr_schema:
        _need_columns(
            df,
            ("user_id", "photo_id", "photo_kmeans_cluster_id", "time_ms", "effective_view"),
            path,
            "CLSR Kuaishou",
        )
        df = df.rename(
            columns={
                "user_id": "user",
                "photo_id": "item",
                "photo_kmeans_cluster_id": "category",
                "time_ms": "timestamp",
            }
        )
        df["effective"] = df["effective_view"] == 1
    else:
        _need_columns(df, ("user_id", "video_id", "timestamp", "watch_ratio"), path, "KuaiRec")
        if categories_file is None:
            raise ValueError(f"{path}: KuaiRec needs categories_file (item_categories.csv)")
        cats = pd.read_csv(categories_file)
        _need_columns(cats, ("video_id", "feat"), os.fspath(categories_file), "KuaiRec item")
        first = cats["feat"].astype(str).str.extract(r"(\d+)", expand=False)
        cat_of = dict(zip(cats["video_id"].astype(str), first))
        df = df.dropna(subset=["timestamp"])
        df = pd.DataFrame(
            {
                "user": df["user_id"].astype(str),
                "item": df["video_id"].astype(str),
                "timestamp": np.round(df["timestamp"].to_numpy(dtype=np.float64) * 1000),
                "effective": df["watch_ratio"].to_numpy() >= effective_ratio,
            }
        )
        df["category"] = df["item"].map(cat_of)
        df = df.dropna(subset=["category"])
    df["user"], df["item"] = df["user"].astype(str), df["item"].astype(str)
    df["category"] = df["category"].astype(str)
    df = df.drop_duplicates(["user", "item"], keep="first")
    if min_count > 1:
        df = df[df.groupby("item")["item"].transform("size") >= min_count]
        eff = df.groupby("user")["effective"].transform("sum")
        df = df[eff >= min_count]
    df = df[df["effective"]].reset_index(drop=True)
    return validate_interactions(df, source=path)


# ---------------------------------------------------------------- Tmall IJCAI-15 (SLSRec)
TMALL_ACTIONS = {0: "click", 1: "cart", 2: "purchase", 3: "favourite"}


def load_tmall(
    path: str | os.PathLike,
    year: int = 2014,
    actions: Sequence[int] = (0, 1, 2, 3),
    tz: str = CHINA_TZ,
    min_count: int = 10,
) -> pd.DataFrame:
    """Tmall IJCAI-15 ``user_log_format1.csv`` (``user_id, item_id, cat_id, seller_id,
    brand_id, time_stamp, action_type``; ``time_stamp`` is ``MMDD`` of ``year``, actions 0 click,
    1 add-to-cart, 2 purchase, 3 favourite).

    SLSRec uses all four behaviours (its §4); its appendix C.1 (Tmall filtering) is not in our
    copy, so the rest is our choice, CLSR's Taobao rules: drop repeated ``(user, item)`` (first
    kept), items with >= 10 rows, then users with >= 10 rows. Timestamps: midnight of the day
    (UTC+8) in seconds, so a user's same-day actions keep file order.
    """
    path = os.fspath(path)
    columns = ["user_id", "item_id", "cat_id", "time_stamp", "action_type"]
    # Integer columns while filtering (the published ids are integers): about 30 bytes per row
    # instead of ~250 with string ids, so all 55M rows fit a laptop; ids become strings only
    # for the rows that survive (validate_interactions).
    parts = []
    try:
        for chunk in pd.read_csv(
            path, usecols=columns, dtype=dict.fromkeys(columns, np.int64), chunksize=READ_CHUNK
        ):
            kept = chunk[chunk["action_type"].isin(actions)]
            parts.append(kept.drop(columns="action_type"))
    except ValueError as err:
        raise ValueError(_first_non_integer(path, columns) or f"{path}: {err}") from err
    df = pd.concat(parts, ignore_index=True)
    del parts
    # MMDD -> local midnight in seconds, computed once per distinct day (checked on every row)
    mmdd = np.unique(df["time_stamp"].to_numpy())
    days = pd.to_datetime(
        pd.DataFrame({"year": year, "month": mmdd // 100, "day": mmdd % 100}), errors="coerce"
    )
    if days.isna().any():
        bad = int(mmdd[int(np.argmax(days.isna().to_numpy()))])
        raise ValueError(f"{path}: time_stamp {bad!r} is not MMDD (of year {year})")
    seconds = np.asarray(_local_seconds(days, tz), dtype=np.int64)
    df = df.drop_duplicates(["user_id", "item_id"], keep="first")
    df = df.rename(columns={"user_id": "user", "item_id": "item", "cat_id": "category"})
    df = kcore_once(df, min_count, min_count)
    df["timestamp"] = seconds[np.searchsorted(mmdd, df.pop("time_stamp").to_numpy())]
    return validate_interactions(df, source=path)


def _first_non_integer(path: str, columns: Sequence[str]) -> str | None:
    """``"<path>, line N, column C: 'v' is not an integer"`` for the first such cell (or a
    missing column), read again as text; ``None`` if there is none."""
    header = pd.read_csv(path, nrows=0).columns
    missing = [c for c in columns if c not in header]
    if missing:
        return f"{path}: missing column(s) {missing}; Tmall's user_log_format1.csv has {columns}"
    for start, chunk in enumerate(
        pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False, chunksize=READ_CHUNK)
    ):
        for col in columns:
            ok = chunk[col].str.fullmatch(r"\s*[+-]?\d+\s*").to_numpy()
            if not ok.all():
                row = int(np.argmax(~ok))
                line = start * READ_CHUNK + row + 2  # 1-based, after the header line
                value = chunk[col].iloc[row]
                return f"{path}, line {line}, column {col!r}: {value!r} is not an integer"
    return None


# ---------------------------------------------------------------- Cosmetics shop (SLSRec)
COSMETICS_EVENTS = ("view", "cart", "purchase")


def load_cosmetics(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    events: Sequence[str] = COSMETICS_EVENTS,
    min_count: int = 10,
) -> pd.DataFrame:
    """The "eCommerce events history in cosmetics shop" CSVs (``2019-Oct.csv`` ... ``2020-Feb
    .csv``; ``event_time, event_type, product_id, category_id, category_code, brand, price,
    user_id, user_session``; SLSRec links ``2020-Jan.csv``).

    Our choice (SLSRec's appendix C.1 is not in our copy): event types view / cart / purchase
    (``remove_from_cart`` dropped), category = ``category_id``, timestamp = ``event_time`` in
    UTC seconds, drop repeated ``(user, product)`` (first kept), items with >= 10 rows, then
    users with >= 10 rows.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    parts = []
    for p in paths:
        for chunk in pd.read_csv(
            p,
            dtype={"product_id": str, "category_id": str, "user_id": str},
            usecols=["event_time", "event_type", "product_id", "category_id", "user_id"],
            chunksize=READ_CHUNK,
        ):
            parts.append(chunk[chunk["event_type"].isin(events)])
    df = pd.concat(parts, ignore_index=True)
    ts = pd.to_datetime(df["event_time"].str.replace(" UTC", "", regex=False), utc=True)
    df = pd.DataFrame(
        {
            "user": df["user_id"],
            "item": df["product_id"],
            "category": df["category_id"],
            "timestamp": (ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1),
        }
    )
    df = df.drop_duplicates(["user", "item"], keep="first")
    return validate_interactions(kcore_once(df, min_count, min_count), source=str(paths[0]))


# ---------------------------------------------------------------- registry + preparation
@dataclasses.dataclass(frozen=True)
class PublicDataset:
    """How a public dataset is loaded, split and written."""

    load: Callable[..., pd.DataFrame]
    split: SplitRule
    user_default: bool
    valid_num_ngs: int
    test_num_ngs: int
    files: str  # what the user passes (for messages and the CLI help)


DATASETS: dict[str, PublicDataset] = {
    # Microsoft quick-start notebook: leave-last-two, no default user, 4 / 9 negatives
    "amazon": PublicDataset(
        load_amazon, SplitRule(), False, 4, 9, "reviews_<Category>_5.json meta_<Category>.json"
    ),
    # official CLSR: last day test, day before valid, 15 % of valid/test lines, 4 / 99 negatives
    "taobao": PublicDataset(
        load_taobao, SplitRule("time", window=DAY, keep_eval=0.15), True, 4, 99, "UserBehavior.csv"
    ),
    # official CLSR: last 12 h test (ms), 12 h before valid, 5 % of all lines, 4 / 99 negatives
    "kuairec": PublicDataset(
        load_kuairec,
        SplitRule("time", window=DAY * 1000 // 2, keep_train=0.05, keep_eval=0.05),
        True,
        4,
        99,
        "big_matrix.csv item_categories.csv",
    ),
    # SLSRec (follows CLSR's framework): our choice of CLSR's Taobao split, all lines kept;
    # timestamps are whole days, so a window of DAY - 1 s makes test = the last day exactly
    "tmall": PublicDataset(
        load_tmall, SplitRule("time", window=DAY - 1), True, 4, 99, "user_log_format1.csv"
    ),
    "cosmetics": PublicDataset(
        load_cosmetics, SplitRule("time", window=DAY), True, 4, 99, "2020-Jan.csv [more months]"
    ),
}


def load_public(name: str, paths: Sequence[str | os.PathLike], **kwargs) -> pd.DataFrame:
    """``DATASETS[name].load`` on the user's files (``paths`` in the order ``files`` names)."""
    if name not in DATASETS:
        raise ValueError(f"unknown public dataset {name!r}; expected one of {sorted(DATASETS)}")
    paths = [os.fspath(p) for p in paths]
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{name}: {p} does not exist (expected {DATASETS[name].files})")
    if name == "amazon":
        if len(paths) != 2:
            raise ValueError(f"amazon needs two files: {DATASETS[name].files}")
        return load_amazon(*paths, **kwargs)
    if name == "kuairec":
        return load_kuairec(paths[0], paths[1] if len(paths) > 1 else None, **kwargs)
    if name == "cosmetics":
        return load_cosmetics(paths, **kwargs)
    if len(paths) != 1:
        raise ValueError(f"{name} takes one file: {DATASETS[name].files}")
    return DATASETS[name].load(paths[0], **kwargs)


def prepare_public(
    name: str,
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    seed: int = 42,
    valid_num_ngs: int | None = None,
    test_num_ngs: int | None = None,
    max_history: int | None = None,
    split: SplitRule | None = None,
    engine: str = "memory",
    progress: bool = False,
    **load_kwargs,
) -> DataPaths:
    """Load ``name`` from ``paths`` and write the 8-column files + vocabs into ``out_dir``.

    Defaults (split, negatives, user vocab) are the dataset's (``DATASETS``); ``engine`` is
    ``"memory"`` or ``"duckdb"`` (``prepare_out_of_core``; same output).
    """
    spec = DATASETS.get(name)
    if spec is None:
        raise ValueError(f"unknown public dataset {name!r}; expected one of {sorted(DATASETS)}")
    df = load_public(name, paths, **load_kwargs)
    kw = dict(
        valid_num_ngs=spec.valid_num_ngs if valid_num_ngs is None else valid_num_ngs,
        test_num_ngs=spec.test_num_ngs if test_num_ngs is None else test_num_ngs,
        seed=seed,
        max_history=max_history,
        user_default=spec.user_default,
        split=split or spec.split,
        progress=progress,
    )
    if engine == "duckdb":
        from tf_lsrec.data.outofcore import prepare_out_of_core

        return prepare_out_of_core(df, out_dir, **kw)
    if engine != "memory":
        raise ValueError(f"engine must be 'memory' or 'duckdb', got {engine!r}")
    return write_sequential_files(df, out_dir, **kw)
