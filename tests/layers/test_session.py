"""SessionSegmentation: hand-built histories, a numpy oracle on random ones, config round trip."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.session import (
    SessionSegmentation,
    gap_in_seconds,
    gather_steps,
    raw_time_scale,
)


def _segment(times, lengths, gap=10.0, sessions=3, session_len=4, scale=1.0, width=None):
    width = width or max(len(t) for t in times)
    t = np.zeros((len(times), width))
    m = np.zeros((len(times), width), np.float32)
    for r, (row, n) in enumerate(zip(times, lengths)):
        t[r, : len(row)] = row
        m[r, :n] = 1.0
    layer = SessionSegmentation(gap, sessions, session_len, time_scale=scale)
    out = layer(tf.constant(t, tf.float64), tf.constant(m))
    return {k: v.numpy() for k, v in out.items()}


def _slots(index, mask):
    """Index tensor + mask -> nested lists of the kept positions (drops masked entries)."""
    if index.ndim == 1:
        return [int(i) for i, k in zip(index, mask) if k]
    return [_slots(i, k) for i, k in zip(index, mask)]


def test_gap_exactly_omega_starts_a_new_session():
    out = _segment([[0, 10, 19]], [3], gap=10)
    assert out["position_session"][0].tolist() == [0, 1, 1]
    assert out["num_sessions"].tolist() == [2]
    assert _slots(out["current_index"][0], out["current_mask"][0]) == [1, 2]
    assert _slots(out["session_index"][0], out["session_mask"][0]) == [[0], [], []]
    assert out["sessions_mask"][0].tolist() == [1, 0, 0]


def test_single_session_has_no_earlier_session():
    out = _segment([[0, 1, 2, 3, 4, 5]], [6], gap=10, session_len=4)
    assert out["num_sessions"].tolist() == [1]
    assert _slots(out["current_index"][0], out["current_mask"][0]) == [2, 3, 4, 5]
    assert out["sessions_mask"].sum() == 0 and out["session_mask"].sum() == 0
    assert out["earlier_positions"].sum() == 0
    assert out["current_positions"][0].tolist() == [1] * 6
    assert out["dropped_items"].tolist() == [2]  # the two oldest cut by Ls = 4


def test_all_sessions_of_length_one_and_more_sessions_than_max():
    out = _segment([[0, 100, 200, 300, 400]], [5], gap=10, sessions=3)
    assert out["num_sessions"].tolist() == [5]
    assert _slots(out["current_index"][0], out["current_mask"][0]) == [4]
    # the three most recent earlier sessions, oldest first
    assert _slots(out["session_index"][0], out["session_mask"][0]) == [[1], [2], [3]]
    assert out["dropped_sessions"].tolist() == [1]
    assert out["dropped_items"].tolist() == [1]


def test_sessions_longer_than_max_session_length_keep_most_recent_items():
    out = _segment([[0, 1, 2, 3, 4, 100, 101, 102]], [8], gap=10, session_len=2)
    assert _slots(out["session_index"][0], out["session_mask"][0]) == [[3, 4], [], []]
    assert _slots(out["current_index"][0], out["current_mask"][0]) == [6, 7]
    assert out["dropped_items"].tolist() == [3 + 1]


def test_padding_rows_and_padding_steps():
    out = _segment([[0, 50, 0, 0], [0, 0, 0, 0]], [2, 0], gap=10)
    # padding timestamps (0 after 50) must not start or join sessions
    assert out["position_session"].tolist() == [[0, 1, -1, -1], [-1, -1, -1, -1]]
    assert out["num_sessions"].tolist() == [2, 0]
    assert out["current_mask"][1].sum() == 0 and out["sessions_mask"][1].sum() == 0
    assert out["current_index"][1].tolist() == [0, 0, 0, 0]
    assert out["dropped_items"].tolist() == [0, 0]


def test_backwards_timestamps_stay_in_the_session():
    out = _segment([[100, 90, 95]], [3], gap=10)
    assert out["position_session"][0].tolist() == [0, 0, 0]


def test_millisecond_epochs_keep_float64_precision():
    base = 1.7e12  # float32 resolution at this magnitude is 131072 ms
    out = _segment([[base, base + 9_999, base + 19_999]], [3], gap=10, scale=raw_time_scale("ms"))
    assert out["position_session"][0].tolist() == [0, 0, 1]


def test_gap_units():
    assert gap_in_seconds(90, "minutes") == 5400.0
    assert gap_in_seconds(1, "days") == 86400.0
    with pytest.raises(ValueError, match="session_gap_unit"):
        gap_in_seconds(1, "weeks")
    with pytest.raises(ValueError, match="time_unit"):
        raw_time_scale("us")


def _oracle(t, n, gap, sessions, session_len):
    """Pure-Python segmentation of one row: (current positions, earlier sessions' positions)."""
    groups = []
    for j in range(n):
        if j == 0 or t[j] - t[j - 1] >= gap:
            groups.append([])
        groups[-1].append(j)
    if not groups:
        return [], [[] for _ in range(sessions)]
    earlier = [g[-session_len:] for g in groups[:-1]][-sessions:]
    earlier += [[] for _ in range(sessions - len(earlier))]
    return groups[-1][-session_len:], earlier


def test_matches_python_oracle_on_random_histories():
    rng = np.random.default_rng(0)
    times, lengths = [], []
    for _ in range(64):
        n = int(rng.integers(0, 13))
        gaps = rng.choice([1.0, 5.0, 9.0, 10.0, 30.0], size=n)
        times.append(list(np.cumsum(gaps)))
        lengths.append(n)
    out = _segment(times, lengths, gap=10, sessions=3, session_len=3, width=12)
    for r, (row, n) in enumerate(zip(times, lengths)):
        cur, earlier = _oracle(row, n, 10, 3, 3)
        assert _slots(out["current_index"][r], out["current_mask"][r]) == cur, r
        assert _slots(out["session_index"][r], out["session_mask"][r]) == earlier, r
        assert out["sessions_mask"][r].sum() == sum(1 for e in earlier if e)
        kept = len(cur) + sum(len(e) for e in earlier)
        assert out["dropped_items"][r] == n - kept, r


def test_shapes_gather_tf_function_and_config_round_trip():
    layer = SessionSegmentation(60.0, 4, 5, time_scale=1e-3, name="seg")
    t = tf.constant(np.cumsum(np.full((2, 7), 30_000.0), axis=1))
    m = tf.ones([2, 7])
    out = layer(t, m)
    assert out["current_index"].shape == (2, 5) and out["session_index"].shape == (2, 4, 5)
    assert out["sessions_mask"].shape == (2, 4) and out["position_session"].shape == (2, 7)
    traced = tf.function(lambda a, b: layer(a, b))(t, m)
    for k in out:
        np.testing.assert_array_equal(out[k].numpy(), traced[k].numpy())
    clone = SessionSegmentation.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(
        clone(t, m)["session_index"].numpy(), out["session_index"].numpy()
    )
    emb = tf.random.normal([2, 7, 3])
    gathered = gather_steps(emb, out["session_index"])
    assert gathered.shape == (2, 4, 5, 3)
    np.testing.assert_allclose(gathered[0, 0, 0].numpy(), emb[0, out["session_index"][0, 0, 0]])


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="gap_seconds"):
        SessionSegmentation(0.0, 2, 2)
    with pytest.raises(ValueError, match="max_sessions"):
        SessionSegmentation(1.0, 0, 2)
