"""PopularityReference: the popularity row of result tables, scored and evaluated as models are."""

import json
import os

import numpy as np
import pytest

from tests.tool_loader import ROOT, load_tool
from tf_lsrec.data.vocab import build_vocabs
from tf_lsrec.hparams import prepare_hparams
from tf_lsrec.io.lookup import VocabLookup
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.models.popularity_reference import PopularityReference


def _line(label, user, item, t, history="e"):
    return f"{label}\t{user}\t{item}\tX\t{t}\t{history}\tX\t1\n"


@pytest.fixture
def tiny(tmp_path):
    """Positive training targets a x3, b x2, c x1 (d only as a negative, e only in histories);
    two test groups of 1 + 2: target a against b, c (rank 1) and target c against a, b (rank 3)."""
    train = [_line(1, u, "a", 10) for u in ("u1", "u2", "u3")]
    train += [_line(1, "u1", "b", 11), _line(1, "u2", "b", 12), _line(1, "u3", "c", 13)]
    train += [_line(0, "u1", "d", 14)]
    test = [_line(1, "u1", "a", 20), _line(0, "u1", "b", 20), _line(0, "u1", "c", 20)]
    test += [_line(1, "u2", "c", 21), _line(0, "u2", "a", 21), _line(0, "u2", "b", 21)]
    files = {
        name: tmp_path / name for name in ("train", "test", "user.pkl", "item.pkl", "cate.pkl")
    }
    files["train"].write_text("".join(train))
    files["test"].write_text("".join(test))
    build_vocabs(files["train"], files["user.pkl"], files["item.pkl"], files["cate.pkl"])
    keys = {"train_file": "train", "valid_file": "test", "test_file": "test",
            "user_vocab": "user.pkl", "item_vocab": "item.pkl", "cate_vocab": "cate.pkl"}  # fmt: skip
    sets = [f"data.{k}={files[v]}" for k, v in keys.items()]
    sets += ["info.metrics=['auc']", "info.pairwise_metrics=['mean_mrr','hit@1','group_auc']",
             "info.weighted_metrics=[]", "info.full_ranking_metrics=['hit@1','mrr']"]  # fmt: skip
    hp = prepare_hparams(os.path.join(ROOT, "hparams", "gru4rec.yaml"), overrides=sets)
    lookup = VocabLookup.from_files(files["user.pkl"], files["item.pkl"], files["cate.pkl"])
    return hp, SequentialData(hp, lookup), lookup


def test_counts_positive_targets_and_scores_log_one_plus_count(tiny):
    hp, data, lookup = tiny
    reference = PopularityReference(hp, data).fit(hp.train_file)
    idx = lookup.items(np.array(["a", "b", "c", "d", "e"])).numpy()
    np.testing.assert_array_equal(reference.counts[idx], [3, 2, 1, 0, 0])  # d: label 0 only
    assert reference.counts.sum() == 6
    logits = reference.forward({"items": idx})["logits"].numpy()
    np.testing.assert_allclose(logits[:, 0], np.log1p([3, 2, 1, 0, 0]), rtol=1e-6)


def test_sampled_and_full_ranking_metrics_are_the_hand_computed_ones(tiny):
    hp, data, _ = tiny
    metrics = PopularityReference(hp, data).fit(hp.train_file).run_eval(hp.test_file, 2)
    # ranks 1 and 3 in both protocols (history e excluded; d and e score below c)
    assert metrics["group_auc"] == pytest.approx(0.5)
    assert metrics["mean_mrr"] == pytest.approx(round((1 + 1 / 3) / 2, 4))
    assert metrics["hit@1"] == pytest.approx(0.5)
    assert metrics["full_hit@1"] == pytest.approx(0.5)
    assert metrics["full_mrr"] == pytest.approx(round((1 + 1 / 3) / 2, 4))
    # pooled AUC: positives log 4, log 2 against negatives log 3, log 2, log 4, log 3 (ties 1/2)
    assert metrics["auc"] == pytest.approx(0.5)


def test_a_training_file_without_positives_is_refused_by_name(tiny, tmp_path):
    hp, data, _ = tiny
    empty = tmp_path / "negatives_only"
    empty.write_text(_line(0, "u1", "a", 1))
    with pytest.raises(ValueError, match="negatives_only: no positive line"):
        PopularityReference(hp, data).fit(empty)


def test_tool_writes_a_record_compare_tabulates(planted, tmp_path):
    tool = load_tool("popularity")
    sets = [f"data.{k}={v}" for k, v in planted.as_hparams().items()]
    argv = ["--seeds", "1", "--out", str(tmp_path / "runs")]
    for s in sets + ["info.full_ranking_metrics=['hit@10']"]:
        argv += ["--set", s]
    (path,) = tool.main(argv)
    record = json.loads(open(path).read())
    assert record["model"] == "popularity" and record["epochs_run"] == 0
    assert record["provenance"]["command"]["line"].startswith("python tools/popularity.py")
    with open(planted.train_file) as f:
        assert record["items_counted"] == sum(line.startswith("1\t") for line in f)
    assert 0.0 <= record["test_metrics"]["full_hit@10"] <= 1.0
    assert record["ranking_protocol"]["metrics"] == ["hit@10"]
    assert record["ranking_protocol"]["chunk_size"] == 4096  # the same record as tools/run.py's
    table, _ = load_tool("compare").summarize(str(tmp_path / "runs"), ["auc"])
    row = table.splitlines()[2]
    assert row.startswith("| popularity | 1 | ") and row.endswith("| – | – |")  # nothing trained
