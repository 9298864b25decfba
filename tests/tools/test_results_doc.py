"""docs/results.md: every marked table is what ``tools/compare.py`` makes of the committed JSON.

A table between ``<!-- table: docs/results/<table> -->`` and ``<!-- /table -->`` is written by
``python tools/compare.py --table-only --out docs/results/<table> --doc docs/results.md``; this
test regenerates each one from ``docs/results/<table>/<model>-seed<n>.json`` and compares, so a
number typed or edited by hand, or a run added without regenerating, fails here. The index
between ``<!-- sources -->`` and ``<!-- /sources -->`` must state the commit of every run file it
lists.
"""

from __future__ import annotations

import json
import os
import re

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
    result = {"model": "gru4rec", "test_metrics": {"auc": 0.75}, "epochs_run": 1,
              "timings": {"fit_seconds": 2.0}, "hparams": {"epochs": 1}}  # fmt: skip
    (tmp_path / "gru4rec-seed1.json").write_text(json.dumps(result))
    table, summary = compare.summarize(str(tmp_path), ["auc"])
    assert table.splitlines()[2] == "| gru4rec | 1 | 0.7500 | – | 2 |"  # no best epoch recorded
    assert summary["gru4rec"]["auc"]["std"] is None


def test_best_epoch_column_shows_each_seed_against_the_epochs_it_ran(compare, tmp_path):
    for seed, best, ran, auc in ((1, 9, 10, 0.70), (2, 3, 8, 0.80)):
        result = {"model": "clsr", "test_metrics": {"auc": auc}, "best_epoch": best,
                  "epochs_run": ran, "timings": {"fit_seconds": 4.0 * ran},
                  "hparams": {"epochs": 10}}  # fmt: skip
        (tmp_path / f"clsr-seed{seed}.json").write_text(json.dumps(result))
    table, summary = compare.summarize(str(tmp_path), ["auc"])
    assert table.splitlines()[0].endswith("| auc | best epoch | train s/epoch |")
    assert table.splitlines()[2] == "| clsr | 2 | 0.7500 ± 0.0707 | 9/10 3/8 | 4 |"
    assert summary["clsr"]["best_epoch"] == [9, 3] and summary["clsr"]["epochs_run"] == [10, 8]


SOURCES = re.compile(r"<!-- sources -->\n(.*?)<!-- /sources -->", re.S)
SHORT_HASH = re.compile(r"\b[0-9a-f]{7}\b")


def _run_commit(record) -> str | None:
    """The commit a run record states: ``provenance.git.commit`` for runs and benches,
    ``recorded_commit`` for a ``tools/reproduce.py`` report (the run it checked)."""
    git = (record.get("provenance") or {}).get("git") or {}
    return git.get("commit") or record.get("recorded_commit")


def _source_rows() -> list[tuple[str, list[str], str]]:
    with open(RESULTS_MD, encoding="utf-8") as f:
        match = SOURCES.search(f.read())
    assert match, "docs/results.md has no <!-- sources --> index"
    rows = []
    for line in match.group(1).splitlines()[2:]:  # header and rule first
        section, paths, commits = (c.strip() for c in line.strip("|").split("|"))
        rows.append((section, re.findall(r"`([^`]+)`", paths), commits))
    return rows


def test_sources_index_states_the_commit_of_every_run_it_lists():
    """The index at the top of docs/results.md names, per section, the committed JSON and the
    commit(s) of its runs. Every run file there must come from a stated commit, every stated
    commit must be found in them, and "not recorded" must be said where a run lacks one."""
    with open(RESULTS_MD, encoding="utf-8") as f:
        headings = {line.lstrip("#").strip() for line in f if line.startswith("#")}
    rows = _source_rows()
    assert any(paths == ["docs/results/ml100k_3seeds/"] for _, paths, _ in rows)
    for section, paths, commits in rows:
        assert section in headings, f"index row {section!r} names no section of results.md"
        stated = set(SHORT_HASH.findall(commits))
        found, missing = set(), []
        for path in paths:
            full = os.path.join(ROOT, path)
            files = (
                [full]
                if os.path.isfile(full)
                else [
                    os.path.join(d, n)
                    for d, _, names in os.walk(full)
                    for n in names
                    if n.endswith(".json") and n != "summary.json"
                ]
            )
            assert files, f"{section}: {path} has no JSON"
            for name in files:
                with open(name, encoding="utf-8") as f:
                    commit = _run_commit(json.load(f))
                if commit is None:
                    missing.append(name)
                else:
                    found.add(commit[:7])
        assert found <= stated, f"{section}: runs from {sorted(found - stated)} not stated"
        assert stated <= found, f"{section}: stated {sorted(stated - found)} found in no run"
        if missing:
            assert "not recorded" in commits, f"{section}: {missing[0]} records no commit"
