"""SASRec: it learns, it scores <h, e_t> from the last real step, and padding is invisible."""

import numpy as np
import tensorflow as tf

from tests.models.helpers import short_and_full_batch
from tf_lsrec.models.sasrec import SASRecModel


def test_sasrec_learns_on_planted_data(assert_learns):
    assert_learns("sasrec", num_blocks=1, transformer_dropout=0.1)


def _batch(L, pad_item=None):
    return short_and_full_batch(L, pad_item)


def test_logit_is_dot_product_of_last_real_step_and_target(make_hparams):
    model = SASRecModel(make_hparams("sasrec", transformer_dropout=0.0))
    batch = _batch(model.hparams.max_seq_length)
    out = model.forward(batch)
    seq = out["sequence_output"].numpy()
    target = out["embeddings"]["target"].numpy()
    user = np.stack([seq[0, 2], seq[1, -1]])  # lengths 3 and L
    np.testing.assert_allclose(out["logits"].numpy()[:, 0], (user * target).sum(-1), rtol=1e-5)


def test_padding_content_does_not_change_the_score(make_hparams):
    model = SASRecModel(make_hparams("sasrec", transformer_dropout=0.0))
    batch = _batch(model.hparams.max_seq_length)
    before = model(batch).numpy()
    padded = dict(batch)
    hist = batch["item_history"].numpy().copy()
    hist[0, 3:] = 17  # row 0's padding
    padded["item_history"] = tf.constant(hist)
    np.testing.assert_allclose(model(padded).numpy(), before, rtol=1e-6)


def test_mlp_scoring_uses_the_framework_head(make_hparams):
    model = SASRecModel(make_hparams("sasrec", sasrec_scoring="mlp"))
    out = model.forward(_batch(model.hparams.max_seq_length))
    np.testing.assert_allclose(out["logits"].numpy(), model.head(out["output"]).numpy(), rtol=1e-6)
