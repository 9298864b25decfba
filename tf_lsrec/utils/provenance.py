"""Where a result came from: code version, library versions, data hashes and the command.

``run_provenance(...)`` is what ``tools/run.py`` and ``tools/compare.py`` write into their
``results.json`` / ``summary.json`` so that every number can be traced to one commit and one set
of data files, and a run can be repeated:

* ``git``: ``commit`` (``HEAD``), ``dirty`` (tracked files differ from ``HEAD``; untracked files
  such as run directories are not counted) and ``branch``; ``None`` values outside a checkout;
* ``versions``: tf_lsrec, TensorFlow, TFRS, tf_keras, numpy, Python;
* ``data``: per data file and vocab: path, size in bytes and sha256;
* ``command``: ``argv`` as given and a shell-quoted line to paste.
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
    }
