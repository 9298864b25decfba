"""``rank_candidates`` and ``retrieve_and_rank`` against numpy oracles built from the model's
embedding tables and the training pipeline's catalogue scores."""

from __future__ import annotations

import numpy as np

from tf_lsrec.io.lookup import load_vocab

TOL = 1e-5


def _outputs(served, name):
    res = served.results[name]
    assert "outputs" in res, res.get("error")
    return res["outputs"]


def test_rank_candidates_is_the_top_of_score_candidates(served):
    scores = served.expected["candidates"]
    order = np.argsort(-scores, kind="stable")[:10]
    out = _outputs(served, "rank")
    cand = served.results["candidates"]  # same request, scores of every candidate
    assert out["item_ids"].shape == (10,)
    np.testing.assert_allclose(out["scores"], scores[order], atol=TOL)
    assert np.abs(cand["outputs"]["scores"][order] - out["scores"]).max() <= TOL


def _oracle(served, exclude: bool, n: int, k: int = 10):
    """Top-k of the model's catalogue scores among the n items of largest <mean history
    embedding, item embedding> (history items left out first when ``exclude``); for a model
    with its own ``retrieval_query`` (LightGCN) the query is that (its user row) instead."""
    model, hp = served.model, served.hparams
    items, cates = served.catalogue
    iv, cv = load_vocab(hp.item_vocab), load_vocab(hp.cate_vocab)

    def target(i, c):
        emb = model.embed_targets(
            np.array([iv.get(x, 0) for x in i], np.int32),
            np.array([cv.get(x, 0) for x in c], np.int32),
            training=False,
        )
        return emb["target"].numpy().astype(np.float64)

    hist_i = served.rec_row[5].split(",")[-hp.max_seq_length :]
    hist_c = served.rec_row[6].split(",")[-hp.max_seq_length :]
    query = target(hist_i, hist_c).mean(axis=0)
    if hasattr(model, "retrieval_query"):
        user = np.array([load_vocab(hp.user_vocab).get(served.rec_row[1], 0)], np.int32)
        query = model.retrieval_query({"users": user}).numpy()[0].astype(np.float64)
    dots = target(items, cates) @ query
    seen = np.array([i in set(served.rec_row[5].split(",")) for i in items])
    if exclude:
        dots[seen] = -np.inf
    retrieved = np.argsort(-dots, kind="stable")[:n]
    scores = served.expected["catalogue"][retrieved].copy()
    if exclude:
        scores[seen[retrieved]] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [items[i] for i in retrieved[order]], scores[order], [items[i] for i in retrieved]


def test_retrieve_and_rank_ranks_the_retrieved_candidates(served, helpers):
    n = helpers.RETRIEVAL_N
    for name, exclude in [("retrieve_all", False), ("retrieve_new", True)]:
        want_ids, want_scores, retrieved = _oracle(served, exclude, n)
        out = _outputs(served, name)
        got = [x.decode() for x in out["item_ids"]]
        assert got == want_ids, name
        assert [x.decode() for x in out["retrieved_items"]] == retrieved, name
        np.testing.assert_allclose(out["scores"], want_scores, atol=TOL)
        if exclude:
            assert not set(got) & set(served.rec_row[5].split(","))
    assert len(retrieved) == n < len(served.catalogue[0])  # the stage really cuts
