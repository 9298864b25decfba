"""Model training and evaluation throughput: steps/s, instances/s, eval lines/s, peak memory.

Trains ``--model`` (a yaml in hparams/ or a path) for ``--steps`` compiled train steps on a
prepared dataset (ml-100k by default) after ``--warmup`` untimed steps (tracing), then
evaluates ``--eval-file`` (the validation file by default), reporting apart: the one-off file
validation pass, the first ``run_eval`` (traces the predict step) and a second, steady-state
``run_eval`` (what every later epoch's validation costs). Also times one pass of the same
batches through the tf.data pipeline alone, so the ratio pipeline/train says whether input
could ever bound training. With ``--flops``, the model's matmul FLOPs per training instance
and per evaluation line (see benches/flops.py) and the achieved GFLOP/s.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="sli_rec", help="yaml name in hparams/ or a yaml path")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--steps", type=int, default=60, help="timed training steps (0 = one pass)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps (tracing)")
    p.add_argument("--threads", type=int, default=0, help="intra/inter-op threads (0 = TF)")
    p.add_argument("--eval-file", help="file to evaluate (default: the validation file)")
    p.add_argument("--eval-num-ngs", type=int, help="its negatives per positive (default: valid)")
    p.add_argument("--flops", action="store_true", help="count FLOPs and report GFLOP/s")


def _yaml(model: str) -> str:
    if os.path.exists(model):
        return model
    return os.path.join(ROOT, "hparams", f"{model}.yaml")


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def set_threads(threads: int) -> None:
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def build_model(model: str, sets: list[str], **values):
    """``(hparams, data paths, compiled model)`` for a yaml name/path, ``--set`` overrides and
    values."""
    from tf_lsrec.data.prepare import prepare_data
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.io.lookup import VocabLookup
    from tf_lsrec.io.pipeline import SequentialData
    from tf_lsrec.models.optimizers import make_optimizer
    from tf_lsrec.models.precision import make_model

    hp = prepare_hparams(_yaml(model), overrides=sets).replace(MODEL_DIR=None, **values)
    paths = prepare_data(hp)  # passed explicitly, not written into `hp`
    lookup = VocabLookup.from_files(paths.user_vocab, paths.item_vocab, paths.cate_vocab)
    net = make_model(hp, data=SequentialData(hp, lookup))  # honours train.precision
    net.compile(optimizer=make_optimizer(hp))
    net._ensure_built()
    return hp, paths, net


def time_training(model, hp, train_file: str, steps: int, warmup: int) -> dict:
    """Untimed ``warmup`` steps, then ``steps`` timed ones (``0``: one pass over the file).

    Instances are counted from the batches' rows (``rows / (1 + train_num_ngs)``), so a short
    last batch is counted as what it is."""
    from tf_lsrec.models.trainer import make_train_step

    step = make_train_step(model)
    warm = iter(model.data.train_dataset(train_file).repeat())
    for _ in range(warmup):
        step(next(warm))
    batches = iter(model.data.train_dataset(train_file)) if steps == 0 else None
    if batches is None:
        batches = iter(model.data.train_dataset(train_file).repeat())
    done, rows, parts = 0, 0, None
    start = time.perf_counter()
    for batch in batches:
        parts = step(batch)
        rows += int(batch["labels"].shape[0])
        done += 1
        if steps and done >= steps:
            break
    float(parts["total_loss"])  # wait for the last step
    seconds = time.perf_counter() - start
    instances = rows / (hp.train_num_ngs + 1)
    return {
        "train_steps": done,
        "train_instances": int(instances),
        "train_seconds": round(seconds, 3),
        "train_steps_per_s": round(done / seconds, 3),
        "train_instances_per_s": round(instances / seconds, 1),
    }


def time_eval(model, path: str, num_ngs: int) -> dict:
    """File validation, first ``run_eval`` (traces the predict step) and a steady one, apart."""
    lines = count_lines(path)
    start = time.perf_counter()
    model.data.file_stats(path)  # the one-off validation pass (cached per file afterwards)
    validate_s = time.perf_counter() - start
    start = time.perf_counter()
    metrics = model.run_eval(path, num_ngs)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    model.run_eval(path, num_ngs)
    steady_s = time.perf_counter() - start
    return {
        "eval_lines": lines,
        "eval_validate_seconds": round(validate_s, 3),
        "eval_first_call_seconds": round(first_s, 3),
        "eval_seconds": round(steady_s, 3),
        "eval_lines_per_s": round(lines / steady_s, 1),
        "eval_lines_per_s_first_call": round(lines / first_s, 1),
        "eval_metrics": {k: round(float(v), 4) for k, v in metrics.items()},
    }


def flops_report(model, hp, train: dict, ev: dict | None) -> dict:
    from benches.flops import model_flops

    f = model_flops(model, hp)
    out = {
        "flops": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in f.items()},
        "train_gflops_per_s": round(
            f["train_flops_per_instance"] * train["train_instances_per_s"] / 1e9, 2
        ),
    }
    if ev is not None:
        out["eval_gflops_per_s"] = round(f["eval_flops_per_line"] * ev["eval_lines_per_s"] / 1e9, 2)
    return out


def run(args) -> dict:
    import tensorflow as tf

    set_threads(args.threads)
    hp, paths, model = build_model(args.model, args.set)
    train = time_training(model, hp, paths.train_file, args.steps, args.warmup)

    pipe = iter(model.data.train_dataset(paths.train_file).repeat())
    start = time.perf_counter()
    for _ in range(train["train_steps"]):
        next(pipe)
    pipe_s = time.perf_counter() - start

    eval_file = args.eval_file or paths.valid_file
    num_ngs = args.eval_num_ngs if args.eval_num_ngs is not None else hp.valid_num_ngs
    ev = time_eval(model, eval_file, num_ngs)
    result = {
        "model": hp.model_type,
        "dataset": hp.dataset if not args.set else f"{hp.dataset} {args.set}",
        "batch_size": hp.batch_size,
        "train_num_ngs": hp.train_num_ngs,
        "max_seq_length": hp.max_seq_length,
        "precision": hp.precision,
        **train,
        "pipeline_instances_per_s": round(train["train_instances"] / pipe_s, 1),
        "pipeline_over_train_ratio": round(train["train_seconds"] / pipe_s, 1),
        "eval_file": eval_file,
        **ev,
    }
    if args.flops:
        result.update(flops_report(model, hp, train, ev))
    result.update(
        {
            "peak_rss_mib": peak_rss_mib(),
            "cpu_count": os.cpu_count(),
            "tensorflow": tf.__version__,
        }
    )
    return result
