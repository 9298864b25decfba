"""The item-popularity reference row of a result table, evaluated as the models are.

    python tools/popularity.py --yaml hparams/gru4rec.yaml --seeds 1 2 3 \
        --set data.test_num_ngs=9 --set data.valid_num_ngs=4 \
        --set "info.full_ranking_metrics=['hit@10','ndcg@10','mrr']" --out runs/ml100k_popularity

For each seed: prepares the yaml's data (``train.seed`` = the seed, as ``tools/compare.py``
runs do), counts each item's positive training lines, scores every candidate by ``log(1 +
count)`` (``tf_lsrec.models.popularity_reference``) and evaluates the validation and test files
with the models' evaluation code (sampled metrics, and the catalogue ranking with
``info.full_ranking_metrics``). Writes ``<out>/popularity-seed<n>/results.json`` in the shape
``tools/run.py`` writes (``best_epoch`` null, ``epochs_run`` 0), so ``tools/compare.py
--table-only --out <out>`` tabulates it and ``--publish`` publishes it. Use the yaml and
``--set`` of the runs it stands beside: their data, negatives, ``min_seq_length`` and metric
lists decide what is evaluated.
"""

from __future__ import annotations

# isort: off
import _bootstrap  # noqa: F401  (legacy Keras, repo on sys.path)

# isort: on
import argparse
import json
import os
import shlex
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--yaml", default="hparams/gru4rec.yaml", help="data and metric settings")
    p.add_argument("--seeds", type=int, nargs="+", default=[1], help="train.seed of each run")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a hyper-parameter (repeatable)")  # fmt: skip
    p.add_argument("--out", required=True, help="writes <out>/popularity-seed<n>/results.json")
    return p.parse_args(argv)


def run_seed(args, seed: int, argv: list[str]) -> dict:
    """Prepare, count and evaluate one seed; returns its results record."""

    from tf_lsrec.data.prepare import prepare_data
    from tf_lsrec.hparams import prepare_hparams
    from tf_lsrec.io.lookup import VocabLookup
    from tf_lsrec.io.pipeline import SequentialData
    from tf_lsrec.models.popularity_reference import PopularityReference
    from tf_lsrec.models.ranking_eval import model_catalogue, ranking_record
    from tf_lsrec.utils.provenance import run_record_context

    overrides = [*args.set, f"train.seed={seed}"]
    hp = prepare_hparams(args.yaml, overrides=overrides)
    t0 = time.time()
    paths = prepare_data(hp)
    prepare_seconds = time.time() - t0
    lookup = VocabLookup.from_files(paths.user_vocab, paths.item_vocab, paths.cate_vocab)
    reference = PopularityReference(hp, SequentialData(hp, lookup))
    t0 = time.time()
    reference.fit(paths.train_file)
    fit_seconds = time.time() - t0
    if hp.full_ranking_metrics:
        reference.trainer.catalogue = model_catalogue(reference, data_paths=paths)
    t0 = time.time()
    valid = reference.run_eval(paths.valid_file, hp.valid_num_ngs)
    test = reference.run_eval(paths.test_file, hp.test_num_ngs)
    eval_seconds = time.time() - t0
    ranking = ranking_record(reference)
    script_argv = [os.path.basename(sys.executable), "tools/popularity.py", *argv]
    return {
        "model": "popularity",
        "yaml": args.yaml,
        "overrides": overrides,
        "command": " ".join(shlex.quote(a) for a in script_argv),
        "best_epoch": None,
        "epochs_run": 0,
        "valid_metrics": valid,
        "test_metrics": test,
        "ranking_protocol": ranking,
        "items_counted": int(reference.counts.sum()),
        "timings": {
            "prepare_seconds": prepare_seconds,
            "fit_seconds": fit_seconds,
            "eval_seconds": eval_seconds,
        },
        **run_record_context(hp, paths, argv, "tools/popularity.py"),
    }


def main(argv=None) -> list[str]:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    from tf_lsrec.utils.files import atomic_write_text

    written = []
    for seed in args.seeds:
        results = run_seed(args, seed, argv)
        run_dir = os.path.join(args.out, f"popularity-seed{seed}")
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, "results.json")
        atomic_write_text(path, json.dumps(results, indent=1, default=str))
        test = ", ".join(f"{k} {v:.4f}" for k, v in results["test_metrics"].items())
        print(f"seed {seed}: test {test}")
        written.append(path)
    return written


if __name__ == "__main__":
    main()
