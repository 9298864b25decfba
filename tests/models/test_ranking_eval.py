"""Ranking against the catalogue (``tf_lsrec.models.ranking_eval``): hand-computed ranks with a
fake scorer on a 6-item catalogue, history exclusion, the 99-negative protocol, chunking, and a
real model end to end (its ranks equal brute-force per-row scores)."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import tiny_hparams
from tf_lsrec.evaluation.full_ranking import is_ranking_key, ranking_metrics
from tf_lsrec.io.lookup import VocabLookup
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.models import get_model_class
from tf_lsrec.models.ranking_eval import (
    CatalogueIndex,
    Ranker,
    RankingProtocol,
    model_catalogue,
    positive_batches,
)

ITEMS = {"default_mid": 0, **{f"i{k}": k for k in range(1, 7)}}
CATES = {"default_cat": 0, "c1": 1, "c2": 2}
USERS = {"up": 0, "un": 1}


def line(label, user, item, hist):
    cates = ",".join("c1" for _ in hist)
    times = ",".join(str(10 + j) for j in range(len(hist)))
    return f"{label}\t{user}\t{item}\tc1\t100\t{','.join(hist)}\t{cates}\t{times}"


# "up" scores item k with +k, "un" with -k (FakeModel): ranks follow from the item numbers
LINES = [
    line(1, "up", "i3", ["i5", "i1"]),  # above i3: i4 i5 i6 -> rank 4; i5 excluded -> 3
    line(0, "up", "i2", ["i5", "i1"]),  # a negative line: not ranked
    line(1, "un", "i6", ["i1", "i2"]),  # above: i1..i5 -> 6; without i1 i2 -> 4
    line(1, "up", "i6", ["i6"]),  # best item; in its own history: kept -> rank 1
    line(1, "un", "i9", ["i1"]),  # not in the vocab: outside the catalogue, not ranked
    line(1, "un", "i1", ["i2", "i3"]),  # lowest item number: best for "un" -> 1
]
FULL = {True: [3, 4, 1, 1], False: [4, 6, 1, 1]}  # exclude_history -> ranks


class FakeModel:
    """Logit of row = item index, negated for user "un"; records each call's group size."""

    def __init__(self, data):
        self.data = data
        self.group_sizes = []

    def forward(self, rows, training, group_size, checked):
        assert not training and not checked
        self.group_sizes.append(group_size)
        sign = tf.where(tf.equal(rows["users"], 1), -1.0, 1.0)
        return {"logits": tf.reshape(sign * tf.cast(rows["items"], tf.float32), [-1, 1])}


@pytest.fixture
def ranking_setup(tmp_path):
    path = tmp_path / "test.txt"
    path.write_text("\n".join(LINES) + "\n")
    hp = tiny_hparams("gru4rec", max_seq_length=4)
    model = FakeModel(SequentialData(hp, VocabLookup(USERS, ITEMS, CATES)))
    catalogue = CatalogueIndex.from_indices(range(1, 7), [1, 1, 2, 2, 1, 2], len(ITEMS))
    return model, catalogue, str(path)


def _ranks(setup, **protocol):
    model, catalogue, path = setup
    proto = RankingProtocol(metrics=("hit@1;3", "ndcg@3", "mrr"), **protocol)
    return Ranker(model, catalogue, proto).ranks(path)


@pytest.mark.parametrize("exclude", [True, False])
def test_full_catalogue_ranks_by_hand(ranking_setup, exclude):
    ranks, info = _ranks(ranking_setup, exclude_history=exclude)
    np.testing.assert_array_equal(ranks, FULL[exclude])
    assert info["users_ranked"] == 4 and info["targets_outside_catalogue"] == 1
    assert info["catalogue_size"] == 6
    assert info["targets_in_history_kept"] == (1 if exclude else 0)


def test_metrics_and_keys_by_hand(ranking_setup):
    model, catalogue, path = ranking_setup
    proto = RankingProtocol(metrics=("hit@1;3", "ndcg@3", "mrr"))
    metrics, _ = Ranker(model, catalogue, proto).rank(path)
    # ranks 3, 4, 1, 1
    expected = {
        "full_hit@1": 0.5,
        "full_hit@3": 0.75,
        "full_ndcg@3": round((1 / np.log2(4) + 1 + 1) / 4, 4),
        "full_mrr": round((1 / 3 + 1 / 4 + 1 + 1) / 4, 4),
    }
    assert metrics == pytest.approx(expected, abs=1e-12)
    assert list(metrics) == list(expected) and all(is_ranking_key(k) for k in metrics)


def test_chunks_equal_one_chunk(ranking_setup):
    model = ranking_setup[0]
    whole, _ = _ranks(ranking_setup, chunk_size=6)  # the catalogue in one call, 1 user per call
    assert model.group_sizes[-1] == 6
    for chunk in (1, 2, 4, 5, 12, 100):  # uneven last chunks, several users per call
        ranks, _ = _ranks(ranking_setup, chunk_size=chunk)
        np.testing.assert_array_equal(ranks, whole)
        assert model.group_sizes[-1] == min(chunk, 6)


