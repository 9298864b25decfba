import math

import numpy as np
import pytest

from tf_lsrec.io.iterator import SequentialIterator
from tf_lsrec.io.pipeline import SequentialData, pick_negatives

DAY = 86_400


def _train_lines(h, n=10, same_item=None):
    """n positive lines, user u{k%3+1}, target i{k%9+1}, history of k%6+1 steps, distinct times."""
    out = []
    for k in range(n):
        item = same_item or f"i{k % 9 + 1}"
        steps = k % 6 + 1
        hist = [f"i{(k + j) % 9 + 1}" for j in range(steps)]
        times = [(k * 10 + j) * DAY for j in range(steps)]
        out.append(h.line(1, f"u{k % 3 + 1}", item, (k * 10 + 9) * DAY, hist, times))
    return out


def _collect(ds):
    return [{k: v.numpy() for k, v in b.items()} for b in ds]


def test_eval_order_padding_and_labels(write, make_hparams, h):
    lines = [
        h.line(k % 2, "u1", f"i{k + 1}", (k + 5) * DAY, ["i1", "i2"], [0, DAY]) for k in range(7)
    ]
    data = SequentialData(make_hparams())
    batches = _collect(data.eval_dataset(write("valid.txt", lines), batch_size=3))
    assert len(batches) == 3
    assert all(b["items"].shape == (3,) and b["item_history"].shape == (3, 4) for b in batches)
    items = np.concatenate([b["items"] for b in batches])
    weights = np.concatenate([b["sample_weight"] for b in batches])
    assert weights.tolist() == [1] * 7 + [0, 0]
    assert items[:7].tolist() == [1, 2, 3, 4, 5, 6, 7]  # file order
    assert items[7:].tolist() == [7, 7]  # padding repeats the last real line
    labels = np.concatenate([b["labels"] for b in batches])[:7, 0]
    assert labels.tolist() == [0, 1, 0, 1, 0, 1, 0]


def test_eval_truncation_mask_and_time_features(write, make_hparams, h):
    long_hist = [f"i{j}" for j in range(1, 8)]  # n = 7 > L = 4
    lines = [
        h.line(1, "u1", "i1", 10 * DAY, long_hist, [j * DAY for j in range(7)]),
        h.line(1, "u2", "i2", 3 * DAY, ["i5", "i6"], [0, DAY]),  # n = 2 < L
    ]
    b = _collect(SequentialData(make_hparams()).eval_dataset(write("v.txt", lines)))[0]
    assert b["item_history"][:2].tolist() == [[4, 5, 6, 7], [5, 6, 0, 0]]
    assert b["item_cate_history"][:2].tolist() == [[2, 3, 1, 2], [3, 1, 0, 0]]
    assert b["mask"][:2].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert b["time_history"][1].tolist() == [0.0, DAY, 0.0, 0.0]
    # kept steps at days 3..6, first action day 0, target day 10
    np.testing.assert_allclose(b["time_from_first_action"][0], np.log([4, 5, 6, 10]), rtol=1e-6)
    np.testing.assert_allclose(b["time_to_now"][0], np.log([7, 6, 5, 4]), rtol=1e-6)
    np.testing.assert_allclose(b["time_diff"][1], [0.0, math.log(2), 0.0, 0.0], atol=1e-7)
    assert b["sample_weight"].tolist() == [1, 1, 0, 0, 0]


def test_unknown_ids_map_to_zero_and_are_counted(write, make_hparams, h, caplog):
    lines = [h.line(1, "stranger", "i3", 2 * DAY, ["i1", "mystery"], [0, DAY])]
    data = SequentialData(make_hparams())
    path = write("v.txt", lines)
    with caplog.at_level("WARNING"):
        b = _collect(data.eval_dataset(path))[0]
    assert b["users"][0] == 0 and b["item_history"][0].tolist() == [1, 0, 0, 0]
    assert b["mask"][0].tolist() == [1, 1, 0, 0]  # the unknown step is still a step
    stats = data.file_stats(path)
    assert stats.unknown["users"] == 1 and stats.unknown["history_items"] == 1
    assert "users 1" in caplog.text and "history_items 1" in caplog.text


