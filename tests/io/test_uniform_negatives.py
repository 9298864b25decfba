"""``train_negatives: uniform``: training negatives drawn from the item catalogue."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec import prepare_hparams
from tf_lsrec.hparams import HParamsError
from tf_lsrec.io.pipeline import SequentialData, refuse_uniform_negatives, uniform_negatives

DAY = 86_400


def _lines(h, n, target="i4", history_items=9):
    """n positive lines of user u1 with target ``target``; histories cycle over the first
    ``history_items`` items."""
    out = []
    for k in range(n):
        hist = [f"i{(k + j) % history_items + 1}" for j in range(3)]
        times = [(k * 10 + j) * DAY for j in range(3)]
        out.append(h.line(1, "u1", target, (k * 10 + 9) * DAY, hist, times))
    return out


def _draw(position, pool_size, targets, k, seed=(1, 2)):
    return uniform_negatives(
        tf.constant(targets, tf.int32),
        tf.constant(position, tf.int64),
        pool_size,
        k,
        tf.constant(seed, tf.int64),
    ).numpy()


def test_uniform_draws_skip_the_target_and_cover_the_rest_evenly():
    # vocab of 6 indices; catalogue positions: index 0 (default) outside, 1..5 -> 0..4
    position = [-1, 0, 1, 2, 3, 4]
    draws = _draw(position, 5, [3] * 4000, 10)  # target index 3 = position 2
    assert draws.shape == (4000, 10) and draws.dtype == np.int32
    counts = np.bincount(draws.ravel(), minlength=5)
    assert counts[2] == 0
    # 40,000 draws over 4 positions: 10,000 each, binomial sd ~87
    np.testing.assert_allclose(counts[[0, 1, 3, 4]], 10_000, atol=400)


def test_a_target_outside_the_catalogue_may_meet_every_item():
    counts = np.bincount(_draw([-1, 0, 1, 2], 3, [0] * 3000, 10).ravel(), minlength=3)
    np.testing.assert_allclose(counts, 10_000, atol=400)


def test_uniform_draws_are_seeded():
    position = [-1, 0, 1, 2, 3, 4]
    a, b = _draw(position, 5, [1, 2, 3], 4), _draw(position, 5, [1, 2, 3], 4)
    np.testing.assert_array_equal(a, b)
    assert (a != _draw(position, 5, [1, 2, 3], 4, seed=(3, 4))).any()


def test_uniform_training_batches_draw_from_the_catalogue(write, make_hparams, h):
    # every target is i4: in-batch sampling has no negative at all (fallbacks), uniform has 8
    path = write("t.txt", _lines(h, 200))
    data = SequentialData(make_hparams(train_negatives="uniform", batch_size=50))
    batches = [{k: v.numpy() for k, v in b.items()} for b in data.train_dataset(path)]
    assert len(batches) == 4
    negatives = np.concatenate([b["items"].reshape(50, 4)[:, 1:].ravel() for b in batches])
    cates = np.concatenate([b["cates"].reshape(50, 4)[:, 1:].ravel() for b in batches])
    assert 4 not in negatives and 0 not in negatives
    assert set(negatives) == {1, 2, 3, 5, 6, 7, 8, 9}
    # each negative carries its category as the file has it (i<k> -> c<k % 3 + 1>)
    assert (cates == negatives % 3 + 1).all()
    assert all((b["labels"][:, 0].reshape(50, 4) == [1, 0, 0, 0]).all() for b in batches)
    assert data.negative_fallbacks == 0
    again = [b["items"].numpy() for b in data.train_dataset(path)]
    assert all((x == b["items"]).all() for x, b in zip(again, batches))


def test_items_without_a_category_in_the_file_get_category_zero_and_are_reported(
    write, make_hparams, h, caplog
):
    # histories use i1..i3 only: i5..i9 never appear in the training file
    path = write("t.txt", _lines(h, 100, history_items=3))
    data = SequentialData(make_hparams(train_negatives="uniform", batch_size=50))
    with caplog.at_level("INFO"):
        pool = data.negative_pool(path)
    assert len(pool) == 9 and pool.items.tolist() == list(range(1, 10))
    assert pool.cates.tolist() == [2, 3, 1, 2, 0, 0, 0, 0, 0]  # i4 is the target: c2
    assert "uniform training negatives over 9 catalogue items (5 have no category" in caplog.text
    assert data.negative_pool(path) is pool  # built once per file version


def test_unknown_train_negatives_is_refused_with_the_key(make_hparams):
    with pytest.raises(HParamsError, match="train_negatives.*'popular'.*in_batch"):
        make_hparams(train_negatives="popular")


def test_models_with_their_own_in_batch_negatives_refuse_uniform(vocab_files):
    refuse_uniform_negatives(prepare_hparams(model_type="bert4rec"), "BERT4Rec")  # default
    hp = prepare_hparams(
        model_type="bert4rec",
        train_negatives="uniform",
        user_vocab=vocab_files["user"],
        item_vocab=vocab_files["item"],
        cate_vocab=vocab_files["cate"],
    )
    from tf_lsrec.models.bert4rec import BERT4RecModel

    with pytest.raises(HParamsError, match="train_negatives = 'uniform': BERT4Rec"):
        BERT4RecModel(hp, seed=1)


def test_the_pool_comes_from_the_lookup_not_from_vocab_paths(write, vocab_files, h):
    # tools/run.py keeps the prepared data paths out of hparams and hands the model a lookup
    from tf_lsrec.io.lookup import VocabLookup

    lookup = VocabLookup.from_files(vocab_files["user"], vocab_files["item"], vocab_files["cate"])
    hp = prepare_hparams(model_type="gru4rec", train_negatives="uniform", batch_size=50)
    assert not hp.get("item_vocab")
    data = SequentialData(hp, lookup)
    batch = next(iter(data.train_dataset(write("t.txt", _lines(h, 100)))))
    negatives = batch["items"].numpy().reshape(50, 5)[:, 1:]
    assert negatives.min() >= 1 and 4 not in negatives
