"""Caser: it learns; vertical and horizontal convolutions match a hand computation."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.caser import CaserConvolutions, CaserModel


def test_caser_learns_on_planted_data(assert_learns):
    # 5 epochs: with the fixture's 3, Caser reaches only ~0.71 test AUC on this data
    assert_learns("caser", n_v=16, n_h=16, L=3, min_seq_length=5, epochs=5)


def relu(z):
    return np.maximum(z, 0.0)


def test_convolutions_by_hand():
    rng = np.random.default_rng(1)
    L, D, n_v, n_h, heights = 6, 4, 3, 2, 3
    x = rng.normal(size=(2, L, D)).astype(np.float32)
    layer = CaserConvolutions(n_v, n_h, heights, seed=5)
    out = layer(tf.constant(x)).numpy()
    assert out.shape == (2, n_v + heights * n_h)
    kv = layer.vertical.kernel.numpy()  # [D (width), L (channels), n_v]
    bv = layer.vertical.bias.numpy()
    assert kv.shape == (D, L, n_v)
    # a full linear map over the L x D matrix
    vertical = relu(np.einsum("bld,dlf->bf", x, kv) + bv)
    np.testing.assert_allclose(out[:, :n_v], vertical, rtol=1e-5, atol=1e-6)
    for h, conv in zip(range(1, heights + 1), layer.horizontal):
        k, b = conv.kernel.numpy(), conv.bias.numpy()  # [h, D, n_h]
        windows = np.stack(
            [np.einsum("bkd,kdf->bf", x[:, t : t + h], k) for t in range(L - h + 1)], 1
        )
        expected = relu(windows + b).max(axis=1)
        start = n_v + (h - 1) * n_h
        np.testing.assert_allclose(out[:, start : start + n_h], expected, rtol=1e-5, atol=1e-6)


def test_output_width_and_height_check(make_hparams):
    hp = make_hparams("caser", n_v=5, n_h=3, L=4)
    model = CaserModel(hp)
    emb = model.forward(dummy_batch(2, hp.max_seq_length))["embeddings"]
    out = model.run_encoder(dummy_batch(2, hp.max_seq_length), emb, False)
    per_part = 5 + 4 * 3
    assert out.shape == (2, 2 * per_part + hp.item_embedding_dim + hp.cate_embedding_dim)
    too_tall = CaserModel(make_hparams("caser", L=hp.max_seq_length + 1, n_v=2, n_h=2))
    with pytest.raises(ValueError, match="exceeds max_seq_length"):
        too_tall(dummy_batch(2, hp.max_seq_length))
