"""docs/results.md: every marked table is what ``tools/compare.py`` makes of the committed JSON.

A table between ``<!-- table: docs/results/<table> -->`` and ``<!-- /table -->`` is written by
``python tools/compare.py --table-only --out docs/results/<table> --doc docs/results.md``; this
test regenerates each one from ``docs/results/<table>/<model>-seed<n>.json`` and compares, so a
number typed or edited by hand, or a run added without regenerating, fails here.
"""

from __future__ import annotations

import os

import pytest

from tests.tool_loader import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS_MD = os.path.join(ROOT, "docs", "results.md")


@pytest.fixture(scope="module")
def compare():
    return load_tool("compare")


def _marked(compare) -> dict[str, str]:
    with open(RESULTS_MD, encoding="utf-8") as f:
        return compare.doc_tables(f.read())


def test_results_md_has_marked_tables(compare):
    tables = _marked(compare)
    assert {"docs/results/ml100k_3seeds", "docs/results/synthetic_1m_3seeds"} <= set(tables)


def test_every_marked_table_regenerates_from_committed_json(compare):
    for folder, body in _marked(compare).items():
        out = os.path.join(ROOT, folder)
        assert compare.result_files(out), f"{folder}: no committed run JSON"
        markdown, _, _ = compare.render(out, list(compare.DEFAULT_METRICS))
        assert body == markdown + "\n", f"docs/results.md table {folder} differs from its JSON"
        with open(os.path.join(out, "summary.md"), encoding="utf-8") as f:
            assert f.read() == markdown + "\n", f"{folder}/summary.md differs from its JSON"


def test_update_doc_replaces_only_the_marked_block(compare, tmp_path):
    runs = tmp_path / "docs" / "results" / "t"
    runs.mkdir(parents=True)
    doc = tmp_path / "results.md"
    marker = compare.doc_marker(str(runs))
    doc.write_text(f"intro\n\n{marker}\nold table\n<!-- /table -->\n\nafter\n")
    compare.update_doc(str(doc), str(runs), "Runs from commit x.\n\n| new |")
    assert doc.read_text() == (
        f"intro\n\n{marker}\nRuns from commit x.\n\n| new |\n<!-- /table -->\n\nafter\n"
    )
    assert compare.doc_tables(doc.read_text()) == {
        marker.split(": ")[1].removesuffix(" -->"): "Runs from commit x.\n\n| new |\n"
    }
    other = tmp_path / "other.md"
    other.write_text("no markers\n")
    with pytest.raises(SystemExit, match="add the two marker lines"):
        compare.update_doc(str(other), str(runs), "| new |")


def test_one_seed_is_shown_without_a_spread(compare, tmp_path):
    import json

    result = {"model": "gru4rec", "test_metrics": {"auc": 0.75}, "epochs_run": 1,
              "timings": {"fit_seconds": 2.0}, "hparams": {"epochs": 1}}  # fmt: skip
    (tmp_path / "gru4rec-seed1.json").write_text(json.dumps(result))
    table, summary = compare.summarize(str(tmp_path), ["auc"])
    assert table.splitlines()[2] == "| gru4rec | 1 | 0.7500 | 2 |"
    assert summary["gru4rec"]["auc"]["std"] is None
