"""NCF: it learns; the score is GMF + MLP tower on (user, item) only, history ignored."""

import numpy as np
import tensorflow as tf

from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.ncf import NCFModel


def test_ncf_learns_on_planted_data(assert_learns):
    assert_learns("ncf")


def _batch(L):
    batch = dummy_batch(3, L)
    batch["users"] = tf.constant([1, 2, 3], tf.int32)
    batch["items"] = tf.constant([4, 5, 6], tf.int32)
    batch["cates"] = tf.constant([1, 1, 2], tf.int32)
    return batch


def test_score_by_hand_and_independent_of_history(make_hparams):
    model = NCFModel(make_hparams("ncf"))
    L = model.hparams.max_seq_length
    batch = _batch(L)
    logits = model(batch).numpy()
    u, i = batch["users"].numpy(), batch["items"].numpy()
    gmf = model.user_gmf.embeddings.numpy()[u] * model.item_gmf.embeddings.numpy()[i]
    h = np.concatenate(
        [model.user_mlp.embeddings.numpy()[u], model.item_mlp.embeddings.numpy()[i]], 1
    )
    for dense in model.tower.dense_layers:
        h = np.maximum(h @ dense.kernel.numpy() + dense.bias.numpy(), 0.0)
    assert [d.units for d in model.tower.dense_layers] == [80, 40]
    assert model.logit_layer.bias is None
    expected = np.concatenate([gmf, h], 1) @ model.logit_layer.kernel.numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-8)
    rng = np.random.default_rng(0)
    changed = dict(batch)
    changed["item_history"] = tf.constant(rng.integers(1, 30, (3, L)), tf.int32)
    changed["item_cate_history"] = tf.constant(rng.integers(1, 7, (3, L)), tf.int32)
    changed["mask"] = tf.constant((np.arange(L) < 4)[None].repeat(3, 0), tf.float32)
    changed["time_to_now"] = tf.constant(rng.random((3, L)), tf.float32)
    np.testing.assert_array_equal(model(changed).numpy(), logits)


def test_ncf_tables_are_in_neither_l2_term(make_hparams):
    model = NCFModel(make_hparams("ncf", embed_l2=0.0, layer_l2=1.0))
    batch = _batch(model.hparams.max_seq_length)
    model(batch)
    expected = sum(0.5 * np.sum(v.numpy() ** 2) for v in model.layer_variables())
    names = [v.name for v in model.layer_variables()]
    assert not any("gmf" in n or "_mlp_embedding" in n for n in names), names
    assert any("ncf_logit" in n for n in names) and any("ncf_mlp" in n for n in names), names
    np.testing.assert_allclose(float(model.regularization_loss(batch)), expected, rtol=1e-5)
