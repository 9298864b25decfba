"""Tests for tf_lsrec/models/seq2seq.py: history split, the auxiliary layer, and GRU4Rec with it.

Every ``SequentialModel`` adds ``seq2seq_loss`` to its loss parts when ``seq2seq_loss_weight > 0``.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tf_lsrec.models import get_model_class
from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.gru4rec import GRU4RecModel
from tf_lsrec.models.objectives import Seq2SeqObjective
from tf_lsrec.models.seq2seq import (
    Seq2SeqSelfSupervision,
    first_occurrences,
    same_history,
    split_history,
)

# SequentialModel builds the auxiliary layer itself when ``seq2seq_loss_weight > 0``.
GRU4RecSeq2Seq = GRU4RecModel


def mask_of(lengths, max_len):
    return tf.constant((np.arange(max_len)[None, :] < np.array(lengths)[:, None]).astype("f4"))


def make_batch(lengths, max_len=10, seed=0):
    rng = np.random.default_rng(seed)
    mask = mask_of(lengths, max_len)
    items = rng.integers(1, 50, size=(len(lengths), max_len)) * mask.numpy().astype(int)
    batch = {"mask": mask, "item_history": tf.constant(items, tf.int32)}
    emb = {"history": tf.constant(rng.normal(size=(len(lengths), max_len, 6)), tf.float32)}
    return batch, emb


# ----------------------------------------------------------------- split
def test_split_history_hand_computed():
    # F = 3: f = min(3, l // 2) -> l = 0, 1, 2, 5, 10 give f = 0, 0, 1, 2, 3
    past, future, ok = split_history(mask_of([0, 1, 2, 5, 10], 10), 3)
    np.testing.assert_array_equal(ok.numpy(), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(past.numpy().sum(1), [0, 0, 1, 3, 7])
    np.testing.assert_array_equal(future.numpy().sum(1), [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(future.numpy()[3], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(past.numpy()[3], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(future.numpy()[4], [0] * 7 + [1] * 3)
    with pytest.raises(ValueError, match="future_length"):
        split_history(mask_of([3], 4), 0)


def test_same_history_compares_kept_items_only():
    items = tf.constant([[1, 2, 0], [1, 2, 9], [1, 3, 0], [1, 2, 0]])
    mask = mask_of([2, 2, 2, 3], 3)  # row 1 differs only in padding; row 3 is longer
    got = same_history(items, mask).numpy()
    expect = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(got, expect)


def test_first_occurrences_keeps_one_row_per_history():
    rows = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]  # rows 0 = 2 and 1 = 3
    same = tf.constant(np.array(rows, dtype=bool))
    np.testing.assert_array_equal(first_occurrences(same).numpy(), [0, 1])
    np.testing.assert_array_equal(first_occurrences(tf.eye(3, dtype=tf.bool)).numpy(), [0, 1, 2])


# ----------------------------------------------------------------- layer
def test_dedupe_equals_the_loss_on_distinct_histories():
    batch, emb = make_batch([6, 8, 4], seed=3)
    layer = Seq2SeqSelfSupervision(num_intentions=3, keep_ratio=0.6)
    distinct = float(layer(batch, emb))
    order = [0, 0, 1, 2, 2, 1, 0]  # copies, as a training batch with negatives has
    copied = {k: tf.gather(v, order) for k, v in batch.items()}
    copied_emb = {"history": tf.gather(emb["history"], order)}
    np.testing.assert_allclose(float(layer(copied, copied_emb, training=True)), distinct, rtol=1e-5)
    assert int(layer.rows_used.numpy()) == 7  # counters count every row
    # without dedupe, copies are excluded as negatives: on distinct rows both agree exactly
    plain = Seq2SeqSelfSupervision.from_config({**layer.get_config(), "dedupe": False})
    plain(batch, emb)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(float(plain(batch, emb)), distinct, rtol=1e-6)
    assert np.isfinite(float(plain(copied, copied_emb)))


def test_config_round_trip_and_validation():
    layer = Seq2SeqSelfSupervision(
        num_intentions=3, keep_ratio=0.4, future_length=4, temperature=0.3, keep_by="weight"
    )
    batch, emb = make_batch([6, 8])
    before = float(layer(batch, emb))
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(clone) is Seq2SeqSelfSupervision
    assert clone.get_config() == layer.get_config()
    clone(batch, emb)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(float(clone(batch, emb)), before, rtol=1e-6)
    with pytest.raises(ValueError, match="past_encoder"):
        Seq2SeqSelfSupervision(past_encoder="transformer")
    with pytest.raises(ValueError, match="intention_keep_ratio"):
        Seq2SeqSelfSupervision(keep_ratio=0.0)


def test_past_intentions_never_see_the_future_steps():
    layer = Seq2SeqSelfSupervision(num_intentions=2, future_length=2)
    batch, emb = make_batch([6])
    base = layer.encode(batch, emb)
    x = emb["history"].numpy()
    later = x.copy()
    later[0, 4:] += 5.0  # the two future steps (and padding)
    moved = layer.encode(batch, {"history": tf.constant(later)})
    np.testing.assert_array_equal(moved["past"].numpy(), base["past"].numpy())
    assert np.abs(moved["future"].numpy() - base["future"].numpy()).max() > 1e-3
    earlier = x.copy()
    earlier[0, 1] += 5.0  # a past step
    moved = layer.encode(batch, {"history": tf.constant(earlier)})
    assert np.abs(moved["past"].numpy() - base["past"].numpy()).max() > 1e-3
    np.testing.assert_array_equal(moved["future"].numpy(), base["future"].numpy())


def test_short_rows_contribute_nothing_and_are_counted():
    layer = Seq2SeqSelfSupervision(num_intentions=2, future_length=3)
    batch, emb = make_batch([7, 9, 5, 1, 0], seed=1)
    batch["sample_weight"] = tf.constant([1.0, 1.0, 1.0, 1.0, 0.0])  # last row: eval padding
    full = float(layer(batch, emb, training=True))
    assert int(layer.rows_used.numpy()) == 3
    assert int(layer.rows_skipped.numpy()) == 1  # l = 1; the padding row is counted in neither
    head = {k: v[:3] for k, v in batch.items()}
    np.testing.assert_allclose(float(layer(head, {"history": emb["history"][:3]})), full, rtol=1e-6)
    assert int(layer.rows_used.numpy()) == 3  # training=False leaves the counters alone


def test_all_short_batch_gives_zero_loss_and_finite_zero_gradients():
    layer = Seq2SeqSelfSupervision(num_intentions=2)
    batch, emb = make_batch([1, 0, 1])
    x = emb["history"]
    layer(batch, emb)  # build
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = layer(batch, {"history": x}, training=True)
    assert float(loss) == 0.0
    grads = tape.gradient(loss, [x] + layer.trainable_variables)
    for g in grads:
        if g is not None:
            g = tf.convert_to_tensor(g).numpy()
            assert np.all(np.isfinite(g)) and np.all(g == 0)
    assert int(layer.rows_skipped.numpy()) == 3 and int(layer.rows_used.numpy()) == 0


def test_states_encoder_requires_the_models_states():
    layer = Seq2SeqSelfSupervision(num_intentions=2, past_encoder="states")
    batch, emb = make_batch([6, 6])
    with pytest.raises(ValueError, match="past_states"):
        layer(batch, emb)
    states = tf.random.stateless_normal([2, 10, 5], seed=[0, 1])
    assert np.isfinite(float(layer(batch, emb, past_states=states)))
    assert layer.past_projection.kernel.shape == (5, 6)


# ----------------------------------------------------------------- model wiring
def test_weight_zero_adds_nothing_and_weight_scales_the_term(make_hparams):
    off = GRU4RecSeq2Seq(make_hparams("gru4rec", MODEL_DIR=None))
    assert off.seq2seq is None
    assert "seq2seq_loss" not in off.compute_loss_parts(dummy_batch(5, 20), training=True)

    hp = make_hparams("gru4rec", MODEL_DIR=None, seq2seq_loss_weight=0.5, num_intentions=3)
    model = GRU4RecSeq2Seq(hp)
    batch = dummy_batch(5, 20)
    batch["item_history"] = tf.constant(np.arange(100).reshape(5, 20) % 17 + 1, tf.int32)
    parts = model.compute_loss_parts(batch, training=False)
    raw = model.seq2seq(batch, model.forward(batch)["embeddings"])
    np.testing.assert_allclose(float(parts["seq2seq_loss"]), 0.5 * float(raw), rtol=1e-5)
    assert float(raw) > 0
    # the layer's variables exist before training (checkpoints restore into them)
    assert model.seq2seq.intentions.prototypes.shape == (3, 24)


@pytest.mark.parametrize(
    "model_type,encoder", [("gru4rec", "rnn"), ("dien", "interest_gru"), ("sasrec", "blocks")]
)
def test_states_path_trains_the_models_own_encoder(make_hparams, model_type, encoder):
    """``seq2seq_past_encoder: states``: the past intentions come from the model's own causal
    RNN outputs, so the auxiliary loss also trains that RNN and no second GRU runs."""
    hp = make_hparams(
        model_type, MODEL_DIR=None, seq2seq_loss_weight=1.0, seq2seq_past_encoder="states"
    )
    model = get_model_class(model_type)(hp)
    batch = dummy_batch(4, 20)
    batch["item_history"] = tf.constant(np.arange(80).reshape(4, 20) % 13 + 1, tf.int32)
    with tf.GradientTape() as tape:
        outputs = model.forward(batch, training=True)
        loss = Seq2SeqObjective(model.seq2seq, 1.0)(batch, outputs, True)["seq2seq_loss"]
    encoder_layers = getattr(model, encoder)
    if not isinstance(encoder_layers, list):
        encoder_layers = [encoder_layers]
    variables = [v for layer in encoder_layers for v in layer.trainable_variables]
    grads = tape.gradient(loss, variables)
    assert all(g is not None for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(g)))) for g in grads) > 0
    assert model.seq2seq.past_rnn is None  # no second GRU
    assert model.seq2seq.past_projection.kernel.shape[0] == model.history_state_size()


def test_states_path_needs_a_model_with_causal_states(make_hparams):
    hp = make_hparams(
        "sli_rec", MODEL_DIR=None, seq2seq_loss_weight=1.0, seq2seq_past_encoder="states"
    )
    with pytest.raises(ValueError, match="seq2seq_past_encoder: states.*SLIRECModel"):
        get_model_class("sli_rec")(hp)


@pytest.mark.slow
def test_gru4rec_with_seq2seq_loss_learns_on_planted_data(make_hparams):
    hp = make_hparams(
        "gru4rec", MODEL_DIR=None, save_model=False, seq2seq_loss_weight=0.1, epochs=3
    )
    model = GRU4RecSeq2Seq(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    rows = model.train_log.rows
    assert rows[-1]["train_data_loss"] < rows[0]["train_data_loss"]
    assert rows[-1]["train_seq2seq_loss"] < rows[0]["train_seq2seq_loss"], rows
    assert int(model.seq2seq.rows_used.numpy()) > 0
    result = model.run_eval(hp.test_file, num_ngs=9)
    print("seq2seq per epoch:", [round(r["train_seq2seq_loss"], 4) for r in rows], result)
    assert result["auc"] >= 0.75, result


def test_fit_logs_each_epochs_used_and_skipped_rows(make_hparams, capsys):
    """Rows the auxiliary loss skips (history too short to split) are counted per epoch in
    training_log.csv and printed, not silently dropped."""
    hp = make_hparams("gru4rec", seq2seq_loss_weight=0.1, epochs=2, seq2seq_future_length=8)
    model = get_model_class("gru4rec")(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    rows = model.train_log.rows
    used = [r["train_seq2seq_rows_used"] for r in rows]
    skipped = [r["train_seq2seq_rows_skipped"] for r in rows]
    assert all(u > 0 for u in used) and all(s >= 0 for s in skipped)
    assert sum(used) == int(model.seq2seq.rows_used.numpy())
    assert sum(skipped) == int(model.seq2seq.rows_skipped.numpy())
    with open(model.train_log.path) as f:
        header = f.readline()
    assert "train_seq2seq_rows_used" in header and "train_seq2seq_rows_skipped" in header
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("epoch 2 counts:")]
    assert line and f"seq2seq_rows_used {int(used[1])}" in line[0]  # after negative_fallbacks
