"""One worker of tests/models/test_multi_worker.py: ``python multi_worker_worker.py WORKDIR
TASK_INDEX PORT0,PORT1 MODE``. TF_CONFIG is set before TensorFlow starts.

MODE ``single``: no cluster; writes the initial weights and the weights after one step on the
first global batch (``single.npz``). MODE ``worker``: one of two MultiWorkerMirroredStrategy
workers on 127.0.0.1; loads the same initial weights, runs one step on its shard (half of the
same global batch), then trains a short ``fit`` under the strategy; task 0 writes
``worker.npz`` and prints JSON.
"""

import importlib.util
import json
import os
import sys

workdir, task, ports, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4]
if mode == "worker":
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": task},
        }
    )
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# before anything touches the TF runtime: collective ops are configured at startup
strategy = tf.distribute.MultiWorkerMirroredStrategy() if mode == "worker" else None

import tf_lsrec  # noqa: E402,F401
from tf_lsrec.data.paths import DataPaths  # noqa: E402
from tf_lsrec.models import get_model_class  # noqa: E402
from tf_lsrec.models.optimizers import make_optimizer  # noqa: E402
from tf_lsrec.models.trainer import make_train_step  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "tf_lsrec_tests_models_conftest", os.path.join(os.path.dirname(__file__), "conftest.py")
)
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
MODEL = "gru4rec"


def hparams(**overrides):
    paths = DataPaths.in_directory(os.path.join(workdir, "planted"))
    values = dict(MODEL_DIR=None, save_model=False, enable_BN=False, embed_l2=0.0)
    values.update(overrides)
    return _conftest.tiny_hparams(MODEL, paths, **values)


def first_batch(model, strategy=None):
    dataset = model.data.train_dataset(model.hparams.train_file, seed=11).take(1)
    if strategy is None:
        return next(iter(dataset))
    options = tf.data.Options()
    # one input file: each worker takes its part of every global batch (not whole files)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return next(iter(strategy.experimental_distribute_dataset(dataset.with_options(options))))


def main():
    cls = get_model_class(MODEL)
    if mode == "single":
        model = cls(hparams())
        model.compile(optimizer=make_optimizer(model.hparams))
        model._ensure_built()
        before = [v.numpy() for v in model.trainable_variables]
        parts = make_train_step(model)(first_batch(model))
        after = [v.numpy() for v in model.trainable_variables]
        np.savez(os.path.join(workdir, "single.npz"), *before, *after,
                 loss=float(parts["total_loss"]))  # fmt: skip
        return
    with strategy.scope():
        model = cls(hparams(distribute="multi_worker_mirrored"))
        model.compile(optimizer=make_optimizer(model.hparams))
        model._ensure_built()
    ref = np.load(os.path.join(workdir, "single.npz"))
    n = len(model.trainable_variables)
    for i, v in enumerate(model.trainable_variables):
        v.assign(ref[f"arr_{i}"])
    parts = make_train_step(model, strategy)(first_batch(model, strategy))
    after = [v.numpy() for v in model.trainable_variables]
    diff = max(float(np.max(np.abs(a - ref[f"arr_{n + i}"]))) for i, a in enumerate(after))
    size = max(float(np.max(np.abs(ref[f"arr_{n + i}"] - ref[f"arr_{i}"]))) for i in range(n))
    # a short training run under the strategy (fit's own input sharding)
    hp = hparams(distribute="multi_worker_mirrored", epochs=2)
    with strategy.scope():
        trained = cls(hp)
    trained.fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    rows = trained.train_log.rows
    out = {
        "task": task,
        "workers": strategy.cluster_resolver.cluster_spec().num_tasks("worker"),
        "replicas": strategy.num_replicas_in_sync,
        "update_size": size,
        "update_diff": diff,
        "single_loss": float(ref["loss"]),
        "worker_loss": float(parts["total_loss"]),
        "first_loss": rows[0]["train_data_loss"],
        "last_loss": rows[-1]["train_data_loss"],
    }
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
