"""Input pipeline throughput: tf.data training/evaluation vs the Python SequentialIterator.

Measures, on one prepared file set (planted synthetic by default, or ``--data-dir``):
training instances/s of ``SequentialData.train_dataset`` (max_seq_length 50, K=4) and of
``SequentialIterator.load_data_from_file`` (first epoch includes parsing, second reuses the
parse cache), their ratio, evaluation lines/s, and the peak RSS of a preprocessing subprocess.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="a prepared dataset directory (default: generate one)")
    p.add_argument("--users", type=int, default=2000, help="planted synthetic users")
    p.add_argument("--mean-length", type=float, default=30.0, help="mean events per user")
    p.add_argument("--batch-size", type=int, default=400)
    p.add_argument("--max-seq-length", type=int, default=50)
    p.add_argument("--num-ngs", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2, help="tf.data epochs (best is reported)")
    p.add_argument("--interactions", type=int, default=200_000,
                   help="size of the synthetic dataset prepared in the RSS subprocess")  # fmt: skip
    p.add_argument("--skip-rss", action="store_true")


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _dataset(args, workdir: str):
    from tf_lsrec.data.paths import DataPaths
    from tf_lsrec.data.prepare import make_planted_dataset

    if args.data_dir:
        return DataPaths.in_directory(args.data_dir), "given"
    out = os.path.join(workdir, "planted")
    make_planted_dataset(out, n_users=args.users, mean_length=args.mean_length, seed=0)
    return DataPaths.in_directory(out), f"planted synthetic, {args.users} users"


def _time_tf_train(data, path: str, k: int, epochs: int) -> tuple[float, int]:
    ds = data.train_dataset(path, num_ngs=k)
    best, instances = float("inf"), 0
    for _ in range(epochs):
        start, rows = time.perf_counter(), 0
        for batch in ds:
            rows += int(batch["labels"].shape[0])
        best = min(best, time.perf_counter() - start)
        instances = rows // (k + 1)
    return best, instances


def _time_python(it, path: str, k: int) -> list[tuple[float, int]]:
    out = []
    for _ in range(2):
        start, rows = time.perf_counter(), 0
        for batch in it.load_data_from_file(path, batch_num_ngs=k):
            rows += len(batch["labels"])
        out.append((time.perf_counter() - start, rows // (k + 1)))
    return out


def _preprocess_rss(args, workdir: str) -> dict:
    script = os.path.join(TOOLS, "prepare_data.py")
    out = os.path.join(workdir, "rss")
    if os.path.exists(script):
        cmd = [sys.executable, script, "--dataset", "synthetic",
               "--interactions", str(args.interactions), "--out", out]  # fmt: skip
    else:  # tools/prepare_data.py not written yet: the same library call
        code = (
            "import tf_lsrec\nfrom tf_lsrec.data.prepare import prepare_dataset, _settings\n"
            "from tf_lsrec import prepare_hparams\n"
            f"hp = prepare_hparams(model_type='sli_rec', dataset='synthetic', "
            f"synthetic_interactions={args.interactions})\n"
            f"prepare_dataset(_settings(hp), {out!r})\n"
        )
        cmd = [sys.executable, "-c", code]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"preprocessing failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}"
        )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {
        "command": os.path.basename(cmd[1]) if cmd[1] != "-c" else "prepare_dataset (python -c)",
        "interactions": args.interactions,
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def run(args: argparse.Namespace) -> dict:
    import tensorflow as tf  # noqa: F401  (after _bootstrap set legacy Keras)

    from tf_lsrec import prepare_hparams
    from tf_lsrec.io.iterator import SequentialIterator
    from tf_lsrec.io.pipeline import SequentialData

    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as workdir:
        result: dict = {}
        if not args.skip_rss:  # first, so the getrusage of children is this subprocess alone
            result["preprocess"] = _preprocess_rss(args, workdir)
        paths, source = _dataset(args, workdir)
        hp = prepare_hparams(
            model_type="sli_rec",
            user_vocab=paths.user_vocab,
            item_vocab=paths.item_vocab,
            cate_vocab=paths.cate_vocab,
            batch_size=args.batch_size,
            max_seq_length=args.max_seq_length,
            train_num_ngs=args.num_ngs,
        )
        data = SequentialData(hp)
        start = time.perf_counter()
        stats = data.file_stats(paths.train_file)
        validate_s = time.perf_counter() - start
        data.file_stats(paths.valid_file)
        tf_s, tf_inst = _time_tf_train(data, paths.train_file, args.num_ngs, args.epochs)
        eval_ds = data.eval_dataset(paths.valid_file)
        eval_s = float("inf")
        for _ in range(args.epochs):  # best pass (the first one includes tracing)
            start, eval_lines = time.perf_counter(), 0
            for batch in eval_ds:
                eval_lines += int(batch["sample_weight"].numpy().sum())
            eval_s = min(eval_s, time.perf_counter() - start)
        it = SequentialIterator(hp)
        (py1_s, py_inst), (py2_s, _) = _time_python(it, paths.train_file, args.num_ngs)
        start, it_eval = time.perf_counter(), 0
        for batch in it.load_data_from_file(paths.valid_file):
            it_eval += len(batch["labels"])
        it_eval_s = time.perf_counter() - start
        tf_rate = tf_inst / tf_s
        result.update(
            {
                "data": source,
                "train_lines": stats.lines,
                "valid_lines": _count_lines(paths.valid_file),
                "max_history_length": stats.max_history_length,
                "batch_size": args.batch_size,
                "max_seq_length": args.max_seq_length,
                "num_ngs": args.num_ngs,
                "validate_file_lines_per_s": round(stats.lines / validate_s),
                "tf_data_train_instances_per_s": round(tf_rate),
                "python_iterator_train_instances_per_s_first_epoch": round(py_inst / py1_s),
                "python_iterator_train_instances_per_s_cached": round(py_inst / py2_s),
                "ratio_tf_data_vs_python_first_epoch": round(tf_rate / (py_inst / py1_s), 1),
                "ratio_tf_data_vs_python_cached": round(tf_rate / (py_inst / py2_s), 1),
                "tf_data_eval_lines_per_s": round(eval_lines / eval_s),
                "python_iterator_eval_lines_per_s": round(it_eval / it_eval_s),
                "cpu_count": os.cpu_count(),
            }
        )
        return result
