"""The shared-history path (each group's history encoded once, ``forward(..., group_size=g)``)
equals the per-row path for every golden case: loss parts, every gradient and the scores, on
``golden_batch`` (groups of 1+K rows with one history each), in float32 within rtol 1e-5."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from tests.models.golden import CASES, NUM_NGS, build_model, golden_batch
from tf_lsrec.models import get_model_class
from tf_lsrec.models.base import groups_share_history

G = NUM_NGS + 1
RTOL, ATOL = 1e-5, 1e-6


def _no_history_dropout(model_type, overrides):
    """The case without dropout in the history path (sharing it shares the masks, so the
    per-row and shared paths differ by construction) and without dropout elsewhere (two
    forward passes would draw different masks)."""
    return {
        **overrides,
        "embedding_dropout": 0.0,
        "user_dropout": False,
        **({"transformer_dropout": 0.0} if model_type in ("sasrec", "bert4rec") else {}),
    }


def _parts_and_grads(model, batch, group_size, checked=False):
    # the same draws for both paths where a loss samples (NextItNet's per-position negatives,
    # BERT4Rec's cloze masks and negatives)
    tf.random.set_seed(0)
    with tf.GradientTape() as tape:
        parts = model.compute_loss_parts(
            batch, training=True, group_size=group_size, checked=checked
        )
    variables = model.trainable_variables
    grads = tape.gradient(parts["total_loss"], variables)
    grads = {
        v.name: tf.convert_to_tensor(g).numpy() for g, v in zip(grads, variables) if g is not None
    }
    return {k: float(v) for k, v in parts.items()}, grads


def _close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("case,model_type,overrides", CASES, ids=[c for c, _, _ in CASES])
def test_shared_history_equals_per_row(case, model_type, overrides):
    model = build_model(model_type, _no_history_dropout(model_type, overrides))
    assert model.share_history(training=True)
    batch = golden_batch()
    assert bool(groups_share_history(batch, G))

    scores = model.forward(batch, training=False)["logits"].numpy()
    shared_scores = model.forward(batch, training=False, group_size=G)["logits"].numpy()
    _close(shared_scores, scores, f"{case}: logits")

    parts, grads = _parts_and_grads(model, batch, None)
    shared_parts, shared_grads = _parts_and_grads(model, batch, G)
    assert set(shared_parts) == set(parts)
    for k in parts:
        _close(shared_parts[k], parts[k], f"{case}: {k}")
    assert set(shared_grads) == set(grads)
    # absolute tolerance relative to the largest gradient entry: some gradients are 0 in exact
    # arithmetic (the logit bias under the group softmax) and roundoff in float32
    scale = max(float(np.abs(g).max()) for g in grads.values())
    for name, g in grads.items():
        np.testing.assert_allclose(
            shared_grads[name], g, rtol=RTOL, atol=ATOL * scale, err_msg=f"{case}: grad {name}"
        )


@pytest.mark.parametrize("case", ["sli_rec", "clsr"])
def test_checked_path_compiled(case):
    """The checked path (tf.cond inside a tf.function) takes the shared branch on grouped rows and
    the per-row branch when a group's histories differ; both equal the per-row outputs."""
    model_type, overrides = next((m, o) for c, m, o in CASES if c == case)
    model = build_model(model_type, overrides)
    batch = golden_batch()
    step = tf.function(lambda b: model.forward(b, training=False, group_size=G)["logits"])
    _close(step(batch).numpy(), model.forward(batch)["logits"].numpy(), "grouped")

    mixed = dict(batch)
    hist = batch["item_history"].numpy().copy()
    hist[1] = (hist[1] + 1) % 30  # the second row of the first group gets another history
    mixed["item_history"] = tf.constant(hist)
    assert not bool(groups_share_history(mixed, G))
    _close(step(mixed).numpy(), model.forward(mixed)["logits"].numpy(), "mixed")


def test_auto_keeps_per_row_with_history_dropout():
    """Per row in training when the history draws dropout, except SASRec / BERT4Rec."""
    clsr = build_model("clsr", {"embedding_dropout": 0.2})
    assert not clsr.share_history(training=True) and clsr.share_history(training=False)
    clsr_mlp = build_model("clsr", {"user_dropout": True, "dropout": [0.3, 0.3]})
    assert not clsr_mlp.share_history(training=True)
    # the transformers' own training draws one dropout mask per line: they share in training
    for model_type in ("sasrec", "bert4rec"):
        transformer = build_model(model_type, {"transformer_dropout": 0.2})
        assert transformer.history_dropout() and transformer.share_history(training=True)
        per_row = build_model(model_type, {"transformer_dropout": 0.2, "share_history": False})
        assert not per_row.share_history(training=True)
    sli = build_model("sli_rec", {"user_dropout": True, "dropout": [0.3, 0.3]})
    assert sli.share_history(training=True)  # its dropout is in the target attention / head
    forced = build_model("clsr", {"embedding_dropout": 0.2, "share_history": True})
    assert forced.share_history(training=True)
    off = build_model("sli_rec", {"share_history": False})
    assert not off.share_history(training=False)


@pytest.mark.parametrize("model_type", ["sli_rec", "clsr"])
def test_run_eval_shares_groups(make_hparams, model_type):
    """Evaluation on whole-group batches (one history encoding per group of 1+9 lines) gives the
    scores of the per-row evaluation; an eval batch size that is not a multiple of
    the group size is rounded down to whole groups."""
    hp = make_hparams(model_type, eval_batch_size=37)
    model = get_model_class(model_type)(hp)
    trainer = model.trainer
    assert trainer.eval_group_size(9) == 10
    batches = list(model.data.eval_dataset(hp.test_file, group_size=10))
    assert {int(b["labels"].shape[0]) for b in batches} == {30}
    shared = trainer.collect(hp.test_file, group_size=10)
    per_row = trainer.collect(hp.test_file)
    assert len(shared["scores"]) == len(per_row["scores"])
    np.testing.assert_allclose(shared["scores"], per_row["scores"], rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(shared["labels"], per_row["labels"])
    # run_eval goes through the whole-group batches (its metrics on this untrained model rank
    # near-tied scores, so they are compared through the scores above, not rounded AUCs)
    calls = []
    step = trainer.predict_step

    def spy(group_size=None):
        calls.append(group_size)
        return step(group_size)

    trainer.predict_step = spy
    model.run_eval(hp.test_file, 9)
    hp.share_history = False
    model.run_eval(hp.test_file, 9)
    assert calls == [10, None]


def test_keras_evaluate_and_validation_on_whole_groups(make_hparams):
    """Keras evaluate / fit(validation_data=...) on eval_dataset(group_size=train_num_ngs + 1)
    (issue 16: batches that were not whole groups crashed the group-softmax loss)."""
    hp = make_hparams("gru4rec", eval_batch_size=32, epochs=1)
    model = get_model_class("gru4rec")(hp)
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
    g = hp.train_num_ngs + 1
    valid = model.data.eval_dataset(hp.valid_file, group_size=g)
    history = model.fit(model.data.train_dataset(hp.train_file), validation_data=valid, epochs=1)
    assert np.isfinite(history.history["val_loss"][0])
    assert np.isfinite(model.evaluate(valid, return_dict=True)["loss"])
