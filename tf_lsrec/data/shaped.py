"""Full-size stand-ins for public logs: planted interactions written in a public file's schema.

The public datasets cannot be committed or fetched in tests, yet their loaders must be exercised
at the size users run them. ``write_kuairec_shaped`` writes KuaiRec's two files
(``big_matrix.csv``: ``user_id, video_id, play_duration, video_duration, time, date, timestamp,
watch_ratio``; ``item_categories.csv``: ``video_id, feat``) with the published shape of the big
matrix by default (``KUAIREC_BIG``: 7,176 users, 10,728 videos, 12,530,806 rows, 31 tags,
2020-07-05 .. 2020-09-05), filled by the planted generator (``tf_lsrec.data.synthetic``):

* each user's length is log-normal around ``rows / users`` (at least ``min_length``), scaled so
  the total is exactly ``rows``; categories and sessions are planted as in the generator, items
  are uniform inside their category (so a user revisits videos, which the loader's
  ``(user, item)`` de-duplication removes, as real logs need);
* each user's timeline is stretched or shrunk to fill the whole window (every KuaiRec user is
  active over the two months), keeping its order and relative gaps;
* ``watch_ratio`` is log-normal with a higher median for the user's long-term and session
  categories (``WATCH_MEDIAN``), so the loader's "effective view" cut (``watch_ratio >= 2``)
  keeps mostly planted interests; ``play_duration = watch_ratio * video_duration``;
* a video's ``feat`` is its planted category, sometimes followed by a second tag (the loader
  takes the first).

Unlike the real file, ``time`` and ``date`` are in UTC (the loader reads ``timestamp`` only).
Writes are atomic; memory is bounded by ``users_per_chunk`` users at a time.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from tf_lsrec.data.synthetic import SyntheticConfig, _generate_chunk
from tf_lsrec.utils.files import atomic_path

KUAIREC_BIG = {
    "users": 7_176,
    "items": 10_728,
    "rows": 12_530_806,
    "tags": 31,
    "start": "2020-07-05",
    "days": 62.0,
}
# median watch_ratio by planted source (long-term category, session category, random)
WATCH_MEDIAN = np.array([1.2, 1.0, 0.5])
WATCH_SIGMA = 0.8


def _user_lengths(rng: np.random.Generator, users: int, rows: int, min_length: int) -> np.ndarray:
    """``[users]`` int lengths, log-normal shaped, each >= ``min_length``, summing to ``rows``."""
    if rows < users * min_length:
        raise ValueError(f"rows={rows} cannot give {users} users {min_length} rows each")
    weights = np.exp(rng.normal(0.0, 0.75, size=users))
    extra = rows - users * min_length
    lengths = np.floor(weights / weights.sum() * extra).astype(np.int64)
    lengths[: extra - int(lengths.sum())] += 1  # the remainder, one row each
    return lengths + min_length


def write_kuairec_shaped(
    out_dir: str | os.PathLike,
    users: int = KUAIREC_BIG["users"],
    items: int = KUAIREC_BIG["items"],
    rows: int = KUAIREC_BIG["rows"],
    tags: int = KUAIREC_BIG["tags"],
    start: str = KUAIREC_BIG["start"],
    days: float = KUAIREC_BIG["days"],
    seed: int = 0,
    min_length: int = 100,
    users_per_chunk: int = 500,
) -> dict[str, object]:
    """Write ``big_matrix.csv`` and ``item_categories.csv`` into ``out_dir`` (module docstring).

    Returns:
        ``{"big_matrix", "item_categories"}`` (paths) and ``{"rows", "users", "items"}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng([seed, 0])
    lengths = _user_lengths(rng, users, rows, min(min_length, rows // users))
    mean_length = rows / users
    cfg = SyntheticConfig(
        n_items=items,
        n_categories=tags,
        mean_length=mean_length,
        min_length=1,
        max_length=rows,
        # sessions of ~5 views; their spacing is rescaled to the window below
        between_sessions_hours=days * 24.0 / (mean_length / 5.0),
    )
    window_s = days * 86400.0
    t0 = pd.Timestamp(start, tz="UTC").timestamp()
    matrix = os.path.join(out_dir, "big_matrix.csv")
    video_duration = np.rint(rng.lognormal(np.log(12_000.0), 0.5, size=items)).astype(np.int64)
    with atomic_path(matrix) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        for j, lo in enumerate(range(0, users, users_per_chunk)):
            chunk_rng = np.random.default_rng([seed, j + 1])
            part = lengths[lo : lo + users_per_chunk]
            a = _generate_chunk(chunk_rng, part, lo, 0, cfg)
            # uniform inside the category (the generator's popularity skew would make most of a
            # long history repeats)
            n_in_cat = (items - a["category"] + tags - 1) // tags
            rank = np.floor(chunk_rng.random(a["item"].size) * n_in_cat).astype(np.int64)
            item = a["category"] + tags * rank
            # each user's timeline scaled onto [t0 + o, t0 + o + 0.98 window], o < 0.02 window
            ts = a["timestamp"].astype(np.float64)
            first = np.repeat(ts[np.cumsum(part) - part], part)
            last = np.repeat(ts[np.cumsum(part) - 1], part)
            span = np.maximum(last - first, 1.0)
            offset = np.repeat(chunk_rng.random(len(part)) * 0.02 * window_s, part)
            ts = np.round(t0 + offset + (ts - first) / span * (0.98 * window_s), 3)
            ratio = chunk_rng.lognormal(np.log(WATCH_MEDIAN[a["source"]]), WATCH_SIGMA)
            vd = video_duration[item]
            when = pd.to_datetime(ts, unit="s")
            frame = pd.DataFrame(
                {
                    "user_id": a["user"],
                    "video_id": item,
                    "play_duration": np.rint(ratio * vd).astype(np.int64),
                    "video_duration": vd,
                    "time": when.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3],
                    "date": when.strftime("%Y%m%d").astype(np.int64),
                    "timestamp": ts,
                    "watch_ratio": np.round(ratio, 6),
                }
            )
            frame.to_csv(f, index=False, header=j == 0)
    second = rng.integers(0, tags, size=items)
    has_second = (rng.random(items) < 0.3) & (second != np.arange(items) % tags)
    feat = [
        f"[{i % tags}, {s}]" if two else f"[{i % tags}]"
        for i, s, two in zip(range(items), second, has_second)
    ]
    categories = os.path.join(out_dir, "item_categories.csv")
    with atomic_path(categories) as tmp:
        pd.DataFrame({"video_id": np.arange(items), "feat": feat}).to_csv(tmp, index=False)
    return {
        "big_matrix": matrix,
        "item_categories": categories,
        "rows": int(lengths.sum()),
        "users": users,
        "items": items,
    }
