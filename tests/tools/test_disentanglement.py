"""``tools/disentanglement.py``: the history references it compares the models with."""

import dataclasses
import importlib.util
import json
import os

import numpy as np

from tf_lsrec.data.synthetic import SyntheticConfig, generate_interactions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tool(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "tools"))
    spec = importlib.util.spec_from_file_location(
        "disentanglement_tool", os.path.join(ROOT, "tools", "disentanglement.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _counts(c, pairs):
    row = np.zeros(c, dtype=np.int64)
    for cat, n in pairs:
        row[cat] = n
    return row


def test_bayes_rule_reads_the_recurring_category_as_long_term(monkeypatch):
    tool = _tool(monkeypatch)
    cfg = SyntheticConfig(n_categories=6)
    # category 0 recurs in every session, 1 / 2 / 3 each fill one session: 0 is long-term and
    # 3 the current session's short-term category, although 3 is rarer than 0 in that session
    sessions = np.stack(
        [_counts(6, [(0, 2), (1, 3)]), _counts(6, [(0, 2), (2, 3)]), _counts(6, [(0, 3), (3, 2)])]
    )
    long, short = tool.bayes_rule([sessions], cfg)
    assert (long[0], short[0]) == (0, 3)
    # one session only: nothing tells the long-term category from the short-term one; each
    # marginal guess is one of the two session categories (a tie, so they may coincide)
    long, short = tool.bayes_rule([_counts(6, [(4, 3), (5, 3)])[None]], cfg)
    assert long[0] in (4, 5) and short[0] in (4, 5)


def test_bayes_rule_beats_the_counting_rule_on_planted_data(monkeypatch):
    tool = _tool(monkeypatch)
    cfg = dataclasses.replace(SyntheticConfig(), mean_length=40.0, min_length=20)
    inter, truth = generate_interactions(300, seed=3, config=cfg)
    targets = tool.test_line_targets(inter, truth)
    users = list(targets)
    long_y = np.array([targets[u]["long"] for u in users])
    short_y = np.array([targets[u]["short"] for u in users])
    long, short = tool.bayes_rule([targets[u]["sessions"] for u in users], cfg)
    hist = np.stack([targets[u]["history_counts"] for u in users])
    sess = np.stack([targets[u]["session_counts"] for u in users])
    c_long, c_short = tool.counting_rule(hist, sess, np.random.default_rng(0))
    assert np.mean(long == long_y) > 0.9
    assert np.mean(long == long_y) >= np.mean(c_long == long_y)
    assert np.mean(short == short_y) > np.mean(c_short == short_y) - 0.02
    assert np.mean(short == short_y) > 0.4  # chance 1/19


def test_test_line_targets_split_the_history_into_sessions(monkeypatch):
    tool = _tool(monkeypatch)
    inter, truth = generate_interactions(50, seed=1)
    targets = tool.test_line_targets(inter, truth)
    for user, t in targets.items():
        rows = inter[inter["user"] == user]
        assert t["sessions"].sum() == len(rows) - 1
        assert np.array_equal(t["sessions"].sum(axis=0), t["history_counts"])
        assert np.array_equal(t["sessions"][-1], t["session_counts"])


def test_ceilings_json_records_commit_and_command(monkeypatch, tmp_path):
    tool = _tool(monkeypatch)
    out = tmp_path / "ceilings.json"
    tool.main(["--users", "60", "--seeds", "1", "--ceilings", str(out)])
    result = json.loads(out.read_text())
    git = result["provenance"]["git"]
    assert len(git["commit"]) == 40 and isinstance(git["dirty"], bool)
    assert result["provenance"]["command"]["argv"][-1] == str(out)
    bayes = [v["mean"] for k, v in result["summary"].items() if k.startswith("Bayes-optimal")]
    assert len(bayes) == 2 and all(0.0 < b <= 1.0 for b in bayes)
