import math

import numpy as np

from tf_lsrec.io.iterator import SequentialIterator

DAY = 86_400


def test_eval_batches_by_hand(write, make_hparams, h):
    lines = [
        h.line(1, "u2", "i3", 7 * DAY, ["i1", "i2", "i5"], [0, DAY, 3 * DAY]),
        h.line(0, "nobody", "i9", 7 * DAY, ["i1", "i2", "i5"], [0, DAY, 3 * DAY]),
        h.line(1, "u1", "i4", DAY, ["i6"], [0]),
    ]
    it = SequentialIterator(make_hparams(batch_size=2, max_seq_length=2))
    batches = list(it.load_data_from_file(write("v.txt", lines)))
    assert [len(b["items"]) for b in batches] == [2, 1]  # partial last batch emitted
    b = batches[0]
    assert b["labels"].tolist() == [[1.0], [0.0]] and b["users"].tolist() == [1, 0]
    assert b["items"].tolist() == [3, 9] and b["cates"].tolist() == [1, 1]
    assert b["item_history"].tolist() == [[2, 5], [2, 5]]  # last two of three
    assert b["mask"].tolist() == [[1, 1], [1, 1]]
    # full history days 0,1,3, target day 7; kept positions are steps 1 and 2
    np.testing.assert_allclose(b["time_diff"][0], [math.log(2), math.log(4)], rtol=1e-6)
    np.testing.assert_allclose(
        b["time_from_first_action"][0], [math.log(3), math.log(7)], rtol=1e-6
    )
    np.testing.assert_allclose(b["time_to_now"][0], [math.log(6), math.log(4)], rtol=1e-6)
    last = batches[1]
    assert last["item_history"].tolist() == [[6, 0]] and last["mask"].tolist() == [[1, 0]]
    assert last["time_to_now"][0, 1] == 0.0 and last["time"].dtype == np.float64


def _positives(h, n, same=None):
    return [
        h.line(1, "u1", same or f"i{k + 1}", (10 + k) * DAY, ["i1", "i2"], [0, DAY])
        for k in range(n)
    ]


def test_training_negatives_and_minimum_batch(write, make_hparams, h):
    path = write("t.txt", _positives(h, 9))
    it = SequentialIterator(make_hparams(batch_size=5, train_num_ngs=2))
    batches = list(it.load_data_from_file(path, batch_num_ngs=2))
    assert len(batches) == 1  # the last batch of 4 instances is under the minimum of 5
    b = batches[0]
    assert b["labels"][:, 0].tolist() == [1, 0, 0] * 5
    blocks = b["items"].reshape(5, 3)
    assert (blocks[:, 1:] != blocks[:, :1]).all()
    assert [h.CATES[h.cate_of(f"i{i}")] for i in b["items"]] == b["cates"].tolist()


def test_seeded_shuffle_is_reproducible(write, make_hparams, h):
    path = write("t.txt", _positives(h, 9))
    a = list(SequentialIterator(make_hparams()).load_data_from_file(path, batch_num_ngs=3))
    b = list(SequentialIterator(make_hparams()).load_data_from_file(path, batch_num_ngs=3))
    assert a[0]["items"].tolist() == b[0]["items"].tolist()


def test_all_equal_targets_terminate(write, make_hparams, h):
    it = SequentialIterator(make_hparams())
    b = next(it.load_data_from_file(write("t.txt", _positives(h, 5, "i4")), batch_num_ngs=3))
    assert b["items"].tolist() == [4, 0, 0, 0] * 5 and it.negative_fallbacks == 5


def test_parse_cache_per_file(write, make_hparams, h):
    path = write("t.txt", _positives(h, 3))
    it = SequentialIterator(make_hparams())
    first = it.parse_file(path)
    assert it.parse_file(path) is first and len(first) == 3
