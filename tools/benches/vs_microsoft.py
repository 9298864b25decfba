"""Side by side with Microsoft Recommenders on the same files: training instances/s, eval
lines/s, their ratios, peak RSS, GFLOP/s.

Prepares (or takes, ``--data-dir``) a dataset in the 8-column format, writes a random
``--train-lines`` subset of its training file, the first ``--valid-lines`` of its validation
file (Microsoft validates after every epoch; its throughput excludes that) and the first
``--test-lines`` of its 1+9 test file (0 = all of it), then, ``--repeats`` times, back to
back:

* Microsoft's model (``sli_rec`` -> ``sli_rec``, ``gru4rec`` -> ``gru``) through
  ``ms-reference/run.py --epochs 1`` in the Python given by ``--ms-python`` (e.g. the venv
  that ``shared/tools/ms-reference/install.sh`` makes; the project never imports it):
  ``train_lines_per_s`` (one line = one instance = a positive and its ``train_num_ngs``
  sampled negatives; its validation pass excluded) and ``eval_lines_per_s`` on the test file;
* ours, in a fresh process each: ``tools/bench.py train --steps 0`` (one pass over the same
  training subset after untimed warm-up steps, then evaluation of the same test file: the
  validation pass and the first, tracing ``run_eval`` reported apart from the steady one)
  with Microsoft's quick-start settings (``embed_l2 = layer_l2 = 0``, batch 400, 4 negatives);
  with ``--clsr`` also our CLSR on the same files, compared with Microsoft's SLi-Rec.

GFLOP/s: the matmul FLOPs per training instance (forward + backward, counted on our traced
train step) and per evaluation line (forward), see benches/flops.py, times the measured rates;
Microsoft's model has the same layers and shapes, so its rates use the same counts.
Prints one JSON (medians over the repeats, and every run); ``--out`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)


def _default_ms_reference() -> str:
    """``shared/tools/ms-reference`` next to the repository (``../shared``), else next to an
    ancestor directory (a git worktree such as ``/work/wt/<name>`` of ``/work/main``)."""
    here = os.path.dirname(ROOT)
    while True:
        candidate = os.path.join(here, "shared", "tools", "ms-reference")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return os.path.join(os.path.dirname(ROOT), "shared", "tools", "ms-reference")
        here = parent


DEFAULT_MS_REFERENCE = _default_ms_reference()
MS_NAMES = {"sli_rec": "sli_rec", "gru4rec": "gru"}
QUICK_START = ["train.embed_l2=0", "train.layer_l2=0", "train.batch_size=400",
               "train.train_num_ngs=4", "train.learning_rate=0.001"]  # fmt: skip


class BenchError(RuntimeError):
    pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ms-python", required=True, help="python of a venv with Microsoft's code")
    p.add_argument("--model", default="sli_rec", choices=sorted(MS_NAMES))
    p.add_argument("--clsr", action="store_true", help="also our CLSR vs Microsoft's SLi-Rec")
    p.add_argument("--ms-reference", default=DEFAULT_MS_REFERENCE,
                   help="directory with run.py (default: ../shared/tools/ms-reference)")  # fmt: skip
    p.add_argument("--data-dir", help="a prepared dataset directory (default: ml-100k)")
    p.add_argument("--train-lines", type=int, default=24_000, help="training subset (0 = all)")
    p.add_argument("--valid-lines", type=int, default=2_000, help="first lines (0 = all)")
    p.add_argument("--test-lines", type=int, default=0, help="first lines of test (0 = all)")
    p.add_argument("--valid-ngs", type=int, default=4)
    p.add_argument("--test-ngs", type=int, default=9)
    p.add_argument("--seed", type=int, default=0, help="of the training subset")
    p.add_argument("--warmup", type=int, default=5, help="our untimed training steps")
    p.add_argument("--repeats", type=int, default=1, help="alternate Microsoft / ours N times")
    p.add_argument("--threads", type=int, default=0, help="our intra/inter-op threads")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="extra override for our models (e.g. train.precision=mixed_bfloat16)")  # fmt: skip
    p.add_argument("--workdir", help="keep the files and logs here (default: a temp dir)")
    p.add_argument("--out", help="also write the JSON here")


def _dataset(args):
    from tf_lsrec.data.paths import DataPaths

    if args.data_dir:
        return DataPaths.in_directory(args.data_dir)
    from tf_lsrec.data.prepare import prepare_data
    from tf_lsrec.hparams import prepare_hparams

    hp = prepare_hparams(os.path.join(ROOT, "hparams", f"{args.model}.yaml"))
    return prepare_data(hp)


def _head(src: str, dst: str, n: int, group: int) -> int:
    if n and n % group:
        raise BenchError(f"{os.path.basename(dst)}: {n} lines is not a multiple of {group}")
    count = 0
    with open(src, "rb") as f, open(dst, "wb") as out:
        for line in f:
            if n and count >= n:
                break
            out.write(line)
            count += 1
    return count


def _subset(src: str, dst: str, n: int, seed: int) -> int:
    with open(src, "rb") as f:
        lines = f.readlines()
    if n and n < len(lines):
        lines = random.Random(seed).sample(lines, n)
    with open(dst, "wb") as out:
        out.writelines(lines)
    return len(lines)


def _files(args, workdir: str) -> dict:
    paths = _dataset(args)
    files = {
        "train": os.path.join(workdir, "train_data"),
        "valid": os.path.join(workdir, "valid_data"),
        "test": os.path.join(workdir, "test_data"),
        "user_vocab": paths.user_vocab,
        "item_vocab": paths.item_vocab,
        "cate_vocab": paths.cate_vocab,
    }
    counts = {
        "train": _subset(paths.train_file, files["train"], args.train_lines, args.seed),
        "valid": _head(paths.valid_file, files["valid"], args.valid_lines, args.valid_ngs + 1),
        "test": _head(paths.test_file, files["test"], args.test_lines, args.test_ngs + 1),
    }
    return {"files": files, "lines": counts, "source": os.path.dirname(paths.train_file)}


def _microsoft_env() -> dict:
    """Our environment without what points TensorFlow at our Keras / our code: Microsoft's
    TF 2.15 has no tf_keras (``TF_USE_LEGACY_KERAS=1`` would make it fail to import Keras)."""
    env = dict(os.environ)
    for key in ("TF_USE_LEGACY_KERAS", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(key, None)
    return env


def _run_json(cmd: list[str], log: str, what: str, env: dict | None = None) -> dict | None:
    """Runs ``cmd`` (stderr to ``log``); returns the bench JSON it printed last, if any."""
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=f, text=True, env=env)
    with open(log, "a") as f:
        f.write("\n--- stdout ---\n" + proc.stdout)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise BenchError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    start = proc.stdout.rfind('{\n  "bench"')
    return json.loads(proc.stdout[start:]) if start >= 0 else None


def _microsoft(args, files: dict, ms_model: str, workdir: str, rep: int) -> dict:
    run_py = os.path.join(args.ms_reference, "run.py")
    if not os.path.exists(run_py):
        raise BenchError(f"{run_py} not found (--ms-reference)")
    out = os.path.join(workdir, f"ms_{ms_model}_{rep}.json")
    cmd = [args.ms_python, run_py, "--model", ms_model,
           "--train", files["train"], "--valid", files["valid"], "--test", files["test"],
           "--user-vocab", files["user_vocab"], "--item-vocab", files["item_vocab"],
           "--cate-vocab", files["cate_vocab"], "--valid-ngs", str(args.valid_ngs),
           "--test-ngs", str(args.test_ngs), "--epochs", "1", "--batch-size", "400",
           "--workdir", os.path.join(workdir, f"ms_run_{rep}"), "--out", out]  # fmt: skip
    log = os.path.join(workdir, f"ms_{ms_model}_{rep}.log")
    _run_json(cmd, log, f"Microsoft {ms_model}", env=_microsoft_env())
    with open(out) as f:
        r = json.load(f)
    return {
        "train_instances_per_s": round(float(r["train_lines_per_s"]), 1),
        "eval_lines_per_s": round(float(r["eval_lines_per_s"]), 1),
        "peak_rss_mib": round(float(r["peak_rss_mb"]), 1),
        "fit_seconds": round(float(r["fit_seconds"]), 2),
        "test_metrics": r.get("test_metrics"),
        "tensorflow": r.get("tensorflow"),
    }


def _ours(args, files: dict, model: str, workdir: str, rep: int) -> dict:
    sets = [*QUICK_START,
            f"data.train_file={files['train']}", f"data.valid_file={files['valid']}",
            f"data.test_file={files['test']}", f"data.user_vocab={files['user_vocab']}",
            f"data.item_vocab={files['item_vocab']}", f"data.cate_vocab={files['cate_vocab']}",
            f"data.valid_num_ngs={args.valid_ngs}", f"data.test_num_ngs={args.test_ngs}",
            *args.set]  # fmt: skip
    cmd = [sys.executable, os.path.join(TOOLS, "bench.py"), "train", "--model", model,
           "--steps", "0", "--warmup", str(args.warmup), "--threads", str(args.threads),
           "--eval-file", files["test"], "--eval-num-ngs", str(args.test_ngs), "--flops"]  # fmt: skip
    for s in sets:
        cmd += ["--set", s]
    r = _run_json(cmd, os.path.join(workdir, f"ours_{model}_{rep}.log"), f"our {model}")
    if r is None:
        raise BenchError(f"our {model}: no bench JSON in its output (log in {workdir})")
    keep = ("train_instances_per_s", "train_steps_per_s", "train_instances", "eval_lines_per_s",
            "eval_lines_per_s_first_call", "eval_validate_seconds", "eval_first_call_seconds",
            "eval_seconds", "peak_rss_mib", "flops", "train_gflops_per_s", "eval_gflops_per_s",
            "eval_metrics", "precision", "tensorflow")  # fmt: skip
    return {k: r[k] for k in keep if k in r}


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 1)


def _summary(runs: list[dict]) -> dict:
    out = {k: _median(runs, k) for k in ("train_instances_per_s", "eval_lines_per_s",
                                         "peak_rss_mib")}  # fmt: skip
    for k in ("eval_lines_per_s_first_call", "train_gflops_per_s", "eval_gflops_per_s"):
        if k in runs[0]:
            out[k] = _median(runs, k)
    return out


def _gflops(side: dict, flops: dict) -> None:
    side["train_gflops_per_s"] = round(
        flops["train_flops_per_instance"] * side["train_instances_per_s"] / 1e9, 2
    )
    side["eval_gflops_per_s"] = round(
        flops["eval_flops_per_line"] * side["eval_lines_per_s"] / 1e9, 2
    )


def _ratios(ours: dict, ms: dict) -> dict:
    r = {
        "train_instances_per_s": round(
            ours["train_instances_per_s"] / ms["train_instances_per_s"], 2
        ),
        "eval_lines_per_s": round(ours["eval_lines_per_s"] / ms["eval_lines_per_s"], 2),
    }
    if "eval_lines_per_s_first_call" in ours:
        r["eval_lines_per_s_first_call"] = round(
            ours["eval_lines_per_s_first_call"] / ms["eval_lines_per_s"], 2
        )
    return r


def run(args: argparse.Namespace) -> dict:

    if not os.path.exists(args.ms_python):
        raise BenchError(f"--ms-python {args.ms_python} does not exist")
    ms_model = MS_NAMES[args.model]
    ours_models = [args.model] + (["clsr"] if args.clsr else [])
    with tempfile.TemporaryDirectory(prefix="bench_vs_ms_") as tmp:
        workdir = args.workdir or tmp
        os.makedirs(workdir, exist_ok=True)
        data = _files(args, workdir)
        runs = {"microsoft": [], **{m: [] for m in ours_models}}
        for rep in range(args.repeats):
            runs["microsoft"].append(_microsoft(args, data["files"], ms_model, workdir, rep))
            for m in ours_models:
                runs[m].append(_ours(args, data["files"], m, workdir, rep))
    ours = {m: _summary(runs[m]) for m in ours_models}
    ms = _summary(runs["microsoft"])
    flops = runs[args.model][0]["flops"]
    _gflops(ms, flops)
    result = {
        "model": args.model,
        "microsoft_model": ms_model,
        "data": {
            "source": data["source"],
            "lines": data["lines"],
            "train_subset_seed": args.seed,
            "valid_ngs": args.valid_ngs,
            "test_ngs": args.test_ngs,
        },  # fmt: skip
        "microsoft": ms,
        "ours": ours,
        "ratios": {f"{m}_vs_microsoft_{ms_model}": _ratios(ours[m], ms) for m in ours_models},
        "flops": {m: runs[m][0]["flops"] for m in ours_models},
        "repeats": args.repeats,
        "runs": runs,
        "our_overrides": [*QUICK_START, *args.set],
        "cpu_count": os.cpu_count(),
        "provenance": getattr(args, "provenance", None),
        "ms_python": args.ms_python,
    }
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"bench": "vs-microsoft", **result}, f, indent=2)
    return result
