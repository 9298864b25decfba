"""``tools/bench.py serve --models all``: the serving bench of several models in one invocation.

Each model is exported, loaded and timed by its own ``tools/bench.py serve --yaml
hparams/<model>.yaml`` child process (a fresh TensorFlow each time: no graph, XLA cache or
thread-pool state leaks from one model to the next), one after the other. The parent collects
the children's JSON into one result: a compact ``table`` row per model (wall-clock and CPU p50 /
p99 of the three timed signatures, load seconds, ``goal_met``), the full child results under
``models``, the load average before and after, and ``failed`` (model -> the tail of its stderr).
``tools/bench.py`` exits 1 when ``failed`` is not empty (the JSON is still printed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
SIGNATURES = ("score_candidates", "retrieve_and_rank", "recommend")
# forwarded unchanged to each child: option -> attribute of the parsed arguments
FORWARDED = {
    "--candidates": "candidates",
    "--k": "k",
    "--requests": "requests",
    "--warmup": "warmup",
    "--threads": "threads",
    "--retrieval-size": "retrieval_size",
    "--train-lines": "train_lines",
    "--recall-users": "recall_users",
}


def model_names(spec: str) -> list[str]:
    """``all`` (every registered model, sorted) or a comma-separated list of model types, each
    checked against the registry and ``hparams/<model>.yaml``."""
    from tf_lsrec.models import MODEL_CLASSES

    names = (
        sorted(MODEL_CLASSES)
        if spec.strip() == "all"
        else [n.strip() for n in spec.split(",") if n.strip()]
    )
    if not names:
        raise ValueError(f"--models {spec!r}: no model named")
    for n in names:
        if n not in MODEL_CLASSES:
            raise ValueError(f"--models: unknown model {n!r}; registered: {sorted(MODEL_CLASSES)}")
        if not os.path.isfile(yaml_path(n)):
            raise ValueError(f"--models: no hyper-parameter file {yaml_path(n)}")
    return names


def yaml_path(model: str) -> str:
    return os.path.join(ROOT, "hparams", f"{model}.yaml")


def child_command(args, model: str) -> list[str]:
    """The ``tools/bench.py serve`` command line that benches ``model`` alone."""
    cmd = [sys.executable, os.path.join(TOOLS, "bench.py"), "serve", "--yaml", yaml_path(model)]
    for option, attr in FORWARDED.items():
        cmd += [option, str(getattr(args, attr))]
    if args.synthetic:
        cmd.append("--synthetic")
    if args.jit_compile is not None:
        cmd.append("--jit-compile" if args.jit_compile else "--no-jit-compile")
    if args.export_dir:
        cmd += ["--export-dir", args.export_dir]
    return cmd


def summary(result: dict) -> dict:
    """One table row of a child's result (milliseconds)."""
    row = {"model": result["model"], "jit_compile": result["jit_compile"]}
    for sig in SIGNATURES:
        r = result[sig]
        row[sig] = {
            f"{clock}_{p}_ms": r[f"{clock}_{p}_ms"]
            for clock in ("wall", "cpu")
            for p in ("p50", "p99")
        }
    row["load_seconds"] = result["load_seconds"]
    row["goal_met"] = result["goal_met"]
    row["goal_met_cpu_time"] = result["goal_met_cpu_time"]
    row["load_average"] = result["load_average"]
    return row


def run_models(args, run_child=None) -> dict:
    """Bench every model of ``args.models`` in its own child process; see the module doc.

    ``run_child(cmd) -> (returncode, stdout, stderr)`` defaults to ``subprocess.run``."""
    import json

    if args.load:
        raise ValueError("--models cannot be combined with --load (one version directory)")
    names = model_names(args.models)
    if run_child is None:
        run_child = _run_child
    load_start = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    models, table, failed = {}, [], {}
    for name in names:
        print(f"[serve --models] {name} ...", file=sys.stderr, flush=True)
        code, out, err = run_child(child_command(args, name))
        try:
            if code != 0:
                raise RuntimeError(f"exit status {code}")
            result = json.loads(out)
            result.pop("bench", None)
            models[name] = result
            table.append(summary(result))
        except Exception as e:  # noqa: BLE001 - a model that fails is reported, the rest run
            failed[name] = f"{type(e).__name__}: {e}\n{err[-3000:]}"
            print(f"[serve --models] {name} FAILED: {e}", file=sys.stderr, flush=True)
    return {
        "models_requested": names,
        "table": table,
        "all_goals_met": bool(table) and not failed and all(r["goal_met"] for r in table),
        "over_goal": [r["model"] for r in table if not r["goal_met"]],
        "over_goal_cpu_time": [r["model"] for r in table if not r["goal_met_cpu_time"]],
        "failed": failed,
        "load_average_start": load_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "seconds": round(time.perf_counter() - t0, 1),
        "models": models,
    }


def _run_child(cmd: list[str]) -> tuple[int, str, str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return proc.returncode, proc.stdout, proc.stderr
