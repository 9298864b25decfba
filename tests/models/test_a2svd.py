"""A2SVD: it learns, and its attention is a plain softmax over all L slots unless masked."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models.a2svd import A2SVDModel
from tf_lsrec.models.base import dummy_batch


def test_a2svd_learns_on_planted_data(assert_learns):
    assert_learns("a2svd")


def _short_history_batch(L):
    batch = dummy_batch(2, L)
    mask = np.zeros((2, L), np.float32)
    mask[0, :3] = 1
    mask[1, :] = 1
    batch["mask"] = tf.constant(mask)
    batch["item_history"] = tf.constant(np.arange(2 * L).reshape(2, L) % 30 + 1, tf.int32)
    batch["item_cate_history"] = tf.constant(np.arange(2 * L).reshape(2, L) % 7 + 1, tf.int32)
    return batch


@pytest.mark.parametrize("masked", [False, True])
def test_attention_matches_hand_computation(make_hparams, masked):
    model = A2SVDModel(make_hparams("a2svd", mask_long_attention=masked))
    L = model.hparams.max_seq_length
    batch = _short_history_batch(L)
    out = model.forward(batch)
    x = out["embeddings"]["history"].numpy()  # [B, L, D]
    W = model.attention.kernel.numpy()
    q = model.attention.query.numpy()
    scores = x @ W @ q  # [B, L]
    if masked:
        scores = np.where(batch["mask"].numpy() > 0, scores, -np.inf)
    a = np.exp(scores - scores.max(1, keepdims=True))
    a /= a.sum(1, keepdims=True)
    np.testing.assert_allclose(out["attention_weights"].numpy(), a, rtol=1e-5, atol=1e-7)
    u = (a[..., None] * x).sum(1)
    target = out["embeddings"]["target"].numpy()
    expected = np.concatenate([u, target], axis=1)
    D = x.shape[-1]
    assert expected.shape == (2, 2 * D)
    seq = model.run_encoder(batch, out["embeddings"], False)["output"].numpy()
    np.testing.assert_allclose(seq, expected, rtol=1e-5, atol=1e-7)
    pad_weight = out["attention_weights"].numpy()[0, 3:]
    if masked:
        assert np.all(pad_weight == 0.0)
    else:  # reference quirk: padding slots take part in the softmax
        assert np.all(pad_weight > 0.0)


def test_attention_size_must_equal_history_width(make_hparams):
    model = A2SVDModel(make_hparams("a2svd", attention_size=7))
    with pytest.raises(ValueError, match="attention_size=7"):
        model(dummy_batch(2, model.hparams.max_seq_length))
