"""Where a result came from: code version, library versions, data hashes and the command.

``run_provenance(...)`` is what ``tools/run.py`` and ``tools/compare.py`` write into their
``results.json`` / ``summary.json`` so that every number can be traced to one commit and one set
of data files, and a run can be repeated:

* ``git``: ``commit`` (``HEAD``), ``dirty`` (tracked files differ from ``HEAD``; untracked files
  such as run directories are not counted) and ``branch``; ``None`` values outside a checkout;
* ``versions``: tf_lsrec, TensorFlow, TFRS, tf_keras, numpy, Python;
* ``data``: per data file and vocab: path, size in bytes and sha256;
* ``command``: ``argv`` as given and a shell-quoted line to paste;
* ``machine``: CPU model, machine cores, the cores this process may use and TensorFlow's thread
  settings. ``train.deterministic`` runs repeat to the bit only on the same CPU type with the
  same number of intra-op threads (by default one per usable core; ``TF_NUM_INTRAOP_THREADS``
  fixes it): TensorFlow splits sums across its threads, so another thread count adds floats in
  another order (docs/results.md, "Reproducing a run").
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _git(root: str, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", root, *args], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(root: str = REPO_ROOT) -> dict[str, Any]:
    """``{"commit", "dirty", "branch"}`` of the checkout at ``root`` (``None``s if not one)."""
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return {"commit": None, "dirty": None, "branch": None}
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": None if status is None else bool(status),
        "branch": _git(root, "rev-parse", "--abbrev-ref", "HEAD"),
    }


def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def file_hashes(paths: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``{name: {"path", "bytes", "sha256"}}`` for each existing file of ``paths``."""
    out = {}
    for name, path in paths.items():
        if path and os.path.isfile(path):
            out[name] = {
                "path": os.fspath(path),
                "bytes": os.path.getsize(path),
                "sha256": sha256_file(path),
            }
    return out


def versions() -> dict[str, str | None]:
    """Versions of the libraries a result depends on."""
    import numpy as np

    import tf_lsrec

    found: dict[str, str | None] = {
        "tf_lsrec": tf_lsrec.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    for module in ("tensorflow", "tensorflow_recommenders", "tf_keras"):
        mod = sys.modules.get(module)
        found[module] = getattr(mod, "__version__", None) if mod is not None else None
    return found


def _cpu_info() -> tuple[str | None, list[str]]:
    """The CPU's model name and its vector-instruction flags (oneDNN / Eigen pick kernels by
    them, so they decide float results too)."""
    model, flags = None, []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if model is None and line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif not flags and line.startswith("flags"):
                    flags = sorted(
                        x
                        for x in line.split(":", 1)[1].split()
                        if x.startswith(("avx", "amx", "fma", "sse4"))
                    )
                if model is not None and flags:
                    break
    except OSError:
        pass
    return model or platform.processor() or None, flags


def machine() -> dict[str, Any]:
    """What a run's floating-point results depend on besides code, data and seed."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model, flags = _cpu_info()
    found: dict[str, Any] = {
        "cpu_model": model,
        "cpu_vector_flags": flags,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "platform": platform.platform(),
    }
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS"):
        found[var] = os.environ.get(var)
    tf = sys.modules.get("tensorflow")
    if tf is not None:  # 0 = TensorFlow's default (one thread per usable core)
        found["tf_intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
        found["tf_inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
        found["gpus"] = len(tf.config.list_physical_devices("GPU"))
    return found


def command(argv: Sequence[str] | None = None, script: str | None = None) -> dict[str, Any]:
    """The command line: ``argv`` (default ``sys.argv[1:]``) and a pasteable ``line``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    script = script or (sys.argv[0] if sys.argv and sys.argv[0] else "")
    line = " ".join(shlex.quote(a) for a in ["python", script, *argv] if a)
    return {"argv": argv, "line": line, "cwd": os.getcwd()}


def run_provenance(
    data_paths: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    script: str | None = None,
    root: str = REPO_ROOT,
) -> dict[str, Any]:
    """Everything above in one dict (module docstring)."""
    return {
        "git": git_state(root),
        "versions": versions(),
        "data": file_hashes(data_paths or {}),
        "command": command(argv, script),
        "machine": machine(),
    }


def run_record_context(hp, data_paths, argv: Sequence[str] | None, script: str) -> dict[str, Any]:
    """The closing keys of a run's ``results.json`` (``tools/run.py``, ``tools/popularity.py``):
    ``data`` (the data paths used), ``hparams`` (resolved), ``versions`` (tf_lsrec, TensorFlow
    and Python, the short form beside the metrics) and ``provenance`` (:func:`run_provenance`).
    ``data_paths``: a ``tf_lsrec.data.paths.DataPaths``."""
    paths = data_paths.as_hparams()
    found = versions()
    return {
        "data": paths,
        "hparams": hp.values(),
        "versions": {k: found[k] for k in ("tf_lsrec", "tensorflow", "python")},
        "provenance": run_provenance(paths, argv, script),
    }
