"""The Keras workflow: ``model.fit(train_ds, validation_data=valid_ds, callbacks=[...])`` and
``model.evaluate`` on whole-group batches, with streaming group metrics equal to ``run_eval``."""

from __future__ import annotations

import pytest
import tf_keras as keras

from tf_lsrec.models import MODELS, get_model_class

FAST = ["gru4rec"]
SLOW = [name for name in MODELS if name not in FAST]
GROUP_KEYS = ("group_auc", "mean_mrr", "ndcg@2", "ndcg@4", "hit@2")


def _train_with_callbacks(make_hparams, tmp_path, model_type, **overrides):
    hp = make_hparams(model_type, epochs=2, **overrides)
    model = get_model_class(model_type)(hp)
    model.compile(optimizer=keras.optimizers.Adam(hp.learning_rate))
    train_ds = model.data.train_dataset(hp.train_file)
    valid_ds = model.keras_eval_dataset(hp.valid_file, num_ngs=4)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_group_auc", mode="max", patience=1),
        keras.callbacks.ModelCheckpoint(
            str(tmp_path / "ckpt" / "best"), monitor="val_group_auc", mode="max",
            save_best_only=True, save_weights_only=True,
        ),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
    ]  # fmt: skip
    history = model.fit(train_ds, validation_data=valid_ds, epochs=2, callbacks=callbacks,
                        verbose=0)  # fmt: skip
    return hp, model, history


def _check_same_as_run_eval(make_hparams, tmp_path, model_type, **overrides):
    hp, model, history = _train_with_callbacks(make_hparams, tmp_path, model_type, **overrides)
    logs = history.history
    for key in GROUP_KEYS:
        assert f"val_{key}" in logs, sorted(logs)
    assert "val_loss" in logs
    expected = model.run_eval(hp.valid_file, num_ngs=4)
    got = model.evaluate(model.keras_eval_dataset(hp.valid_file, 4), return_dict=True, verbose=0)
    for key in GROUP_KEYS:
        assert round(got[key], 4) == pytest.approx(expected[key], abs=1e-4), (key, got, expected)
    # the last epoch's validation logs are the same numbers
    assert round(logs["val_group_auc"][-1], 4) == pytest.approx(expected["group_auc"], abs=1e-4)
    assert (tmp_path / "ckpt" / "best.index").exists()
    return model


@pytest.mark.parametrize("model_type", FAST)
def test_keras_fit_with_callbacks_matches_run_eval(make_hparams, tmp_path, model_type):
    _check_same_as_run_eval(make_hparams, tmp_path, model_type)


@pytest.mark.slow
@pytest.mark.parametrize("model_type", SLOW)
def test_keras_fit_with_callbacks_matches_run_eval_all_models(make_hparams, tmp_path, model_type):
    _check_same_as_run_eval(make_hparams, tmp_path, model_type)


def test_validation_groups_differ_from_training_groups(make_hparams):
    """A validation file with 1+9 rows per group while training uses 1+4: no crash, and the
    loss is the data loss on groups of 10."""
    hp = make_hparams("gru4rec", train_num_ngs=4)
    model = get_model_class("gru4rec")(hp)
    model.compile(optimizer=keras.optimizers.Adam(hp.learning_rate))
    # trained first: an untrained model's near-tied scores make ranks depend on float noise
    model.fit(model.data.train_dataset(hp.train_file), epochs=1, verbose=0)
    result = model.evaluate(model.keras_eval_dataset(hp.test_file, 9), return_dict=True,
                            verbose=0)  # fmt: skip
    expected = model.run_eval(hp.test_file, num_ngs=9)
    assert round(result["group_auc"], 4) == pytest.approx(expected["group_auc"], abs=1e-4)
    assert result["loss"] > 0


def test_validation_file_path_is_accepted(make_hparams):
    hp = make_hparams("gru4rec")
    model = get_model_class("gru4rec")(hp)
    model.compile(optimizer=keras.optimizers.Adam(hp.learning_rate))
    history = model.fit(model.data.train_dataset(hp.train_file).take(3),
                        validation_data=hp.valid_file, epochs=1, verbose=0)  # fmt: skip
    assert "val_group_auc" in history.history
    assert "group_auc" not in history.history  # metrics are evaluation-only


def test_keras_metrics_stay_out_of_weights(make_hparams):
    hp = make_hparams("gru4rec")
    model = get_model_class("gru4rec")(hp)
    model._ensure_built()
    before = len(model.weights)
    model.compile(optimizer="adam")
    model.evaluate(model.keras_eval_dataset(hp.valid_file, 4).take(1), verbose=0)
    assert len(model.weights) == before