def test_a_file_is_read_and_its_unknown_ids_reported_once(
    write, make_hparams, h, caplog, monkeypatch
):
    """run_eval checks groups (group_size k + 1), then streams the file (group_size None): one
    read of the file and one warning, not one of each per request."""
    import tf_lsrec.io.pipeline as pipeline

    reads = []
    real_validate = pipeline.validate_file
    monkeypatch.setattr(
        pipeline,
        "validate_file",
        lambda *a, **k: reads.append(k["group_size"]) or real_validate(*a, **k),
    )
    lines = [
        h.line(1, "stranger", "i3", 2 * DAY, ["i1"], [0]),
        h.line(0, "stranger", "i2", 2 * DAY, ["i1"], [0]),
    ]
    data = SequentialData(make_hparams())
    path = write("v.txt", lines)
    with caplog.at_level("WARNING"):
        grouped = data.file_stats(path, group_size=2)
        assert data.file_stats(path) is grouped
        _collect(data.eval_dataset(path))
        assert data.file_stats(path, group_size=2) is grouped
        with pytest.raises(ValueError):  # another layout is still checked
            data.file_stats(path, group_size=1)
    assert reads == [2, 1]
    assert caplog.text.count("ids missing from the vocab") == 1


def test_unknown_ids_reported_once_per_file_version_across_pipelines(
    write, make_hparams, h, caplog
):
    """Two models reading the same file (a notebook comparing models) give one warning; a
    rewritten file is a new version and is reported again."""
    path = write("v2.txt", [h.line(1, "stranger", "i3", 2 * DAY, ["i1"], [0])])
    with caplog.at_level("WARNING"):
        SequentialData(make_hparams()).file_stats(path)
        SequentialData(make_hparams()).file_stats(path, group_size=1)
    assert caplog.text.count("ids missing from the vocab") == 1
    assert "users 1" in caplog.text
    caplog.clear()
    path = write("v2.txt", [h.line(1, "stranger", "i3", 2 * DAY, ["i1", "i2"], [0, 0])])
    with caplog.at_level("WARNING"):
        SequentialData(make_hparams()).file_stats(path)
    assert caplog.text.count("ids missing from the vocab") == 1


def test_min_seq_length_filters_eval_and_train(write, make_hparams, h):
    lines = _train_lines(h, 12)  # history lengths 1..6,1..6
    path = write("t.txt", lines)
    data = SequentialData(make_hparams(min_seq_length=3))
    ev = _collect(data.eval_dataset(path, batch_size=20))[0]
    assert int(ev["sample_weight"].sum()) == 8
    assert ev["mask"][:8].sum(axis=1).min() == 3
    assert int(_collect(data.eval_dataset(path, min_seq_length=1, batch_size=20))[0][
        "sample_weight"].sum()) == 12  # fmt: skip
    tr = _collect(data.train_dataset(path, shuffle=False))
    assert len(tr) == 1  # 8 usable lines, batch 5, remainder dropped
    pos = tr[0]["mask"][::4].sum(axis=1)
    assert pos.min() >= 3


def test_training_layout(write, make_hparams, h):
    path = write("t.txt", _train_lines(h, 10))
    data = SequentialData(make_hparams())
    batches = _collect(data.train_dataset(path, shuffle=False))
    assert len(batches) == 2
    k1 = 4  # K + 1
    item_cate = {v: h.CATES[h.cate_of(k)] for k, v in h.ITEMS.items() if k != "default_mid"}
    for n, b in enumerate(batches):
        assert b["labels"].shape == (20, 1) and b["item_history"].shape == (20, 4)
        assert b["labels"][:, 0].tolist() == [1, 0, 0, 0] * 5
        blocks = b["items"].reshape(5, k1)
        assert blocks[:, 0].tolist() == [(5 * n + i) % 9 + 1 for i in range(5)]
        assert (blocks[:, 1:] != blocks[:, :1]).all()
        assert set(blocks[:, 1:].ravel()) <= set(blocks[:, 0])  # negatives come from the batch
        assert [item_cate[i] for i in b["items"]] == b["cates"].tolist()
        for name in ("users", "time", "item_history", "mask", "time_to_now"):
            v = b[name].reshape((5, k1) + b[name].shape[1:])
            assert (v == v[:, :1]).all(), name
    assert data.negative_fallbacks == 0


