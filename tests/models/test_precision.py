"""Mixed precision (``train.precision``): every model trains a few bf16 steps with finite
losses and scores; float32 (the default) is the plain model class; the policy does not leak."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tf_lsrec.models import MODEL_CLASSES, get_model_class
from tf_lsrec.models.optimizers import make_optimizer
from tf_lsrec.models.precision import cast_inputs, make_model, precision_scope
from tf_lsrec.models.trainer import make_train_step

FAST = {"sli_rec", "gru4rec", "clsr", "slsrec", "sasrec"}


def _params():
    params = [
        pytest.param(m, {}, marks=() if m in FAST else pytest.mark.slow)
        for m in sorted(MODEL_CLASSES)
    ]
    return [*params, pytest.param("gru4rec", {"seq2seq_loss_weight": 0.05}, id="gru4rec-seq2seq")]


@pytest.mark.parametrize(("model_type", "overrides"), _params())
def test_mixed_bfloat16_trains_and_scores_finite(make_hparams, model_type, overrides):
    hp = make_hparams(
        model_type, precision="mixed_bfloat16", max_seq_length=8, batch_size=32, **overrides
    )
    model = make_model(hp)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert isinstance(model, get_model_class(model_type))
    model.compile(optimizer=make_optimizer(hp))
    model._ensure_built()
    assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    step = make_train_step(model)
    batches = iter(model.data.train_dataset(hp.train_file))
    before = [v.numpy().copy() for v in model.trainable_variables]
    for _ in range(3):
        parts = step(next(batches))
    for name, value in parts.items():
        assert value.dtype == tf.float32, name
        assert np.isfinite(value.numpy()), (name, value)
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))
    batch = next(iter(model.data.eval_dataset(hp.valid_file)))
    out = model.forward(batch)
    assert out["logits"].dtype == tf.float32
    assert np.all(np.isfinite(model.predict_scores(batch).numpy()))


def test_float32_is_the_plain_class_and_the_default(make_hparams):
    hp = make_hparams("gru4rec")
    assert hp.precision == "float32"
    assert type(make_model(hp)) is get_model_class("gru4rec")


def test_precision_scope_restores_and_rejects_unknown():
    with precision_scope("mixed_bfloat16"):
        assert keras.mixed_precision.global_policy().compute_dtype == "bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="precision"):
        with precision_scope("int8"):
            pass


def test_cast_inputs_casts_features_only():
    batch = {
        "labels": tf.ones([2, 1]),
        "sample_weight": tf.ones([2]),
        "mask": tf.ones([2, 3]),
        "time_to_now": tf.ones([2, 3]),
        "time_history": tf.ones([2, 3], tf.float64),
        "items": tf.ones([2], tf.int32),
    }
    out = cast_inputs(batch, tf.bfloat16)
    assert out["mask"].dtype == out["time_to_now"].dtype == tf.bfloat16
    assert out["labels"].dtype == out["sample_weight"].dtype == tf.float32
    assert out["time_history"].dtype == tf.float64 and out["items"].dtype == tf.int32