def test_sampled_negatives_protocol(ranking_setup):
    # 3 negatives among the 3 items that are neither target nor history: all of them, whatever
    # the draw; user 1 (target i3, history i5 i1): negatives i2 i4 i6 -> i4 i6 above -> rank 3
    ranks, info = _ranks(ranking_setup, negatives=3, exclude_history=True, chunk_size=8)
    np.testing.assert_array_equal(ranks, [3, 4, 1, 1])
    assert info["protocol"] == "3 sampled negatives, history excluded"
    # 5 negatives without exclusion: every other item -> the full-catalogue ranks
    ranks, _ = _ranks(ranking_setup, negatives=5, exclude_history=False)
    np.testing.assert_array_equal(ranks, FULL[False])
    assert ranking_setup[0].group_sizes[-1] == 6


def test_sampled_negatives_are_distinct_seeded_and_avoid_target_and_history(ranking_setup):
    model, catalogue, path = ranking_setup
    ranker = Ranker(model, catalogue, RankingProtocol(metrics=("mrr",), negatives=2, seed=5))
    draws = [ranker._candidates(2, np.array([4, 0]), np.random.default_rng(5), 6)
             for _ in range(2)]  # fmt: skip
    np.testing.assert_array_equal(draws[0], draws[1])
    assert draws[0][0] == 2 and len(set(draws[0])) == 3
    assert not set(draws[0][1:]) & {2, 4, 0}
    too_many = Ranker(model, catalogue, RankingProtocol(metrics=("mrr",), negatives=4))
    with pytest.raises(ValueError, match="only 3 catalogue items"):
        too_many.ranks(path)  # user 1: 6 - target - 2 history = 3 < 4
    with pytest.raises(ValueError, match="catalogue has 6 items"):
        Ranker(model, catalogue, RankingProtocol(metrics=("mrr",), negatives=6))


def test_ranking_metrics_from_ranks_by_hand():
    res = ranking_metrics([1, 2, 5], ["hit@1;2", "ndcg@2", "mrr"])
    assert res == pytest.approx({
        "hit@1": 1 / 3, "hit@2": 2 / 3, "ndcg@2": (1 + 1 / np.log2(3)) / 3,
        "mrr": (1 + 0.5 + 0.2) / 3,
    })  # fmt: skip
    with pytest.raises(ValueError, match="full_ranking_metrics: unknown metric"):
        ranking_metrics([1], ["auc"])
    with pytest.raises(ValueError, match="1-based"):
        ranking_metrics([0], ["mrr"])


def test_real_model_ranks_equal_brute_force_and_run_eval_reports_them(make_hparams, tmp_path):
    hp = make_hparams("sli_rec", full_ranking_metrics=["hit@10", "ndcg@10", "mrr"])
    model = get_model_class("sli_rec")(hp)
    model._ensure_built()
    catalogue = model_catalogue(model)
    protocol = dataclasses.replace(RankingProtocol.from_hparams(hp), chunk_size=80)
    ranker = Ranker(model, catalogue, protocol)
    with open(hp.test_file) as f:
        head = [next(f) for _ in range(60)]  # the first 6 groups of 1 + 9 lines
    test_file = tmp_path / "head.txt"
    test_file.write_text("".join(head))
    ranks, info = ranker.ranks(test_file)
    assert info["users_ranked"] == len(ranks) == 6

    # the shared-history chunked scores equal brute force: every catalogue item as its own row
    n = len(catalogue)
    assert ranker.width == 80 and n % 80 and ranker.users_per_call == 1  # 3 chunks, uneven
    users = positive_batches(model.data, test_file, 1)
    for _, (features, histories) in zip(range(3), users):
        shared = ranker._catalogue_scores(ranker._pad_users(features), 1)[0]  # [n]
        rows = {k: tf.repeat(v, n, axis=0) for k, v in features.items()}
        rows["items"], rows["cates"] = tf.constant(catalogue.items), tf.constant(catalogue.cates)
        logits = model(rows, training=False).numpy()[:, 0]
        np.testing.assert_allclose(shared, logits, rtol=1e-5, atol=1e-6)
        assert len(histories[0]) >= 1

    result = model.run_eval(test_file, num_ngs=9)
    assert {"full_hit@10", "full_ndcg@10", "full_mrr"} <= set(result)
    assert "auc" in result and "group_auc" in result  # the sampled metrics stay
    # run_eval ranks with hparams' chunk (the catalogue in one call, 20 users per call)
    assert result["full_mrr"] == pytest.approx(np.mean(1.0 / ranks), abs=6e-5)
    assert result["full_hit@10"] == pytest.approx(np.mean(ranks <= 10), abs=6e-5)
    assert "full_mrr" not in model.run_eval(test_file, num_ngs=9, full_ranking=False)
