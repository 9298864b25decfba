"""DIN: it learns; the masked sum and the attention ignore padding."""

import numpy as np
import tensorflow as tf

from tests.models.helpers import short_and_full_batch
from tf_lsrec.models.blocks import masked_sum
from tf_lsrec.models.din import DINModel


def test_din_learns_on_planted_data(assert_learns):
    assert_learns("din")


def test_masked_sum_by_hand():
    x = tf.constant([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = tf.constant([[1.0, 1.0, 0.0]])
    np.testing.assert_allclose(masked_sum(x, mask).numpy(), [[4.0, 6.0]])


def _batch(L, pad_item=None):
    return short_and_full_batch(L, pad_item)


def test_output_layout_and_padding_is_ignored(make_hparams):
    model = DINModel(make_hparams("din"))
    L = model.hparams.max_seq_length
    batch = _batch(L, pad_item=0)
    out = model.forward(batch)
    emb = out["embeddings"]
    x, target = emb["history"].numpy(), emb["target"].numpy()
    D = x.shape[-1]
    seq = model.run_encoder(batch, emb, False)
    w = seq["attention_weights"].numpy()
    output = seq["output"].numpy()
    assert output.shape == (2, 3 * D)
    np.testing.assert_allclose(output[:, :D], target, rtol=1e-6)
    np.testing.assert_allclose(output[0, D : 2 * D], x[0, :3].sum(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(output[1, D : 2 * D], x[1].sum(0), rtol=1e-5, atol=1e-7)
    assert np.all(w[0, 3:] == 0.0)
    np.testing.assert_allclose(w.sum(1), [1.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(output[:, 2 * D :], (w[..., None] * x).sum(1), rtol=1e-5, atol=1e-7)
    # other padding contents: same output for row 0
    other = model.run_encoder(
        _batch(L, pad_item=17), model.forward(_batch(L, pad_item=17))["embeddings"], False
    )["output"].numpy()
    np.testing.assert_allclose(other, output, rtol=1e-5, atol=1e-7)
