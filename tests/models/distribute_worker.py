"""Run by tests/models/test_distribute.py in a fresh process (logical devices must be set before
TensorFlow initialises): compares one MirroredStrategy step over 2 CPU replicas with the
single-device step on the same global batch, then trains under the strategy. Prints JSON."""

import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import tf_lsrec  # noqa: E402,F401
from tests.models.helpers import tiny_hparams  # noqa: E402
from tf_lsrec.data.prepare import make_planted_dataset  # noqa: E402
from tf_lsrec.models import get_model_class  # noqa: E402
from tf_lsrec.models.optimizers import make_optimizer  # noqa: E402
from tf_lsrec.models.trainer import make_train_step  # noqa: E402


def hparams(paths, model_type, **overrides):
    """The model tests' tiny hyper-parameters, without the two terms that differ by design
    between one device and per-replica computation."""
    values = dict(
        MODEL_DIR=None,
        save_model=False,
        enable_BN=False,  # per-replica batch statistics would differ from the global batch
        embed_l2=0.0,  # counted over the rows each replica touches
    )
    values.update(overrides)
    return tiny_hparams(model_type, paths, **values)


def build(model, strategy=None):
    scope = strategy.scope() if strategy is not None else tf.distribute.get_strategy().scope()
    with scope:
        model.compile(optimizer=make_optimizer(model.hparams))
        model._ensure_built()


def one_step(model, strategy=None):
    """Weights after one training step on the first batch of epoch 1, and the loss."""
    step = make_train_step(model, strategy)
    dataset = model.data.train_dataset(model.hparams.train_file, seed=11).take(1)
    if strategy is not None:
        dataset = strategy.experimental_distribute_dataset(dataset)
    parts = step(next(iter(dataset)))
    return [v.numpy() for v in model.trainable_variables], float(parts["total_loss"])


def main(workdir, model_type):
    paths = make_planted_dataset(os.path.join(workdir, "planted"), seed=0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    cls = get_model_class(model_type)
    single = cls(hparams(paths, model_type))
    with strategy.scope():
        mirrored = cls(hparams(paths, model_type, distribute="mirrored"))
    build(single)
    build(mirrored, strategy)
    names = [v.name for v in single.trainable_variables]
    assert names == [v.name for v in mirrored.trainable_variables], names
    for source, target in zip(single.trainable_variables, mirrored.trainable_variables):
        target.assign(source.numpy())
    before = [v.numpy() for v in single.trainable_variables]
    s_after, s_loss = one_step(single)
    m_after, m_loss = one_step(mirrored, strategy)
    out = {
        "replicas": strategy.num_replicas_in_sync,
        "variable_type": type(mirrored.trainable_variables[0]).__name__,
        "update_size": max(float(np.max(np.abs(a - b))) for a, b in zip(s_after, before)),
        "update_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(s_after, m_after)),
        "single_loss": s_loss,
        "mirrored_loss": m_loss,
    }
    with strategy.scope():
        odd = cls(hparams(paths, model_type, distribute="mirrored", batch_size=127))
    try:
        odd.fit(odd.hparams.train_file, odd.hparams.valid_file)
        out["odd_batch_error"] = None
    except ValueError as e:
        out["odd_batch_error"] = str(e)

    # training end to end, with batch norm and the seq2seq auxiliary loss (per-replica counters)
    hp = hparams(
        paths,
        model_type,
        distribute="mirrored",
        epochs=3,
        enable_BN=True,
        seq2seq_loss_weight=0.05,
        run_dir=os.path.join(workdir, "run"),
    )
    with strategy.scope():
        model = cls(hp)
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    rows = model.train_log.rows
    out["first_loss"] = rows[0]["train_data_loss"]
    out["last_loss"] = rows[-1]["train_data_loss"]
    out["seq2seq_rows_used"] = [r["train_seq2seq_rows_used"] for r in rows]
    out["test_auc"] = model.run_eval(hp.test_file, num_ngs=9)["auc"]
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
