"""Compare models over several seeds and print a mean ± std table (markdown).

    python tools/compare.py --models sli_rec gru4rec clsr slsrec --seeds 1 2 3 \
        --set train.epochs=3 --out docs/results/ml100k

Runs ``tools/run.py --yaml hparams/<model>.yaml --set train.seed=<seed> ...`` for every pair (in
separate processes, one after another), keeps each run's ``results.json`` under ``--out``, and writes
``--out/summary.md`` and ``--out/summary.json``. Runs made with ``info.full_ranking_metrics``
(pass e.g. ``--set "info.full_ranking_metrics=[hit@10,ndcg@10,mrr]"``) add their catalogue
ranking columns (``full_hit@10``, ...) after the sampled ones. Runs whose ``results.json`` already exists are
reused, so an interrupted comparison resumes. ``--table-only`` aggregates existing results (also
the committed ``docs/results/<table>/<model>-seed<n>.json``).

Each run's ``results.json`` records its commit, library versions, data hashes and command
(``provenance``); the summary records this command's own provenance and the commits of the runs
it aggregates, and warns when they come from more than one commit or from a dirty tree.

``--jobs J --threads T`` runs J runs at a time, each with T TensorFlow threads
(``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS``). Deterministic runs repeat to the bit
only with the same thread count, so a table made with ``--threads 1`` is repeated by the same
command on any machine of the same CPU type, whatever ``--jobs`` and the core count are.

``--publish docs/results/<table>`` copies each finished run into the committed layout
(``<run>/results.json`` -> ``<run>.json``, ``training_log.csv`` -> ``<run>.training_log.csv``)
and writes the summary there instead of under ``--out``.

``--doc docs/results.md`` also writes the table into that document, between the markers
``<!-- table: docs/results/<table> -->`` and ``<!-- /table -->`` (the folder as given to
``--out``, relative to the repository), so the document's tables are regenerated from the
committed JSON, never typed; ``tests/tools/test_results_doc.py`` checks every marked table.
"""

from __future__ import annotations

# isort: off
import _bootstrap  # noqa: F401

# isort: on
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_SCRIPT = os.path.join(ROOT, "tools", "run.py")
DEFAULT_METRICS = ("auc", "wauc", "group_auc", "mean_mrr", "ndcg@2", "ndcg@4", "hit@2", "hit@4")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", default=[],
                   help="yaml names in hparams/ (required unless --table-only)")  # fmt: skip
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override for every run (repeatable)",
    )
    p.add_argument("--out", required=True, help="directory for run outputs and the summary")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS))
    p.add_argument("--table-only", action="store_true", help="only aggregate existing runs")
    p.add_argument(
        "--publish",
        metavar="DIR",
        help="copy the runs' results.json / training_log.csv flat into DIR (docs/results/<table>) "
        "and write the summary there",
    )
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="TensorFlow intra- and inter-op threads per run (0: TensorFlow's default, one per "
        "usable core); deterministic digits depend on it",
    )
    p.add_argument(
        "--doc",
        help="also replace the table marked <!-- table: <--out> --> ... <!-- /table --> in this "
        "markdown file (e.g. docs/results.md)",
    )
    args = p.parse_args(argv)
    if not args.models and not args.table_only:
        p.error("--models is required (unless --table-only)")
    if args.jobs < 1 or args.threads < 0:
        p.error("--jobs must be >= 1 and --threads >= 0")
    return args


def run_one(model: str, seed: int, overrides: list[str], out: str, threads: int = 0) -> str:
    """Run ``tools/run.py`` for ``model`` and ``seed`` into ``out/<model>-seed<seed>`` unless its
    ``results.json`` exists; ``threads`` > 0 fixes TensorFlow's thread pools."""
    run_dir = os.path.join(out, f"{model}-seed{seed}")
    result = os.path.join(run_dir, "results.json")
    if os.path.exists(result):
        return result
    cmd = [
        sys.executable,
        RUN_SCRIPT,
        "--yaml",
        os.path.join(ROOT, "hparams", f"{model}.yaml"),
        "--run-dir",
        run_dir,
        "--set",
        f"train.seed={seed}",
    ]
    for o in overrides:
        cmd += ["--set", o]
    print(f"== {model} seed {seed}", flush=True)
    env = dict(os.environ)
    if threads:
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "stdout.log"), "w") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed (exit {proc.returncode}); see {run_dir}/stdout.log"
        )
    return result


