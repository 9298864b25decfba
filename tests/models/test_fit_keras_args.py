"""The file-based ``fit(train_file, valid_file, ...)`` takes the Keras arguments a Keras user
passes (callbacks, verbose, initial_epoch, epochs) and rejects the others (issue 16)."""

from __future__ import annotations

import logging
import os

import pytest
import tensorflow as tf
import tf_keras as keras

import tf_lsrec
from tf_lsrec.models import get_model_class


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []
        self.epoch_logs = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")
        self.epoch_logs.append(dict(logs))

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_callbacks_get_keras_calls_and_stop_training_is_honoured(make_hparams, capsys):
    hp = make_hparams("gru4rec", epochs=3, MODEL_DIR=None, save_model=False)
    model = get_model_class("gru4rec")(hp)
    recorder = Recorder()

    class StopAfterFirst(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4,
              callbacks=[recorder, StopAfterFirst()], verbose=0)  # fmt: skip
    assert recorder.calls == ["train_begin", "epoch_begin 0", "epoch_end 0", "train_end"]
    logs = recorder.epoch_logs[0]
    assert {"loss", "total_loss", "data_loss", "val_group_auc", "val_auc"} <= set(logs)
    assert logs["val_group_auc"] == model.eval_history[0][1]["group_auc"]
    out = capsys.readouterr().out
    assert "stopped by a callback at epoch 1" in out
    assert "step 1 , total_loss" not in out  # verbose=0: no step lines


def test_early_stopping_on_val_group_auc(make_hparams):
    hp = make_hparams("gru4rec", epochs=4, MODEL_DIR=None, save_model=False)
    model = get_model_class("gru4rec")(hp)
    # min_delta 1: no epoch after the first counts as an improvement -> stop after epoch 2
    stop = keras.callbacks.EarlyStopping(monitor="val_group_auc", mode="max", patience=0,
                                         min_delta=1.0)  # fmt: skip
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4, callbacks=[stop], verbose=0)
    assert [e for e, _ in model.eval_history] == [1, 2]
    assert stop.stopped_epoch == 1


def test_initial_epoch_and_epochs(make_hparams):
    hp = make_hparams("gru4rec", epochs=5, MODEL_DIR=None, save_model=False)
    model = get_model_class("gru4rec")(hp)
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4, initial_epoch=1, epochs=2,
              verbose=0)  # fmt: skip
    assert [e for e, _ in model.eval_history] == [2]


def test_unknown_arguments_are_refused(make_hparams):
    hp = make_hparams("gru4rec", MODEL_DIR=None, save_model=False)
    model = get_model_class("gru4rec")(hp)
    with pytest.raises(TypeError, match=r"unexpected arguments \[\] \['batch_size'\]"):
        model.fit(hp.train_file, hp.valid_file, batch_size=32)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(hp.train_file, hp.valid_file, verbose=3)


def test_default_keeps_microsoft_lines_and_verbosity_switch(make_hparams, capsys):
    hp = make_hparams("gru4rec", epochs=1, MODEL_DIR=None, save_model=False)
    model = get_model_class("gru4rec")(hp)
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4)  # stdout is not a TTY here
    out = capsys.readouterr().out
    assert "step 1 , total_loss:" in out and "eval valid at epoch 1:" in out
    try:
        tf_lsrec.set_verbosity("WARNING")
        model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4, epochs=2, initial_epoch=1)
        assert capsys.readouterr().out == ""
    finally:
        tf_lsrec.set_verbosity(logging.INFO)


def test_progress_bar_when_verbose(make_hparams, capsys):
    hp = make_hparams("gru4rec", epochs=1, MODEL_DIR=None, save_model=False)
    model = get_model_class("gru4rec")(hp)
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "total_loss:" in out
    assert "step 1 , total_loss" not in out


def test_per_step_tensorboard_scalars(make_hparams, tmp_path):
    summaries = tmp_path / "tb"
    hp = make_hparams("gru4rec", epochs=1, MODEL_DIR=None, save_model=False,
                      SUMMARIES_DIR=str(summaries), tfevents_steps=1)  # fmt: skip
    assert hp.write_tfevents  # Microsoft's default
    get_model_class("gru4rec")(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4, verbose=0)
    tags = set()
    for name in os.listdir(summaries):
        for event in tf.compat.v1.train.summary_iterator(str(summaries / name)):
            tags.update(v.tag for v in event.summary.value)
    assert "train_step/total_loss" in tags and "valid_group_auc" in tags
