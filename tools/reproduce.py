"""Rerun a recorded run and say whether it repeats every digit.

    git worktree add /tmp/at-5897ae5 5897ae5       # the commit the run records
    python tools/reproduce.py docs/results/ml100k_3seeds/ncf-seed1.json \
        --checkout /tmp/at-5897ae5 --threads 1 --run-dir /tmp/ncf1

Reads the run's ``results.json`` (``provenance``: command, commit, data hashes, machine), runs
the same ``tools/run.py`` command from ``--checkout`` (default: this checkout) into ``--run-dir``,
and compares: the data
files' sha256, the valid and test metrics, and every non-timing column of ``training_log.csv``.
Prints one JSON report and exits 0 when everything is identical, 1 otherwise.

What a bit-identical rerun needs (docs/results.md, "Reproducing a run"): ``train.deterministic``,
the run's commit checked out (refused otherwise, unless ``--any-commit``; the checkout's own
``tools/run.py`` runs, so any older commit works), the same CPU type, and
the same number of TensorFlow threads. The thread count is taken from the record
(``provenance.machine``: ``TF_NUM_INTRAOP_THREADS`` if it was set, else the usable cores) or from
``--threads``; runs recorded before ``machine`` existed need ``--threads`` (the committed
ml-100k table's runs were pinned to one core: ``--threads 1``).
"""

from __future__ import annotations

# isort: off
import _bootstrap  # noqa: F401

# isort: on
import argparse
import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = ("seconds", "per_s")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("results", help="the run's results.json (or a committed <run>.json)")
    p.add_argument("--run-dir", required=True, help="where the rerun writes (must not exist)")
    p.add_argument(
        "--checkout",
        default=ROOT,
        help="a checkout of the run's commit whose tools/run.py runs (default: this one)",
    )
    p.add_argument("--threads", type=int, help="TensorFlow threads (default: from the record)")
    p.add_argument("--any-commit", action="store_true", help="rerun even if HEAD differs")
    p.add_argument("--allow-dirty", action="store_true", help="rerun from a modified tree")
    return p.parse_args(argv)


def recorded_threads(record: dict) -> int | None:
    """The TensorFlow thread count the run had, if its record says."""
    machine = record.get("provenance", {}).get("machine") or {}
    if machine.get("TF_NUM_INTRAOP_THREADS"):
        return int(machine["TF_NUM_INTRAOP_THREADS"])
    return machine.get("usable_cpus")


def rerun_argv(record: dict, run_dir: str, root: str = ROOT) -> list[str]:
    """The recorded ``tools/run.py`` arguments with ``--run-dir`` replaced and paths inside the
    recording checkout moved into ``root``."""
    command = record["provenance"]["command"]
    old_root = command.get("cwd") or ""
    argv = list(command["argv"])
    out = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--run-dir":
            out += ["--run-dir", run_dir]
            i += 2
            continue
        if old_root and a.startswith(old_root + os.sep):
            a = os.path.join(root, os.path.relpath(a, old_root))
        out.append(a)
        i += 1
    if "--run-dir" not in out:
        out += ["--run-dir", run_dir]
    return out


def log_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [
            {k: v for k, v in row.items() if not k.endswith(TIMING)} for row in csv.DictReader(f)
        ]


def compare(record: dict, rerun: dict, record_log: str | None, rerun_log: str) -> dict:
    """Differences between a record and its rerun: data hashes, metrics, training log."""
    differences = []
    old_data = {k: v["sha256"] for k, v in record["provenance"].get("data", {}).items()}
    new_data = {k: v["sha256"] for k, v in rerun["provenance"].get("data", {}).items()}
    data_compared = bool(old_data)  # runs recorded before data hashes existed have none
    if data_compared and old_data != new_data:
        differences.append({"what": "data sha256", "recorded": old_data, "rerun": new_data})
    for split in ("valid_metrics", "test_metrics"):
        for k in sorted(set(record.get(split, {})) | set(rerun.get(split, {}))):
            a, b = record.get(split, {}).get(k), rerun.get(split, {}).get(k)
            if a != b:
                differences.append({"what": f"{split}.{k}", "recorded": a, "rerun": b})
    log_compared = record_log is not None and os.path.exists(record_log)
    if log_compared:
        old, new = log_rows(record_log), log_rows(rerun_log)
        if old != new:
            first = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), None)
            differences.append(
                {
                    "what": "training_log.csv",
                    "first_differing_epoch": None if first is None else first + 1,
                    "recorded_rows": len(old),
                    "rerun_rows": len(new),
                }
            )
    return {
        "identical": not differences,
        "data_compared": data_compared,
        "log_compared": log_compared,
        "differences": differences,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    from tf_lsrec.utils.provenance import git_state
    from tf_lsrec.utils.run_files import LOG_NAME, training_log_of

    with open(args.results, encoding="utf-8") as f:
        record = json.load(f)
    provenance = record.get("provenance")
    if not provenance or not provenance.get("command", {}).get("argv"):
        raise SystemExit(f"{args.results}: no provenance.command; the run cannot be repeated")
    recorded_git = provenance.get("git", {})
    code = os.path.abspath(args.checkout)
    here = git_state(code)
    if not args.any_commit and recorded_git.get("commit") != here["commit"]:
        raise SystemExit(
            f"{args.results} was made at commit {recorded_git.get('commit')}, {code} is at "
            f"{here['commit']}: check that commit out (`git worktree add /tmp/rerun "
            f"{recorded_git.get('commit')}`) and pass --checkout /tmp/rerun, or --any-commit"
        )
    if here["dirty"] and not args.allow_dirty:
        raise SystemExit("this checkout has uncommitted changes; commit them or --allow-dirty")
    threads = args.threads or recorded_threads(record)
    if not threads:
        raise SystemExit(
            f"{args.results} does not record its thread count (made before provenance.machine); "
            "pass --threads (the committed ml-100k table's runs: 1)"
        )
    if os.path.exists(args.run_dir):
        raise SystemExit(f"--run-dir {args.run_dir} exists; give a new directory")
    env = dict(
        os.environ,
        TF_NUM_INTRAOP_THREADS=str(threads),
        TF_NUM_INTEROP_THREADS=str(threads),
        PYTHONPATH=os.pathsep.join([code, os.environ.get("PYTHONPATH", "")]),
    )
    run_dir = os.path.abspath(args.run_dir)
    cmd = [
        sys.executable,
        os.path.join(code, "tools", "run.py"),
        *rerun_argv(record, run_dir, code),
    ]
    os.makedirs(args.run_dir)
    with open(os.path.join(args.run_dir, "stdout.log"), "w") as log:
        proc = subprocess.run(cmd, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(
            f"the rerun failed (exit {proc.returncode}); see {args.run_dir}/stdout.log"
        )
    with open(os.path.join(args.run_dir, "results.json"), encoding="utf-8") as f:
        rerun = json.load(f)
    report = {
        "results": args.results,
        "recorded_commit": recorded_git.get("commit"),
        "rerun_commit": here["commit"],
        "threads": threads,
        "run_dir": args.run_dir,
        **compare(
            record,
            rerun,
            training_log_of(args.results),
            os.path.join(args.run_dir, LOG_NAME),
        ),
    }
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if report["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
