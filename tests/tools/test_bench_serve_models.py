"""``tools/bench.py serve --models``: one child process per model, one JSON, exit 1 on a failure.

The children are replaced by a fake (the real bench exports ml-100k models: minutes each); the
real end to end run is the lead's latency table (docs/serving.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "tools"))
    import bench as bench_tool
    from benches import serve_models

    return bench_tool, serve_models


def _parse(bench_tool, argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="bench")
    import benches.serve as serve

    serve.add_arguments(sub.add_parser("serve"))
    return parser.parse_args(["serve", *argv])


def _child_result(model: str, score_p99: float) -> dict:
    def sig(p99):
        return {f"{c}_{p}_ms": (p99 if p == "p99" else p99 / 2) for c in ("wall", "cpu")
                for p in ("p50", "p99", "mean")}  # fmt: skip

    return {
        "bench": "serve",
        "model": model,
        "jit_compile": model == "clsr",
        "score_candidates": {"candidates": 100, **sig(score_p99)},
        "retrieve_and_rank": sig(7.0),
        "recommend": sig(30.0),
        "load_seconds": 1.5,
        "goal_met": score_p99 < 5.0,
        "goal_met_cpu_time": score_p99 < 5.0,
        "load_average": [0.5, 0.5, 0.5],
    }


def test_models_list_runs_one_child_per_model_with_forwarded_options(bench):
    bench_tool, serve_models = bench
    args = _parse(bench_tool, ["--models", "gru4rec,clsr", "--requests", "40", "--no-jit-compile"])
    seen = []

    def fake(cmd):
        seen.append(cmd)
        model = os.path.basename(cmd[cmd.index("--yaml") + 1]).removesuffix(".yaml")
        return 0, json.dumps(_child_result(model, 3.0 if model == "gru4rec" else 9.0)), ""

    out = serve_models.run_models(args, run_child=fake)
    assert [os.path.basename(c[c.index("--yaml") + 1]) for c in seen] == [
        "gru4rec.yaml",
        "clsr.yaml",
    ]
    for cmd in seen:
        assert cmd[0] == sys.executable and "--models" not in cmd and "--no-jit-compile" in cmd
        assert cmd[cmd.index("--requests") + 1] == "40"
    assert [r["model"] for r in out["table"]] == ["gru4rec", "clsr"]
    assert out["table"][1]["score_candidates"] == {
        "wall_p50_ms": 4.5, "wall_p99_ms": 9.0, "cpu_p50_ms": 4.5, "cpu_p99_ms": 9.0}  # fmt: skip
    assert out["over_goal"] == ["clsr"] and out["all_goals_met"] is False
    assert out["failed"] == {} and set(out["models"]) == {"gru4rec", "clsr"}
    assert len(out["load_average_start"]) == 3 and len(out["load_average_end"]) == 3


def test_default_jit_option_is_left_to_the_model(bench):
    bench_tool, serve_models = bench
    args = _parse(bench_tool, ["--models", "gru4rec"])
    cmd = serve_models.child_command(args, "gru4rec")
    assert "--jit-compile" not in cmd and "--no-jit-compile" not in cmd
    args = _parse(bench_tool, ["--models", "gru4rec", "--jit-compile"])
    assert "--jit-compile" in serve_models.child_command(args, "gru4rec")


def test_all_means_every_registered_model(bench):
    _, serve_models = bench
    from tf_lsrec.models import MODEL_CLASSES

    assert serve_models.model_names("all") == sorted(MODEL_CLASSES)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        serve_models.model_names("gru4rec,nope")


def test_a_failing_model_is_reported_the_others_run_and_the_exit_status_is_1(
    bench, monkeypatch, capsys
):
    bench_tool, serve_models = bench

    def fake(cmd):
        model = os.path.basename(cmd[cmd.index("--yaml") + 1]).removesuffix(".yaml")
        if model == "din":
            return 1, "", "Traceback ...\nValueError: boom"
        return 0, json.dumps(_child_result(model, 2.0)), ""

    monkeypatch.setattr(serve_models, "_run_child", fake)
    status = bench_tool.main(["serve", "--models", "din,gru4rec", "--requests", "10"])
    assert status == 1
    out = json.loads(capsys.readouterr().out)
    assert list(out["failed"]) == ["din"] and "ValueError: boom" in out["failed"]["din"]
    assert [r["model"] for r in out["table"]] == ["gru4rec"]
    assert out["all_goals_met"] is False


def test_load_is_refused_with_models(bench):
    bench_tool, serve_models = bench
    args = _parse(bench_tool, ["--models", "all", "--load", "x/1"])
    with pytest.raises(ValueError, match="--load"):
        serve_models.run_models(args, run_child=lambda cmd: (0, "{}", ""))
