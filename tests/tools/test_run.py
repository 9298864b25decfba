"""``tools/run.py``: results that come from one code version and can be reproduced (issue 18)."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tf_lsrec.data.prepare import prepare_dataset
from tf_lsrec.utils.provenance import sha256_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# a prepared (not given) dataset: the paths reach the model without being written into HParams
SETTINGS = {"dataset": "synthetic", "valid_num_ngs": 4, "test_num_ngs": 9, "seed": 3,
            "max_history": None, "user_default": False, "synthetic_interactions": 800}  # fmt: skip
SETS = ["data.dataset=synthetic", "data.synthetic_interactions=800", "train.seed=3",
        "train.epochs=1", "train.batch_size=32", "model.max_seq_length=8",
        "model.embedding_dropout=0.2", "model.hidden_size=16", "info.show_step=1000",
        "train.deterministic=true", "info.full_ranking_metrics=[hit@10,mrr]"]  # fmt: skip


def _start(run_dir, data_dir):
    argv = [sys.executable, os.path.join(ROOT, "tools", "run.py"), "--yaml",
            os.path.join(ROOT, "hparams", "gru4rec.yaml"), "--run-dir", str(run_dir),
            "--set", f"data.data_dir={data_dir}"]  # fmt: skip
    for s in SETS:
        argv += ["--set", s]
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT)  # fmt: skip


def _losses(run_dir):
    with open(os.path.join(run_dir, "training_log.csv")) as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if "loss" in k} for r in rows]


def test_deterministic_runs_are_bit_identical_and_record_their_provenance(tmp_path):
    data_dir = tmp_path / "data"
    paths = prepare_dataset(SETTINGS, str(data_dir))
    runs = [tmp_path / "run1", tmp_path / "run2"]
    procs = [_start(r, data_dir) for r in runs]  # two processes, as two separate runs
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out[-3000:]
    results = []
    for r in runs:
        with open(r / "results.json") as f:
            results.append(json.load(f))
    a, b = results
    assert a["valid_metrics"] == b["valid_metrics"] and a["test_metrics"] == b["test_metrics"]
    # the catalogue ranking beside the sampled metrics, and how it was ranked
    assert {"auc", "group_auc", "full_hit@10", "full_mrr"} <= set(a["test_metrics"])
    assert 0 < a["test_metrics"]["full_mrr"] <= a["test_metrics"]["full_hit@10"] + 1 / 10
    assert a["ranking_protocol"]["protocol"] == "full catalogue, history excluded"
    assert (
        a["ranking_protocol"]["users_ranked"] > 0 and a["ranking_protocol"]["catalogue_size"] > 10
    )
    assert _losses(runs[0]) == _losses(runs[1]) and len(_losses(runs[0])) == 1
    ckpts = [tf.train.load_checkpoint(str(r / "model" / "best_model")) for r in runs]
    names = sorted(ckpts[0].get_variable_to_shape_map())
    assert names == sorted(ckpts[1].get_variable_to_shape_map())
    weights = [n for n in names if "embedding" in n or "kernel" in n]
    assert weights
    for n in names:
        assert np.array_equal(ckpts[0].get_tensor(n), ckpts[1].get_tensor(n)), n

    prov = a["provenance"]
    assert prov["git"]["commit"] is None or len(prov["git"]["commit"]) == 40
    assert prov["git"]["dirty"] in (True, False, None)
    assert prov["versions"]["tf_lsrec"] and prov["versions"]["tensorflow"] == tf.__version__
    assert set(prov["data"]) == set(paths.as_hparams())
    for key, path in paths.as_hparams().items():
        assert prov["data"][key]["sha256"] == sha256_file(path), key
    assert "train.deterministic=true" in prov["command"]["argv"]
    # what bit-identical reruns also need: the same CPU type and number of usable cores
    assert prov["machine"]["usable_cpus"] == len(os.sched_getaffinity(0))
    assert prov["machine"]["cpu_count"] == os.cpu_count() and prov["machine"]["cpu_model"]
    assert prov["machine"]["tf_intra_op_threads"] >= 0
    # the hyper-parameters were not rewritten with the prepared paths; the record has them
    assert a["hparams"]["train_file"] is None and a["data"]["train_file"] == paths.train_file
    with open(runs[0] / "hparams.yaml") as f:
        assert paths.train_file in f.read()