def run_all(args) -> None:
    """Every (model, seed) of ``args``, ``args.jobs`` at a time; a failed run does not stop the
    others, and all failures are raised together at the end."""
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(run_one, model, seed, args.set, args.out, args.threads)
            for model in args.models
            for seed in args.seeds
        ]
        for future in concurrent.futures.as_completed(futures):
            try:
                future.result()
            except RuntimeError as err:
                failures.append(str(err))
    if failures:
        raise RuntimeError(f"{len(failures)} run(s) failed:\n" + "\n".join(failures))


def result_files(out: str) -> list[str]:
    """The runs' JSON under ``out``: ``<run>/results.json`` as written here, or
    ``<model>-seed<n>.json`` as committed under ``docs/results/`` (so a committed table can be
    regenerated with ``--table-only --out docs/results/<table>``)."""
    from tf_lsrec.utils.run_files import run_results

    return run_results(out)


def summarize(out: str, metrics: list[str]) -> tuple[str, dict]:
    """Markdown table of mean ± std of the test metrics per model, from :func:`result_files`."""
    by_model: dict[str, list[dict]] = {}
    for path in result_files(out):
        with open(path) as f:
            r = json.load(f)
        by_model.setdefault(r["model"], []).append(r)
    metrics = [*metrics, *ranking_columns(by_model, metrics)]
    summary = {}
    header = "| model | seeds | " + " | ".join(metrics) + " | best epoch | train s/epoch |"
    lines = [header, "|" + "---|" * (len(metrics) + 4)]
    for model, runs in by_model.items():
        row = {"seeds": len(runs)}
        cells = []
        for m in metrics:
            vals = [r["test_metrics"][m] for r in runs if m in r["test_metrics"]]
            if not vals:
                cells.append("–")
                continue
            # one seed has no spread: its value alone, not "± 0.0000"
            mean = float(np.mean(vals))
            std = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
            row[m] = {"mean": mean, "std": std, "values": vals}
            cells.append(f"{mean:.4f}" if std is None else f"{mean:.4f} ± {std:.4f}")
        # records older than epochs_run give the hparams' epochs; 0: nothing trained (a
        # reference such as tools/popularity.py), so no time per epoch
        epochs = [r["hparams"]["epochs"] if r.get("epochs_run") is None else r["epochs_run"]
                  for r in runs]  # fmt: skip
        per_epoch = None
        if all(epochs):
            per_epoch = float(
                np.mean([r["timings"]["fit_seconds"] / e for r, e in zip(runs, epochs)])
            )
        row["train_seconds_per_epoch"] = per_epoch
        row["best_epoch"] = [r.get("best_epoch") for r in runs]
        row["epochs_run"] = epochs
        summary[model] = row
        cells.append(best_epochs_cell(row["best_epoch"], epochs))
        cells.append("–" if per_epoch is None else f"{per_epoch:.0f}")
        lines.append(f"| {model} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines), summary


def best_epochs_cell(best: list, run: list[int]) -> str:
    """Each seed's best validation epoch over the epochs it ran, ``"9/10 3/8"``: a best epoch at
    the end says the run was still improving, fewer epochs than asked say early stopping ended it
    (``–`` for runs that did not record their best epoch)."""
    if any(b is None for b in best):
        return "–"
    return " ".join(f"{b}/{e}" for b, e in zip(best, run))


def ranking_columns(by_model: dict[str, list[dict]], metrics: list[str]) -> list[str]:
    """The catalogue-ranking keys (``full_...``, ``neg<N>_...``) the runs have and ``metrics``
    does not name, in first-seen order: shown beside the sampled metrics without listing them."""
    from tf_lsrec.evaluation.full_ranking import is_ranking_key

    keys = [k for runs in by_model.values() for r in runs for k in r["test_metrics"]
            if is_ranking_key(k) and k not in metrics]  # fmt: skip
    return list(dict.fromkeys(keys))


def run_commits(out: str) -> list[dict]:
    """Distinct ``{"commit", "dirty"}`` of the runs under ``out`` (``None`` for runs written
    before results.json recorded them)."""
    seen = []
    for path in result_files(out):
        with open(path) as f:
            git = json.load(f).get("provenance", {}).get("git", {})
        state = {"commit": git.get("commit"), "dirty": git.get("dirty")}
        if state not in seen:
            seen.append(state)
    return seen


def render(out: str, metrics: list[str]) -> tuple[str, dict, list[dict]]:
    """``(markdown, per-model summary, run commits)`` of the runs under ``out``: the table of
    :func:`summarize` after a line naming the runs' commit(s)."""
    table, summary = summarize(out, metrics)
    commits = run_commits(out)
    return f"Runs from commit {commit_text(commits)}.\n\n{table}", summary, commits


def commit_text(commits: list[dict]) -> str:
    """``"<sha>[ (dirty)], ..."`` of :func:`run_commits`."""
    return ", ".join(
        f"{c['commit'] or 'unknown (not recorded)'}{' (dirty)' if c['dirty'] else ''}"
        for c in commits
    )


def doc_folder(out: str) -> str:
    """``out`` as a table's marker names it: relative to the repository, ``/``-separated."""
    return os.path.relpath(os.path.abspath(out), ROOT).replace(os.sep, "/")


def doc_marker(out: str) -> str:
    """The opening marker of ``out``'s table in a document."""
    return f"<!-- table: {doc_folder(out)} -->"


DOC_TABLE = re.compile(r"<!-- table: (?P<out>[^ ]+) -->\n(?P<body>.*?)<!-- /table -->", re.S)


def doc_tables(text: str) -> dict[str, str]:
    """``{table folder: marked content}`` of every ``<!-- table: ... -->`` block of a document."""
    return {m["out"]: m["body"] for m in DOC_TABLE.finditer(text)}


def update_doc(path: str, out: str, markdown: str) -> None:
    """Replace the content of ``out``'s marked block in the document ``path`` by ``markdown``."""
    from tf_lsrec.utils.files import atomic_write_text

    with open(path, encoding="utf-8") as f:
        text = f.read()
    folder = doc_folder(out)
    block = next((m for m in DOC_TABLE.finditer(text) if m["out"] == folder), None)
    if block is None:
        raise SystemExit(
            f"{path}: no block `{doc_marker(out)}` ... `<!-- /table -->` to write the table into; "
            "add the two marker lines where the table belongs"
        )
    start, end = block.span("body")
    atomic_write_text(path, text[:start] + markdown + "\n" + text[end:])


def publish(out: str, dest: str) -> list[str]:
    """Copy every ``out/<run>/results.json`` (and its ``training_log.csv``) to
    ``dest/<run>.json`` (``dest/<run>.training_log.csv``); returns the runs copied."""
    import shutil

    from tf_lsrec.utils.run_files import published_paths, training_log_of, written_results

    os.makedirs(dest, exist_ok=True)
    copied = []
    for path in written_results(out):
        name = os.path.basename(os.path.dirname(path))
        results, log = published_paths(dest, name)
        shutil.copyfile(path, results)
        run_log = training_log_of(path)
        if run_log:
            shutil.copyfile(run_log, log)
        copied.append(name)
    return copied


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if not args.table_only:
        run_all(args)
    if args.publish:
        copied = publish(args.out, args.publish)
        print(f"published {len(copied)} run(s) into {args.publish}", file=sys.stderr)
        args.out = args.publish
    table, summary, commits = render(args.out, args.metrics)
    from tf_lsrec.utils.files import atomic_write_text
    from tf_lsrec.utils.provenance import run_provenance

    if len(commits) != 1 or commits[0]["commit"] is None or commits[0]["dirty"]:
        print(
            f"WARNING: the runs do not all come from one clean commit: {commit_text(commits)}",
            file=sys.stderr,
        )
    summary = {
        "models": summary,
        "run_commits": commits,
        "provenance": run_provenance(argv=argv, script="tools/compare.py"),
    }
    atomic_write_text(os.path.join(args.out, "summary.md"), table + "\n")
    atomic_write_text(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=1))
    if args.doc:
        update_doc(args.doc, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
