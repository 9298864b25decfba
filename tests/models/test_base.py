"""SequentialModel mechanics shared by every model: losses, regularisation, persistence, API."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.gru4rec import GRU4RecModel
from tf_lsrec.models.losses import GroupSoftmaxLoss


def test_group_softmax_loss_matches_hand_computation():
    logits = np.array([[2.0], [0.0], [1.0], [0.5], [0.5], [3.0]], np.float32)
    labels = np.array([[1], [0], [0], [1], [0], [0]], np.float32)
    g1 = -(2.0 - np.log(np.exp(2.0) + np.exp(0.0) + np.exp(1.0)))
    g2 = -(0.5 - np.log(np.exp(0.5) + np.exp(0.5) + np.exp(3.0)))
    loss = GroupSoftmaxLoss(3)(labels, logits)
    assert float(loss) == pytest.approx((g1 + g2) / 2, rel=1e-6)


def test_initial_softmax_loss_is_log_group_size(make_hparams):
    model = GRU4RecModel(make_hparams("gru4rec", init_value=1e-4))
    batch = next(iter(model.data.train_dataset(model.hparams.train_file)))
    parts = model.compute_loss_parts(batch, training=False)
    assert float(parts["data_loss"]) == pytest.approx(np.log(5), abs=0.05)


def test_embedding_l2_counts_each_touched_row_once(make_hparams):
    model = GRU4RecModel(make_hparams("gru4rec", embed_l2=1.0, layer_l2=0.0))
    batch = dummy_batch(5, model.hparams.max_seq_length)
    batch["items"] = tf.constant([3, 3, 4, 4, 4])
    batch["item_history"] = tf.fill([5, model.hparams.max_seq_length], 3)
    batch["cates"] = tf.constant([1, 1, 1, 1, 2])
    model._ensure_built()
    items = model.item_embedding.embeddings.numpy()
    cates = model.cate_embedding.embeddings.numpy()
    expected = 0.5 * (np.sum(items[[3, 4]] ** 2) + np.sum(cates[[0, 1, 2]] ** 2))
    assert float(model.regularization_loss(batch)) == pytest.approx(expected, rel=1e-5)


def test_layer_l2_covers_all_non_embedding_variables(make_hparams):
    model = GRU4RecModel(make_hparams("gru4rec", embed_l2=0.0, layer_l2=1.0))
    model._ensure_built()
    names = [v.name for v in model.layer_variables()]
    assert not any("embedding" in n for n in names)
    assert any("bias" in n for n in names) and any("gamma" in n or "beta" in n for n in names)
    expected = sum(0.5 * np.sum(v.numpy() ** 2) for v in model.layer_variables())
    batch = dummy_batch(5, model.hparams.max_seq_length)
    assert float(model.regularization_loss(batch)) == pytest.approx(expected, rel=1e-5)


def test_fit_checkpoints_resume_and_best_model(make_hparams, tmp_path, capsys):
    hp = make_hparams("gru4rec", epochs=1)
    model = GRU4RecModel(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    assert os.path.exists(os.path.join(hp.MODEL_DIR, "best_model.index"))
    log_csv = os.path.join(hp.run_dir, "training_log.csv")
    assert open(log_csv).read().count("\n") == 2  # header + epoch 1
    first = model.run_eval(hp.valid_file, 4)
    # A second fit with more epochs resumes at epoch 2 instead of starting over.
    hp2 = hp.replace(epochs=2)
    resumed = GRU4RecModel(hp2).fit(hp2.train_file, hp2.valid_file, valid_num_ngs=4)
    out = capsys.readouterr().out
    assert "resumed from" in out and "eval valid at epoch 2" in out
    assert "RESUMING from" in out and "continues at epoch 2 of 2" in out and "resume=False" in out
    assert "eval valid at epoch 1:" in out  # from the first run only
    # the history and training_log.csv keep the first run's epoch (issue 21)
    assert [e for e, _ in resumed.eval_history] == [1, 2]
    assert resumed.eval_history[0][1]["group_auc"] == pytest.approx(first["group_auc"], abs=1e-6)
    assert open(log_csv).read().count("\n") == 3  # header + epochs 1, 2
    # load_model restores the best weights: evaluation reproduces the recorded metric.
    fresh = GRU4RecModel(hp2).load_model(os.path.join(hp.MODEL_DIR, "best_model"))
    best = max(first["group_auc"], resumed.eval_history[1][1]["group_auc"])
    assert fresh.run_eval(hp.valid_file, 4)["group_auc"] == pytest.approx(best, abs=1e-4)


def test_load_model_error_names_path(make_hparams):
    model = GRU4RecModel(make_hparams("gru4rec"))
    with pytest.raises(OSError, match="Failed to find any matching files for /nonexistent/ckpt"):
        model.load_model("/nonexistent/ckpt")


def test_predict_writes_one_probability_per_line(make_hparams, tmp_path):
    hp = make_hparams("gru4rec")
    model = GRU4RecModel(hp)
    out = tmp_path / "pred.txt"
    model.predict(hp.test_file, str(out))
    values = [float(x) for x in out.read_text().splitlines()]
    assert len(values) == sum(1 for _ in open(hp.test_file))
    assert all(0.0 < v < 1.0 for v in values)


def test_same_seed_same_metrics(make_hparams):
    results = []
    for _ in range(2):
        hp = make_hparams("gru4rec", epochs=1, save_model=False, MODEL_DIR=None)
        model = GRU4RecModel(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
        results.append(json.dumps(model.run_eval(hp.test_file, 9), sort_keys=True))
    assert results[0] == results[1]


def test_keras_native_fit_on_dataset(make_hparams):
    import tf_keras as keras

    hp = make_hparams("gru4rec")
    model = GRU4RecModel(hp)
    model.compile(optimizer=keras.optimizers.Adam(0.005))
    ds = model.data.train_dataset(hp.train_file)
    history = model.fit(ds, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert losses[1] < losses[0]
