"""Atomic writes and the user cache directory.

Every file the library produces (prepared data, vocab pickles, results, exports) is written to a
temporary sibling first and renamed into place, so a crash never leaves a half-written file that a
later run would trust.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

CACHE_ENV = "TF_LSREC_CACHE"


def cache_dir() -> Path:
    """Root of the data cache: ``$TF_LSREC_CACHE`` or ``~/.cache/tf_lsrec``."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "tf_lsrec")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path in the target's directory; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory
    )
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_pickle(path: str | os.PathLike, obj) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary directory beside ``path``; rename it to ``path`` on success.

    ``path`` must not exist yet. On an exception the temporary directory is deleted; one left
    by a process that was killed (its PID is in the name, ``.<name>.<pid>.<random>.tmp``) is
    removed by the next call for the same ``path``. The directory gets the usual mode
    (``0777 & ~umask``, not ``mkdtemp``'s 0700), so that e.g. a TF Serving process running as
    another user can read an export.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    if os.path.exists(path):
        raise FileExistsError(f"{path} already exists; refusing to overwrite it")
    prefix = "." + os.path.basename(path) + "."
    _remove_stale_temporaries(parent, prefix)
    tmp = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=parent)
    try:
        yield tmp
        mode = 0o777 & ~_umask()
        for root, dirs, _ in os.walk(tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), mode)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _remove_stale_temporaries(parent: str, prefix: str) -> None:
    """Delete ``<prefix><pid>.*.tmp`` directories in ``parent`` whose process is gone."""
    for name in os.listdir(parent):
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
