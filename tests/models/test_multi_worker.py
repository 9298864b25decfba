"""``distribute: multi_worker_mirrored`` with two worker processes on 127.0.0.1 (TF_CONFIG).

One step on two workers, each reading its half of the global batch, equals the single-process
step on the same global batch; a short ``fit`` under the strategy trains. Each worker is a
subprocess (``multi_worker_worker.py``) because TF_CONFIG is read when the strategy starts.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.models.helpers import free_local_ports, worker_env
from tf_lsrec.data.prepare import make_planted_dataset

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "multi_worker_worker.py")


@pytest.mark.slow  # three TensorFlow processes: minutes on a loaded 2-core machine
def test_two_workers_step_equals_single_process_step(tmp_path):
    make_planted_dataset(tmp_path / "planted", seed=0)
    ports = ",".join(map(str, free_local_ports(2)))
    single = subprocess.run(
        [sys.executable, WORKER, str(tmp_path), "0", ports, "single"],
        capture_output=True, text=True, timeout=600, env=worker_env(),
    )  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, str(tmp_path), str(i), ports, "worker"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_env(),
        )  # fmt: skip
        for i in range(2)
    ]
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=600)
            lines = [x for x in out.splitlines() if x.startswith("RESULT ")]
            assert p.returncode == 0 and lines, out[-2000:] + err[-4000:]
            results.append(json.loads(lines[-1][len("RESULT ") :]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for r in results:
        assert r["workers"] == 2 and r["replicas"] == 2
        assert r["update_size"] > 1e-3
        assert r["update_diff"] < 0.01 * r["update_size"], r
        assert abs(r["single_loss"] - r["worker_loss"]) < 1e-5, r
        assert r["last_loss"] < r["first_loss"], r
    # both workers hold the same (all-reduced) model
    assert results[0]["worker_loss"] == pytest.approx(results[1]["worker_loss"])
