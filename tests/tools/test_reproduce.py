"""``tools/reproduce.py``: a recorded deterministic run, rerun from its provenance, repeats every
digit; a record that does not match is reported, and a rerun from another commit is refused."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from tests.tool_loader import load_tool
from tf_lsrec.data.prepare import prepare_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETTINGS = {"dataset": "synthetic", "valid_num_ngs": 4, "test_num_ngs": 9, "seed": 5,
            "max_history": None, "user_default": False, "synthetic_interactions": 800}  # fmt: skip
SETS = ["data.dataset=synthetic", "data.synthetic_interactions=800", "train.seed=5",
        "train.epochs=2", "train.batch_size=32", "model.max_seq_length=8",
        "model.hidden_size=16", "model.item_embedding_dim=8", "model.cate_embedding_dim=8", "model.attention_size=16",
        "info.show_step=1000", "train.deterministic=true"]  # fmt: skip
ENV = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One deterministic tools/run.py run (its run dir)."""
    tmp = tmp_path_factory.mktemp("recorded")
    data_dir = tmp / "data"
    prepare_dataset(SETTINGS, str(data_dir))
    run_dir = tmp / "run"
    argv = [sys.executable, os.path.join(ROOT, "tools", "run.py"), "--yaml",
            os.path.join(ROOT, "hparams", "sli_rec.yaml"), "--run-dir", str(run_dir),
            "--set", f"data.data_dir={data_dir}"]  # fmt: skip
    for s in SETS:
        argv += ["--set", s]
    proc = subprocess.run(argv, env=ENV, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return run_dir


def _reproduce(results, run_dir, *extra):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "reproduce.py"), str(results),
         "--run-dir", str(run_dir), "--checkout", ROOT, "--allow-dirty", *extra],
        env=ENV, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip


def test_a_deterministic_run_repeats_every_digit(recorded, tmp_path):
    proc = _reproduce(recorded / "results.json", tmp_path / "rerun")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["identical"] and report["log_compared"] and report["data_compared"]
    assert report["differences"] == []
    record = json.loads((recorded / "results.json").read_text())
    assert report["threads"] == record["provenance"]["machine"]["usable_cpus"]
    rerun = json.loads((tmp_path / "rerun" / "results.json").read_text())
    assert rerun["test_metrics"] == record["test_metrics"] and len(rerun["test_metrics"]) > 5
    assert rerun["provenance"]["machine"]["TF_NUM_INTRAOP_THREADS"] == str(report["threads"])


def test_differences_are_reported(recorded, tmp_path):
    reproduce = load_tool("reproduce")
    record = json.loads((recorded / "results.json").read_text())
    changed = copy.deepcopy(record)
    changed["test_metrics"]["auc"] += 1e-4
    changed["provenance"]["data"]["train_file"]["sha256"] = "0" * 64
    log = tmp_path / "log.csv"
    rows = (recorded / "training_log.csv").read_text().splitlines()
    header = rows[0].split(",")
    loss = header.index("train_total_loss")
    cells = rows[2].split(",")
    cells[loss] = str(float(cells[loss]) + 1e-9)  # epoch 2 differs
    log.write_text("\n".join([rows[0], rows[1], ",".join(cells), *rows[3:]]) + "\n")
    report = reproduce.compare(changed, record, str(log), str(recorded / "training_log.csv"))
    assert not report["identical"]
    what = {d["what"]: d for d in report["differences"]}
    assert set(what) == {"data sha256", "test_metrics.auc", "training_log.csv"}
    assert what["training_log.csv"]["first_differing_epoch"] == 2
    same = reproduce.compare(record, record, None, str(recorded / "training_log.csv"))
    assert same == {
        "identical": True,
        "data_compared": True,
        "log_compared": False,
        "differences": [],
    }


def test_paths_of_the_recording_checkout_move_here():
    reproduce = load_tool("reproduce")
    record = {"provenance": {"command": {
        "argv": ["--yaml", "/old/repo/hparams/ncf.yaml", "--run-dir", "/old/runs/x",
                 "--set", "train.seed=1"], "cwd": "/old/repo"}}}  # fmt: skip
    assert (
        reproduce.rerun_argv(record, "/new/run", "/at/commit")[1] == "/at/commit/hparams/ncf.yaml"
    )
    assert reproduce.rerun_argv(record, "/new/run") == [
        "--yaml", os.path.join(ROOT, "hparams", "ncf.yaml"), "--run-dir", "/new/run",
        "--set", "train.seed=1",
    ]  # fmt: skip


def test_another_commit_or_unknown_threads_is_refused(recorded, tmp_path):
    record = json.loads((recorded / "results.json").read_text())
    other = tmp_path / "other.json"
    record["provenance"]["git"]["commit"] = "f" * 40
    other.write_text(json.dumps(record))
    proc = _reproduce(other, tmp_path / "a")
    assert proc.returncode != 0 and "check that commit out" in proc.stderr
    record = json.loads((recorded / "results.json").read_text())
    del record["provenance"]["machine"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(record))
    proc = _reproduce(old, tmp_path / "b")
    assert proc.returncode != 0 and "pass --threads" in proc.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
