"""SUM: it learns, its user matrix is target-independent, the target reads it out, and α / β
stay out of the layer L2 term as in the reference."""

import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import short_and_full_batch
from tf_lsrec.hparams import HParamsError
from tf_lsrec.models.sum import SUMModel


@pytest.mark.parametrize("cell", ["SUM", pytest.param("SUMV2", marks=pytest.mark.slow)])
def test_sum_learns_on_planted_data(assert_learns, cell):
    # Chance is 0.5. Measured on this 4-epoch budget: SUM seed 7 auc 0.686 / group_auc 0.730,
    # seed 1 0.746 / 0.740; SUMV2 seed 7 0.729 / 0.730.
    _, result = assert_learns("sum", min_auc=0.64, slots=4, cell=cell, epochs=4)
    assert result["group_auc"] >= 0.68, result


def test_memory_ignores_the_target_and_the_readout_reads_it(make_hparams):
    model = SUMModel(make_hparams("sum", slots=4, enable_BN=False))
    batch = short_and_full_batch(model.hparams.max_seq_length)
    out = model.forward(batch)
    other = dict(batch, items=tf.constant([11, 12]), cates=tf.constant([3, 4]))
    emb = model.embed_history(batch, training=False)
    memory = model.encode_history(batch, emb, training=False)["memory"].numpy()
    assert memory.shape == (2, 4, model.hparams.hidden_size)
    other_out = model.forward(other)
    # the read-out weights are a distribution over the 4 slots and move with the target
    weights = out["memory_weights"].numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
    assert np.abs(weights - other_out["memory_weights"].numpy()).max() > 1e-7
    # output = [Σ_k p_k M_k ; e_t]
    user = (weights[..., None] * memory).sum(axis=1)
    np.testing.assert_allclose(out["output"].numpy()[:, : user.shape[1]], user, rtol=1e-5,
                               atol=1e-7)  # fmt: skip


def test_one_slot_is_the_highway_without_readout(make_hparams):
    model = SUMModel(make_hparams("sum", slots=1))
    assert model.readout is None
    batch = short_and_full_batch(model.hparams.max_seq_length)
    out = model.forward(batch)
    emb = model.embed_history(batch, training=False)
    memory = model.encode_history(batch, emb, training=False)["memory"].numpy()
    h = model.hparams.hidden_size
    np.testing.assert_allclose(out["output"].numpy()[:, :h], memory[:, 0], rtol=1e-6)


def test_alpha_and_beta_are_not_regularised(make_hparams):
    model = SUMModel(make_hparams("sum", layer_l2=0.5, embed_l2=0.0))
    batch = short_and_full_batch(model.hparams.max_seq_length)
    model.forward(batch)
    cell = model.memory.cell
    names = {v.name for v in model.layer_variables()}
    assert cell.alpha.name not in names and cell.beta.name not in names
    assert cell.heads.name in names and model.readout.kernel.name in names
    expected = 0.5 * sum(float(tf.nn.l2_loss(v)) for v in model.layer_variables())
    before = float(model.regularization_loss(batch))
    assert before == pytest.approx(expected, rel=1e-5)
    cell.alpha.assign(100.0)
    assert float(model.regularization_loss(batch)) == pytest.approx(before, rel=1e-6)


def test_gradients_reach_the_memory_cell(make_hparams):
    model = SUMModel(make_hparams("sum", slots=3))
    batch = short_and_full_batch(model.hparams.max_seq_length)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model.forward(batch, training=True)["logits"])
    cell = model.memory.cell
    variables = [cell.heads, cell.erase_kernel, cell.add_kernel, cell.alpha, cell.beta]
    for v, g in zip(variables, tape.gradient(loss, variables)):
        assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0, v.name


def test_bad_cell_and_slots_name_the_key(make_hparams):
    with pytest.raises(HParamsError, match=r"`cell`.*'SUM3'.*did you mean 'SUM"):
        make_hparams("sum", cell="SUM3")
    with pytest.raises(
        HParamsError, match=r"`slots` \(section `model`\) = 0 is out of range; expected >= 1"
    ):
        make_hparams("sum", slots=0)
