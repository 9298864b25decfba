"""``multi_worker_mirrored``: a worker killed mid-epoch (SIGKILL), then all workers restarted,
resumes from the chief's last checkpoint to the uninterrupted run's weights (issue 17).

Three jobs of two worker processes on 127.0.0.1 (``multi_worker_resume_worker.py``): an
uninterrupted run; a run whose task 1 is killed after step 12 of epoch 2 (the last checkpoint,
``checkpoint_steps: 5``, is at step 10), after which the chief must fail by itself (TF's peer
health check aborts the all-reduce); and the restart of both workers with the same command.
Task 1's own checkpoint copy is deleted before the restart: it must restore the chief's.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.models.helpers import free_local_ports, worker_env
from tf_lsrec.data.prepare import make_planted_dataset

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "multi_worker_resume_worker.py")
JOB_TIMEOUT = 900  # seconds per job of two workers; a hang fails instead of blocking CI


def _start(workdir, run, ports, pause="-", tag="a"):
    env = worker_env()
    os.makedirs(workdir / run, exist_ok=True)
    procs = []
    for i in range(2):
        # output to files: a full pipe would block a worker
        out = open(workdir / run / f"{tag}{i}.log", "w")
        procs.append(subprocess.Popen(
            [sys.executable, WORKER, str(workdir), str(i), ",".join(map(str, ports)), run, pause],
            stdout=out, stderr=subprocess.STDOUT, text=True, env=env,
        ))  # fmt: skip
        procs[-1].log = out.name
        out.close()
    return procs


def _tail(proc, n=4000):
    with open(proc.log) as f:
        return f.read()[-n:]


def _wait(procs, timeout=JOB_TIMEOUT):
    deadline = time.time() + timeout
    try:
        for p in procs:
            p.wait(timeout=max(1, deadline - time.time()))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [p.returncode for p in procs]


def _result(workdir, run, task):
    weights = np.load(workdir / run / f"task{task}.npz")
    with open(workdir / run / f"task{task}.json") as f:
        info = json.load(f)
    return [weights[f"arr_{i}"] for i in range(len(weights.files))], info


@pytest.mark.slow  # six TensorFlow processes: several minutes on a loaded 2-core machine
def test_killed_worker_restart_resumes_to_the_uninterrupted_weights(tmp_path):
    make_planted_dataset(tmp_path / "planted", seed=0)

    ref = _start(tmp_path, "ref", free_local_ports(2))
    assert _wait(ref) == [0, 0], _tail(ref[0]) + _tail(ref[1])

    ports = free_local_ports(2)
    job = _start(tmp_path, "kill", ports, pause="2:12")
    paused = tmp_path / "kill" / "paused"
    try:
        for _ in range(JOB_TIMEOUT):  # polls a second apart: a hang fails instead of blocking CI
            if paused.exists():
                break
            assert all(p.poll() is None for p in job), _tail(job[0]) + _tail(job[1])
            time.sleep(1)
        else:
            pytest.fail("task 1 never reached epoch 2 step 12")
        os.kill(job[1].pid, signal.SIGKILL)
        job[1].wait(timeout=60)
        # the chief waits in step 13's all-reduce; the health check (every 30 s) finds task 1
        # down and aborts it, so the chief fails by itself instead of hanging
        chief_rc = job[0].wait(timeout=300)
    finally:
        _wait(job, timeout=1)
    assert job[1].returncode == -signal.SIGKILL
    assert chief_rc not in (0, None), _tail(job[0])
    model_dir = tmp_path / "kill" / "model"
    assert (model_dir / "worker_1" / "last").is_dir()  # task 1 saved its own copy ...
    shutil.rmtree(model_dir / "worker_1")  # ... which the restart must not need

    again = _start(tmp_path, "kill", ports, tag="b")  # the same command on both workers
    assert _wait(again) == [0, 0], _tail(again[0]) + _tail(again[1])
    for p in again:
        log = _tail(p, 10**6)
        # both restored the chief's in-epoch checkpoint: epoch 1 done, 10 steps of epoch 2
        assert f"resumed from {model_dir / 'last'}" in log, log[-4000:]
        assert "(epoch 1)" in log and "resuming epoch at step 10" in log, log[-4000:]

    ref_w, ref_info = _result(tmp_path, "ref", 0)
    steps = max(b for e, b in ref_info["batches"] if e == 2) + 1
    assert steps > 12
    for task in (0, 1):
        w, info = _result(tmp_path, "kill", task)
        # the restart trained only epoch 2's steps 11.. (0-based 10..), none twice, none lost
        assert info["batches"] == [[2, b] for b in range(10, steps)]
        assert len(w) == len(ref_w)
        for a, b in zip(ref_w, w):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    # the chief's log is whole: epoch 1 from before the kill, epoch 2's mean over all its steps
    log = _result(tmp_path, "kill", 0)[1]["log"]
    assert [r["epoch"] for r in log] == [1, 2]
    for r, q in zip(ref_info["log"], log):
        assert q["train_total_loss"] == pytest.approx(r["train_total_loss"], rel=1e-5)
