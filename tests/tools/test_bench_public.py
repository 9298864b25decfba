"""``tools/bench.py public``: a KuaiRec-shaped log generated, prepared by the loader, trained on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _bench(tmp_path, *extra):
    argv = ["public", "--scale", "0.02", "--work-dir", str(tmp_path), *extra]
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "bench.py"), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


STEP_MEASURES = ("seconds", "peak_rss_mib")


def test_generate_and_prepare(tmp_path):
    result = _bench(tmp_path)
    gen, prep = result["generated"], result["prepare"]
    assert (gen["users"], gen["items"]) == (round(7176 * 0.02), 10_728)
    assert gen["rows"] == round(12_530_806 * 0.02) and gen["peak_rss_mib"] > 0
    manifest = prep["manifest"]
    assert manifest["split"]["window"] == 12 * 3600 * 1000  # CLSR's 12 h, in ms
    assert manifest["test_num_ngs"] == 99 and manifest["lines"]["test"] % 100 == 0
    assert 0 < manifest["interactions"] < gen["rows"]  # de-duplication and effective views
    # each step reports its duration and peak memory; their values belong to tools/bench.py
    assert all(isinstance(prep[field], float) for field in STEP_MEASURES)
    assert prep["peak_rss_mib"] > 0
    assert not os.path.exists(tmp_path / "raw") and not os.path.exists(tmp_path / "prepared")


@pytest.mark.slow
def test_train_on_prepared_files(tmp_path):
    result = _bench(tmp_path, "--yaml", "hparams/gru4rec.yaml", "--epochs", "1")
    train = result["train"]
    assert train["results"]["model"] == "gru4rec"
    assert train["results"]["epochs_run"] == 1
    assert 0.0 <= train["results"]["test_metrics"]["group_auc"] <= 1.0
    assert train["results"]["hparams"]["test_num_ngs"] == 99
    assert train["results"]["hparams"]["time_unit"] == "ms"
