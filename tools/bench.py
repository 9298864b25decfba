"""Benchmarks with JSON output: ``python tools/bench.py <bench> [options]``.

Each bench is a module in ``tools/benches/`` with ``add_arguments(parser)`` and
``run(args) -> dict``; register it in ``BENCHES`` below to add a subcommand.
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
    "pipeline": "benches.pipeline",
    "prepare": "benches.prepare",
    "serve": "benches.serve",
    "train": "benches.train",
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
    result = {"bench": args.bench, **modules[args.bench].run(args)}
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
