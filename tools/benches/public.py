"""A public dataset's loader at full size: generate its files, prepare them, train on them.

``--dataset kuairec`` writes KuaiRec-shaped ``big_matrix.csv`` + ``item_categories.csv`` at the
published size (users and rows times ``--scale``) (``tf_lsrec.data.shaped``: planted interests in KuaiRec's
schema), prepares them with ``prepare_public("kuairec", ...)`` (the loader's filtering and
CLSR's Kuaishou split and 5 % line sampling, 4 / 99 negatives) and, with ``--yaml``, trains that
model on the result through ``tools/run.py`` (``--epochs``, ``--set``), with timestamps in ms.
Each step runs in its own process, whose seconds and peak RSS are reported; the run's
``results.json`` (test metrics, provenance) is embedded. The files are deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time

from benches.steps import ROOT, peak_rss_mib, run_step

DATA_KEYS = {
    "train_file": "train_data",
    "valid_file": "valid_data",
    "test_file": "test_data",
    "user_vocab": "user_vocab.pkl",
    "item_vocab": "item_vocab.pkl",
    "cate_vocab": "category_vocab.pkl",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=("kuairec",), default="kuairec")
    p.add_argument("--scale", type=float, default=1.0,
                   help="fraction of the published users and rows (the catalogue stays whole)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="generator seed (preparation: 42)")
    p.add_argument("--engine", choices=("memory", "duckdb"), default="memory")
    p.add_argument("--yaml", help="also train this model on the prepared files")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="extra tools/run.py override (repeatable)")  # fmt: skip
    p.add_argument("--work-dir", help="where the files go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the generated and prepared files")


def _size_mib(*paths: str) -> float:
    return round(sum(os.path.getsize(p) for p in paths) / 2**20, 1)


def _train(args: argparse.Namespace, prepared: str, run_dir: str) -> dict:
    sets = [f"data.{key}={os.path.join(prepared, name)}" for key, name in DATA_KEYS.items()]
    sets += ["data.time_unit=ms", "data.valid_num_ngs=4", "data.test_num_ngs=99",
             f"train.epochs={args.epochs}", *args.set]  # fmt: skip
    # a yaml path from the caller's directory, else from the repository (hparams/clsr.yaml)
    yaml = args.yaml if os.path.isfile(args.yaml) else os.path.join(ROOT, args.yaml)
    step = run_step(__file__, ["train", os.path.abspath(yaml), run_dir, *sets])
    with open(os.path.join(run_dir, "results.json"), encoding="utf-8") as f:
        return {"yaml": args.yaml, **step, "results": json.load(f)}


def run(args: argparse.Namespace) -> dict:
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-public-")
    os.makedirs(work, exist_ok=True)
    raw, prepared = os.path.join(work, "raw"), os.path.join(work, "prepared")
    try:
        gen = run_step(__file__, ["generate", args.dataset, raw, str(args.scale), str(args.seed)])
        prep = run_step(__file__, ["prepare", args.dataset, raw, prepared, args.engine])
        with open(os.path.join(prepared, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        result = {
            "dataset": args.dataset,
            "scale": args.scale,
            "generated": gen,
            "prepare": {**prep, "engine": args.engine, "manifest": manifest},
            "cpu_count": os.cpu_count(),
        }
        if args.yaml:
            result["train"] = _train(args, prepared, os.path.join(work, "run"))
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
        return result
    finally:
        if not args.keep:
            for sub in ("raw", "prepared", "run"):
                shutil.rmtree(os.path.join(work, sub), ignore_errors=True)
            if not args.work_dir:
                shutil.rmtree(work, ignore_errors=True)


def _main(argv: list[str]) -> dict:
    start = time.perf_counter()
    if argv[0] == "generate":
        from tf_lsrec.data.shaped import KUAIREC_BIG, write_kuairec_shaped

        _, _dataset, raw, scale, seed = argv
        s = float(scale)
        written = write_kuairec_shaped(
            raw,
            users=max(1, round(KUAIREC_BIG["users"] * s)),
            rows=max(1, round(KUAIREC_BIG["rows"] * s)),
            seed=int(seed),
        )
        return {
            **{k: written[k] for k in ("rows", "users", "items")},
            "file_mib": _size_mib(written["big_matrix"], written["item_categories"]),
            "seconds": round(time.perf_counter() - start, 2),
            "peak_rss_mib": peak_rss_mib(),
        }
    if argv[0] == "train":
        import run as run_tool  # tools/run.py (imports _bootstrap first: legacy Keras)

        _, yaml, run_dir, *sets = argv
        run_argv = ["--yaml", yaml, "--run-dir", run_dir]
        for s in sets:
            run_argv += ["--set", s]
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries this step's JSON only
            run_tool.main(run_argv)
        return {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mib": peak_rss_mib()}
    _, dataset, raw, prepared, engine = argv
    from tf_lsrec.data.public import prepare_public

    files = [os.path.join(raw, "big_matrix.csv"), os.path.join(raw, "item_categories.csv")]
    prepare_public(dataset, files, prepared, engine=engine, progress=True)
    return {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mib": peak_rss_mib()}


if __name__ == "__main__":
    print(json.dumps(_main(sys.argv[1:])))
