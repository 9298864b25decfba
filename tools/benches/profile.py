"""Where a model's training step spends its time: op time by layer, forward vs backward.

Builds ``--model`` as ``tools/bench.py train`` does, runs ``--warmup`` untimed train steps
(tracing), then records ``--steps`` steps with the TensorFlow profiler and sums the duration of
every executed kernel by the model's top-level layer (the first name scope of the op, e.g.
``short_term_attention``; ops outside any layer, such as the loss, the optimizer and the
embedding gathers' gradients, fall under their own op name's first part) and by direction
(``backward`` = ops under ``gradient_tape/`` or inside a loop's gradient body). Dropout ops are
counted apart inside each layer (``<layer>/dropout``), since on CPU their random-number kernels
are a large share of the step. Percentages are of the summed kernel time; on one thread that is
the step's wall time minus the executor's own overhead.
"""

from __future__ import annotations

import collections
import glob
import os
import tempfile

from benches.train import build_model, set_threads


def add_arguments(p) -> None:
    p.add_argument("--model", default="sli_rec", help="yaml name in hparams/ or a yaml path")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--steps", type=int, default=5, help="profiled train steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps (tracing)")
    p.add_argument("--threads", type=int, default=1, help="intra/inter-op threads (0 = TF)")
    p.add_argument("--top", type=int, default=15, help="slowest kernels to list")


def kernel_times(xplane_path: str) -> dict[str, float]:
    """``{op name: summed duration in ms}`` of the executed kernels in one profile (events of
    the ``tf_Compute`` threads whose name is ``<op name>:<op type>``)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as f:
        space.ParseFromString(f.read())
    totals: dict[str, float] = collections.Counter()
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" in name and "::" not in name:  # kernels are "name:Type", not "A::B" spans
                    totals[name] += event.duration_ps / 1e9
    return dict(totals)


def layer_of(op_name: str) -> tuple[str, str]:
    """``(layer, direction)`` of a kernel's op name."""
    name = op_name.split(":", 1)[0]
    backward = name.startswith("gradient_tape/") or "_grad/" in name
    layer = name.removeprefix("gradient_tape/").split("/")[0]
    if "dropout" in name:
        layer += "/dropout"
    return layer, "backward" if backward else "forward"


def run(args) -> dict:
    import tensorflow as tf

    set_threads(args.threads)  # before anything creates a tensor
    from tf_lsrec.models.trainer import make_train_step

    hp, paths, model = build_model(args.model, args.set)
    step = make_train_step(model)
    batches = list(model.data.train_dataset(paths.train_file).take(args.warmup + args.steps))
    if len(batches) < args.warmup + args.steps:
        raise ValueError(f"{paths.train_file}: fewer than {args.warmup + args.steps} batches")
    for batch in batches[: args.warmup]:
        float(step(batch)["total_loss"])
    with tempfile.TemporaryDirectory(prefix="tf_lsrec_profile_") as logdir:
        tf.profiler.experimental.start(logdir)
        for batch in batches[args.warmup :]:
            float(step(batch)["total_loss"])
        tf.profiler.experimental.stop()
        found = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
        if len(found) != 1:
            raise RuntimeError(f"expected one profile under {logdir}, found {found}")
        times = kernel_times(found[0])
    total = sum(times.values())
    if not total:
        raise RuntimeError("the profile holds no kernel events")
    by_layer: dict[tuple[str, str], float] = collections.Counter()
    for op, ms in times.items():
        by_layer[layer_of(op)] += ms

    def share(ms: float) -> dict:
        return {"ms_per_step": round(ms / args.steps, 2), "percent": round(100 * ms / total, 1)}

    layers = [
        {"layer": layer, "direction": direction, **share(ms)}
        for (layer, direction), ms in sorted(by_layer.items(), key=lambda kv: -kv[1])
    ]
    top = sorted(times.items(), key=lambda kv: -kv[1])[: args.top]
    return {
        "model": hp.model_type,
        "sets": args.set,
        "batch_size": hp.batch_size,
        "train_num_ngs": hp.train_num_ngs,
        "max_seq_length": hp.max_seq_length,
        "threads": args.threads,
        "profiled_steps": args.steps,
        "kernel_ms_per_step": round(total / args.steps, 1),
        "by_layer": layers,
        "top_kernels": [{"op": op, **share(ms)} for op, ms in top],
        "tensorflow": tf.__version__,
    }
