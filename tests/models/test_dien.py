"""DIEN: it learns; the AUGRU follows the reference's attentional update gate; output layout."""

import numpy as np
import tensorflow as tf

from tests.models.helpers import short_and_full_batch
from tf_lsrec.models.dien import DIENModel


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def augru_step(cell, x, h, a):
    """One VecAttGRUCell step by hand (docs/reference.md §6.4)."""
    gk, gb = cell.gate_kernel.numpy(), cell.gate_bias.numpy()
    ck, cb = cell.candidate_kernel.numpy(), cell.candidate_bias.numpy()
    r, u = np.split(sigmoid(np.concatenate([x, h], -1) @ gk + gb), 2, axis=-1)
    c = np.tanh(np.concatenate([x, r * h], -1) @ ck + cb)
    u = (1.0 - a) * u
    return u * h + (1.0 - u) * c, c


def test_dien_learns_on_planted_data_with_dice(assert_learns):
    assert_learns("dien", activation=["dice", "dice"])


def _batch(L, pad_item=None):
    return short_and_full_batch(L, pad_item)


def test_output_is_the_hand_run_augru_over_real_steps(make_hparams):
    model = DIENModel(make_hparams("dien"))
    L = model.hparams.max_seq_length
    batch = _batch(L)
    emb = model.forward(batch)["embeddings"]
    seq = model.run_encoder(batch, emb, False)
    out = seq["output"].numpy()
    x, target = emb["history"].numpy(), emb["target"].numpy()
    states, w = seq["interest_states"].numpy(), seq["attention_weights"].numpy()
    D, H = x.shape[-1], model.hparams.hidden_size
    assert out.shape == (2, 3 * D + H)
    assert np.all(w[0, 3:] == 0.0) and np.all(states[0, 3:] == 0.0)
    cell = model.evolution_augru.cell
    for row, length in ((0, 3), (1, L)):
        h = np.zeros((1, H), np.float32)
        for j in range(length):
            h, _ = augru_step(cell, states[row : row + 1, j], h, w[row, j])
        np.testing.assert_allclose(out[row, D : D + H], h[0], rtol=1e-4, atol=1e-6)
    s = np.stack([x[0, :3].sum(0), x[1].sum(0)])
    np.testing.assert_allclose(out[:, :D], target, rtol=1e-6)
    np.testing.assert_allclose(out[:, D + H : 2 * D + H], s, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out[:, 2 * D + H :], target * s, rtol=1e-5, atol=1e-9)


def test_augru_attention_scales_the_update_gate(make_hparams):
    """Reference VecAttGRUCell: a = 0 is a plain TF1 GRU step, a = 1 jumps to the candidate."""
    model = DIENModel(make_hparams("dien"))
    model(_batch(model.hparams.max_seq_length))  # build
    cell = model.evolution_augru.cell
    H = model.hparams.hidden_size
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, H)).astype(np.float32)
    h = rng.normal(size=(4, H)).astype(np.float32)
    for a in (0.0, 0.3, 1.0):
        inputs = np.concatenate([x, np.full((4, 1), a, np.float32)], -1)
        got, _ = cell(tf.constant(inputs), [tf.constant(h)])
        expected, candidate = augru_step(cell, x, h, a)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)
        if a == 0.0:  # identical to an ordinary GRU step with the same weights
            plain = cell._gru_step(tf.constant(x), tf.constant(h), None).numpy()
            np.testing.assert_allclose(got.numpy(), plain, rtol=1e-6)
            assert not np.allclose(got.numpy(), h)  # the state does move
        if a == 1.0:
            np.testing.assert_allclose(got.numpy(), candidate, rtol=1e-5, atol=1e-6)
