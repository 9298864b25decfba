"""BERT4Rec: it learns; the encoder is bidirectional and scores at a [MASK] appended to the
history; the cloze task hides the chosen steps behind the [MASK] and predicts them."""

import numpy as np
import pytest
import tensorflow as tf

import tf_lsrec.models.bert4rec as bert4rec_module
from tests.models.helpers import length_mask, short_and_full_batch
from tf_lsrec.layers.cloze import apply_cloze, cloze_positions
from tf_lsrec.models.bert4rec import BERT4RecModel


@pytest.mark.slow
def test_bert4rec_learns_on_planted_data(assert_learns):
    # measured: test AUC 0.784 (GAUC 0.773) after 3 epochs; 0.743 at lr 0.005
    assert_learns("bert4rec", num_blocks=1, num_heads=2, transformer_dropout=0.1,
                  learning_rate=0.01)  # fmt: skip


def _model(make_hparams, **overrides):
    return BERT4RecModel(make_hparams("bert4rec", transformer_dropout=0.0, **overrides))


def _training_batch(L):
    """``short_and_full_batch`` as two training groups of ``1 + K = 2`` rows each."""
    return {k: tf.repeat(v, 2, axis=0) for k, v in short_and_full_batch(L).items()}


# ---------------------------------------------------------------- cloze masking, by hand
def test_cloze_positions_by_hand():
    valid = tf.constant([[True, True, True, False], [True, True, True, True]])
    u = tf.constant([[0.1, 0.5, 0.19, 0.0], [0.2, 0.99, 0.0, 0.3]])
    got = cloze_positions(valid, 0.2, u).numpy()
    # hidden where real and u < 0.2 (0.2 itself is not < 0.2; padding never)
    np.testing.assert_array_equal(got, [[1, 0, 1, 0], [0, 0, 1, 0]])


def test_apply_cloze_replaces_exactly_the_hidden_steps():
    x = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    masked = np.array([[False, True, False], [True, False, True]])
    token = np.array([-1.0, -2.0], np.float32)
    got = apply_cloze(tf.constant(x), tf.constant(masked), tf.constant(token)).numpy()
    expected = x.copy()
    expected[masked] = token
    np.testing.assert_array_equal(got, expected)


def test_bad_mask_probability_is_rejected():
    with pytest.raises(ValueError, match="expected in"):
        cloze_positions(tf.constant([[True]]), 1.0, tf.constant([[0.5]]))


# ---------------------------------------------------------------- the model's mechanism
def test_user_vector_is_the_mask_slot_and_logit_a_dot_product(make_hparams):
    model = _model(make_hparams)
    L = model.hparams.max_seq_length
    out = model.forward(short_and_full_batch(L))
    seq = out["sequence_output"].numpy()
    assert seq.shape[1] == L + 1  # room for a full history's [MASK]
    user = model.projection(tf.constant(np.stack([seq[0, 3], seq[1, L]]))).numpy()  # slot ℓ
    target = out["embeddings"]["target"].numpy()
    np.testing.assert_allclose(out["logits"].numpy()[:, 0], (user * target).sum(-1), rtol=1e-5)


def test_encoder_is_bidirectional_and_padding_is_invisible(make_hparams):
    model = _model(make_hparams)
    L = model.hparams.max_seq_length
    x = tf.random.stateless_normal([1, 6, model.mask_vector().shape[0]], seed=[1, 2])
    mask = tf.constant(length_mask([5], 6))
    base = model.encode(x, mask, training=False).numpy()
    later = x.numpy().copy()
    later[0, 3] += 3.0  # a step after step 0
    moved = model.encode(tf.constant(later), mask, training=False).numpy()
    assert np.abs(moved[0, 0] - base[0, 0]).max() > 1e-3  # step 0 reads step 3
    padding = x.numpy().copy()
    padding[0, 5] += 3.0
    np.testing.assert_allclose(
        model.encode(tf.constant(padding), mask, training=False).numpy(), base, atol=1e-6
    )
    # the short row's padding content does not reach its score
    before = model(short_and_full_batch(L)).numpy()
    np.testing.assert_allclose(model(short_and_full_batch(L, pad_item=17)).numpy(), before,
                               rtol=1e-6)  # fmt: skip


def test_cloze_sequences_are_history_then_target(make_hparams):
    model = _model(make_hparams, train_num_ngs=1)
    L = model.hparams.max_seq_length
    seqs = model.cloze_sequences(_training_batch(L))
    items, valid = seqs["items"].numpy(), seqs["valid"].numpy()
    hist = np.arange(2 * L).reshape(2, L) % 30 + 1
    np.testing.assert_array_equal(items[0, :4], [*hist[0, :3], 5])
    assert np.all(items[0, 4:] == 0) and valid[0].sum() == 4
    np.testing.assert_array_equal(items[1], [*hist[1], 9])
    assert valid[1].all() and items.shape == (2, L + 1)
    np.testing.assert_array_equal(seqs["cates"].numpy()[0, :4], [*(hist[0, :3] % 7 + 1), 1])


def test_cloze_loss_encodes_the_masked_sequence(make_hparams, monkeypatch):
    """The cloze loss feeds the encoder the sequence with the chosen steps replaced by the
    [MASK] vector, and scores exactly those steps."""
    model = _model(make_hparams, train_num_ngs=1)
    L = model.hparams.max_seq_length
    batch = _training_batch(L)
    model(batch)  # build
    chosen = np.zeros((2, L + 1), bool)
    chosen[0, [1, 3]] = True  # a history step and the target slot of the short row
    chosen[1, 0] = True
    chosen[0, 6] = True  # padding: must be dropped by cloze_positions' valid mask
    monkeypatch.setattr(
        bert4rec_module, "cloze_positions", lambda valid, p, u: tf.logical_and(valid, chosen)
    )
    seen = {}
    encode = model.encode

    def spy(x, mask, training):
        seen["x"], seen["mask"] = x.numpy(), mask.numpy()
        return encode(x, mask, training)

    monkeypatch.setattr(model, "encode", spy)
    token = model.mask_vector().numpy()
    with tf.GradientTape() as tape:
        loss = model.cloze_loss(batch, training=False)
    assert np.isfinite(loss.numpy()) and loss.numpy() > 0
    x = seen["x"]
    hidden = chosen & seen["mask"].astype(bool)
    np.testing.assert_allclose(x[hidden], np.tile(token, (3, 1)))
    seqs = model.cloze_sequences(batch)
    plain = model.embed_targets(seqs["items"], seqs["cates"], False)["target"].numpy()
    np.testing.assert_allclose(x[~hidden], plain[~hidden])
    grad = tape.gradient(loss, model.mask_token.embeddings)
    assert grad is not None and np.abs(tf.convert_to_tensor(grad).numpy()).max() > 0


def test_cloze_loss_is_in_the_training_loss_and_can_be_turned_off(make_hparams):
    model = _model(make_hparams, train_num_ngs=1)
    batch = _training_batch(model.hparams.max_seq_length)
    parts = model.compute_loss_parts(batch, training=True)
    assert parts["cloze_loss"].numpy() > 0
    np.testing.assert_allclose(
        parts["total_loss"].numpy(),
        sum(parts[k].numpy() for k in ("data_loss", "regular_loss", "cloze_loss")),
        rtol=1e-6,
    )
    off = _model(make_hparams, train_num_ngs=1, bert4rec_cloze_weight=0.0)
    assert "cloze_loss" not in off.compute_loss_parts(batch, training=True)