def test_seed_determinism_and_whole_file_shuffle(write, make_hparams, h):
    path = write("t.txt", _train_lines(h, 10))
    data = SequentialData(make_hparams())
    a = _collect(data.train_dataset(path, seed=11))
    b = _collect(data.train_dataset(path, seed=11))
    c = _collect(data.train_dataset(path, seed=12))
    for x, y in zip(a, b):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    assert any((x["items"] != y["items"]).any() for x, y in zip(a, c))
    # shuffle_buffer 0 = whole file: every line appears once per epoch
    times = np.concatenate([x["time"][::4] for x in a])
    assert sorted(times.tolist()) == [(k * 10 + 9) * DAY for k in range(10)]


def test_all_equal_targets_terminates_and_counts(write, make_hparams, h):
    path = write("t.txt", _train_lines(h, 5, same_item="i4"))
    data = SequentialData(make_hparams())
    b = _collect(data.train_dataset(path))[0]
    assert b["items"].reshape(5, 4)[:, 1:].tolist() == [[0, 0, 0]] * 5
    assert b["cates"].reshape(5, 4)[:, 1:].tolist() == [[0, 0, 0]] * 5
    assert data.negative_fallbacks == 5


def test_too_few_lines_for_a_training_batch(write, make_hparams, h):
    path = write("t.txt", _train_lines(h, 3))
    with pytest.raises(ValueError, match="3 usable training lines, fewer than batch_size=5"):
        SequentialData(make_hparams()).train_dataset(path)


def test_bad_file_is_reported_before_streaming(write, make_hparams, h):
    path = write("t.txt", _train_lines(h, 6) + ["1\tu1\ti1"])
    with pytest.raises(ValueError, match=r"t\.txt:7: has 3 tab-separated fields"):
        SequentialData(make_hparams()).train_dataset(path)


def test_tf_data_matches_python_iterator(write, make_hparams, h):
    lines = _train_lines(h, 12)
    lines[3] = h.line(0, "ghost", "i77", 5 * DAY, ["i1", "zz", "i2"], [0, DAY, 4 * DAY])
    path = write("t.txt", lines)
    hp = make_hparams(batch_size=5, min_seq_length=2)
    data, it = SequentialData(hp), SequentialIterator(hp)
    # evaluation: identical tensors on the real rows
    ours = _collect(data.eval_dataset(path, min_seq_length=2))
    ref = list(it.load_data_from_file(path, batch_num_ngs=0, min_seq_length=2))
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        n = len(b["items"])
        assert set(a) == set(b)
        for key in b:
            assert a[key].dtype == b[key].dtype, key
            if key.startswith("time_") and key != "time_history":
                np.testing.assert_allclose(a[key][:n], b[key], rtol=1e-6, err_msg=key)
            else:
                np.testing.assert_array_equal(a[key][:n], b[key], err_msg=key)
    # training: the positive rows carry the same features (negatives are random in both);
    # a training file holds positives only (a label-0 line is an error, tests/reliability)
    lines[3] = "1" + lines[3][1:]
    path = write("train.txt", lines)
    tr = _collect(data.train_dataset(path, shuffle=False))
    it_tr = list(it.load_data_from_file(path, batch_num_ngs=3, min_seq_length=2))

    def positives(batches):
        rows = {}
        for b in batches:
            for r in np.flatnonzero(b["labels"][:, 0] == 1):
                rows[b["time"][r]] = (b["items"][r], b["users"][r], b["item_history"][r].tolist())
        return rows

    p_ours, p_ref = positives(tr), positives(it_tr)
    assert len(p_ours) == 10 and set(p_ours) == set(p_ref)  # 10 usable lines = 2 full batches
    assert all(p_ours[t][0] == p_ref[t][0] and p_ours[t][2] == p_ref[t][2] for t in p_ours)


def test_pick_negatives_by_hand():
    """Index ``floor(u · count)`` among the pool entries that differ from each query."""
    import tensorflow as tf

    pool = tf.constant([5, 5, 7, 9])
    queries = tf.constant([5, 7, 5])
    u = tf.constant([[0.0, 0.99], [0.5, 0.7], [0.49, 0.5]])
    idx, has = pick_negatives(pool, queries, u)
    # query 5: differing entries at 2, 3; query 7: at 0, 1, 3 (u 0.5 -> 2nd, 0.7 -> 3rd)
    assert idx.numpy().tolist() == [[2, 3], [1, 3], [2, 3]]
    assert has.numpy().all()
    idx, has = pick_negatives(tf.constant([4, 4]), tf.constant([4]), tf.constant([[0.3]]))
    assert idx.numpy().tolist() == [[0]] and not has.numpy()[0]
