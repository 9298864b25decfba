"""A prepared dataset appears as a whole or not at all (issue 21).

``write_sequential_files`` replaces each of its seven files atomically, but one by one: a kill
between two renames left data files of one seed beside vocabs and manifest of another.
:func:`prepared_directory` yields a temporary directory beside the target; on success it is
renamed onto the target in one step (an existing prepared set is moved aside first and then
deleted, so a kill in between leaves no target rather than a mixed one).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

from tf_lsrec.data.paths import DataPaths
from tf_lsrec.utils.files import atomic_directory

# what a prepared directory may hold; anything else is the user's and is never moved away
PREPARED_NAMES = frozenset(
    [os.path.basename(p) for p in DataPaths.in_directory("").as_hparams().values()]
    + ["manifest.json", "_COMPLETE", "interactions.csv", "ground_truth.csv"]
)


@contextlib.contextmanager
def prepared_directory(out_dir: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary directory; on success it becomes ``out_dir`` in one rename.

    Raises:
        FileExistsError: ``out_dir`` holds files other than a prepared set's (they would be
            lost by the swap); nothing is written.
    """
    out = os.path.abspath(os.fspath(out_dir))
    if os.path.isdir(out):
        foreign = sorted(
            n for n in os.listdir(out) if n not in PREPARED_NAMES and not n.startswith(".")
        )
        if foreign:
            raise FileExistsError(
                f"{out} holds files that are not part of a prepared dataset ({foreign[:5]}); "
                "the prepared set replaces the directory as a whole, so prepare into a new or "
                "empty directory"
            )
    elif os.path.exists(out):
        raise FileExistsError(f"{out} exists and is not a directory")
    staging = out + ".new"  # atomic_directory's temporary lives beside it, then renames once
    if os.path.isdir(staging):
        shutil.rmtree(staging)  # left by a run killed between its two renames
    with atomic_directory(staging) as tmp:
        yield tmp
    if os.path.isdir(out):
        old = out + ".old"
        if os.path.isdir(old):
            shutil.rmtree(old)
        os.rename(out, old)
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, out)
