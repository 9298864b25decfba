"""tools/run.py: results survive a failed export; a rerun with other hparams writes nothing."""

import json
import os

import pytest

from tests.tool_loader import load_tool
from tf_lsrec.data.prepare import make_planted_dataset

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


@pytest.fixture(scope="module")
def run_tool():
    return load_tool("run")


@pytest.fixture(scope="module")
def argv(tmp_path_factory):
    paths = make_planted_dataset(str(tmp_path_factory.mktemp("run_data")), n_users=40, seed=0)
    sets = [f"data.{k}={v}" for k, v in paths.as_hparams().items()]
    sets += ["train.epochs=1", "train.batch_size=32", "model.max_seq_length=8",
             "info.show_step=1000", "model.hidden_size=8"]  # fmt: skip
    out = ["--yaml", os.path.join(ROOT, "hparams", "gru4rec.yaml")]
    return out + [a for s in sets for a in ("--set", s)]


def test_results_are_written_before_a_failing_export(run_tool, argv, tmp_path, monkeypatch):
    import tf_lsrec.serving

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf_lsrec.serving, "export", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_tool.main(argv + ["--run-dir", str(tmp_path), "--export", str(tmp_path / "exp")])
    with open(tmp_path / "results.json") as f:
        results = json.load(f)
    assert "auc" in results["test_metrics"] and "export_dir" not in results

    # a rerun in the same run dir with other model hparams is refused before writing anything
    before = (tmp_path / "hparams.yaml").read_text()
    with pytest.raises(ValueError, match=r"`hidden_size`: 8 -> 16.*Nothing was written"):
        run_tool.main(argv + ["--run-dir", str(tmp_path), "--set", "model.hidden_size=16"])
    assert (tmp_path / "hparams.yaml").read_text() == before
    # more epochs is a resumption, not a different run
    results = run_tool.main(argv + ["--run-dir", str(tmp_path), "--set", "train.epochs=2"])
    assert results["epochs_run"] == 2
