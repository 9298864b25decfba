"""LightGCN: hand-computed scores and loss, the multi-hop mechanism, learning on planted data,
checkpoints without the training file, top-K, and the SavedModel export."""

import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import tiny_hparams
from tf_lsrec.data.graph import InteractionGraph, normalized_adjacency
from tf_lsrec.io.lookup import VocabLookup
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.models.base import dummy_batch
from tf_lsrec.models.lightgcn import LightGCNModel

# 2 users x 3 items (item vocab index 0 is the default item): u0-i1, u0-i2, u1-i2, u1-i3
VOCABS = dict(
    user_vocab={"u0": 0, "u1": 1},
    item_vocab={"default_mid": 0, "i1": 1, "i2": 2, "i3": 3},
    cate_vocab={"default_cat": 0},
)
TINY = InteractionGraph.from_pairs([0, 0, 1, 1], [1, 2, 2, 3], n_users=2, n_items=4)


def _tiny_model(n_layers, **overrides):
    hp = tiny_hparams("lightgcn", None, None, MODEL_DIR=None, save_model=False,
                      n_layers=n_layers, embed_size=6, **overrides)  # fmt: skip
    model = LightGCNModel(hp, data=SequentialData(hp, VocabLookup(**VOCABS)), graph=TINY)
    # one-hot ego embeddings: node n (users first, then items) is e_n
    model.user_ego.assign(np.eye(6, dtype=np.float32)[:2])
    model.item_ego.assign(np.eye(6, dtype=np.float32)[2:])
    return model


def _rows(users, items):
    batch = dummy_batch(len(users), 4)
    batch["users"] = tf.constant(users, tf.int32)
    batch["items"] = tf.constant(items, tf.int32)
    return batch


def test_logits_are_dots_of_the_layer_means():
    model = _tiny_model(2)
    indices, values, n = normalized_adjacency(TINY)
    a = np.zeros([n, n])
    a[indices[:, 0], indices[:, 1]] = values
    e = np.eye(6)
    mean = (e + a @ e + a @ a @ e) / 3
    users, items = [0, 1, 0], [3, 1, 2]
    expected = [mean[u] @ mean[2 + i] for u, i in zip(users, items)]
    got = model(_rows(users, items)).numpy().ravel()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_score_through_three_hops_needs_two_layers():
    """i3 is 3 hops from u0 (u0-i2-u1-i3): with one-hot embeddings their score is 0 until the
    two propagated vectors meet (n_layers >= 2), and it grows with more layers' reach."""
    scores = [float(_tiny_model(k)(_rows([0], [3]))[0, 0]) for k in (0, 1, 2, 3)]
    assert scores[0] == 0.0 and scores[1] == 0.0, scores
    assert scores[2] > 1e-3 and scores[3] != pytest.approx(scores[2]), scores
    # a 1-hop item scores at every depth >= 1
    assert float(_tiny_model(1)(_rows([0], [1]))[0, 0]) > 0


def test_loss_is_bpr_plus_microsofts_decay_term():
    model = _tiny_model(1, decay=0.01)
    model.user_ego.assign(np.random.default_rng(0).normal(size=[2, 6]).astype(np.float32))
    model.item_ego.assign(np.random.default_rng(1).normal(size=[4, 6]).astype(np.float32))
    batch = _rows([0, 0, 1, 1], [2, 3, 3, 1])  # (user, pos, neg) = (0, 2, 3), (1, 3, 1)
    batch["labels"] = tf.constant([[1.0], [0.0], [1.0], [0.0]])
    parts = model.compute_loss_parts(batch, training=True)
    s = model(batch).numpy().ravel()
    bpr = np.mean(np.log1p(np.exp(-(s[0::2] - s[1::2]))))
    eu, ei = model.user_ego.numpy(), model.item_ego.numpy()
    reg = 0.01 * (0.5 * (eu[[0, 1]] ** 2).sum() + 0.5 * (ei[[2, 3, 3, 1]] ** 2).sum()) / 2
    np.testing.assert_allclose(float(parts["data_loss"]), bpr, rtol=1e-5)
    np.testing.assert_allclose(float(parts["regular_loss"]), reg, rtol=1e-5)


def test_split_scoring_equals_rows_and_needs_a_graph():
    model = _tiny_model(3)
    model.user_ego.assign(np.random.default_rng(2).normal(size=[2, 6]).astype(np.float32))
    got = model.score_user_targets(_rows([1], [0]), tf.constant([1, 2, 3]), tf.zeros([3], tf.int32))
    expected = model.predict_scores(_rows([1, 1, 1], [1, 2, 3])).numpy().ravel()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    hp = tiny_hparams("lightgcn", None, None, MODEL_DIR=None, embed_size=6)
    bare = LightGCNModel(hp, data=SequentialData(hp, VocabLookup(**VOCABS)))
    with pytest.raises(ValueError, match="no user-item graph yet"):
        bare(_rows([0], [1]))
    with pytest.raises(ValueError, match="jit_compile must be false"):
        LightGCNModel(hp.replace(jit_compile=True), data=bare.data)


