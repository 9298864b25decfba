"""SLSRec: it learns, its contrastive term is the paper's triplet, its ablations remove what they
name, and one-session / padding rows stay finite."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.hparams import prepare_hparams
from tf_lsrec.models import get_model_class
from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.slsrec import SLSRecModel

LONG_LAYERS = ("session_attention", "session_gru", "session_pooling", "evolution_pooling")
SHORT_LAYERS = ("short_term_attention",)


def _hp(make_hparams, **kw):
    values = dict(
        session_gap=90.0,
        session_gap_unit="minutes",
        max_sessions=4,
        max_session_length=6,
        triplet_form="vector",
        triplet_margin=1.0,
        contrastive_loss_weight=0.1,
        MODEL_DIR=None,
        save_model=False,
    )
    values.update(kw)
    return make_hparams("slsrec", **values)


def _batch(model, times, length, seed=0, rows=5):
    """One training group of ``rows`` rows (positive first) sharing ``times`` (seconds) for
    their first ``length`` steps."""
    L = model.hparams.max_seq_length
    b = dummy_batch(rows, L)
    rng = np.random.default_rng(seed)
    mask = np.zeros((rows, L), np.float32)
    mask[:, :length] = 1
    t = np.zeros((rows, L))
    t[:, :length] = np.asarray(times[:length], float)
    b["mask"] = tf.constant(mask)
    b["time_history"] = tf.constant(t)
    b["item_history"] = tf.constant(
        rng.integers(1, 50, size=(rows, L)) * mask.astype(int), tf.int32
    )
    b["item_cate_history"] = tf.constant(
        rng.integers(1, 6, size=(rows, L)) * mask.astype(int), tf.int32
    )
    b["items"] = tf.constant(rng.integers(1, 50, size=rows), tf.int32)
    b["cates"] = tf.constant(rng.integers(1, 6, size=rows), tf.int32)
    b["labels"] = tf.constant([[1.0]] + [[0.0]] * (rows - 1))
    return b


HOUR = 3600.0
THREE_SESSIONS = [0, 60, 120, 10 * HOUR, 10 * HOUR + 60, 30 * HOUR, 30 * HOUR + 30, 30 * HOUR + 90]


def _grads(model, batch):
    with tf.GradientTape() as tape:
        out = model.forward(batch, training=True)
        loss = tf.reduce_sum(out["logits"]) + tf.add_n(
            [tf.constant(0.0)] + list(model.extra_losses(batch, out, True).values())
        )
    grads = tape.gradient(loss, model.trainable_variables)
    return out, {v.name: g for v, g in zip(model.trainable_variables, grads)}


def _has_grad(grads, layer):
    named = [g for n, g in grads.items() if n.startswith(layer + "/") or f"/{layer}/" in n]
    return bool(named) and any(
        g is not None and float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(g)))) > 0 for g in named
    )


def _names(model):
    return [v.name for v in model.trainable_variables]


def test_slsrec_learns_on_planted_data(make_hparams):
    hp = _hp(make_hparams, max_sessions=5, max_session_length=10, epochs=3)
    model = get_model_class("slsrec")(hp)
    assert isinstance(model, SLSRecModel)
    stats = model.session_statistics(hp.train_file)
    assert stats["mean_sessions"] > 2.0 and stats["lines"] > 1000
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    rows = model.train_log.rows
    assert rows[-1]["train_data_loss"] < rows[0]["train_data_loss"]
    assert rows[-1]["train_total_loss"] < rows[0]["train_total_loss"]
    assert "train_contrastive_loss" in rows[0]
    result = model.run_eval(hp.test_file, num_ngs=9)
    assert result["auc"] >= 0.75, result
    assert set(result) >= {"auc", "mean_mrr", "ndcg@2", "hit@2", "group_auc", "wauc"}


def test_all_encoders_get_gradients_and_shapes(make_hparams):
    model = SLSRecModel(_hp(make_hparams))
    out, grads = _grads(model, _batch(model, THREE_SESSIONS, 8))
    d = 24  # item 16 + cate 8 (tiny_hparams), hidden_size 24
    assert out["u_short"].shape == (5, 2 * d) and out["u_long"].shape == (5, 2 * d)
    assert out["output"].shape == (5, 2 * d + d)
    assert out["num_sessions"].numpy().tolist() == [3] * 5
    alpha = out["alpha"].numpy()
    assert np.all((alpha > 0) & (alpha < 1))
    for layer in LONG_LAYERS + SHORT_LAYERS + ("fusion_gate",):
        assert _has_grad(grads, layer), layer


def test_u_c_keeps_only_dominant_category_items(make_hparams):
    model = SLSRecModel(_hp(make_hparams))
    batch = _batch(model, THREE_SESSIONS, 8)
    cates = batch["item_cate_history"].numpy()
    cates[:2, 5:8] = [[2, 3, 2], [4, 4, 1]]  # current session = steps 5..7
    batch["item_cate_history"] = tf.constant(cates)
    out = model.forward(batch)
    np.testing.assert_array_equal(out["dominant_category"].numpy()[:2], [2, 4])
    m = out["category_mask"].numpy()[:2, :3]
    np.testing.assert_array_equal(m, [[1, 0, 1], [1, 1, 0]])
    w = out["short_weights"].numpy()[:2, :3]
    cur = model.embed(batch, False)["history"].numpy()[:2, 5:8]
    expected = np.einsum("bj,bjd->bd", w * m, cur)
    np.testing.assert_allclose(out["u_c"].numpy()[:2], expected, rtol=1e-5, atol=1e-7)
    assert not np.allclose(out["u_c"].numpy(), out["u_s"].numpy())


def test_without_category_mask_u_c_equals_u_s(make_hparams):
    model = SLSRecModel(_hp(make_hparams, use_category_mask=False))
    out = model.forward(_batch(model, THREE_SESSIONS, 8))
    np.testing.assert_allclose(out["u_c"].numpy(), out["u_s"].numpy(), rtol=1e-6)


def test_without_long_term_no_long_variables_no_gate_no_contrastive(make_hparams):
    model = SLSRecModel(_hp(make_hparams, use_long_term=False))
    batch = _batch(model, THREE_SESSIONS, 8)
    out, grads = _grads(model, batch)
    names = _names(model)
    for layer in LONG_LAYERS + ("fusion_gate",):
        assert not any(layer in n for n in names), layer
    assert "u_long" not in out and "alpha" not in out
    np.testing.assert_allclose(out["user"].numpy(), out["u_short"].numpy())
    assert _has_grad(grads, "short_term_attention")
    assert "contrastive_loss" not in model.compute_loss_parts(batch)


def test_without_short_term_no_short_variables(make_hparams):
    # without fusion the long side alone sets the width, so hidden_size may differ from d
    model = SLSRecModel(_hp(make_hparams, use_short_term=False, hidden_size=12))
    batch = _batch(model, THREE_SESSIONS, 8)
    out, grads = _grads(model, batch)
    names = _names(model)
    for layer in SHORT_LAYERS + ("fusion_gate",):
        assert not any(layer in n for n in names), layer
    assert out["user"].shape == (5, 24 + 12)
    assert all(_has_grad(grads, layer) for layer in LONG_LAYERS)
    assert "contrastive_loss" not in model.compute_loss_parts(batch)


def test_contrastive_none_removes_the_term(make_hparams):
    model = SLSRecModel(_hp(make_hparams, contrastive_loss="none"))
    parts = model.compute_loss_parts(_batch(model, THREE_SESSIONS, 8))
    assert set(parts) == {"data_loss", "regular_loss", "total_loss"}
    on = SLSRecModel(_hp(make_hparams))
    assert "contrastive_loss" in on.compute_loss_parts(_batch(on, THREE_SESSIONS, 8))


def _triplet_outputs(u_long, u_short, p_long, p_short, rows):
    f = lambda x: tf.constant(x, tf.float32)  # noqa: E731
    return {
        "u_long": f(u_long),
        "u_short": f(u_short),
        "long_proxy": f(p_long),
        "short_proxy": f(p_short),
        "contrastive_rows": f(rows),
    }


def test_triplet_zero_when_satisfied_positive_otherwise(make_hparams):
    model = SLSRecModel(_hp(make_hparams, contrastive_loss_weight=0.1, triplet_margin=1.0))
    p_long, p_short = [[1.0, 0.0]], [[0.0, 1.0]]  # proxies, tiled to [U ; U] (width 4)
    good = _triplet_outputs([[1, 0, 1, 0]], [[0, 1, 0, 1]], p_long, p_short, [1.0])
    # ‖u^L − Ū^L‖² = 0, ‖u^L − Ū^S‖² = 4: max(0 − 4 + 1, 0) = 0 for all four terms
    assert float(model.extra_losses(None, good, True)["contrastive_loss"]) == 0.0
    bad = _triplet_outputs([[0, 1, 0, 1]], [[1, 0, 1, 0]], p_long, p_short, [1.0])
    terms = model.contrastive_terms(bad)
    # every term: max(4 − 0 + 1, 0) = 5; λ Σ = 0.1 × 20
    assert [float(terms[k]) for k in (1, 2, 3, 4)] == [5.0, 5.0, 5.0, 5.0]
    loss = float(model.extra_losses(None, bad, True)["contrastive_loss"])
    assert loss == pytest.approx(2.0)
    # half-way: u^L = [.5,.5,.5,.5]: d(u^L, Ū^L) = 1 = d(u^L, Ū^S) -> term 1 = margin = 1
    mid = _triplet_outputs([[0.5] * 4], [[0, 1, 0, 1]], p_long, p_short, [1.0])
    assert float(model.contrastive_terms(mid)[1]) == pytest.approx(1.0)
    # rows without an earlier session do not count; none at all gives 0, not NaN
    two = _triplet_outputs(
        [[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 0, 1], [1, 0, 1, 0]], p_long * 2, p_short * 2, [1, 0]
    )
    assert float(model.extra_losses(None, two, True)["contrastive_loss"]) == 0.0
    none = dict(two, contrastive_rows=tf.zeros([2]))
    assert float(model.extra_losses(None, none, True)["contrastive_loss"]) == 0.0


def test_one_session_and_padding_rows_are_finite(make_hparams):
    model = SLSRecModel(_hp(make_hparams))
    batch = _batch(model, [0, 60, 120, 180, 240], 5)  # a single session
    mask = batch["mask"].numpy()
    mask[1] = 0.0  # and an all-padding row
    batch["mask"] = tf.constant(mask)
    with tf.GradientTape() as tape:
        parts = model.compute_loss_parts(batch, training=True)
    grads = tape.gradient(parts["total_loss"], model.trainable_variables)
    out = model.forward(batch)
    assert out["num_sessions"].numpy().tolist() == [1, 0, 1, 1, 1]
    np.testing.assert_array_equal(out["u_long"].numpy(), 0.0)
    assert float(parts["contrastive_loss"]) == 0.0
    for k, v in parts.items():
        assert np.isfinite(float(v)), k
    assert np.all(np.isfinite(out["logits"].numpy()))
    for g in grads:
        if g is not None:
            assert np.all(np.isfinite(tf.convert_to_tensor(g).numpy()))


def test_configuration_errors(make_hparams):
    with pytest.raises(ValueError, match="hidden_size must equal"):
        SLSRecModel(_hp(make_hparams, hidden_size=12))
    with pytest.raises(ValueError, match="at least one interest"):
        SLSRecModel(_hp(make_hparams, use_long_term=False, use_short_term=False))


def test_yaml_has_the_paper_settings():
    hp = prepare_hparams("hparams/slsrec.yaml")
    assert hp.model_type == "slsrec" and hp.batch_size == 500 and hp.learning_rate == 0.001
    assert hp.max_seq_length == 50 and hp.triplet_form == "vector"
    assert hp.hidden_size == hp.item_embedding_dim + hp.cate_embedding_dim
    assert "ndcg@2;5;10" in hp.pairwise_metrics and hp.weighted_metrics == ["wauc"]


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_long_term_encoder_values_by_hand(make_hparams):
    # THREE_SESSIONS: sessions {0, 1, 2}, {3, 4}, current {5, 6, 7} (90-minute gap). Eq. 5: h_n
    # is a masked plain attention over session n's steps; Eq. 7-9: u_l / u'_l are bilinear
    # attentions of the target over the real session slots (h and the GRU states h').
    model = SLSRecModel(_hp(make_hparams))
    batch = _batch(model, THREE_SESSIONS, 8)
    out = model.forward(batch, training=False)
    emb = model.embed(batch, training=False)
    x, target = emb["history"].numpy(), emb["target"].numpy()
    np.testing.assert_array_equal(out["sessions_mask"].numpy(), np.tile([1.0, 1, 0, 0], (5, 1)))

    w = model.session_attention.kernel.numpy() @ model.session_attention.query.numpy()
    for slot, steps in enumerate(([0, 1, 2], [3, 4])):
        a = _softmax(x[:, steps] @ w)  # [B, n]
        h = np.einsum("bn,bnd->bd", a, x[:, steps])
        np.testing.assert_allclose(out["session_vectors"].numpy()[:, slot], h, rtol=1e-5,
                                   atol=1e-6)  # fmt: skip

    for layer, keys, key in (
        (model.session_pooling, "session_vectors", "u_l"),
        (model.evolution_pooling, "session_states", "u_l_evolved"),
    ):
        h = out[keys].numpy()[:, :2]  # the two real slots; padding slots get weight 0
        scores = np.einsum("bsd,dq,bq->bs", h, layer.kernel.numpy(), target)
        expected = np.einsum("bs,bsd->bd", _softmax(scores), h)
        np.testing.assert_allclose(out[key].numpy(), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["session_weights"].numpy()[:, 2:], 0.0, atol=1e-7)
    np.testing.assert_allclose(
        out["u_long"].numpy(), np.concatenate([out["u_l"], out["u_l_evolved"]], -1), rtol=1e-6
    )
    # the GRU evolution reads the session order: the second state differs from the first
    states = out["session_states"].numpy()
    assert np.abs(states[:, 1] - states[:, 0]).max() > 1e-4
