"""``tf_lsrec.data.shaped``: KuaiRec-shaped files with planted interests, read by the real loader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tf_lsrec.data import public
from tf_lsrec.data.shaped import KUAIREC_BIG, write_kuairec_shaped

KUAIREC_COLUMNS = [
    "user_id", "video_id", "play_duration", "video_duration", "time", "date", "timestamp",
    "watch_ratio",
]  # fmt: skip


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    out = tmp_path_factory.mktemp("kuairec")
    written = write_kuairec_shaped(out, users=120, items=900, rows=60_000, seed=3)
    return written, pd.read_csv(written["big_matrix"]), pd.read_csv(written["item_categories"])


def test_shape_and_schema(shaped):
    written, matrix, cats = shaped
    assert list(matrix.columns) == KUAIREC_COLUMNS
    assert list(cats.columns) == ["video_id", "feat"]
    assert len(matrix) == written["rows"] == 60_000
    assert matrix["user_id"].nunique() == 120
    assert matrix["video_id"].between(0, 899).all() and cats["video_id"].tolist() == list(
        range(900)
    )
    start = pd.Timestamp(KUAIREC_BIG["start"], tz="UTC").timestamp()
    assert matrix["timestamp"].min() >= start
    assert matrix["timestamp"].max() <= start + KUAIREC_BIG["days"] * 86400
    # each user spans most of the window, in time order within the file
    span = matrix.groupby("user_id")["timestamp"].agg(lambda t: t.max() - t.min())
    assert (span > 0.9 * KUAIREC_BIG["days"] * 86400).all()
    assert (matrix.groupby("user_id")["timestamp"].diff().dropna() >= 0).all()
    when = pd.to_datetime(matrix["timestamp"], unit="s")
    assert (when.dt.strftime("%Y%m%d").astype(int) == matrix["date"]).all()
    ratio = matrix["play_duration"] / matrix["video_duration"]
    assert np.allclose(ratio, matrix["watch_ratio"], rtol=0.01, atol=1e-3)


def test_same_seed_same_files(tmp_path, shaped):
    written, matrix, _ = shaped
    again = write_kuairec_shaped(tmp_path, users=120, items=900, rows=60_000, seed=3)
    assert open(again["big_matrix"]).read() == open(written["big_matrix"]).read()


def test_effective_views_follow_planted_interests(shaped):
    """The loader's effective-view cut keeps mostly planted interests: a user's top category
    covers a clearly larger share of effective views than of all views."""
    _, matrix, cats = shaped
    first_tag = cats["feat"].str.extract(r"(\d+)", expand=False).astype(int)
    matrix = matrix.assign(category=first_tag.to_numpy()[matrix["video_id"]])

    def top_share(df):
        return df.groupby("user_id")["category"].agg(lambda c: c.value_counts().iloc[0] / len(c))

    all_share = top_share(matrix).mean()
    effective_share = top_share(matrix[matrix["watch_ratio"] >= 2.0]).mean()
    assert effective_share > all_share + 0.05, (effective_share, all_share)


def test_loader_and_preparation_at_small_scale(shaped, tmp_path):
    written, matrix, _ = shaped
    df = public.load_kuairec(written["big_matrix"], written["item_categories"])
    # de-duplicated, effective only, every user with >= 10 of them
    assert not df.duplicated(["user", "item"]).any()
    assert len(df) < len(matrix) and df.groupby("user").size().min() >= 10
    paths = public.prepare_public(
        "kuairec", [written["big_matrix"], written["item_categories"]], tmp_path / "prepared"
    )
    with open(paths.test_file) as f:
        test = [line.rstrip("\n").split("\t") for line in f]
    assert len(test) % 100 == 0 and len(test) > 0  # groups of 1 positive + 99 negatives
    assert all(len(fields) == 8 for fields in test)
