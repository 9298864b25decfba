"""Bench steps in their own processes, so each step's peak RSS is its own.

A bench module that measures memory runs its steps as ``python <module file> <step> ...``: the
module's ``__main__`` prints one JSON line (with ``peak_rss_mib()``) and the parent reads it
back with ``run_step``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)


def run_step(module_file: str, argv: list[str]) -> dict:
    """Run ``module_file`` with ``argv`` in a subprocess (the repository and ``tools/`` on its
    path); return the JSON of its last stdout line."""
    path = os.pathsep.join([ROOT, TOOLS, os.environ.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, os.path.abspath(module_file), *argv],
        env=dict(os.environ, PYTHONPATH=path),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
