"""``tools/compare.py``: the summary says which commits its runs come from."""

import json
import os

from tests.tool_loader import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fake_run(out, name, commit, dirty, auc):
    os.makedirs(out / name)
    result = {"model": "gru4rec", "test_metrics": {"auc": auc}, "epochs_run": 1,
              "timings": {"fit_seconds": 2.0}, "hparams": {"epochs": 1},
              "provenance": {"git": {"commit": commit, "dirty": dirty}}}  # fmt: skip
    (out / name / "results.json").write_text(json.dumps(result))


def test_summary_records_run_commits_and_warns_when_mixed(tmp_path, capsys):
    compare = load_tool("compare")
    _fake_run(tmp_path, "gru4rec-seed1", "a" * 40, False, 0.7)
    _fake_run(tmp_path, "gru4rec-seed2", "a" * 40, False, 0.8)
    compare.main(["--models", "gru4rec", "--out", str(tmp_path), "--table-only",
                  "--metrics", "auc"])  # fmt: skip
    with open(tmp_path / "summary.json") as f:
        summary = json.load(f)
    assert summary["run_commits"] == [{"commit": "a" * 40, "dirty": False}]
    assert summary["models"]["gru4rec"]["auc"]["values"] == [0.7, 0.8]
    assert summary["provenance"]["command"]["argv"][:2] == ["--models", "gru4rec"]
    assert (tmp_path / "summary.md").read_text().startswith(f"Runs from commit {'a' * 40}.")
    assert "WARNING" not in capsys.readouterr().err

    _fake_run(tmp_path, "gru4rec-seed3", "b" * 40, True, 0.9)
    compare.main(["--models", "gru4rec", "--out", str(tmp_path), "--table-only"])
    assert "do not all come from one clean commit" in capsys.readouterr().err


def test_ranking_columns_follow_the_sampled_ones(tmp_path):
    compare = load_tool("compare")
    for seed, (auc, hit) in enumerate([(0.7, 0.1), (0.8, 0.3)], 1):
        _fake_run(tmp_path, f"gru4rec-seed{seed}", "a" * 40, False, auc)
        path = tmp_path / f"gru4rec-seed{seed}" / "results.json"
        result = json.loads(path.read_text())
        result["test_metrics"].update({"full_hit@10": hit, "full_mrr": hit / 2})
        path.write_text(json.dumps(result))
    compare.main(["--models", "gru4rec", "--out", str(tmp_path), "--table-only",
                  "--metrics", "auc"])  # fmt: skip
    table = (tmp_path / "summary.md").read_text().splitlines()
    assert (
        table[2] == "| model | seeds | auc | full_hit@10 | full_mrr | best epoch | train s/epoch |"
    )
    assert "| 0.7500 ± 0.0707 | 0.2000 ± 0.1414 | 0.1000 ± 0.0707 |" in table[4]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["models"]["gru4rec"]["full_hit@10"]["values"] == [0.1, 0.3]


def test_table_only_reads_the_committed_layout(tmp_path):
    """docs/results/<table>/<model>-seed<n>.json (results.json copied flat) gives the same table."""
    compare = load_tool("compare")
    runs, flat = tmp_path / "runs", tmp_path / "flat"
    flat.mkdir()
    for seed, auc in ((1, 0.7), (2, 0.8)):
        _fake_run(runs, f"gru4rec-seed{seed}", "a" * 40, False, auc)
        (flat / f"gru4rec-seed{seed}.json").write_text(
            (runs / f"gru4rec-seed{seed}" / "results.json").read_text()
        )
        (flat / f"gru4rec-seed{seed}.training_log.csv").write_text("epoch\n1\n")
    for out in (runs, flat):
        compare.main(["--out", str(out), "--table-only", "--metrics", "auc"])
    assert (flat / "summary.md").read_text() == (runs / "summary.md").read_text()
    assert json.loads((flat / "summary.json").read_text())["models"]["gru4rec"]["seeds"] == 2


