"""``data.length_bucketing``: training batches of similar history lengths, each padded only to
its longest history (rounded up to a fifth of ``max_seq_length``)."""

import numpy as np
import pytest

from tests.io.test_pipeline import DAY, _collect
from tf_lsrec.io.pipeline import SequentialData

L = 10


def _lines(h, n=40):
    """n positive lines with history lengths k % 12 + 1 (some longer than L = 10) and distinct
    target times, so a row can be traced back to its line."""
    out = []
    for k in range(n):
        steps = k % 12 + 1
        hist = [f"i{(k + j) % 9 + 1}" for j in range(steps)]
        times = [(k * 100 + j) * DAY for j in range(steps)]
        out.append(h.line(1, f"u{k % 3 + 1}", f"i{k % 9 + 1}", (k * 100 + 99) * DAY, hist, times))
    return out


def _by_time(batches, k1):
    """{target time: {feature: first row of its group}} over all batches."""
    rows = {}
    for b in batches:
        for r in range(0, len(b["time"]), k1):
            rows[float(b["time"][r])] = {name: v[r] for name, v in b.items()}
    return rows


def test_batches_are_trimmed_copies_of_the_full_width_rows(write, make_hparams, h):
    path = write("t.txt", _lines(h))
    k1 = 4
    plain = SequentialData(make_hparams(max_seq_length=L, batch_size=4))
    bucketed = SequentialData(make_hparams(max_seq_length=L, batch_size=4, length_bucketing=5))
    full = _by_time(_collect(plain.train_dataset(path, seed=3)), k1)
    batches = _collect(bucketed.train_dataset(path, seed=3))
    assert len(batches) == 10  # 40 lines / 4: every line once, nothing else dropped
    widths = []
    for b in batches:
        width = b["item_history"].shape[1]
        longest = int(b["mask"].sum(axis=1).max())
        assert width == min(L, -(-longest // 2) * 2), (width, longest)  # ceil(L / 5) = 2
        for name in ("item_history", "item_cate_history", "mask", "time_history", "time_to_now"):
            assert b[name].shape == (16, width), name
        widths.append(width)
    assert sorted(_by_time(batches, k1)) == sorted(full)
    for t, row in _by_time(batches, k1).items():
        ref = full[t]
        width = row["mask"].shape[0]
        assert ref["mask"][width:].sum() == 0  # only padding was cut
        for name, value in row.items():
            expected = ref[name][:width] if np.ndim(value) == 1 else ref[name]
            np.testing.assert_array_equal(value, expected, err_msg=name)
    # sorting windows of 5 batches make most batches narrower than L
    assert np.mean(widths) < 0.8 * L, widths


def test_same_seed_same_batches(write, make_hparams, h):
    path = write("t.txt", _lines(h))
    data = SequentialData(make_hparams(max_seq_length=L, batch_size=4, length_bucketing=3))
    a = _collect(data.train_dataset(path, seed=5))
    b = _collect(data.train_dataset(path, seed=5))
    c = _collect(data.train_dataset(path, seed=6))
    for x, y in zip(a, b):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    assert any(x["time"].shape != y["time"].shape or (x["time"] != y["time"]).any()
               for x, y in zip(a, c))  # fmt: skip


def test_negative_window_is_refused(make_hparams):
    with pytest.raises(ValueError, match="length_bucketing"):
        make_hparams(length_bucketing=-1)
