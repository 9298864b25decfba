"""Prepared sets appear as a whole; atomic directories get the usual mode and no stale temp."""

import os
import stat
import subprocess
import sys

import pandas as pd
import pytest

import tf_lsrec.data.prepared_set as prepared_set
from tf_lsrec.data.prepared_set import prepared_directory
from tf_lsrec.data.sequential import read_manifest, write_sequential_files
from tf_lsrec.utils.files import atomic_directory


def _interactions(n_users=12, n_items=15):
    rows = [(f"u{u}", f"i{(u + k) % n_items}", f"c{k % 3}", 100 * k + u)
            for u in range(n_users) for k in range(6)]  # fmt: skip
    return pd.DataFrame(rows, columns=["user", "item", "category", "timestamp"])


def _prepare(out, seed):
    with prepared_directory(out) as tmp:
        write_sequential_files(_interactions(), tmp, valid_num_ngs=2, test_num_ngs=3, seed=seed)


def test_a_crash_while_writing_keeps_the_previous_set_whole(tmp_path, monkeypatch):
    out = tmp_path / "prepared"
    _prepare(out, seed=1)
    before = {n: (out / n).read_bytes() for n in os.listdir(out)}
    import tf_lsrec.data.sequential as sequential

    def crash(*args, **kwargs):  # the data files of seed 2 are written, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(sequential, "save_vocabs", crash)
    with pytest.raises(KeyboardInterrupt):
        _prepare(out, seed=2)
    assert {n: (out / n).read_bytes() for n in os.listdir(out)} == before
    assert sorted(os.listdir(tmp_path)) == ["prepared"]  # no temporary left
    monkeypatch.undo()
    _prepare(out, seed=2)
    assert read_manifest(out)["seed"] == 2


def test_foreign_files_are_never_swapped_away(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="notes.txt"):
        _prepare(out, seed=1)
    assert (out / "notes.txt").read_text() == "keep me"


def test_prepare_data_input_writes_a_whole_set(tmp_path):
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "prepare_data.py")
    log = tmp_path / "log.csv"
    _interactions().to_csv(log, index=False)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, tool, "--input", str(log), "--out", str(out),
                           "--valid-ngs", "2", "--test-ngs", "3"], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(os.listdir(out)) <= prepared_set.PREPARED_NAMES
    assert str(out / "train_data") in proc.stdout


def test_atomic_directory_mode_and_stale_temporaries(tmp_path):
    target = tmp_path / "models" / "1"
    # a temporary left by a process that was killed (PID that cannot exist)
    (tmp_path / "models").mkdir()
    stale = tmp_path / "models" / ".1.999999999.abc.tmp"
    stale.mkdir()
    with atomic_directory(target) as tmp:
        os.makedirs(os.path.join(tmp, "variables"))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o777 & ~mask
    assert stat.S_IMODE(os.stat(target / "variables").st_mode) == 0o777 & ~mask
    assert not stale.exists()
