"""Model training and evaluation throughput: instances/s, eval lines/s, peak memory.

Trains ``--model`` (a yaml in hparams/ or a path) for ``--steps`` compiled train steps on a
prepared dataset (ml-100k by default) after ``--warmup`` steps, then evaluates the valid file.
Also times one pass of the same batches through the tf.data pipeline alone, so the ratio
pipeline/train says whether input could ever bound training.
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
    p.add_argument("--steps", type=int, default=60, help="timed training steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps (tracing)")
    p.add_argument("--threads", type=int, default=0, help="intra/inter-op threads (0 = TF)")


def _yaml(model: str) -> str:
    if os.path.exists(model):
        return model
    return os.path.join(ROOT, "hparams", f"{model}.yaml")


def run(args) -> dict:
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from tf_lsrec.data.prepare import prepare_data
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.io.lookup import VocabLookup
    from tf_lsrec.io.pipeline import SequentialData
    from tf_lsrec.models import get_model_class
    from tf_lsrec.models.optimizers import make_optimizer
    from tf_lsrec.models.trainer import make_train_step

    hp = prepare_hparams(_yaml(args.model), overrides=args.set).replace(MODEL_DIR=None)
    paths = prepare_data(hp)  # passed explicitly, not written into `hp`
    lookup = VocabLookup.from_files(paths.user_vocab, paths.item_vocab, paths.cate_vocab)
    model = get_model_class(hp.model_type)(hp, data=SequentialData(hp, lookup))
    model.compile(optimizer=make_optimizer(hp))
    model._ensure_built()
    step = make_train_step(model)
    batches = iter(model.data.train_dataset(paths.train_file).repeat())

    for _ in range(args.warmup):
        step(next(batches))
    start = time.perf_counter()
    for _ in range(args.steps):
        parts = step(next(batches))
    float(parts["total_loss"])  # wait for the last step
    train_s = time.perf_counter() - start

    pipe = iter(model.data.train_dataset(paths.train_file).repeat())
    start = time.perf_counter()
    for _ in range(args.steps):
        next(pipe)
    pipe_s = time.perf_counter() - start

    start = time.perf_counter()
    lines = sum(1 for _ in open(paths.valid_file, "rb"))
    model.run_eval(paths.valid_file, hp.valid_num_ngs)
    eval_s = time.perf_counter() - start

    instances = args.steps * hp.batch_size
    return {
        "model": hp.model_type,
        "dataset": hp.dataset if not args.set else f"{hp.dataset} {args.set}",
        "batch_size": hp.batch_size,
        "train_num_ngs": hp.train_num_ngs,
        "max_seq_length": hp.max_seq_length,
        "train_instances_per_s": round(instances / train_s, 1),
        "pipeline_instances_per_s": round(instances / pipe_s, 1),
        "pipeline_over_train_ratio": round(train_s / pipe_s, 1),
        "eval_lines_per_s": round(lines / eval_s, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
    }
