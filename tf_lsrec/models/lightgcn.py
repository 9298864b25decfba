"""LightGCN (He et al., SIGIR'20) as in Microsoft Recommenders' ``graphrec/lightgcn.py``.

Graph collaborative filtering, not a sequential model: it reads only the user and the target
item of a row. Two tables of width ``d = embed_size`` (Xavier-uniform, Microsoft's
``VarianceScaling(1, fan_avg, uniform)``) are propagated over the symmetric-normalised
user-item graph of the training file (``tf_lsrec.data.graph``) by ``n_layers`` light graph
convolutions, and the layer mean is each node's representation::

    [U ; I] = LightGCNPropagation(n_layers)([E_user ; E_item], Â)     [n_users + n_items, d]
    logit(u, i) = <U[u], I[i]>                                          [B, 1]

Training is Microsoft's: BPR on its sampler (``tf_lsrec.io.graph_sampler``: a user uniformly
among those with edges, a uniform positive of theirs, a uniform non-interacted negative),
``loss = mean softplus(s_neg - s_pos) + decay * (½‖E_u‖² + ½‖E_pos‖² + ½‖E_neg‖²) / B`` on
the **un-propagated** rows of the batch, Adam. ``loss`` / ``train_num_ngs`` / ``embed_l2`` /
``layer_l2`` are not read (the data loss is the group softmax over groups of 2, which equals
BPR). The graph is propagated in full on every step, as in the reference.

Why it is a ``SequentialModel`` anyway: it keeps the batch contract (a graph batch is a batch
of rows whose history features are zeros), so the library's trainer (validation, early stopping,
checkpoints, logs), ``run_eval`` on the 1+N files, ``predict``, Keras ``fit`` and the serving
export work unchanged; only the data (``GraphData``) and the forward pass differ. The
normalised adjacency is model state (two non-trainable variables: COO indices and values,
created once by :meth:`LightGCNModel.set_graph`), so checkpoints and SavedModels carry it.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs
import tf_keras as keras

from tf_lsrec.data.graph import InteractionGraph, normalized_adjacency
from tf_lsrec.hparams import S, model_keys, non_negative, positive
from tf_lsrec.io.graph_sampler import GraphData
from tf_lsrec.layers.graph_propagation import LightGCNPropagation
from tf_lsrec.layers.initializers import fresh_initializer
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.losses import GroupSoftmaxLoss

_ADJ_INDICES = "adjacency_indices"
_ADJ_VALUES = "adjacency_values"


class LightGCNModel(SequentialModel):
    """LightGCN on the user-item graph of the training file (module docstring).

    The graph comes from ``hparams.train_file`` at construction when it is set, else from the
    ``train_file`` given to :meth:`fit` (or :meth:`set_graph`), or from a checkpoint
    (:meth:`load_model`).
    """

    hparams_spec = {
        **model_keys(
            embed_size=S(int, 64, "LightGCN: width of the user and item embeddings",
                         check=positive, expect="> 0"),
            n_layers=S(int, 3, "LightGCN: graph convolution layers", check=non_negative,
                       expect=">= 0"),
        ),
        "decay": S(float, 1e-4, "LightGCN: L2 weight on the batch's un-propagated rows, "
                   "divided by the batch size (Microsoft's `decay`)", section="train",
                   check=non_negative, expect=">= 0"),
        "top_k": S(int, 10, "LightGCN: items per user of recommend_k_items (Microsoft's "
                   "`top_k`)", section="train", check=positive, expect="> 0"),
    }  # fmt: skip
    required_keys = ("embed_size", "n_layers")

    def __init__(self, hparams, iterator_creator=None, seed=None, data=None, graph=None):
        data = GraphData(hparams, lookup=data.lookup if data is not None else None)
        super().__init__(hparams, iterator_creator, seed=seed, data=data)
        if hparams.get("seq2seq_loss_weight"):
            raise ValueError("lightgcn: seq2seq_loss_weight must be 0 (LightGCN reads no history)")
        if hparams.get("jit_compile"):
            raise ValueError("lightgcn: jit_compile must be false (TensorFlow's CSR sparse "
                             "kernels of the propagation have no XLA implementation)")  # fmt: skip
        sizes = self.data.vocab_sizes
        self.n_users, self.n_items = int(sizes["user"]), int(sizes["item"])
        xavier = keras.initializers.GlorotUniform(seed=self.seed)
        dim = int(hparams.embed_size)
        self.user_ego = self.add_weight(
            name="user_ego_embedding", shape=[self.n_users, dim],
            initializer=fresh_initializer(xavier, "lightgcn/user"),
        )  # fmt: skip
        self.item_ego = self.add_weight(
            name="item_ego_embedding", shape=[self.n_items, dim],
            initializer=fresh_initializer(xavier, "lightgcn/item"),
        )  # fmt: skip
        # float32 under any `precision`: the sparse products are run in float32 (the model has
        # no dense layer for a mixed policy to speed up)
        self.propagation = LightGCNPropagation(
            int(hparams.n_layers), name="propagation", dtype="float32"
        )
        self.group_size = 2  # a positive and its negative: group softmax = BPR
        self.task = tfrs.tasks.Ranking(loss=GroupSoftmaxLoss(2))
        if graph is not None or hparams.get("train_file"):
            self.set_graph(graph if graph is not None else hparams.train_file)

    # ------------------------------------------------------------------ the graph
    def set_graph(self, source: str | os.PathLike | InteractionGraph) -> None:
        """Use the graph of a training file (or an ``InteractionGraph``): its normalised
        adjacency becomes model state (the variables are created on the first call and
        overwritten by later ones; a graph with a different number of edges needs a new
        model)."""
        graph = source if isinstance(source, InteractionGraph) else self.data.graph(source)
        if (graph.n_users, graph.n_items) != (self.n_users, self.n_items):
            raise ValueError(
                f"lightgcn: the graph has {graph.n_users} users x {graph.n_items} items but the "
                f"vocab tables have {self.n_users} x {self.n_items}"
            )
        indices, values, _ = normalized_adjacency(graph)
        self._assign_adjacency(indices, values)

    def _assign_adjacency(self, indices: np.ndarray, values: np.ndarray) -> None:
        if not self.has_graph:
            self.adjacency_indices = tf.Variable(indices, trainable=False, name=_ADJ_INDICES)
            self.adjacency_values = tf.Variable(values, trainable=False, name=_ADJ_VALUES)
            return
        if self.adjacency_values.shape[0] != values.shape[0]:
            raise ValueError(
                f"lightgcn: the model already holds a graph of {self.adjacency_values.shape[0]} "
                f"adjacency entries; this one has {values.shape[0]}. Build a new model for a "
                "different training file"
            )
        self.adjacency_indices.assign(indices)
        self.adjacency_values.assign(values)

    @property
    def has_graph(self) -> bool:
        return getattr(self, "adjacency_values", None) is not None

    def adjacency(self) -> tf.SparseTensor:
        """The normalised adjacency ``Â`` ``[n_users + n_items]^2`` (users first)."""
        if not self.has_graph:
            raise ValueError(
                "lightgcn: no user-item graph yet; set hparams.train_file, call "
                "fit(train_file, ...) or set_graph(train_file), or load_model(checkpoint)"
            )
        n = self.n_users + self.n_items
        return tf.SparseTensor(self.adjacency_indices, self.adjacency_values, [n, n])

    def propagate(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Layer-mean embeddings ``(users [n_users, d], items [n_items, d])``."""
        ego = tf.concat([self.user_ego, self.item_ego], axis=0)
        out = self.propagation(ego, adjacency=self.adjacency())
        return out[: self.n_users], out[self.n_users :]

    # ------------------------------------------------------------------ scoring
    def forward(self, batch, training=False, group_size=None, checked=True):
        """``logits [B, 1] = <U[users], I[items]>``, one propagation per call (``group_size``
        and ``checked`` do not apply: there is no history to share)."""
        users, items = self.propagate()
        history = {"user": tf.gather(users, batch["users"])}
        out = self._dot(history["user"], tf.gather(items, batch["items"]))
        out["embeddings"] = {}
        return out

    @staticmethod
    def _dot(user, item):
        logits = tf.reduce_sum(user * item, axis=-1, keepdims=True)
        return {"output": tf.concat([user, item], axis=-1), "logits": logits}

    def encode_history(self, batch, emb, training):
        """``user [B, d]``: the propagated user rows (the graph, not a history, encodes them)."""
        return {"user": tf.gather(self.propagate()[0], batch["users"])}

    def score_targets(self, batch, emb, history, training):
        """``logits [B, 1]`` = dot of ``history["user"]`` with the propagated item rows."""
        return self._dot(history["user"], tf.gather(self.propagate()[1], batch["items"]))

    def embed_history(self, batch, training):
        """``user [B, d]``: propagated user rows (serving's retrieval reads this)."""
        return {"user": tf.gather(self.propagate()[0], batch["users"])}

    def embed_targets(self, items, cates, training):
        """``item = target [B, d]``: propagated item rows (no category table)."""
        item = tf.gather(self.propagate()[1], items)
        return {"item": item, "cate": item[:, :0], "target": item}

    def retrieval_query(self, user_features) -> tf.Tensor:
        """``[1, d]``: the user's propagated row; ``<query, target>`` is the model's logit, so
        the serving retrieval (``tf_lsrec.serving.retrieval``) is exact."""
        return self.embed_history(user_features, training=False)["user"]

    def score_user_targets(self, user_batch, items, cates):
        """Scores ``[C]`` of ``items`` for one user, one propagation."""
        users, table = self.propagate()
        user = tf.gather(users, user_batch["users"])[0]
        logits = tf.linalg.matvec(tf.gather(table, items), user)
        return tf.reshape(self._scores_from_logits(logits), [-1])

    def serving_model(self) -> PropagatedLightGCN:
        """The propagated tables taken once (serving does not repeat the propagation over
        the whole graph on every request)."""
        return PropagatedLightGCN(self)

    # ------------------------------------------------------------------ loss
    def embedding_tables(self) -> list[tf.Variable]:
        return [self.user_ego, self.item_ego]

    def regularization_loss(self, batch) -> tf.Tensor:
        """Microsoft's ``emb_loss``: ``decay * (½‖E_u‖² + ½‖E_pos‖² + ½‖E_neg‖²) / B`` over the
        batch's un-propagated rows (repeats counted), ``B`` = groups (users) in the batch."""
        users = batch["users"][:: self.group_size]
        total = tf.nn.l2_loss(tf.gather(self.user_ego, users)) + tf.nn.l2_loss(
            tf.gather(self.item_ego, batch["items"])
        )
        groups = tf.cast(tf.shape(users)[0], total.dtype)
        return float(self.hparams.decay) * total / groups

    # ------------------------------------------------------------------ files
    def fit(self, train_file=None, valid_file=None, *args, **kwargs):
        """As ``SequentialModel.fit``; a file-based fit first takes the graph of
        ``train_file`` (:meth:`set_graph`)."""
        if isinstance(train_file, (str, os.PathLike)):
            self.set_graph(train_file)
        return super().fit(train_file, valid_file, *args, **kwargs)

    def load_model(self, path: str | None = None):
        """Restore weights and the graph; a model built without a graph takes the checkpoint's."""
        path = path or self.hparams.load_saved_model
        if path and os.path.isdir(path):
            path = tf.train.latest_checkpoint(path) or path
        if not self.has_graph and path and tf.io.gfile.exists(f"{path}.index"):
            shapes = tf.train.load_checkpoint(path).get_variable_to_shape_map()
            key = next((k for k in shapes if f"/{_ADJ_VALUES}/" in f"/{k}"), None)
            if key is None:
                raise OSError(f"{path}: not a LightGCN checkpoint (no {_ADJ_VALUES})")
            size = shapes[key][0]
            self._assign_adjacency(np.zeros([size, 2], np.int64), np.zeros([size], np.float32))
        return super().load_model(path)

    # ------------------------------------------------------------------ top-K
    def score_all_items(self, user_indices, remove_seen: bool = True) -> np.ndarray:
        """float32 ``[U, n_items]`` scores ``<U[u], I[i]>``; the default item 0 and (with
        ``remove_seen``) the user's training items are ``-inf``."""
        users, items = self.propagate()
        scores = tf.matmul(tf.gather(users, np.asarray(user_indices, np.int32)), items,
                           transpose_b=True).numpy()  # fmt: skip
        scores[:, 0] = -np.inf
        if remove_seen:
            idx = self.adjacency_indices.numpy()
            edges = idx[idx[:, 0] < self.n_users]
            user_edges, item_edges = edges[:, 0], edges[:, 1] - self.n_users
            row_of = {int(u): r for r, u in enumerate(np.asarray(user_indices).tolist())}
            rows = np.array([row_of.get(int(u), -1) for u in user_edges], np.int64)
            keep = rows >= 0
            scores[rows[keep], item_edges[keep]] = -np.inf
        return scores

    def recommend_k_items(
        self,
        test,
        top_k: int | None = None,
        sort_top_k: bool = True,
        remove_seen: bool = True,
        col_user: str = "userID",
        col_item: str = "itemID",
        col_prediction: str = "prediction",
    ):
        """Microsoft's ``recommend_k_items``: the top ``top_k`` (default ``hparams.top_k``)
        items of every user of ``test`` (a DataFrame with ``col_user``, a list of raw user
        ids, or an 8-column file) by ``<U[u], I[i]>``, without the user's training items when
        ``remove_seen``. Returns a DataFrame ``col_user, col_item, col_prediction`` of raw ids,
        users in first-appearance order (``sort_top_k``: best first)."""
        import pandas as pd

        from tf_lsrec.io import format as fmt

        if isinstance(test, (str, os.PathLike)):
            with open(test, encoding="utf-8") as f:
                raw_users = [line.split(fmt.FIELD_SEPARATOR, 2)[fmt.USER] for line in f]
        elif isinstance(test, pd.DataFrame):
            raw_users = test[col_user].astype(str).tolist()
        else:
            raw_users = [str(u) for u in test]
        raw_users = list(dict.fromkeys(raw_users))
        unknown = [u for u in raw_users if u not in self.data.lookup.key_sets["user"]]
        if unknown:
            raise ValueError(
                f"lightgcn cannot score users that are not in the training vocab: {unknown[:5]}"
                f"{' ...' if len(unknown) > 5 else ''} ({len(unknown)} in all)"
            )
        k = int(top_k or self.hparams.top_k)
        index = self.data.lookup.users(np.array(raw_users, dtype=object)).numpy()
        scores = self.score_all_items(index, remove_seen=remove_seen)
        k = min(k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        if sort_top_k:
            order = np.argsort(-top_scores, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            top_scores = np.take_along_axis(top_scores, order, axis=1)
        keys, values = self.data.lookup.item_table.export()
        id_of = np.empty(self.n_items, dtype=object)
        id_of[values.numpy()] = [k.decode() for k in keys.numpy()]
        frame = pd.DataFrame({
            col_user: np.repeat(np.array(raw_users, dtype=object), k),
            col_item: id_of[top.reshape(-1)],
            col_prediction: top_scores.reshape(-1),
        })  # fmt: skip
        return frame[np.isfinite(frame[col_prediction])].reset_index(drop=True)


class _Reference:
    """Holds an object out of ``tf.Module`` tracking."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class PropagatedLightGCN(tf.Module):
    """LightGCN for serving: ``U, I = propagate()`` computed once (at export) and held as
    variables, so a request costs gathers and one matrix-vector product instead of a
    propagation over the whole graph (``n_layers`` sparse products of ``[users + items, d]``).
    Scores equal the model's for the weights it had when the view was made.

    Only the propagated tables are variables of the view (the ego tables and the adjacency are
    not needed to serve and are not exported).
    """

    def __init__(self, model: LightGCNModel):
        super().__init__(name="lightgcn_serving")
        users, items = model.propagate()
        self.users = tf.Variable(users, trainable=False, name="propagated_users")
        self.items = tf.Variable(items, trainable=False, name="propagated_items")
        self._model = _Reference(model)  # not tracked: its variables are not exported

    @property
    def hparams(self):
        return self._model.value.hparams

    @property
    def data(self):
        return self._model.value.data

    def _scores_from_logits(self, logits: tf.Tensor) -> tf.Tensor:
        return self._model.value._scores_from_logits(logits)

    def predict_scores(self, batch, training=False) -> tf.Tensor:
        """``[B, 1]``: as ``LightGCNModel.predict_scores``."""
        user = tf.gather(self.users, batch["users"])
        item = tf.gather(self.items, batch["items"])
        return self._scores_from_logits(LightGCNModel._dot(user, item)["logits"])

    def score_user_targets(self, user_batch, items, cates) -> tf.Tensor:
        """``[C]``: as ``LightGCNModel.score_user_targets``."""
        user = tf.gather(self.users, user_batch["users"])[0]
        logits = tf.linalg.matvec(tf.gather(self.items, items), user)
        return tf.reshape(self._scores_from_logits(logits), [-1])

    def embed_targets(self, items, cates, training=False) -> dict[str, tf.Tensor]:
        item = tf.gather(self.items, items)
        return {"item": item, "cate": item[:, :0], "target": item}

    def retrieval_query(self, user_features) -> tf.Tensor:
        """``[1, d]``: the user's propagated row (as ``LightGCNModel.retrieval_query``)."""
        return tf.gather(self.users, user_features["users"])
