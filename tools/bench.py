"""Benchmarks with JSON output: ``python tools/bench.py <bench> [options]``.

Each bench is a module in ``tools/benches/`` with ``add_arguments(parser)`` and
``run(args) -> dict``; register it in ``BENCHES`` below to add a subcommand. A bench that
fails raises: the error goes to stderr and the exit status is 1 (never an error inside the
JSON with status 0); a bench that runs several parts and reports some as failed in its JSON's
``failed`` (``serve --models``) prints the JSON and exits 1. How to run them and read the JSON: docs/performance.md.
"""

# isort: off
import _bootstrap  # noqa: F401  (must come first: sys.path and legacy Keras)

# isort: on

import argparse
import importlib
import json
import sys

# subcommand -> module in tools/benches/ (imported lazily so one bench's imports cannot break
# the others)
BENCHES = {
    "gemm": "benches.gemm",
    "lightgcn-parity": "benches.lightgcn_parity",
    "pipeline": "benches.pipeline",
    "prepare": "benches.prepare",
    "profile": "benches.profile",
    "public": "benches.public",
    "serve": "benches.serve",
    "train": "benches.train",
    "vs-microsoft": "benches.vs_microsoft",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="bench", required=True)
    modules = {}
    for name, module_name in BENCHES.items():
        module = importlib.import_module(module_name)
        modules[name] = module
        p = sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(p)
    args = parser.parse_args(argv)
    from tf_lsrec.utils.provenance import command, git_state

    # taken before the bench runs, so the commit is the code that ran even if HEAD moves meanwhile
    provenance = {"git": git_state(), "command": command(argv, "tools/bench.py")}
    try:
        args.provenance = provenance  # for benches that also write their own --out file
        result = {"bench": args.bench, **modules[args.bench].run(args)}
        result.setdefault("provenance", provenance)
    except Exception as e:  # noqa: BLE001 - any failure of a bench is a failed run
        import traceback

        traceback.print_exc()
        print(f"bench {args.bench} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    if result.get("failed"):
        print(f"bench {args.bench}: failed parts: {sorted(result['failed'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
