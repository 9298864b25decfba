"""Execute every notebook in notebooks/ top to bottom with tiny settings (injected after the cell
tagged ``parameters``) on a fresh kernel running this interpreter; any cell error fails the test.

Data is the planted synthetic generator written into a temporary directory (no download), so the
tests are hermetic. Besides "it runs", each test checks what the notebook must show: figures
drawn by matplotlib (``image/png`` outputs produced by this run), and notebook-specific results.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_NAMES = ["00_quickstart", "01_clsr_deep_dive", "02_model_comparison", "03_serving"]

_spec = importlib.util.spec_from_file_location("nb_execute", NOTEBOOKS / "execute.py")
nb_execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nb_execute)

# Tiny model sizes shared by the notebooks' MODEL_OVERRIDES (hidden_size = item + category dims,
# as SLi-Rec and CLSR require).
TINY_MODEL = {
    "item_embedding_dim": 8,
    "cate_embedding_dim": 4,
    "hidden_size": 12,
    "user_embedding_dim": 12,
    "attention_size": 12,
    "att_fcn_layer_sizes": [8, 4],
    "layer_sizes": [8, 4],
}


def _tiny_data(tmp_path: Path) -> dict:
    return {
        "DATASET": "synthetic",
        "SYNTHETIC_INTERACTIONS": 2000,
        "DATA_DIR": str(tmp_path / "data"),
        "EPOCHS": 1,
        "BATCH_SIZE": 64,
        "MAX_SEQ_LENGTH": 10,
        "MODEL_OVERRIDES": TINY_MODEL,
        "WORK_DIR": str(tmp_path / "work"),
    }


def _outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(nb) -> str:
    parts = []
    for o in _outputs(nb):
        if o.output_type == "stream":
            parts.append(o.text)
        elif "data" in o:
            parts.append(o.data.get("text/plain", ""))
    return "\n".join(parts)


def _n_figures(nb) -> int:
    return sum("image/png" in o.get("data", {}) for o in _outputs(nb))


def _run(name: str, params: dict, tmp_path: Path):
    out = tmp_path / f"{name}.ipynb"
    nb = nb_execute.execute_notebook(NOTEBOOKS / f"{name}.ipynb", params, output=out, timeout=600)
    assert not [o for o in _outputs(nb) if o.output_type == "error"]
    return nb


# ---------------------------------------------------------------- static checks (fast)
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_structure(name):
    """One parameters cell; tf_lsrec imported before TensorFlow; no static images."""
    path = NOTEBOOKS / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    idx = nb_execute.parameters_cell_index(nb, str(path))
    assert nb_execute.parameter_names(nb.cells[idx].source)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tf_import = re.search(r"^(import tensorflow|from tensorflow)\b", code, re.M)
    assert "import tf_lsrec" in code
    if tf_import:
        assert code.index("import tf_lsrec") < tf_import.start(), f"{name}: tf_lsrec after TF"
    for c in nb.cells:
        if c.cell_type == "markdown":
            assert "![" not in c.source and "<img" not in c.source, f"{name}: static image"
            assert not c.get("attachments"), f"{name}: attached image"


def test_inject_parameters_inserts_after_parameters_cell():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os"),
        nbformat.v4.new_code_cell(
            "A = 1\nB: int = 2\nC, D = 3, 4", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell("print(A + B)"),
    ]
    assert nb_execute.parameter_names(nb.cells[1].source) == ["A", "B"]
    out = nb_execute.inject_parameters(nb, {"B": [1, "x"], "A": 5})
    assert [c.source for c in out.cells][2] == (
        "# Parameters injected by notebooks/execute.py\nB = [1, 'x']\nA = 5"
    )
    assert out.cells[2].metadata["tags"] == ["injected-parameters"]
    assert len(nb.cells) == 3  # the input notebook is not modified
    again = nb_execute.inject_parameters(out, {"A": 7})  # replaces, never stacks
    assert [c.source.splitlines()[-1] for c in again.cells] == [
        "import os",
        "C, D = 3, 4",
        "A = 7",
        "print(A + B)",
    ]


def test_inject_parameters_errors():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("A = 1", metadata={"tags": ["parameters"]})]
    with pytest.raises(KeyError, match=r"nb.ipynb: parameter\(s\) \['Z'\].*allowed: \['A'\]"):
        nb_execute.inject_parameters(nb, {"Z": 1}, "nb.ipynb")
    with pytest.raises(ValueError, match="not a Python literal"):
        nb_execute.inject_parameters(nb, {"A": object()}, "nb.ipynb")
    nb.cells.append(nbformat.v4.new_code_cell("B = 1", metadata={"tags": ["parameters"]}))
    with pytest.raises(ValueError, match="exactly one code cell tagged 'parameters', found 2"):
        nb_execute.parameters_cell_index(nb, "nb.ipynb")


def test_clean_outputs_drops_tensorflow_noise_and_machine_paths(tmp_path):
    root, home = tmp_path / "repo", "/home/someone"
    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795435878.682627   25360 port.cc:153] oneDNN custom operations are on.\n"
        "E0000 00:00:1795435884.909868   25360 cuda_platform.cc:52] failed call to cuInit: 303\n"
        "To enable the following instructions: AVX2 AVX512F, in other operations, rebuild it\n"
        f"INFO:tensorflow:Assets written to: {root}/runs/export/1/assets\n"
    )
    kept = "WARNING:tf_lsrec.io.pipeline: 3 ids missing from the vocab\n"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x", outputs=[
            nbformat.v4.new_output("stream", name="stderr", text=noise),
            nbformat.v4.new_output("stream", name="stderr", text=noise + kept),
            nbformat.v4.new_output("stream", name="stdout", text=f"wrote {root}/runs/a.txt\n"),
            nbformat.v4.new_output("execute_result", data={
                "text/plain": f"'{home}/.cache/x' '{root}' '{tempfile.gettempdir()}/y'"},
                execution_count=1),
        ])
    ]  # fmt: skip
    out = nb_execute.clean_outputs(nb, root, home=home).cells[0].outputs
    assert [o.get("text") for o in out[:2]] == [kept, "wrote runs/a.txt\n"]
    assert out[2].data["text/plain"] == "'~/.cache/x' '.' '$TMPDIR/y'"
    assert len(out) == 3  # the all-noise stream is gone


def test_committed_notebooks_carry_outputs():
    """Committed with the outputs of a real run: every notebook shows executed cells and figures."""
    for name in NOTEBOOK_NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{name}: not fully executed"
        assert _n_figures(nb) >= 1, f"{name}: no figure in the committed outputs"
        text = _text(nb)
        noise = [ln for ln in text.splitlines() if nb_execute._NOISE.match(ln)]
        assert not noise, f"{name}: TensorFlow log lines in the committed outputs: {noise[:2]}"
        assert str(ROOT) not in text, f"{name}: this checkout's path in the committed outputs"


# ---------------------------------------------------------------- executions (tiny settings)
def test_00_quickstart(tmp_path):
    nb = _run("00_quickstart", {**_tiny_data(tmp_path), "EVAL_GROUPS": 40}, tmp_path)
    text = _text(nb)
    assert "SavedModel vs Keras model: max |difference|" in text
    assert "SLi-Rec" in text and "CLSR" in text
    assert _n_figures(nb) >= 1
    assert (tmp_path / "work" / "export" / "sli_rec" / "1" / "saved_model.pb").exists()


def test_01_clsr_deep_dive(tmp_path):
    params = {
        **_tiny_data(tmp_path),
        "PLANTED_USERS": 150,
        "PLANTED_EPOCHS": 1,
        "ATTENTION_USERS": 2,
    }
    nb = _run("01_clsr_deep_dive", params, tmp_path)
    text = _text(nb)
    assert "probe accuracy" in text and "Bayes-optimal rule" in text
    assert _n_figures(nb) >= 4  # alpha histogram, alpha vs time/length, attention, probe


def test_02_model_comparison(tmp_path):
    tiny = [
        "data.dataset=synthetic",
        "data.synthetic_interactions=1500",
        f"data.data_dir={tmp_path / 'data'}",
        "train.epochs=2",  # runs of one epoch have no training curve to draw
        "train.batch_size=64",
        "model.item_embedding_dim=8",
        "model.cate_embedding_dim=4",
        "model.user_embedding_dim=4",
        "model.hidden_size=8",
        "model.layer_sizes=[8]",
        "model.max_seq_length=10",
    ]
    params = {
        "RUNS_GLOB": [str(tmp_path / "runs" / "*" / "results.json")],
        "LAUNCH_DIR": str(tmp_path / "runs"),
        "LAUNCH": [("hparams/gru4rec.yaml", seed, tiny) for seed in (1, 2)]
        + [("hparams/gru4rec.yaml", 1, [*tiny, "train.train_negatives=uniform"])],
    }
    nb = _run("02_model_comparison", params, tmp_path)
    text = _text(nb)
    assert "3 run(s) read from 3 file(s); 0 skipped" in text
    # the table: one row (synthetic, gru4rec) over 2 seeds, mean ± std of the two runs, and the
    # run trained on uniform negatives in a row of its own
    results = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/results.json")]
    uniform = [r for r in results if r["hparams"]["train_negatives"] == "uniform"]
    assert len(uniform) == 1 and f"{uniform[0]['test_metrics']['auc']:.4f}" in text
    assert "gru4rec (uniform neg.)" in text
    aucs = sorted(r["test_metrics"]["auc"] for r in results if r not in uniform)
    mean = sum(aucs) / 2
    std = abs(aucs[1] - aucs[0]) / 2**0.5  # sample std of two values
    assert f"{mean:.4f} ± {std:.4f}" in text
    assert "3 training log(s)" in text
    assert _n_figures(nb) == 2  # bar charts + training curves


def test_03_serving(tmp_path):
    nb = _run(
        "03_serving", {**_tiny_data(tmp_path), "LATENCY_REPEATS": 5, "BENCH_REQUESTS": 0}, tmp_path
    )
    text = _text(nb)
    assert "tools/bench.py serve skipped" in text
    for signature in ("serving_default", "score_candidates", "recommend"):
        assert f'"signature_name": "{signature}"' in text
    assert "signature_def['score_candidates']" in text  # saved_model_cli output
    assert "p50" in text
    assert _n_figures(nb) >= 1


@pytest.mark.slow
def test_03_serving_with_bench(tmp_path):
    """The tools/bench.py serve cell (a fresh TensorFlow process: slow)."""
    nb = _run(
        "03_serving", {**_tiny_data(tmp_path), "LATENCY_REPEATS": 3, "BENCH_REQUESTS": 3}, tmp_path
    )
    text = _text(nb)
    assert "$ python tools/bench.py serve --load" in text
    assert "p99_ms" in text


def test_parameter_cells_document_full_settings():
    for name in NOTEBOOK_NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        cell = nb.cells[nb_execute.parameters_cell_index(nb)]
        assert "Full settings" in cell.source, f"{name}: say what the full settings are"
        ast.parse(cell.source)
