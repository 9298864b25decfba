"""CLSR: learning on planted data, its mechanisms (§7), and that each ablation switch changes the
graph the way its documentation says."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models import get_model_class
from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.clsr import CLSRModel

ROWS = 10


def _batch(model, lengths):
    """A training-like batch of ``ROWS`` rows whose histories have the given lengths."""
    L = model.hparams.max_seq_length
    b = dummy_batch(ROWS, L)
    rng = np.random.default_rng(0)
    lengths = np.resize(np.asarray(lengths), ROWS)
    mask = (np.arange(L)[None, :] < lengths[:, None]).astype(np.float32)
    b["item_history"] = tf.constant(rng.integers(1, 30, size=(ROWS, L)) * mask, tf.int32)
    b["item_cate_history"] = tf.constant(rng.integers(1, 8, size=(ROWS, L)) * mask, tf.int32)
    b["mask"] = tf.constant(mask)
    b["users"] = tf.constant(rng.integers(1, 6, size=ROWS), tf.int32)
    b["items"] = tf.constant(rng.integers(1, 30, size=ROWS), tf.int32)
    b["cates"] = tf.constant(rng.integers(1, 8, size=ROWS), tf.int32)
    b["labels"] = tf.constant(np.tile([1.0, 0, 0, 0, 0], ROWS // 5)[:, None], tf.float32)
    ttn = (rng.normal(size=(ROWS, L)) * mask).astype(np.float32)
    b["time_to_now"] = tf.constant(ttn)
    b["time_from_first_action"] = tf.constant((rng.normal(size=(ROWS, L)) * mask).astype("f4"))
    return b


def _grads(model, batch, loss_key="total_loss"):
    with tf.GradientTape() as tape:
        parts = model.compute_loss_parts(batch, training=True)
    variables = model.trainable_variables
    grads = tape.gradient(parts[loss_key], variables)
    return parts, {v.name: g for v, g in zip(variables, grads)}


def _norm(grads, scope):
    found = [g for n, g in grads.items() if n.startswith(scope + "/") or f"/{scope}/" in n]
    assert found, f"no variable under {scope}: {sorted(grads)}"
    return sum(
        0.0 if g is None else float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(g)))) for g in found
    )


def _scopes(model):
    return {v.name.split("/")[0] for v in model.trainable_variables}


# ----------------------------------------------------------------------------- learning
def test_clsr_learns_on_planted_data(make_hparams):
    hp = make_hparams("clsr", MODEL_DIR=None, save_model=False, is_clip_norm=1)
    model = CLSRModel(hp)
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    rows = model.train_log.rows
    assert rows[-1]["train_data_loss"] < rows[0]["train_data_loss"]
    for r in rows:
        assert np.isfinite(r["train_contrastive_loss"]) and np.isfinite(r["train_total_loss"])
    result = model.run_weighted_eval(hp.test_file, 9, calc_mean_alpha=True)
    assert result["auc"] >= 0.75, result
    assert list(result)[-2:] == ["wauc", "mean_alpha"]
    assert 0.0 < result["mean_alpha"] < 1.0


def test_registered_under_every_spelling():
    assert get_model_class("clsr") is CLSRModel
    assert get_model_class("CLSR") is CLSRModel


# ----------------------------------------------------------------------------- mechanisms
def test_alpha_in_unit_interval_and_gradients_reach_both_encoders(make_hparams):
    model = CLSRModel(make_hparams("clsr"))
    batch = _batch(model, [8, 12, 3, 20, 7])
    out = model.forward(batch, training=True)
    alpha = out["alpha"].numpy()
    assert alpha.shape == (ROWS, 1) and np.all((alpha > 0) & (alpha < 1))
    parts, grads = _grads(model, batch, "data_loss")
    for scope in (
        "long_term_attention",
        "short_term_rnn",
        "short_term_attention",
        "interest_evolution_gru",
        "fusion_gate",
        "fusion_gru",
        "user_long_embedding",
        "user_short_embedding",
    ):
        assert _norm(grads, scope) > 0, scope
    assert set(parts) == {
        "data_loss",
        "regular_loss",
        "contrastive_loss",
        "discrepancy_loss",
        "total_loss",
    }


def test_contrastive_loss_equals_the_hand_computed_terms(make_hparams):
    hp = make_hparams(
        "clsr",
        contrastive_loss="triplet",
        contrastive_loss_weight=0.5,
        contrastive_length_threshold=5,
        enable_BN=False,
    )
    model = CLSRModel(hp)
    batch = _batch(model, [8, 5, 12, 2, 6])  # lengths > 5 in rows 0, 2, 4 of each block
    out = model.forward(batch, training=False)
    il, is_, pl, ps = (
        out[k].numpy() for k in ("long_interest", "short_interest", "long_proxy", "short_proxy")
    )
    x = out["embeddings"]["history"].numpy()
    mask = batch["mask"].numpy()
    np.testing.assert_allclose(
        pl, (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True), rtol=1e-5, atol=1e-7
    )
    keep = mask.sum(1) > 5

    def f(a, p, q):
        return np.maximum(0.0, (a - p) ** 2 - (a - q) ** 2 + 1.0).sum(-1)[keep].mean()

    want = 0.5 * (f(il, pl, ps) + f(is_, ps, pl) + f(pl, il, is_) + f(ps, is_, il))
    got = model.extra_losses(batch, out, training=False)["contrastive_loss"]
    np.testing.assert_allclose(float(got), want, rtol=1e-5)


def test_no_row_above_threshold_gives_zero_contrastive_and_finite_loss(make_hparams):
    model = CLSRModel(make_hparams("clsr", contrastive_length_threshold=5))
    batch = _batch(model, [1, 2, 3, 4, 5])  # no row has ℓ > 5 (the official code: NaN)
    parts, grads = _grads(model, batch)
    assert float(parts["contrastive_loss"]) == 0.0
    assert np.isfinite(float(parts["total_loss"]))
    for name, g in grads.items():
        if g is not None:
            assert np.all(np.isfinite(tf.convert_to_tensor(g).numpy())), name


def test_discrepancy_has_the_official_negative_sign(make_hparams):
    model = CLSRModel(make_hparams("clsr", discrepancy_loss_weight=0.01))
    batch = _batch(model, [8])
    model.forward(batch)
    rng = np.random.default_rng(1)
    for table in (model.user_long_embedding, model.user_short_embedding):
        table.embeddings.assign(rng.normal(size=table.embeddings.shape).astype("f4"))
    users = np.unique(batch["users"].numpy())
    diff = (
        model.user_long_embedding.embeddings.numpy()[users]
        - model.user_short_embedding.embeddings.numpy()[users]
    )
    got = float(model.extra_losses(batch, model.forward(batch), False)["discrepancy_loss"])
    assert got < 0
    np.testing.assert_allclose(got, -0.01 * np.mean(diff**2), rtol=1e-5)


def test_user_long_and_short_rows_are_l2_regularised_once_per_user(make_hparams):
    model = CLSRModel(make_hparams("clsr", embed_l2=1.0, layer_l2=0.0))
    batch = _batch(model, [8])
    model.forward(batch)
    rows = model.embedding_regularization_rows(batch)
    users = list(dict.fromkeys(batch["users"].numpy().tolist()))  # first-occurrence order
    np.testing.assert_allclose(
        rows[-2].numpy(), model.user_long_embedding.embeddings.numpy()[users]
    )
    np.testing.assert_allclose(
        rows[-1].numpy(), model.user_short_embedding.embeddings.numpy()[users]
    )
    tables = {id(v) for v in model.embedding_tables()}
    assert id(model.user_long_embedding.embeddings) in tables
    assert all(id(v) not in tables for v in model.layer_variables())


# ----------------------------------------------------------------------------- switches
def test_contrastive_none_has_no_contrastive_term_or_proxies(make_hparams):
    model = CLSRModel(make_hparams("clsr", contrastive_loss="none"))
    batch = _batch(model, [8])
    out = model.forward(batch, training=True)
    assert "long_proxy" not in out and "short_proxy" not in out
    parts = model.compute_loss_parts(batch, training=True)
    assert "contrastive_loss" not in parts and model.contrastive is None
    np.testing.assert_allclose(
        float(parts["total_loss"]),
        sum(float(v) for k, v in parts.items() if k != "total_loss"),
        rtol=1e-6,
    )


def test_manual_alpha_has_no_gate_variables_and_constant_alpha(make_hparams):
    model = CLSRModel(make_hparams("clsr", manual_alpha=True, manual_alpha_value=0.3))
    batch = _batch(model, [8, 3])
    out = model.forward(batch, training=True)
    np.testing.assert_allclose(out["alpha"].numpy(), np.full((ROWS, 1), 0.3), rtol=1e-6)
    assert not {"fusion_gate", "fusion_gru"} & _scopes(model)
    np.testing.assert_allclose(
        out["output"].numpy()[:, :24],
        0.3 * out["long_interest"].numpy() + 0.7 * out["short_interest"].numpy(),
        rtol=1e-5,
    )


def test_fusion_fixed_equals_manual_alpha_and_concat_has_no_alpha(make_hparams, tmp_path):
    fixed = CLSRModel(make_hparams("clsr", fusion="fixed", manual_alpha_value=0.7))
    manual = CLSRModel(make_hparams("clsr", manual_alpha=True, manual_alpha_value=0.7))
    assert fixed.fusion_mode == manual.fusion_mode == "fixed"
    batch = _batch(fixed, [8, 3])
    out_fixed = fixed.forward(batch)
    manual.forward(batch)
    # one graph for the two spellings: the same variables, and with the same values the same
    # outputs
    assert [v.shape for v in manual.weights] == [v.shape for v in fixed.weights]
    manual.set_weights(fixed.get_weights())
    out_manual = manual.forward(batch)
    np.testing.assert_allclose(out_fixed["alpha"].numpy(), np.full((ROWS, 1), 0.7), rtol=1e-6)
    np.testing.assert_array_equal(out_fixed["logits"].numpy(), out_manual["logits"].numpy())
    np.testing.assert_allclose(
        out_fixed["output"].numpy()[:, :24],
        0.7 * out_fixed["long_interest"].numpy() + 0.3 * out_fixed["short_interest"].numpy(),
        rtol=1e-5,
    )
    concat = CLSRModel(make_hparams("clsr", fusion="concat"))
    batch = _batch(concat, [8])
    out = concat.forward(batch)
    assert out["output"].shape == (ROWS, 24 + 24 + 24) and out["alpha"].shape == (ROWS, 0)
    assert "fusion_gate" not in _scopes(concat)
    with pytest.raises(ValueError, match="fusion: concat` has no fusion weight"):
        concat.run_weighted_eval(concat.hparams.test_file, 9, calc_mean_alpha=True)
    with pytest.raises(ValueError, match="contradicts"):
        CLSRModel(make_hparams("clsr", fusion="concat", manual_alpha=True))


def test_predict_long_short_false_drops_the_fusion_gru(make_hparams):
    model = CLSRModel(make_hparams("clsr", predict_long_short=False))
    model.forward(_batch(model, [8]))
    scopes = _scopes(model)
    assert "fusion_gate" in scopes and "fusion_gru" not in scopes
    # gate input [e_t ; I_L ; I_S ; τ] = 24 + 24 + 24 + 1
    assert model.fusion.mlp.dense_layers[0].kernel.shape[0] == 73


@pytest.mark.parametrize(
    "mode, used, unused",
    [
        ("long", "long_term_attention", "short_term_rnn"),
        ("short", "short_term_rnn", "long_term_attention"),
    ],
)
def test_predict_mode_uses_one_encoder(make_hparams, mode, used, unused):
    model = CLSRModel(make_hparams("clsr", predict_mode=mode))
    batch = _batch(model, [8, 12])
    out = model.forward(batch, training=True)
    assert np.all(out["alpha"].numpy() == (1.0 if mode == "long" else 0.0))
    _, grads = _grads(model, batch, "data_loss")
    assert _norm(grads, used) > 0
    assert _norm(grads, unused) == 0  # the unused encoder only serves the contrastive terms
    assert not {"fusion_gate", "fusion_gru"} & _scopes(model)
    # without contrastive terms the unused encoder is not even built
    alone = CLSRModel(make_hparams("clsr", predict_mode=mode, contrastive_loss="none"))
    alone.forward(batch)
    assert unused not in _scopes(alone) and used in _scopes(alone)


def test_interest_evolve_false_has_no_interest_gru(make_hparams):
    model = CLSRModel(make_hparams("clsr", interest_evolve=False))
    batch = _batch(model, [8])
    model.forward(batch)
    assert "interest_evolution_gru" not in _scopes(model)
    _, grads = _grads(model, batch, "data_loss")
    assert _norm(grads, "user_short_embedding") > 0  # u_S is the query itself


# the matrices of each short-term cell (input Dh = 24, state H = 24): GRU's two gates (2H) and
# its candidate (H) read [x ; h]; LSTM's four gates (4H) read [x ; h]; Time4LSTM adds its time
# gates (H x H) to the LSTM kernel
_CELL_MATRICES = {
    "gru": {"gates_kernel": [48, 48], "candidate_kernel": [48, 24]},
    "lstm": {"kernel": [48, 96]},
    "time4lstm": {"kernel": [48, 96], **{f"{g}": [24, 24] for g in (
        "gate_now_x", "gate_last_x", "gate_now_t", "gate_last_t", "output_now", "output_last")}},
}  # fmt: skip


@pytest.mark.parametrize("cell", sorted(_CELL_MATRICES))
def test_sequential_model_choice(make_hparams, cell):
    model = CLSRModel(make_hparams("clsr", sequential_model=cell))
    batch = _batch(model, [8])
    model.forward(batch)
    assert model.short_rnn.cell_name == cell
    matrices = {v.name.split("/")[-1].split(":")[0]: v.shape.as_list()
                for v in model.short_rnn.trainable_variables if v.shape.rank == 2}  # fmt: skip
    assert matrices == _CELL_MATRICES[cell]


def test_time4lstm_reads_the_two_time_features(make_hparams):
    def short_interest(model, batch):
        return model.forward(batch)["short_interest"].numpy()

    model = CLSRModel(make_hparams("clsr", enable_BN=False, fusion="fixed"))
    batch = _batch(model, [8])
    changed = dict(batch, time_from_first_action=batch["time_from_first_action"] * 3.0)
    before, after = short_interest(model, batch), short_interest(model, changed)
    assert np.abs(before - after).max() > 1e-4 * np.abs(before).max()
    gru = CLSRModel(make_hparams("clsr", enable_BN=False, fusion="fixed", sequential_model="gru"))
    np.testing.assert_array_equal(short_interest(gru, batch), short_interest(gru, changed))


def test_invalid_configurations_name_the_key(make_hparams):
    with pytest.raises(ValueError, match="`hidden_size` must be 24"):
        CLSRModel(make_hparams("clsr", hidden_size=40))
    with pytest.raises(ValueError, match="`contrastive_pairs` \\(section `model`\\) = \\[1, 5\\]"):
        CLSRModel(make_hparams("clsr", contrastive_pairs=[1, 5]))


def test_export_alpha_rows_match_mean_alpha(make_hparams, tmp_path):
    hp = make_hparams("clsr")
    model = CLSRModel(hp)
    out = tmp_path / "alpha.tsv"
    n = model.export_alpha(hp.test_file, str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "user\titem\tlabel\tscore\talpha" and len(lines) == n + 1
    with open(hp.test_file) as f:
        first = f.readline().split("\t")
    assert lines[1].split("\t")[:3] == [first[1], first[2], str(int(float(first[0])))]
    table = np.array([ln.split("\t")[2:] for ln in lines[1:]], dtype=float)
    labels, alpha = table[:, 0], table[:, 2]
    assert np.all((alpha > 0) & (alpha < 1))
    result = model.run_weighted_eval(hp.test_file, 9, calc_mean_alpha=True)
    assert result["mean_alpha"] == round(alpha[labels == 1].mean(), 4)
