"""Train, evaluate and (optionally) export a model from a YAML file.

    python tools/run.py --yaml hparams/sli_rec.yaml
    python tools/run.py --yaml hparams/clsr.yaml --set train.epochs=2 --set model.hidden_size=40
    python tools/run.py --yaml hparams/gru4rec.yaml --export exports/

Without data paths in the YAML, the dataset named by ``data.dataset`` (default ml-100k) is prepared
into the cache on first use; the prepared paths are passed to the model, the data pipeline and the
export explicitly (the hyper-parameters are not changed). Writes ``hparams.yaml`` (resolved, data
paths included), ``training_log.csv`` and ``results.json`` into the run directory and prints the
test metrics as a table. With ``info.full_ranking_metrics`` (e.g. ``[hit@10, ndcg@10, mrr]``)
the valid and test metrics also hold each positive's rank against the item catalogue
(``full_hit@10``, ...; or ``neg99_hit@10``, ... with ``info.full_ranking_negatives=99``,
CLSR's protocol), and ``ranking_protocol`` says how (catalogue size, users, exclusions). ``results.json`` records where the numbers come from (``provenance``:
git commit and dirty flag, library versions, sha256 of the data files and vocabs, the command;
see ``tf_lsrec/utils/provenance.py``). ``train.deterministic=true`` makes two runs with the same
seed bit-identical on CPU, given the same CPU type and number of TensorFlow threads (one per
usable core unless ``TF_NUM_INTRAOP_THREADS`` is set; ``provenance.machine`` records both).
"""

from __future__ import annotations

# isort: off
import _bootstrap  # noqa: F401  (legacy Keras, repo on sys.path)

# isort: on
import argparse
import datetime as _dt
import json
import os
import shlex
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--yaml", required=True, help="hyper-parameter file (data/model/train/info)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a hyper-parameter (repeatable), e.g. --set train.epochs=2",
    )
    p.add_argument("--run-dir", help="output directory (default runs/<model>-<timestamp>)")
    p.add_argument("--export", metavar="DIR", help="also export a SavedModel to DIR/<model>/<n>/")
    p.add_argument(
        "--jit-compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --export: XLA-compile the exported scoring (or not); default the "
        "model's own serving default (docs/serving.md, Latency)",
    )
    p.add_argument(
        "--only-test",
        action="store_true",
        help="skip training; restore MODEL_DIR/best_model and evaluate the test file",
    )
    return p.parse_args(argv)


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per split, one column per metric."""
    metrics = list(dict.fromkeys(k for r in rows.values() for k in r))
    width = max(8, *(len(m) for m in metrics))
    head = f"{'split':<8}" + "".join(f"{m:>{width + 2}}" for m in metrics)
    lines = [head, "-" * len(head)]
    for split, r in rows.items():
        cells = "".join(f"{r[m]:>{width + 2}.4f}" if m in r else " " * (width + 2) for m in metrics)
        lines.append(f"{split:<8}{cells}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)

    from tf_lsrec.data.prepare import prepare_data
    from tf_lsrec.hparams import check_required_keys, prepare_hparams
    from tf_lsrec.io.lookup import VocabLookup
    from tf_lsrec.io.pipeline import SequentialData
    from tf_lsrec.models.distribute import strategy_from_hparams
    from tf_lsrec.models.precision import make_model
    from tf_lsrec.utils.files import atomic_write_text
    from tf_lsrec.utils.provenance import run_record_context
    from tf_lsrec.utils.run_dir import check_rerun

    hp = prepare_hparams(args.yaml, overrides=args.set)
    t0 = time.time()
    paths = prepare_data(hp)  # returned, not written into `hp`: passed on explicitly below
    prepare_seconds = time.time() - t0
    check_required_keys(hp, data_paths=paths)

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = args.run_dir or hp.run_dir or os.path.join("runs", f"{hp.model_type}-{stamp}")
    os.makedirs(run_dir, exist_ok=True)
    outputs = {"run_dir": run_dir, "MODEL_DIR": hp.MODEL_DIR or os.path.join(run_dir, "model")}
    if hp.write_tfevents and not hp.SUMMARIES_DIR:
        outputs["SUMMARIES_DIR"] = os.path.join(run_dir, "summaries")
    hp = hp.replace(**outputs)
    # the record of this run: what was used, data paths included (rerunnable as it is)
    record = hp.replace(**paths.as_hparams())
    check_rerun(run_dir, record)  # a different run's checkpoint: refuse before writing anything
    record.save_yaml(os.path.join(run_dir, "hparams.yaml"))

    with strategy_from_hparams(hp).scope():  # `distribute`: variables mirrored over replicas
        lookup = VocabLookup.from_files(paths.user_vocab, paths.item_vocab, paths.cate_vocab)
        # the model class under train.precision
        model = make_model(hp, data=SequentialData(hp, lookup))
    fit_seconds = 0.0
    if not args.only_test:
        t0 = time.time()
        model.fit(
            paths.train_file,
            paths.valid_file,
            valid_num_ngs=hp.valid_num_ngs,
            eval_metric=hp.eval_metric,
        )
        fit_seconds = time.time() - t0
    from tf_lsrec.models.ranking_eval import model_catalogue, ranking_record

    if hp.full_ranking_metrics:  # the catalogue from the prepared files (not in hp)
        model.trainer.catalogue = model_catalogue(model, data_paths=paths)
    best = os.path.join(hp.MODEL_DIR, "best_model")
    if os.path.exists(best + ".index"):
        model.load_model(best)
    t0 = time.time()
    valid = model.run_eval(paths.valid_file, hp.valid_num_ngs)
    test = model.run_eval(paths.test_file, hp.test_num_ngs)
    eval_seconds = time.time() - t0
    ranking = ranking_record(model)

    results = {
        "model": hp.model_type,
        "yaml": args.yaml,
        "overrides": args.set,
        "command": " ".join(
            shlex.quote(a) for a in [os.path.basename(sys.executable), "tools/run.py", *argv]
        ),
        "best_epoch": getattr(model, "best_epoch", None),
        "epochs_run": len(getattr(model, "eval_history", None) or []),
        "valid_metrics": valid,
        "test_metrics": test,
        # sampled metrics (the file's negatives) and, with full_ranking_metrics, the catalogue
        # ranking (keys full_... / neg<N>_...) side by side in *_metrics; how it was ranked:
        "ranking_protocol": ranking,
        "timings": {
            "prepare_seconds": prepare_seconds,
            "fit_seconds": fit_seconds,
            "eval_seconds": eval_seconds,
        },
        **run_record_context(hp, paths, argv, "tools/run.py"),
    }
    results_path = os.path.join(run_dir, "results.json")
    # results first: an export that fails (full disk, ...) must not lose the test metrics
    atomic_write_text(results_path, json.dumps(results, indent=1, default=str))
    if args.export:
        from tf_lsrec.serving import export

        results["export_dir"] = export(
            model, args.export, jit_compile=args.jit_compile, data_paths=paths
        )
        atomic_write_text(results_path, json.dumps(results, indent=1, default=str))
    print()
    print(f"{hp.model_type} on {os.path.dirname(paths.test_file)} (run dir {run_dir})")
    print(format_table({"valid": valid, "test": test}))
    return results


if __name__ == "__main__":
    main()
