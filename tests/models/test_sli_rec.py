"""SLi-Rec: it learns, its gate mixes the two interests, and its reference quirks are switchable."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.blocks import last_time_to_now
from tf_lsrec.models.sli_rec import SLIRECModel


# On this planted data a hand-coded rule (score = share of the target's category in the history)
# reaches test AUC 0.865, and chance is 0.5. Measured SLi-Rec test AUC / group AUC (tiny
# hyper-parameters, lr 0.005): 3 epochs, seeds 1 7 8 9: 0.780 / 0.787, 0.757 / 0.789,
# 0.742 / 0.810, 0.744 / 0.803; 6 epochs, seeds 1 7: 0.830 / 0.840, 0.816 / 0.835.
def test_sli_rec_learns_on_planted_data(assert_learns):
    # fast: 3 epochs, seed 1 (0.780 / 0.787), the bar restored to 0.75 and group AUC >= 0.77
    _, result = assert_learns("sli_rec", min_auc=0.75, seed=1)
    assert result["group_auc"] >= 0.77, result
    assert set(result) >= {"auc", "logloss", "mean_mrr", "ndcg@2", "hit@2", "group_auc", "wauc"}


@pytest.mark.slow
def test_sli_rec_learns_the_planted_categories_nearly_as_well_as_the_rule(assert_learns):
    # 6 epochs (seeds 1 and 7 gave 0.830 and 0.816): AUC >= 0.80, within 0.07 of the category
    # rule's 0.865, where the 3-epoch budget stops short of it
    _, result = assert_learns("sli_rec", min_auc=0.80, seed=1, epochs=6)
    assert result["group_auc"] >= 0.80, result


def _batch(model, length):
    L = model.hparams.max_seq_length
    b = dummy_batch(2, L)
    rng = np.random.default_rng(0)
    b["item_history"] = tf.constant(rng.integers(1, 20, size=(2, L)), tf.int32)
    b["item_cate_history"] = tf.constant(rng.integers(1, 5, size=(2, L)), tf.int32)
    mask = np.zeros((2, L), np.float32)
    mask[:, :length] = 1
    b["mask"] = tf.constant(mask)
    b["items"] = tf.constant([3, 4])
    b["cates"] = tf.constant([1, 2])
    ttn = rng.normal(size=(2, L)).astype(np.float32) * mask
    b["time_to_now"] = tf.constant(ttn)
    b["time_from_first_action"] = tf.constant(ttn[:, ::-1].copy() * mask)
    return b


def test_fusion_weight_in_unit_interval_and_gradients_reach_both_interests(make_hparams):
    model = SLIRECModel(make_hparams("sli_rec"))
    batch = _batch(model, 5)
    with tf.GradientTape() as tape:
        out = model.forward(batch, training=True)
        loss = tf.reduce_sum(out["logits"])
    alpha = out["alpha"].numpy()
    assert np.all((alpha > 0) & (alpha < 1))
    grads = dict(
        zip(
            [v.name for v in model.trainable_variables],
            tape.gradient(loss, model.trainable_variables),
        )
    )
    long_grads = [g for n, g in grads.items() if "long_term_attention" in n]
    short_grads = [g for n, g in grads.items() if "short_term_rnn" in n]
    assert long_grads and short_grads
    assert any(float(tf.reduce_sum(tf.abs(g))) > 0 for g in long_grads)
    assert any(float(tf.reduce_sum(tf.abs(g))) > 0 for g in short_grads)


def test_fusion_time_feature_reads_last_column_or_last_event():
    batch = {
        "time_to_now": tf.constant([[1.0, 2.0, 0.0, 0.0], [5.0, 6.0, 7.0, 8.0]]),
        "mask": tf.constant([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]),
    }
    # Reference quirk: the last slot, i.e. padding (0.0) for the short history.
    assert last_time_to_now(batch, "last_column").numpy().ravel().tolist() == [0.0, 8.0]
    assert last_time_to_now(batch, "last_event").numpy().ravel().tolist() == [2.0, 8.0]


@pytest.mark.parametrize("masked", [False, True])
def test_long_term_attention_padding_quirk(make_hparams, masked):
    """The reference long-term attention also attends to padded steps; `mask_long_attention`
    turns that off. Changing ids on padded positions moves the logit only in quirk mode."""
    model = SLIRECModel(make_hparams("sli_rec", mask_long_attention=masked, enable_BN=False))
    batch = _batch(model, 4)
    before = model.forward(batch)["output"].numpy()
    changed = dict(batch)
    hist = batch["item_history"].numpy().copy()
    hist[:, 4:] = 7
    changed["item_history"] = tf.constant(hist)
    after = model.forward(changed)["output"].numpy()
    moved = np.abs(before - after).max() > 1e-6
    assert moved != masked


def test_manual_alpha_fixes_the_fusion_weight_and_drops_the_gate(make_hparams):
    # CLSR paper RQ2 for SLi-Rec: u = a u_l + (1 - a) u_s with a constant a, no gate MLP
    model = SLIRECModel(make_hparams("sli_rec", manual_alpha=True, manual_alpha_value=0.3,
                                     enable_BN=False))  # fmt: skip
    batch = _batch(model, 5)
    out = model.forward(batch, training=False)
    np.testing.assert_allclose(out["alpha"].numpy(), [[0.3], [0.3]], rtol=1e-6)
    assert not any("fusion_gate" in v.name for v in model.trainable_variables)
    emb = model.embed(batch, training=False)
    history = model.encode_history(batch, emb, training=False)
    u_short, _ = model.short_attention(emb["target"], history["outputs"], batch["mask"])
    user = out["output"].numpy()[:, :24]
    np.testing.assert_allclose(
        user, 0.3 * history["u_long"].numpy() + 0.7 * u_short.numpy(), rtol=1e-5, atol=1e-6
    )
    # the gate is back without manual_alpha, and its weight then varies with the input
    gated = SLIRECModel(make_hparams("sli_rec", manual_alpha_value=0.3, enable_BN=False))
    alpha = gated.forward(batch)["alpha"].numpy()
    assert any("fusion_gate" in v.name for v in gated.trainable_variables)
    assert not np.allclose(alpha, 0.3)
