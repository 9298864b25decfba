"""GRU4Rec: it learns, and its user vector is the GRU state at the last real step."""

import numpy as np
import tensorflow as tf

from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.gru4rec import GRU4RecModel


def test_gru4rec_learns_on_planted_data(assert_learns):
    assert_learns("gru4rec")


def test_padding_content_does_not_change_the_score(make_hparams):
    model = GRU4RecModel(make_hparams("gru4rec"))
    L = model.hparams.max_seq_length
    batch = dummy_batch(2, L)
    mask = np.zeros((2, L), np.float32)
    mask[0, :3] = 1
    mask[1, :L] = 1
    batch["mask"] = tf.constant(mask)
    batch["item_history"] = tf.constant(np.arange(2 * L).reshape(2, L) % 30, tf.int32)

    def user_vector(b):  # the encoder output [h ; e_t] (logits of an untrained model are ~1e-7)
        return model.forward(b)["output"].numpy()

    before = user_vector(batch)
    changed = dict(batch)
    hist = batch["item_history"].numpy().copy()
    hist[0, 3:] = 11  # only padding of row 0 changes
    changed["item_history"] = tf.constant(hist)
    np.testing.assert_array_equal(before, user_vector(changed))
    hist[0, 1] = 12  # a real step changes: the state must move
    changed["item_history"] = tf.constant(hist)
    assert np.abs(before[0] - user_vector(changed)[0]).max() > 1e-5
