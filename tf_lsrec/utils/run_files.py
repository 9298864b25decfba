"""Where a run's files live, in the two layouts the tools read.

As ``tools/run.py`` writes a run: ``<run>/results.json`` beside ``<run>/training_log.csv``.
As a table's runs are published under ``docs/results/<table>/`` (``tools/compare.py
--publish``), flat: ``<run>.json`` beside ``<run>.training_log.csv``, where ``<run>`` is the run
directory's name (``<model>-seed<n>`` for ``compare.py`` runs).
"""

from __future__ import annotations

import glob
import os

RESULTS_NAME = "results.json"
LOG_NAME = "training_log.csv"


def published_paths(dest: str, run: str) -> tuple[str, str]:
    """``(results, training log)`` paths of run ``run`` published flat into ``dest``."""
    return os.path.join(dest, f"{run}.json"), os.path.join(dest, f"{run}.{LOG_NAME}")


def training_log_of(results_path: str) -> str | None:
    """The training log that belongs to ``results_path`` in either layout, if it exists."""
    if os.path.basename(results_path) == RESULTS_NAME:
        beside = os.path.join(os.path.dirname(results_path), LOG_NAME)
        if os.path.exists(beside):
            return beside
    flat = results_path.removesuffix(".json") + "." + LOG_NAME
    return flat if os.path.exists(flat) else None


def written_results(folder: str) -> list[str]:
    """``<run>/results.json`` under ``folder``, as ``tools/run.py`` writes them (sorted)."""
    return sorted(glob.glob(os.path.join(folder, "*", RESULTS_NAME)))


def run_results(folder: str) -> list[str]:
    """The runs' results under ``folder``: ``<run>/results.json`` as written, then
    ``<model>-seed<n>.json`` as published (each sorted)."""
    return written_results(folder) + sorted(glob.glob(os.path.join(folder, "*-seed*.json")))
