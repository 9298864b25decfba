"""Export of every model: fresh-process scores equal the in-memory model, layout, versions,
atomicity, saved_model_cli, warm-up requests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tf_lsrec.serving.exporter as export_module
from tf_lsrec.serving import EXPORT_INFO, export, next_version, read_warmup_file

# Each model costs an export (~10 s) and a fresh TF process (~5 s): GRU4Rec runs in the default
# (CI) selection, the other models are marked slow in the `served` fixture's params.

TOL = 1e-5


def outputs(served, name):
    res = served.results[name]
    assert "outputs" in res, res.get("error")
    return res["outputs"]


def test_fresh_process_rows_match_training_pipeline(served):
    got = outputs(served, "rows")["probability"]
    want = served.expected["rows"]
    assert got.shape == want.shape == (58,)
    assert np.abs(got - want).max() <= TOL
    assert (
        want.max() - want.min() > 0.1
    )  # random weights: rows really differ, the check is not vacuous


def test_loading_needs_no_library_code(served):
    assert served.results["__self_contained__"]
    assert served.results["__signatures__"] == [
        "rank_candidates",
        "recommend",
        "retrieve_and_rank",
        "score_candidates",
        "serving_default",
    ]


def test_score_candidates_match(served):
    got = outputs(served, "candidates")["scores"]
    assert got.shape == (31,)
    assert np.abs(got - served.expected["candidates"]).max() <= TOL


def test_recommend_is_top_k_of_the_whole_catalogue(served):
    items, _ = served.catalogue
    scores = served.expected["catalogue"]
    assert len(scores) == len(items) > 100
    order = np.argsort(-scores, kind="stable")[:10]
    out = outputs(served, "recommend_all")
    assert [x.decode() for x in out["item_ids"]] == [items[i] for i in order]
    assert np.abs(out["scores"] - scores[order]).max() <= TOL


def test_recommend_excludes_history_items_when_asked(served):
    items, _ = served.catalogue
    history = set(served.rec_row[5].split(","))
    scores = served.expected["catalogue"].copy()
    in_history = np.array([i in history for i in items])
    assert in_history.any()
    scores[in_history] = -np.inf
    order = np.argsort(-scores, kind="stable")[:10]
    out = outputs(served, "recommend_new")
    got = [x.decode() for x in out["item_ids"]]
    assert got == [items[i] for i in order]
    assert not history & set(got)
    assert np.abs(out["scores"] - scores[order]).max() <= TOL
    # without the flag the top items include history items (the fixture picked such a user)
    all_ids = {x.decode() for x in outputs(served, "recommend_all")["item_ids"]}
    assert all_ids & history


def test_warmup_requests_are_real_and_served(served):
    reqs = read_warmup_file(served.version_dir)
    assert [r.signature_name for r in reqs] == [
        "serving_default",
        "score_candidates",
        "recommend",
        "recommend",
        "rank_candidates",
        "retrieve_and_rank",
    ]
    assert all(r.model_name == served.name for r in reqs)
    first = reqs[0].inputs
    with open(served.hparams.train_file, encoding="utf-8") as f:
        line = f.readline().rstrip("\n").split("\t")
    assert first["user"][0].decode() == line[1]
    assert first["item_history"][0, : int(first["history_length"][0])].astype(str).tolist() == line[
        5
    ].split(",")
    warm = served.results["__warmup__"]
    assert [w[0] for w in warm] == [r.signature_name for r in reqs]
    assert warm[1][1]["scores"].shape == (100,)
    assert warm[2][1]["item_ids"].shape == (10,)


# measured faster with XLA on CPU (docs/serving.md, Latency): the RNN and attention models
XLA_SERVED = {"clsr", "dien", "din", "gru4rec", "sli_rec", "slsrec", "sum", "surge"}


def test_layout_and_export_info(served):
    base = os.path.join(served.base, served.name)
    assert served.version_dir == os.path.join(base, "1")
    assert sorted(os.listdir(base)) == ["1"]  # no temporary directory left behind
    names = set(os.listdir(served.version_dir))
    assert {"saved_model.pb", "variables", "assets.extra"} <= names
    with open(os.path.join(served.version_dir, "assets.extra", EXPORT_INFO)) as f:
        info = json.load(f)
    assert info["catalogue_size"] == len(served.catalogue[0])
    assert info["catalogue_missing_category"] == 0
    assert info["max_seq_length"] == 8
    # the default export is XLA-compiled exactly for the models that chose it (and the other
    # serving tests then check those exports' scores against the training pipeline)
    assert info["jit_compile"] is type(served.model).serving_jit_compile
    assert info["jit_compile"] is (served.name in XLA_SERVED)
    assert info["signatures"]["serving_default"]["item_history"] == {
        "dtype": "string",
        "shape": [None, None],
    }


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("err_history_length", r"item_history and category_history must have the same length"),
        ("err_history_shape", r"`category_history` must have the same \[B, N\] shape"),
        ("err_empty", r"empty batch"),
        ("err_no_candidates", r"empty batch: no `candidate_items`"),
        ("err_length_over_width", r"`history_length` exceeds the padded history width N"),
        ("err_dtype", r"expected to be a double tensor but is a int64 tensor"),
    ],
)
def test_bad_requests_fail_with_clear_messages(served, name, pattern):
    res = served.results[name]
    assert "error" in res, f"{name} was accepted: {res}"
    assert re.search(pattern, res["error"], re.S), res["error"][:2000]


def test_unknown_ids_score_like_index_zero(served):
    got = outputs(served, "unknown")["probability"]
    assert abs(got[0] - got[1]) <= 1e-7
    assert np.abs(got - served.expected["unknown"]).max() <= TOL


def test_saved_model_cli_lists_the_three_signatures(served):
    if served.name != "gru4rec":
        pytest.skip("the signature listing does not depend on the model; checked once")
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    out = subprocess.run(
        [cli, "show", "--all", "--dir", served.version_dir],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    blocks = re.split(r"signature_def\['", out)
    sigs = {b.split("'")[0]: b for b in blocks[1:]}
    assert {"serving_default", "score_candidates", "recommend"} <= set(sigs)
    want = {
        "serving_default": {
            "user": ("DT_STRING", "(-1)"),
            "time": ("DT_DOUBLE", "(-1)"),
            "item_history": ("DT_STRING", "(-1, -1)"),
            "history_length": ("DT_INT32", "(-1)"),
        },
        "score_candidates": {"user": ("DT_STRING", "()"), "candidate_items": ("DT_STRING", "(-1)")},
        "recommend": {"exclude_history": ("DT_BOOL", "()"), "time_history": ("DT_DOUBLE", "(-1)")},
    }
    for sig, inputs in want.items():
        for name, (dtype, shape) in inputs.items():
            m = re.search(
                rf"inputs\['{name}'\] tensor_info:\s+dtype: (\w+)\s+shape: (\([^)]*\))", sigs[sig]
            )
            assert m, f"{sig} lacks input {name}"
            assert (m.group(1), m.group(2)) == (dtype, shape)
    assert "outputs['probability']" in sigs["serving_default"]
    assert "outputs['scores']" in sigs["score_candidates"]
    assert "outputs['item_ids']" in sigs["recommend"]


def test_versions_increment_and_never_overwrite(served, tmp_path):
    if served.name != "gru4rec":
        pytest.skip("version handling does not depend on the model; checked once")
    base = str(tmp_path / "exports")
    os.makedirs(os.path.join(base, "gru4rec", "7.tmp"))  # not an integer: ignored
    assert next_version(os.path.join(base, "gru4rec")) == 1
    first = export(served.model, base, warmup=False)
    assert first.endswith(os.path.join("gru4rec", "1"))
    second = export(served.model, base, warmup=False)
    assert second.endswith(os.path.join("gru4rec", "2"))
    with pytest.raises(FileExistsError, match="already exists"):
        export(served.model, base, version=2)


def test_crash_during_export_leaves_no_version_directory(served, tmp_path, monkeypatch):
    if served.name != "gru4rec":
        pytest.skip("atomicity does not depend on the model; checked once")

    def crash(*args, **kwargs):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(export_module, "write_warmup_file", crash)  # after saved_model.pb
    base = str(tmp_path / "exports")
    with pytest.raises(RuntimeError, match="simulated"):
        export(served.model, base)
    assert os.listdir(os.path.join(base, "gru4rec")) == []
    assert next_version(os.path.join(base, "gru4rec")) == 1


def test_run_py_export_flags_export_the_trained_model(planted_paths, tmp_path):
    """``tools/run.py --export DIR --jit-compile`` trains, then writes version 1 under DIR whose
    export info records the XLA option, and ``results.json`` points to it."""
    import json

    from tests.tool_loader import ROOT as root
    from tests.tool_loader import load_tool

    run_tool = load_tool("run")
    sets = [f"data.{k}={v}" for k, v in planted_paths.as_hparams().items()]
    sets += [
        "train.epochs=1",
        "train.batch_size=32",
        "model.max_seq_length=8",
        "info.show_step=1000",
    ]
    argv = ["--yaml", os.path.join(root, "hparams", "gru4rec.yaml"), "--run-dir", str(tmp_path)]
    argv += [a for s in sets for a in ("--set", s)]
    results = run_tool.main(argv + ["--export", str(tmp_path / "exports"), "--jit-compile"])

    version_dir = results["export_dir"]
    assert version_dir == str(tmp_path / "exports" / "gru4rec" / "1")
    with open(os.path.join(version_dir, "assets.extra", "tf_lsrec_export.json")) as f:
        info = json.load(f)
    assert info["jit_compile"] is True and info["model_type"] == "gru4rec"
    with open(os.path.join(str(tmp_path), "results.json")) as f:
        assert json.load(f)["export_dir"] == version_dir


def test_vocabularies_and_catalogue_are_assets_not_graph_constants(served):
    from tensorflow.core.protobuf import saved_model_pb2

    from tf_lsrec.io.lookup import load_vocab

    assets = os.path.join(served.version_dir, "assets")
    assert sorted(os.listdir(assets)) == [
        "catalogue.txt",
        "cate_vocab.txt",
        "item_vocab.txt",
        "user_vocab.txt",
    ]
    with open(os.path.join(assets, "item_vocab.txt"), encoding="utf-8") as f:
        rows = dict(line.rstrip("\n").split("\t") for line in f)
    assert {k: int(v) for k, v in rows.items()} == load_vocab(served.hparams.item_vocab)
    with open(os.path.join(assets, "catalogue.txt"), encoding="utf-8") as f:
        lines = [line.rstrip("\n").split("\t") for line in f]
    assert [tuple(x) for x in zip(*lines)] == [tuple(c) for c in served.catalogue]
    # no string constant anywhere in the graph or its functions holds a vocabulary
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(served.version_dir, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    graph = sm.meta_graphs[0].graph_def
    nodes = list(graph.node) + [n for fn in graph.library.function for n in fn.node_def]
    strings = {
        v.decode("utf-8", "replace")
        for n in nodes
        if n.op == "Const"
        for v in n.attr["value"].tensor.string_val
    }
    ids = set(rows) | set(load_vocab(served.hparams.user_vocab))
    assert len(ids) > 100 and len(strings & ids) < 3, sorted(strings & ids)[:10]
