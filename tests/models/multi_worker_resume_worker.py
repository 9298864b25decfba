"""One worker of ``test_multi_worker_resume.py``: ``python multi_worker_resume_worker.py WORKDIR
TASK_INDEX PORT0,PORT1 RUN PAUSE``. TF_CONFIG is set before TensorFlow starts.

Trains GRU4Rec on ``WORKDIR/planted`` for 2 epochs with ``checkpoint_steps: 5`` under
``multi_worker_mirrored`` (two workers on 127.0.0.1), ``MODEL_DIR = WORKDIR/RUN/model`` shared
by both workers. ``PAUSE`` (``EPOCH:STEP`` or ``-``): after that training step, task 1 writes
``WORKDIR/RUN/paused`` and sleeps, so the test can kill it there (SIGKILL) while the chief waits
in the next step's all-reduce. At the end each task writes its final variables
(``WORKDIR/RUN/task<i>.npz``) and the training batches it ran (``WORKDIR/RUN/task<i>.json``).
"""

import json
import os
import sys
import time

workdir, task, ports, run, pause = (
    sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4], sys.argv[5],
)  # fmt: skip
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
strategy = tf.distribute.MultiWorkerMirroredStrategy()

import tf_keras as keras  # noqa: E402

from tf_lsrec.data.paths import DataPaths  # noqa: E402
from tf_lsrec.models import get_model_class  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.models.helpers import tiny_hparams  # noqa: E402

MODEL = "gru4rec"
out_dir = os.path.join(workdir, run)
pause_at = None if pause == "-" else tuple(int(x) for x in pause.split(":"))


class Batches(keras.callbacks.Callback):
    """Records ``(epoch, batch)`` of every training step; pauses task 1 at ``pause_at``."""

    def __init__(self):
        super().__init__()
        self.ran: list[list[int]] = []
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        self.ran.append([self.epoch, batch])
        if task == 1 and pause_at == (self.epoch, batch + 1):
            with open(os.path.join(out_dir, "paused"), "w") as f:
                f.write(str(os.getpid()))
            time.sleep(3600)  # killed here by the test


def main():
    paths = DataPaths.in_directory(os.path.join(workdir, "planted"))
    hp = tiny_hparams(
        MODEL, paths, MODEL_DIR=os.path.join(out_dir, "model"), save_model=False,
        enable_BN=False, epochs=2, checkpoint_steps=5, distribute="multi_worker_mirrored",
    )  # fmt: skip
    with strategy.scope():
        model = get_model_class(MODEL)(hp)
    batches = Batches()
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4, callbacks=[batches], verbose=2)
    np.savez(os.path.join(out_dir, f"task{task}.npz"), *[v.numpy() for v in model.variables])
    with open(os.path.join(out_dir, f"task{task}.json"), "w") as f:
        json.dump({"batches": batches.ran, "log": model.train_log.rows}, f)


if __name__ == "__main__":
    main()
