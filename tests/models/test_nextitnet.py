"""NextItNet: it learns; blocks are causal and residual; training reaches every position's next
item (the reference's iterator), evaluation reads the last real step."""

import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import short_and_full_batch
from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.nextitnet import NextItNetBlock, NextItNetModel


@pytest.mark.slow
def test_nextitnet_learns_on_planted_data(assert_learns):
    # 3 blocks, 3 epochs, lr 0.005: ~0.75 test AUC (GAUC ~0.76) training every position. The
    # planted file expands histories (a line per prefix), so the early positions of a user are
    # trained once per later line; the bar is 0.72 (a model blind to the history sits at ~0.5
    # against these popularity-sampled negatives).
    assert_learns("nextitnet", min_auc=0.72, min_seq_length=3, dilations=[1, 2, 4])


@pytest.mark.slow
def test_every_position_learns_from_one_line_per_user(make_hparams, tmp_path):
    """The reference's NextItNet data: one training line per user (its longest history). Only
    the every-position objective learns the sequences from it (measured: test AUC 0.68 against
    0.53 for ``last``, which sees 300 targets)."""
    from tf_lsrec.io import format as fmt
    from tf_lsrec.models import get_model_class

    aucs = {}
    for positions in ("all", "last"):
        hp = make_hparams(
            "nextitnet", MODEL_DIR=None, save_model=False, min_seq_length=3,
            dilations=[1, 2, 4], batch_size=32, epochs=8, nextitnet_train_positions=positions,
        )  # fmt: skip
        last_line = {}
        with open(hp.train_file, encoding="utf-8") as f:
            for line in f:
                last_line[line.split(fmt.FIELD_SEPARATOR)[fmt.USER]] = line
        per_user = tmp_path / "train_per_user"
        per_user.write_text("".join(last_line.values()), encoding="utf-8")
        hp.update(train_file=str(per_user))
        model = get_model_class("nextitnet")(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
        aucs[positions] = model.run_eval(hp.test_file, num_ngs=9)["auc"]
    assert aucs["all"] >= 0.64 and aucs["all"] >= aucs["last"] + 0.08, aucs


def test_block_is_causal_with_the_dilated_receptive_field():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 12, 6)).astype(np.float32)
    block = NextItNetBlock(dilation=2, kernel_size=3, seed=1)
    base = block(tf.constant(x)).numpy()
    assert base.shape == x.shape
    assert [c.filters for c in block.convs] == [3, 3, 6]
    changed = x.copy()
    changed[0, 6] += 1.0
    moved = np.abs(block(tf.constant(changed)).numpy() - base).max(-1)[0]
    # steps before 6 never see step 6; steps 6, 8, 10 see it (dilation 2, kernel 3); others don't
    assert np.all(moved[:6] == 0.0)
    assert np.all(moved[[6, 8, 10]] > 0.0)
    assert np.all(moved[[7, 9, 11]] == 0.0)


def test_user_vector_is_the_last_real_step(make_hparams):
    model = NextItNetModel(make_hparams("nextitnet"))
    L = model.hparams.max_seq_length
    batch = dummy_batch(2, L)
    mask = np.zeros((2, L), np.float32)
    mask[0, :4] = 1
    mask[1, :] = 1
    hist = np.arange(2 * L).reshape(2, L) % 30 + 1
    batch["mask"] = tf.constant(mask)
    batch["item_history"] = tf.constant(hist, tf.int32)
    emb = model.forward(batch)["embeddings"]
    out = model.run_encoder(batch, emb, False)
    seq, output = out["sequence_output"].numpy(), out["output"].numpy()
    D = seq.shape[-1]
    np.testing.assert_allclose(output[0, :D], seq[0, 3], rtol=1e-6)
    np.testing.assert_allclose(output[1, :D], seq[1, L - 1], rtol=1e-6)
    np.testing.assert_allclose(output[:, D:], emb["target"].numpy(), rtol=1e-6)
    hist[0, 4:] = 17  # padding content of row 0 cannot reach step 3
    batch["item_history"] = tf.constant(hist, tf.int32)
    again = model.run_encoder(batch, model.forward(batch)["embeddings"], False)
    np.testing.assert_allclose(again["output"].numpy(), output, rtol=1e-6)