FAKE_RUN = """
import glob, json, os, sys, time
args = sys.argv[1:]
run_dir = args[args.index("--run-dir") + 1]
model = os.path.basename(args[args.index("--yaml") + 1]).removesuffix(".yaml")
seed = int(args[args.index("--set") + 1].split("=")[1])
if seed == int(os.environ.get("FAKE_FAIL_SEED", "0")):
    sys.exit(3)
open(os.path.join(run_dir, "started"), "w").close()
# rendezvous: wait until RENDEZVOUS runs have started (they must run at the same time)
deadline = time.monotonic() + 60
while len(glob.glob(os.path.join(os.path.dirname(run_dir), "*", "started"))) < int(
    os.environ.get("RENDEZVOUS", "1")
):
    if time.monotonic() > deadline:
        sys.exit(4)
    time.sleep(0.05)
result = {"model": model, "test_metrics": {"auc": 0.5 + seed / 100}, "epochs_run": 1,
          "timings": {"fit_seconds": 1.0}, "hparams": {"epochs": 1},
          "threads": os.environ.get("TF_NUM_INTRAOP_THREADS"),
          "provenance": {"git": {"commit": "a" * 40, "dirty": False}}}
with open(os.path.join(run_dir, "results.json"), "w") as f:
    json.dump(result, f)
"""


def test_jobs_run_at_the_same_time_with_fixed_threads(tmp_path, monkeypatch):
    compare = load_tool("compare")
    fake = tmp_path / "fake_run.py"
    fake.write_text(FAKE_RUN)
    monkeypatch.setattr(compare, "RUN_SCRIPT", str(fake))
    monkeypatch.setenv("RENDEZVOUS", "2")  # each run waits for the other: sequential runs fail
    out = tmp_path / "out"
    compare.main(["--models", "gru4rec", "--seeds", "1", "2", "--out", str(out),
                  "--jobs", "2", "--threads", "1", "--metrics", "auc"])  # fmt: skip
    for seed in (1, 2):
        result = json.loads((out / f"gru4rec-seed{seed}" / "results.json").read_text())
        assert result["threads"] == "1"
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["models"]["gru4rec"]["auc"]["values"]) == [0.51, 0.52]


def test_a_failed_run_does_not_stop_the_others(tmp_path, monkeypatch):
    compare = load_tool("compare")
    fake = tmp_path / "fake_run.py"
    fake.write_text(FAKE_RUN)
    monkeypatch.setattr(compare, "RUN_SCRIPT", str(fake))
    monkeypatch.setenv("FAKE_FAIL_SEED", "2")
    out = tmp_path / "out"
    import pytest

    with pytest.raises(RuntimeError, match=r"1 run\(s\) failed:\n.*seed=2.*exit 3"):
        compare.main(["--models", "gru4rec", "--seeds", "1", "2", "3", "--out", str(out)])
    assert (out / "gru4rec-seed1" / "results.json").exists()
    assert (out / "gru4rec-seed3" / "results.json").exists()
    assert not (out / "gru4rec-seed2" / "results.json").exists()


def test_publish_copies_runs_flat_and_summarizes_there(tmp_path):
    compare = load_tool("compare")
    runs, docs = tmp_path / "runs", tmp_path / "docs" / "t"
    for seed, auc in ((1, 0.7), (2, 0.8)):
        _fake_run(runs, f"gru4rec-seed{seed}", "a" * 40, False, auc)
    (runs / "gru4rec-seed1" / "training_log.csv").write_text("epoch\n1\n")
    compare.main(["--out", str(runs), "--table-only", "--publish", str(docs), "--metrics", "auc"])
    assert sorted(p.name for p in docs.iterdir()) == [
        "gru4rec-seed1.json",
        "gru4rec-seed1.training_log.csv",
        "gru4rec-seed2.json",
        "summary.json",
        "summary.md",
    ]
    assert (docs / "gru4rec-seed1.training_log.csv").read_text() == "epoch\n1\n"
    assert "| gru4rec | 2 | 0.7500 ± 0.0707 |" in (docs / "summary.md").read_text()
    assert not (runs / "summary.md").exists()
