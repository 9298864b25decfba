"""A/B of the RNN's padded-step skipping: the train step with and without, in one process.

Builds the model twice from the same yaml and seed (the "masked" copy with every
``SequenceEncoder.skip_padded_steps`` off: Keras' masked RNN over all ``max_seq_length`` steps;
the "skip" copy computing only each row's real steps), traces both train steps, then runs them
on the same batches in a shuffled order for ``--rounds`` rounds of ``--batches`` batches and
reports the median **process CPU time** per step of each, and their ratio. CPU time rather
than wall time so that a shared machine still gives a usable ratio; on a quiet machine the two
agree. Also reports both copies' loss on their first (tracing) step, taken from the same weights.
"""

from __future__ import annotations

import random
import statistics
import time

from benches.train import build_model, git_commit, peak_rss_mib, set_threads


def add_arguments(p) -> None:
    p.add_argument("--model", default="sli_rec", help="yaml name in hparams/ or a yaml path")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--batches", type=int, default=10, help="batches per round")
    p.add_argument("--threads", type=int, default=0, help="intra/inter-op threads (0 = TF)")


def _encoders(model):
    from tf_lsrec.layers.sequence_encoder import SequenceEncoder

    found = [layer for layer in model._flatten_layers() if isinstance(layer, SequenceEncoder)]
    if not found:
        raise ValueError(f"{type(model).__name__} has no SequenceEncoder: nothing to compare")
    return found


def run(args) -> dict:
    import numpy as np
    import tensorflow as tf

    from tf_lsrec.models.trainer import make_train_step

    set_threads(args.threads)
    hp, paths, masked = build_model(args.model, args.set)
    _, _, skip = build_model(args.model, args.set)
    for layer in _encoders(masked):
        layer.skip_padded_steps = False
    for layer in _encoders(skip):
        layer.skip_padded_steps = True
    skip.set_weights(masked.get_weights())
    batches = list(masked.data.train_dataset(paths.train_file).take(args.batches + 1))
    probe, batches = batches[0], batches[1:]
    steps = {"masked": make_train_step(masked), "skip": make_train_step(skip)}
    # the first step traces; same weights, so the same loss (up to rounding, and to dropout
    # masks where the model has dropout)
    loss = {name: float(step(probe)["total_loss"]) for name, step in steps.items()}
    times = {name: [] for name in steps}
    rng = random.Random(0)
    for _ in range(args.rounds):
        order = list(steps)
        rng.shuffle(order)
        for name in order:
            for batch in batches:
                start = time.process_time()
                float(steps[name](batch)["total_loss"])
                times[name].append(time.process_time() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    lengths = np.concatenate([b["mask"].numpy().sum(1) for b in batches]) if "mask" in batches[0] else None
    return {
        "model": hp.model_type,
        "sets": args.set,
        "batch_size": hp.batch_size,
        "max_seq_length": hp.max_seq_length,
        "mean_history_length": None if lengths is None else round(float(lengths.mean()), 2),
        "cpu_ms_per_step_masked": round(1000 * med["masked"], 2),
        "cpu_ms_per_step_skip": round(1000 * med["skip"], 2),
        "speedup": round(med["masked"] / med["skip"], 3),
        "first_batch_loss": loss,
        "steps_timed_each": len(times["skip"]),
        "peak_rss_mib": peak_rss_mib(),
        "tensorflow": tf.__version__,
        "git_commit": git_commit(),
    }