def test_bad_dilations_are_rejected(make_hparams):
    with pytest.raises(ValueError, match="dilations"):
        NextItNetModel(make_hparams("nextitnet", dilations=[1, 0]))


def _training_batch(L):
    """``short_and_full_batch`` (lengths 3 and L, targets 5 and 9) as two training groups of
    ``1 + K = 2`` rows."""
    return {k: tf.repeat(v, 2, axis=0) for k, v in short_and_full_batch(L).items()}


def test_position_targets_are_the_next_items_by_hand(make_hparams):
    model = NextItNetModel(make_hparams("nextitnet", train_num_ngs=1))
    L = model.hparams.max_seq_length
    got = model.position_targets(_training_batch(L))
    hist = np.arange(2 * L).reshape(2, L) % 30 + 1
    items, valid = got["items"].numpy(), got["valid"].numpy()
    np.testing.assert_array_equal(items[0, :3], [hist[0, 1], hist[0, 2], 5])
    assert np.all(items[0, 3:] == 0)
    np.testing.assert_array_equal(valid[0], [1, 1, 1] + [0] * (L - 3))
    np.testing.assert_array_equal(items[1], [*hist[1, 1:], 9])
    assert valid[1].all()
    cates = [hist[0, 1] % 7 + 1, hist[0, 2] % 7 + 1, 1]  # the target's category is 1
    np.testing.assert_array_equal(got["cates"].numpy()[0, :3], cates)


def _probe_gradient(model, batch, item: int) -> float:
    """|d loss / d probe| where ``probe`` is added to the *candidate* embedding of ``item``
    (the scored target side only, not the history input)."""
    probe = tf.Variable(
        tf.zeros([model.hparams.item_embedding_dim + model.hparams.cate_embedding_dim])
    )
    embed_targets = model.embed_targets

    def probed(items, cates, training):
        out = embed_targets(items, cates, training)
        hit = tf.cast(tf.equal(items, item), probe.dtype)[..., None]
        out["target"] = out["target"] + hit * probe
        return out

    model.embed_targets = probed
    with tf.GradientTape() as tape:
        loss = model.compute_loss_parts(batch, training=True)["data_loss"]
    grad = tape.gradient(loss, probe)
    return 0.0 if grad is None else float(tf.reduce_max(tf.abs(grad)))


@pytest.mark.parametrize("positions", ["all", "last"])
def test_loss_reaches_an_early_positions_target_only_when_training_every_position(
    make_hparams, positions
):
    model = NextItNetModel(
        make_hparams("nextitnet", train_num_ngs=1, nextitnet_train_positions=positions)
    )
    L = model.hparams.max_seq_length
    batch = _training_batch(L)
    hist = batch["item_history"].numpy()
    hist[:2, 1] = 29  # the next item of step 0 of the short row (both rows of its group)
    hist[2:, :] = np.where(hist[2:, :] == 29, 28, hist[2:, :])
    batch["item_history"] = tf.constant(hist)
    assert (hist == 29).sum() == 2 and 29 not in batch["items"].numpy()  # used nowhere else
    grad = _probe_gradient(model, batch, item=29)
    if positions == "all":
        assert grad > 1e-6
    else:
        assert grad == 0.0  # only the lines' targets (5, 9) are scored


def test_padded_positions_are_not_in_the_loss(make_hparams):
    model = NextItNetModel(make_hparams("nextitnet", train_num_ngs=1))
    L = model.hparams.max_seq_length
    batch = _training_batch(L)
    tf.random.set_seed(3)
    before = model.compute_loss_parts(batch, training=False)["data_loss"].numpy()
    hist = batch["item_history"].numpy()
    hist[:2, 3:] = 17  # the short row's padding
    padded = {**batch, "item_history": tf.constant(hist)}
    tf.random.set_seed(3)
    after = model.compute_loss_parts(padded, training=False)["data_loss"].numpy()
    np.testing.assert_allclose(after, before, rtol=1e-6)


def test_every_position_loss_starts_near_log_group_size(make_hparams):
    model = NextItNetModel(make_hparams("nextitnet", train_num_ngs=4))
    batch = next(iter(model.data.train_dataset(model.hparams.train_file)))
    loss = model.compute_loss_parts(batch, training=False)["data_loss"].numpy()
    assert abs(loss - np.log(5)) < 0.1
