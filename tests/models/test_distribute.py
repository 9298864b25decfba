"""tf.distribute: a MirroredStrategy step over 2 CPU replicas equals the single-device step on
the same global batch, training under the strategy learns, and misuse fails clearly.

The replica tests run ``distribute_worker.py`` in a fresh process: logical CPU devices can only
be configured before TensorFlow initialises.
"""

import json
import os
import subprocess
import sys

import pytest

from tf_lsrec.hparams import HParamsError
from tf_lsrec.models import get_model_class

HERE = os.path.dirname(os.path.abspath(__file__))


def _run_worker(tmp_path, model_type):
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "distribute_worker.py"), str(tmp_path), model_type],
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.parametrize("model_type", ["gru4rec", pytest.param("sli_rec", marks=pytest.mark.slow)])
def test_mirrored_training_matches_single_device_and_learns(tmp_path, model_type):
    out = _run_worker(tmp_path, model_type)
    assert out["replicas"] == 2
    assert out["variable_type"] == "MirroredVariable"
    # one step from identical weights on the same global batch: the same update
    assert out["update_size"] > 1e-3
    assert out["update_diff"] < 0.01 * out["update_size"], out
    assert abs(out["single_loss"] - out["mirrored_loss"]) < 1e-5
    # a global batch that cannot be split into whole groups per replica is refused
    assert "not a multiple of the 2 replicas" in (out["odd_batch_error"] or ""), out
    # training under the strategy learns (planted data; chance AUC 0.5)
    assert out["last_loss"] < out["first_loss"]
    assert all(n > 0 for n in out["seq2seq_rows_used"]), out
    assert out["test_auc"] >= 0.7, out


def test_distribute_needs_the_model_created_in_a_strategy_scope(make_hparams):
    hp = make_hparams("gru4rec", MODEL_DIR=None, distribute="mirrored")
    model = get_model_class("gru4rec")(hp)
    with pytest.raises(ValueError, match="created outside a strategy scope"):
        model.fit(hp.train_file, hp.valid_file)


def test_unsupported_strategy_is_a_yaml_error(make_hparams):
    with pytest.raises(HParamsError, match="distribute"):
        make_hparams("gru4rec", distribute="tpu")
