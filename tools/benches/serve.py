"""Serving latency: score_candidates (1 user x 100), retrieve_and_rank and recommend (top-10).

Exports a model (untrained weights: latency does not depend on their values) with its reference
YAML on ml-100k (a synthetic catalogue of ml-100k's size when ml-100k cannot be prepared), loads
the SavedModel from disk in this process with one intra-op and one inter-op thread, and times
single requests on CPU: p50 / p99 / mean in milliseconds after a warm-up. ``--models all`` (or
a comma-separated list) runs this bench for each model in its own child process and prints one
JSON (``serve_models.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time

ML100K_ITEMS = 1682


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yaml", default="hparams/sli_rec.yaml", help="model hyper-parameters")
    p.add_argument(
        "--models",
        help="'all' or model types separated by commas: bench each (hparams/<model>.yaml) in "
        "its own fresh process, one JSON for all (--yaml is then ignored)",
    )
    p.add_argument("--candidates", type=int, default=100, help="candidates per request")
    p.add_argument("--k", type=int, default=10, help="recommend top-k")
    p.add_argument("--requests", type=int, default=500, help="timed requests per signature")
    p.add_argument("--warmup", type=int, default=30, help="untimed requests first")
    p.add_argument("--threads", type=int, default=1, help="intra- and inter-op threads")
    p.add_argument("--synthetic", action="store_true", help="skip ml-100k, use the synthetic set")
    p.add_argument("--export-dir", help="keep the export here (default: a temporary directory)")
    p.add_argument(
        "--jit-compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="export with (or without) XLA-compiled scoring; default the model's own "
        "serving default (SequentialModel.SERVING_JIT_COMPILE)",
    )
    p.add_argument("--load", help="time an existing version directory instead of exporting")
    p.add_argument(
        "--retrieval-size", type=int, default=200, help="N of the retrieve_and_rank signature"
    )
    p.add_argument(
        "--train-lines",
        type=int,
        default=0,
        help="train one epoch on the first N training lines before export (0: untrained; "
        "recall of the retrieval stage is only meaningful for trained weights)",
    )
    p.add_argument(
        "--recall-users", type=int, default=200, help="test users for the retrieval recall"
    )


def _data(args, hp, workdir: str):
    """(DataPaths, description): ml-100k prepared into the cache, else a synthetic set."""
    from tf_lsrec.data.prepare import make_planted_dataset, prepare_data

    if not args.synthetic:
        try:
            return prepare_data(hp), "ml-100k"
        except Exception as e:  # noqa: BLE001 - any failure: fall back and say why
            reason = f"{type(e).__name__}: {e}"
    else:
        reason = "--synthetic"
    paths = make_planted_dataset(
        os.path.join(workdir, "synthetic"),
        n_users=943,
        n_items=ML100K_ITEMS,
        n_categories=19,
        mean_length=60.0,
    )
    return paths, f"synthetic planted catalogue of ~{ML100K_ITEMS} items ({reason})"


def _request(train_file: str, max_seq_length: int):
    """A real user: the first training line whose history is at least ``max_seq_length`` long
    (else the longest of the first 10,000 lines)."""
    best = None
    with open(train_file, encoding="utf-8") as f:
        for n, line in enumerate(f):
            fields = line.rstrip("\n").split("\t")
            hist = fields[5].split(",")
            if best is None or len(hist) > len(best[5].split(",")):
                best = fields
            if len(hist) >= max_seq_length or n >= 10_000:
                break
    return best


def _percentiles(timings: tuple[list[float], list[float]]) -> dict[str, object]:
    """p50 / p99 / mean in ms of the wall clock and, side by side, of the process CPU time of
    each request (on a shared machine the wall clock includes waiting for a core; CPU time does
    not, and on more than one thread it can exceed the wall clock)."""
    import numpy as np

    wall, cpu = (np.asarray(t) * 1e3 for t in timings)
    out: dict[str, object] = {}
    for name, stat in [
        ("p50", lambda a: np.percentile(a, 50)),
        ("p99", lambda a: np.percentile(a, 99)),
        ("mean", np.mean),
    ]:
        out[f"wall_{name}_ms"] = round(float(stat(wall)), 3)
        out[f"cpu_{name}_ms"] = round(float(stat(cpu)), 3)
    out["requests"] = len(wall)
    return out


def _time(fn, inputs, n: int, warmup: int) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        fn(**inputs)
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        res = fn(**inputs)
        for v in res.values():
            v.numpy()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def _train(model, hp, paths, lines: int, workdir: str) -> None:
    """One epoch on the first ``lines`` lines of the training file (valid file as given)."""
    subset = os.path.join(workdir, "train_subset")
    with (
        open(paths.train_file, encoding="utf-8") as src,
        open(subset, "w", encoding="utf-8") as dst,
    ):
        for n, line in enumerate(src):
            if n >= lines:
                break
            dst.write(line)
    hp.update(epochs=1)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON result
        model.fit(subset, paths.valid_file, valid_num_ngs=hp.get("valid_num_ngs", 4))


def _user_inputs(fields: list[str]) -> dict:
    """One user's request inputs (raw ids, history, times) from an 8-column line's fields."""
    import tensorflow as tf

    from tf_lsrec.io import format as fmt

    return {
        "user": tf.constant(fields[fmt.USER]),
        "time": tf.constant(float(fields[fmt.TIMESTAMP]), tf.float64),
        "item_history": tf.constant(fields[fmt.ITEM_HISTORY].split(",")),
        "category_history": tf.constant(fields[fmt.CATEGORY_HISTORY].split(",")),
        "time_history": tf.constant(
            [float(t) for t in fields[fmt.TIME_HISTORY].split(",")], tf.float64
        ),
    }


def _recall(loaded, test_file: str, users: int, k: int) -> dict:
    """Recall of the retrieval stage against full scoring, over the first ``users`` distinct
    users of ``test_file`` (their first test line's history, history items excluded):
    ``recall_at_N[n]`` = mean |full top-k ∩ first n retrieved| / k, and ``topk_agreement`` =
    mean |full top-k ∩ retrieve_and_rank top-k| / k."""
    import numpy as np
    import tensorflow as tf

    rows, seen = [], set()
    with open(test_file, encoding="utf-8") as f:
        for line in f:
            r = line.rstrip("\n").split("\t")
            if r[1] not in seen and r[5]:
                seen.add(r[1])
                rows.append(r)
            if len(rows) >= users:
                break
    hits: dict[int, list[float]] = {}
    agree = []
    size = None
    for r in rows:
        x = {**_user_inputs(r), "exclude_history": tf.constant(True)}
        full = set(loaded.signatures["recommend"](**x)["item_ids"].numpy().tolist())
        out = loaded.signatures["retrieve_and_rank"](**x)
        retrieved = out["retrieved_items"].numpy().tolist()
        size = len(retrieved)
        agree.append(len(full & set(out["item_ids"].numpy().tolist())) / k)
        for n in sorted({n for n in (10, 25, 50, 100, 200, 400, 800) if n < size} | {size}):
            hits.setdefault(n, []).append(len(full & set(retrieved[:n])) / k)
    return {
        "users": len(rows),
        "k": k,
        "retrieval_size": size,
        "recall_at_N": {str(n): round(float(np.mean(v)), 4) for n, v in sorted(hits.items())},
        "topk_agreement": round(float(np.mean(agree)), 4) if agree else None,
    }


def run(args) -> dict:
    if args.models:
        from benches.serve_models import run_models

        return run_models(args)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.set_visible_devices([], "GPU")

    import numpy as np

    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.io.lookup import VocabLookup
    from tf_lsrec.io.pipeline import SequentialData
    from tf_lsrec.models import get_model_class
    from tf_lsrec.serving import export

    workdir = tempfile.mkdtemp(prefix="bench_serve_")
    hp = prepare_hparams(args.yaml)
    t0 = time.perf_counter()
    paths, data = _data(args, hp, workdir)
    hp = hp.replace(MODEL_DIR=os.path.join(workdir, "model"))  # data paths: passed explicitly
    t1 = time.perf_counter()
    if args.load:
        version_dir, export_seconds = args.load, None
    else:
        lookup = VocabLookup.from_files(paths.user_vocab, paths.item_vocab, paths.cate_vocab)
        model = get_model_class(hp.model_type)(hp, data=SequentialData(hp, lookup))
        if hasattr(model, "set_graph"):  # LightGCN: the user-item graph of the training file
            model.set_graph(paths.train_file)
        if args.train_lines > 0:
            _train(model, hp, paths, args.train_lines, workdir)
        t1 = time.perf_counter()
        version_dir = export(
            model,
            args.export_dir or os.path.join(workdir, "export"),
            k=args.k,
            jit_compile=args.jit_compile,
            data_paths=paths,
            retrieval_size=args.retrieval_size,
        )
        export_seconds = round(time.perf_counter() - t1, 2)
        del model

    t2 = time.perf_counter()
    loaded = tf.saved_model.load(version_dir)
    load_seconds = time.perf_counter() - t2
    row = _request(paths.train_file, hp.max_seq_length)
    user = _user_inputs(row)
    with open(os.path.join(version_dir, "assets.extra", "tf_lsrec_export.json")) as f:
        info = json.load(f)
    from tf_lsrec.io.lookup import load_vocab

    items = [k for k in load_vocab(paths.item_vocab, "item") if k != "default_mid"]
    rng = np.random.default_rng(0)
    cand = rng.choice(items, size=min(args.candidates, len(items)), replace=False).tolist()
    candidates = {
        **user,
        "candidate_items": tf.constant(cand),
        "candidate_categories": tf.constant([""] * len(cand)),  # unknown: same cost
    }
    score = _time(loaded.signatures["score_candidates"], candidates, args.requests, args.warmup)
    rec_inputs = {**user, "exclude_history": tf.constant(True)}
    n_rec = max(50, args.requests // 2)
    rec = _time(loaded.signatures["recommend"], rec_inputs, n_rec, args.warmup)
    retrieve = _time(loaded.signatures["retrieve_and_rank"], rec_inputs, n_rec, args.warmup)
    recall = (
        _recall(loaded, paths.test_file, args.recall_users, args.k) if args.recall_users else None
    )
    return {
        "model": hp.model_type,
        "yaml": args.yaml,
        "data": data,
        "jit_compile": info["jit_compile"],
        "weights": (
            "as exported in --load"
            if args.load
            else f"trained 1 epoch on the first {args.train_lines} training lines"
            if args.train_lines
            else "untrained (latency does not depend on values)"
        ),
        "device": "CPU",
        "threads": {"intra_op": args.threads, "inter_op": args.threads},
        "catalogue_size": info["catalogue_size"],
        "max_seq_length": hp.max_seq_length,
        "request_history_length": len(user["item_history"].numpy()),
        "score_candidates": {"candidates": len(cand), **_percentiles(score)},
        "recommend": {"k": args.k, "exclude_history": True, **_percentiles(rec)},
        "retrieve_and_rank": {
            "k": args.k,
            "retrieval_size": info.get("retrieval_size"),
            "exclude_history": True,
            **_percentiles(retrieve),
        },
        "retrieval_recall": recall,
        "goal": "score_candidates wall-clock p99 < 5 ms (1 user x 100 candidates, one core)",
        "goal_met": bool(np.percentile(score[0], 99) * 1e3 < 5.0),
        "goal_met_cpu_time": bool(np.percentile(score[1], 99) * 1e3 < 5.0),
        "prepare_and_build_seconds": round(t1 - t0, 2),
        "export_seconds": export_seconds,
        "version_dir": version_dir,
        "load_seconds": round(load_seconds, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
    }
