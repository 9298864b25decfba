"""SURGE: it learns; the graph pooling caps the sequence the AUGRU reads; output layout."""

import numpy as np

from tests.models.helpers import short_and_full_batch
from tf_lsrec.models.surge import SURGEModel


def test_surge_learns_on_planted_data_with_pooling(assert_learns):
    # max_seq_length 20 > pool_length 8: the long planted histories are pooled
    model, _ = assert_learns("surge", pool_length=8)
    assert model.graph_pooling.pool_length == 8


def test_pooled_sequence_output_layout_and_readout(make_hparams):
    model = SURGEModel(make_hparams("surge", pool_length=5))
    L = model.hparams.max_seq_length
    batch = short_and_full_batch(L)
    out = model.forward(batch)
    emb = out["embeddings"]
    seq = model.run_encoder(batch, emb, False)
    pooled_mask, scores = seq["pooled_mask"].numpy(), seq["cluster_scores"].numpy()
    D, H = emb["target"].shape[-1], model.hparams.hidden_size
    assert seq["output"].shape == (2, H + 3 * D)
    assert pooled_mask.shape == (2, 5)  # min(L, pool_length)
    np.testing.assert_array_equal(pooled_mask[0], [1, 1, 1, 0, 0])  # 3 steps <= 5: all kept
    assert pooled_mask[1].sum() <= 5 and np.all(np.diff(pooled_mask[1]) <= 0)  # left-aligned
    assert np.all(scores[0, 3:] == 0.0)
    np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-5)
    output, target = seq["output"].numpy(), emb["target"].numpy()
    readout = output[:, H : H + D]
    np.testing.assert_allclose(output[:, H + D : H + 2 * D], target, rtol=1e-6)
    np.testing.assert_allclose(output[:, H + 2 * D :], readout * target, rtol=1e-5, atol=1e-9)
    history = model.encode_history(batch, emb, False)
    fused = history["fused"].numpy()
    # row 0 keeps its 3 steps: the readout is their γ-weighted sum
    np.testing.assert_allclose(
        readout[0], (scores[0, :3, None] * fused[0, :3]).sum(0), rtol=1e-5, atol=1e-6
    )
