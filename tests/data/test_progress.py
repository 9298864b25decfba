"""Progress of data preparation, and data preparation without TensorFlow."""

import io
import os
import subprocess
import sys
from pathlib import Path

from tf_lsrec.data.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_one_summary_line(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progress(10, "writing things")
    bar.update(4)
    bar.update(6)
    bar.close()
    bar.close()  # a second close prints nothing more
    lines = out.getvalue().splitlines()
    assert lines[0] == "writing things"
    assert len(lines) == 2 and lines[1].startswith("writing things: 10 / 10 rows in ")


def test_disabled_is_silent(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progress(10, "writing", enabled=False)
    bar.update(10)
    bar.close()
    assert out.getvalue() == ""


def test_on_a_terminal_keras_bar(monkeypatch):
    out = _Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progress(5, "writing")
    assert bar._bar is not None and type(bar._bar).__name__ == "Progbar"
    bar.update(5)
    bar.close()
    assert "5/5" in out.getvalue()


def test_data_preparation_does_not_load_tensorflow():
    """Preparing data (CLI, benches, batch jobs) must not pay TensorFlow's ~0.6 GB."""
    code = (
        "import sys\n"
        "import tf_lsrec.data.prepare, tf_lsrec.data.outofcore, tf_lsrec.data.public\n"
        "import tf_lsrec.data.graph, tf_lsrec.data.shaped, tf_lsrec.io.validate\n"
        "from tf_lsrec.data.progress import Progress\n"
        "bar = Progress(3, 'x'); bar.update(3); bar.close()\n"
        "print(sorted(m for m in ('tensorflow', 'tf_keras') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_io_names_resolve_lazily():
    import tf_lsrec.io as tio

    assert tio.SequentialData.__name__ == "SequentialData"
    assert "VocabLookup" in dir(tio)
    try:
        tio.not_a_name  # noqa: B018
    except AttributeError as err:
        assert "not_a_name" in str(err)
    else:
        raise AssertionError("unknown attribute must raise AttributeError")
