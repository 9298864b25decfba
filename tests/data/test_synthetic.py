"""Planted synthetic generator: ground-truth consistency, determinism, streaming."""

import numpy as np
import pandas as pd

from tf_lsrec.data import synthetic
from tf_lsrec.data.synthetic import generate_interactions, write_synthetic_interactions


def test_ground_truth_is_consistent_with_the_log():
    inter, truth = generate_interactions(200, seed=3, n_items=100, n_categories=10)
    assert len(inter) == len(truth) and (inter["user"] == truth["user"]).all()
    # every item belongs to one category: i mod C
    item = inter["item"].str[1:].astype(int)
    cate = inter["category"].str[1:].astype(int)
    assert (item % 10 == cate).all() and item.max() < 100
    # one long-term category per user; short-term category differs from it
    assert (truth.groupby("user")["long_term_category"].nunique() == 1).all()
    assert (truth["short_term_category"] != truth["long_term_category"]).all()
    # sources explain the category
    src = truth["source"]
    assert (inter["category"][src == "long"] == truth["long_term_category"][src == "long"]).all()
    assert (inter["category"][src == "short"] == truth["short_term_category"][src == "short"]).all()
    share = src.value_counts(normalize=True)
    assert abs(share["long"] - 0.5) < 0.05 and abs(share["short"] - 0.35) < 0.05
    # sessions: one short-term category each, never shared by two users
    assert (truth.groupby("session")["short_term_category"].nunique() == 1).all()
    assert (truth.groupby("session")["user"].nunique() == 1).all()


def test_timestamps_have_session_gaps():
    inter, truth = generate_interactions(300, seed=1)
    ts = inter["timestamp"].to_numpy()
    same_user = inter["user"].to_numpy()[1:] == inter["user"].to_numpy()[:-1]
    new_session = truth["session"].to_numpy()[1:] != truth["session"].to_numpy()[:-1]
    gaps = np.diff(ts)
    within = gaps[same_user & ~new_session]
    between = gaps[same_user & new_session]
    assert (gaps[same_user] >= 1).all()  # strictly increasing within a user
    assert 60 < np.median(within) < 600  # minutes
    assert np.median(between) > 3600 * 5  # hours
    assert ts.min() >= 1_577_836_800


def test_seeded():
    a, ta = generate_interactions(50, seed=7)
    b, tb = generate_interactions(50, seed=7)
    c, _ = generate_interactions(50, seed=8)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ta, tb)
    assert not a.equals(c)


def test_streamed_file_has_exact_size(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, "USERS_PER_CHUNK", 1000)
    path, gt = tmp_path / "syn.csv", tmp_path / "gt.csv"
    info = write_synthetic_interactions(path, 25_003, seed=2, ground_truth_path=gt, mean_length=5)
    df = pd.read_csv(path, dtype={"user": str, "item": str, "category": str})
    truth = pd.read_csv(gt, dtype=str)
    assert len(df) == len(truth) == info["interactions"] == 25_003
    assert df["user"].nunique() == info["users"]
    assert (df["user"] == truth["user"]).all()
    assert info["users"] > 3000  # several chunks of 1000 users were generated
    assert df["user"].is_unique is False and df["user"].iloc[-1] == f"u{info['users'] - 1}"
    again = tmp_path / "again.csv"
    write_synthetic_interactions(again, 25_003, seed=2, mean_length=5)
    assert again.read_bytes() == path.read_bytes()