def test_serving_view_holds_the_propagated_tables_and_scores_as_the_model():
    """``serving_model()`` (what the exported signatures call) keeps the layer means of the
    export time as its only variables: same scores, no propagation per request, and later
    training of the model does not reach an existing view."""
    model = _tiny_model(2)
    view = model.serving_model()
    indices, values, n = normalized_adjacency(TINY)
    a = np.zeros([n, n])
    a[indices[:, 0], indices[:, 1]] = values
    mean = (np.eye(6) + a @ np.eye(6) + a @ a @ np.eye(6)) / 3
    assert sorted(v.name for v in view.variables) == ["propagated_items:0", "propagated_users:0"]
    np.testing.assert_allclose(view.users.numpy(), mean[:2], atol=1e-6)
    np.testing.assert_allclose(view.items.numpy(), mean[2:], atol=1e-6)
    items, cates = tf.constant([1, 2, 3]), tf.zeros([3], tf.int32)
    want = model.score_user_targets(_rows([0], [0]), items, cates).numpy()
    np.testing.assert_allclose(view.score_user_targets(_rows([0], [0]), items, cates), want)
    rows = _rows([0, 1, 1], [3, 1, 2])
    np.testing.assert_allclose(view.predict_scores(rows), model.predict_scores(rows))
    np.testing.assert_allclose(view.embed_targets(items, cates)["target"], mean[2 + 1 : 2 + 4],
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(view.retrieval_query({"users": tf.constant([1])}), mean[1:2],
                               atol=1e-6)  # fmt: skip
    model.user_ego.assign(np.zeros([2, 6], np.float32))
    np.testing.assert_allclose(view.score_user_targets(_rows([0], [0]), items, cates), want)


def test_recommend_k_items_removes_seen_and_the_default_item():
    model = _tiny_model(2)
    top = model.recommend_k_items(["u0", "u1"], top_k=3)
    assert set(top[top.userID == "u0"].itemID) == {"i3"}  # i1, i2 seen; default never
    assert set(top[top.userID == "u1"].itemID) == {"i1"}
    all_items = model.recommend_k_items(["u0"], top_k=3, remove_seen=False)
    assert list(all_items.prediction) == sorted(all_items.prediction, reverse=True)
    with pytest.raises(ValueError, match="not in the training vocab"):
        model.recommend_k_items(["nobody"])


def test_lightgcn_learns_on_planted_data(assert_learns):
    model, result = assert_learns("lightgcn", min_auc=0.75, embed_size=32, n_layers=2,
                                  batch_size=64, epochs=4, learning_rate=0.01)  # fmt: skip
    assert result["group_auc"] >= 0.75, result


def test_checkpoint_restores_weights_and_graph_without_the_training_file(make_hparams, tmp_path):
    hp = make_hparams("lightgcn", MODEL_DIR=None, embed_size=8, n_layers=2)
    model = LightGCNModel(hp)
    model.user_ego.assign(tf.random.stateless_normal(model.user_ego.shape, [1, 1]))
    prefix = model.save_weights_checkpoint(str(tmp_path / "ckpt"))
    bare = LightGCNModel(hp.replace(train_file=None))
    assert not bare.has_graph
    bare.load_model(prefix)
    batch = next(iter(model.data.eval_dataset(hp.test_file)))
    np.testing.assert_allclose(bare(batch).numpy(), model(batch).numpy(), rtol=1e-6)


@pytest.mark.slow  # ~20 s; tests/serving (slow) exports lightgcn with every signature too
def test_savedmodel_export_scores_as_the_model(make_hparams, tmp_path):
    from tf_lsrec.serving import export

    hp = make_hparams("lightgcn", MODEL_DIR=None, embed_size=8, n_layers=2)
    model = LightGCNModel(hp)
    model.item_ego.assign(tf.random.stateless_normal(model.item_ego.shape, [2, 2]))
    path = export(model, str(tmp_path / "export"), warmup=False)
    served = tf.saved_model.load(path).signatures["score_candidates"]
    batch = next(iter(model.data.eval_dataset(hp.test_file, raw_ids=True)))
    user = {k: v[:1] for k, v in batch.items()}
    items = batch["item_id"][:5]
    out = served(
        user=batch["user_id"][0], time=tf.constant(1.0e9, tf.float64),
        item_history=tf.constant(["x"]), category_history=tf.constant(["c"]),
        time_history=tf.constant([1.0], tf.float64), candidate_items=items,
        candidate_categories=tf.fill([5], "c"),
    )  # fmt: skip
    expected = model.score_user_targets(user, batch["items"][:5], batch["cates"][:5])
    np.testing.assert_allclose(out["scores"].numpy(), expected.numpy(), rtol=1e-5)


def test_fit_takes_the_graph_of_its_training_file(make_hparams):
    """As tools/run.py does it: no train_file in the hparams, the file given to fit."""
    hp = make_hparams("lightgcn", MODEL_DIR=None, save_model=False, embed_size=8, epochs=1,
                      batch_size=256)  # fmt: skip
    model = LightGCNModel(hp.replace(train_file=None))
    assert not model.has_graph
    model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    graph = model.data.graph(hp.train_file)
    assert model.has_graph and model.adjacency_values.shape[0] == 2 * graph.n_edges
    # one epoch = Microsoft's n_edges // batch_size + 1 batches of batch_size users
    epoch = model.data.train_dataset(hp.train_file)
    assert int(epoch.cardinality()) == graph.n_edges // 256 + 1
    assert next(iter(epoch))["users"].shape == (512,)
