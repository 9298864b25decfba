"""The serving ``tf.Module``: five signatures over raw string ids, vocab lookup in the graph.

Every signature turns its raw inputs into model features with ``tf_lsrec.io.build_features`` (the
function the training pipeline uses, so features cannot drift) and scores them with the model's
own ``predict_scores`` (``score_user_targets`` for one user's candidates) in inference mode
(``training=False``: dropout off, batch normalisation on its moving statistics). Models whose
encoder is split (``encode_history`` / ``score_targets``) encode a request's history once and
score only the target-dependent part per candidate.

* ``serving_default``  rows ``[B]`` (histories right-padded ``[B, N]`` + ``history_length``)
  -> ``probability [B]``.
* ``score_candidates`` one user's history (``[N]``) x candidates ``[C]`` -> ``scores [C]``.
* ``rank_candidates``  the same inputs -> the best ``min(k, C)`` candidates: ``item_ids``,
  ``scores`` (a candidate list from the caller's own generator, ranked by the model).
* ``recommend``        one user's history -> top ``k`` catalogue items: ``item_ids [k]`` (string),
  ``scores [k]``; ``exclude_history`` removes items already in the history.
* ``retrieve_and_rank`` the same inputs and outputs as ``recommend``, for large catalogues: a
  dot-product candidate generator picks ``N`` items (``retrieval.py``), the model ranks them.

Sequential models score ``MLP([user ; target])``, which does not factorise into a dot product of
a user vector and an item vector, so ``recommend`` cannot use ``tfrs``' ``BruteForce`` index: it
scores every catalogue item with the model (in chunks of ``chunk_size`` rows) and takes
``tf.math.top_k``; ``retrieve_and_rank`` trades that exactness for ``N`` model evaluations.
"""

from __future__ import annotations

import math
import tempfile

import tensorflow as tf

from tf_lsrec.io.features import TIME_FEATURES, _g, build_features
from tf_lsrec.serving.assets import VOCAB_FILES, AssetCatalogue, AssetVocabLookup, write_assets
from tf_lsrec.serving.catalogue import Catalogue
from tf_lsrec.serving.guards import time_checks
from tf_lsrec.serving.retrieval import EmbeddingRetrieval

PREDICT_INPUTS = {
    "user": tf.TensorSpec([None], tf.string, "user"),
    "item": tf.TensorSpec([None], tf.string, "item"),
    "category": tf.TensorSpec([None], tf.string, "category"),
    "time": tf.TensorSpec([None], tf.float64, "time"),
    "item_history": tf.TensorSpec([None, None], tf.string, "item_history"),
    "category_history": tf.TensorSpec([None, None], tf.string, "category_history"),
    "time_history": tf.TensorSpec([None, None], tf.float64, "time_history"),
    "history_length": tf.TensorSpec([None], tf.int32, "history_length"),
}
USER_INPUTS = {
    "user": tf.TensorSpec([], tf.string, "user"),
    "time": tf.TensorSpec([], tf.float64, "time"),
    "item_history": tf.TensorSpec([None], tf.string, "item_history"),
    "category_history": tf.TensorSpec([None], tf.string, "category_history"),
    "time_history": tf.TensorSpec([None], tf.float64, "time_history"),
}
CANDIDATE_INPUTS = {
    **USER_INPUTS,
    "candidate_items": tf.TensorSpec([None], tf.string, "candidate_items"),
    "candidate_categories": tf.TensorSpec([None], tf.string, "candidate_categories"),
}
RECOMMEND_INPUTS = {
    **USER_INPUTS,
    "exclude_history": tf.TensorSpec([], tf.bool, "exclude_history"),
}
SIGNATURE_INPUTS = {
    "serving_default": PREDICT_INPUTS,
    "score_candidates": CANDIDATE_INPUTS,
    "rank_candidates": CANDIDATE_INPUTS,
    "recommend": RECOMMEND_INPUTS,
    "retrieve_and_rank": RECOMMEND_INPUTS,
}


class _Untracked:
    """Holds an object without making it a SavedModel dependency (only its variables are)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _same_size(a: tf.Tensor, b: tf.Tensor, message: str) -> tf.Operation:
    return tf.debugging.assert_equal(tf.size(a), tf.size(b), message=message)


class ServingModule(tf.Module):
    """Wraps a built ``SequentialModel`` for export.

    Only the model's variables and the vocab tables are tracked (not the Keras model object), so
    the SavedModel holds exactly the serving graphs.

    Args:
        model: a ``SequentialModel`` whose variables exist.
        catalogue: the items ``recommend`` ranks (``tf_lsrec.serving.catalogue``).
        k: number of items returned by ``recommend`` (``1 <= k <= len(catalogue)``).
        chunk_size: catalogue rows scored per model call in ``recommend``.
        jit_compile: compile the model part (features -> scores) with XLA; string lookups and
            feature building stay outside the compiled function.
        retrieval_size: ``N``, candidates retrieved by ``retrieve_and_rank`` (at most the
            catalogue).
        asset_dir: where the vocab and catalogue text files are written (``assets.py``; the
            SavedModel copies them into its ``assets/``); default a new temporary directory.
    """

    def __init__(
        self,
        model,
        catalogue: Catalogue,
        k: int = 10,
        chunk_size: int = 4096,
        jit_compile: bool = False,
        asset_dir: str | None = None,
        retrieval_size: int = 200,
    ):
        super().__init__(name="tf_lsrec_serving")
        n = len(catalogue)
        if not 1 <= k <= n:
            raise ValueError(f"recommend k = {k}; expected 1 <= k <= catalogue size {n}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size = {chunk_size}; expected >= 1")
        # what the signatures call: the model, or its serving view (LightGCN: propagated once)
        model = model.serving_model()
        self._model = _Untracked(model)  # the Keras object itself is not saved
        # vocabularies and catalogue as asset files read by tf.lookup initializers, not as
        # graph constants (the model's own tables are not saved)
        if asset_dir is None:
            asset_dir = tempfile.mkdtemp(prefix="tf_lsrec_assets_")
        vocabs = {}
        for kind, table in zip(
            VOCAB_FILES,
            (
                model.data.lookup.user_table,
                model.data.lookup.item_table,
                model.data.lookup.cate_table,
            ),
        ):
            keys, values = table.export()
            vocabs[kind] = dict(
                zip((k.decode("utf-8") for k in keys.numpy()), values.numpy().tolist())
            )
        paths = write_assets(asset_dir, vocabs, catalogue)
        self.lookup = AssetVocabLookup(paths)
        self.catalogue = AssetCatalogue(paths["catalogue"])
        self.model_variables = list(model.variables)
        self.max_seq_length = int(model.data.max_seq_length)
        self.divisor = float(model.data.divisor)
        self.jit_compile = bool(jit_compile)
        score = lambda feats: tf.reshape(model.predict_scores(feats, training=False), [-1])  # noqa: E731
        score_user = model.score_user_targets
        if jit_compile:
            score = tf.function(score, jit_compile=True, autograph=False)
            score_user = tf.function(score_user, jit_compile=True, autograph=False)
        self._score_fn = _Untracked(score)
        self._score_user_fn = _Untracked(score_user)
        self.k = int(k)
        self.chunk_size = int(min(chunk_size, n))
        self.n_chunks = int(math.ceil(n / self.chunk_size))
        items = tf.constant(list(catalogue.items), tf.string)
        pad = self.n_chunks * self.chunk_size - n
        item_idx = self.lookup.items(items)
        cate_idx = self.lookup.cates(tf.constant(list(catalogue.categories), tf.string))
        # numeric indices of the catalogue: variables (the checkpoint), not graph constants
        self.catalogue_item_index = tf.Variable(
            tf.pad(item_idx, [[0, pad]]), trainable=False, name="catalogue_item_index"
        )
        self.catalogue_cate_index = tf.Variable(
            tf.pad(cate_idx, [[0, pad]]), trainable=False, name="catalogue_cate_index"
        )
        self.catalogue_size = n
        self.retrieval = EmbeddingRetrieval(
            model,
            self.catalogue_item_index[:n],
            self.catalogue_cate_index[:n],
            min(int(retrieval_size), n),
        )
        # Kept out of the tracked attributes: the SavedModel holds them once, as signatures
        # (tracked tf.function attributes would be traced and serialized a second time).
        self._functions = _Untracked(
            {
                "serving_default": tf.function(
                    self._predict, input_signature=[PREDICT_INPUTS], autograph=False
                ),
                "score_candidates": tf.function(
                    self._score_candidates, input_signature=[CANDIDATE_INPUTS], autograph=False
                ),
                "recommend": tf.function(
                    self._recommend, input_signature=[RECOMMEND_INPUTS], autograph=False
                ),
                "rank_candidates": tf.function(
                    self._rank_candidates, input_signature=[CANDIDATE_INPUTS], autograph=False
                ),
                "retrieve_and_rank": tf.function(
                    self._retrieve_and_rank, input_signature=[RECOMMEND_INPUTS], autograph=False
                ),
            }
        )

    # ------------------------------------------------------------------ helpers
    @property
    def model(self):
        return self._model.value

    def _features(self, raw: dict) -> dict[str, tf.Tensor]:
        return build_features(raw, self.lookup, self.max_seq_length, self.divisor)

    def _scores(self, features: dict[str, tf.Tensor]) -> tf.Tensor:
        """Model output for a feature batch: ``[B]`` float32."""
        return self._score_fn.value(features)

    def _user_features(self, x: dict) -> dict[str, tf.Tensor]:
        """Features of one row (``[1, ...]``) holding the user's history; target left unknown."""
        checks = [
            _same_size(
                x["item_history"],
                x["category_history"],
                "item_history and category_history must have the same length",
            ),
            _same_size(
                x["item_history"],
                x["time_history"],
                "item_history and time_history must have the same length",
            ),
            *time_checks(x["time"], x["time_history"]),  # NaN / Inf -> INVALID_ARGUMENT
        ]
        with tf.control_dependencies(checks):
            return self._one_user_features(
                x["user"], x["time"], x["item_history"], x["category_history"], x["time_history"]
            )

    def _one_user_features(self, user, now, item_history, cate_history, time_history):
        """``build_features`` of one row, specialised to dense 1-D histories (no ragged ops:
        this runs on every request). Equal to ``build_features`` on the same row (the tests
        compare served scores with the training pipeline's): the time features use the whole
        history (``t_0`` is its first step), then the last ``L`` steps are kept, left-aligned
        and zero-padded."""
        L = self.max_seq_length  # noqa: N806
        t = tf.cast(time_history, tf.float64)
        now = tf.cast(now, tf.float64)
        n = tf.size(t)
        nxt = tf.concat([t[1:], now[None]], 0)[:n]  # t_{j+1}, t* for the last step
        feats = {
            "time_diff": _g(nxt - t, self.divisor),
            "time_from_first_action": _g(nxt - t[:1], self.divisor),
            "time_to_now": _g(now - t, self.divisor),
        }
        start = tf.maximum(n - L, 0)
        pad = [[0, L - (n - start)]]

        def last(v, fill=0):  # the last L steps of v [n], as [1, L]
            return tf.reshape(tf.pad(v[start:], pad, constant_values=fill), [1, L])

        out = {
            "users": self.lookup.users(tf.reshape(user, [1])),
            "items": self.lookup.items(tf.constant([""])),
            "cates": self.lookup.cates(tf.constant([""])),
            "item_history": last(self.lookup.items(item_history)),
            "item_cate_history": last(self.lookup.cates(cate_history)),
            "mask": tf.sequence_mask([n - start], L, dtype=tf.float32),
            "time": tf.reshape(now, [1]),
            "time_history": last(t, tf.constant(0.0, tf.float64)),
        }
        for name in TIME_FEATURES:
            out[name] = tf.cast(last(feats[name], tf.constant(0.0, tf.float64)), tf.float32)
        return out

    def _user_scores(self, user: dict[str, tf.Tensor], items: tf.Tensor, cates: tf.Tensor):
        """Scores ``[C]`` of one user's row ``[1, ...]`` against targets ``items``/``cates``
        ``[C]`` (the model encodes the history once when its encoder is split)."""
        return self._score_user_fn.value(user, items, cates)

    # ------------------------------------------------------------------ signatures
    def _predict(self, x: dict) -> dict[str, tf.Tensor]:
        """Rows of raw ids -> ``{"probability": float32 [B]}`` (sigmoid of the logit;
        the raw model output for ``method: regression``)."""
        b = tf.size(x["user"])
        n = tf.shape(x["item_history"])[1]
        length = x["history_length"]
        checks = [tf.debugging.assert_positive(b, message="empty batch: `user` has no rows")]
        for name in ("item", "category", "time", "history_length"):
            checks.append(
                _same_size(x[name], x["user"], f"`{name}` must have one entry per row of `user`")
            )
        for name in ("item_history", "category_history", "time_history"):
            checks.append(
                tf.debugging.assert_equal(
                    tf.shape(x[name])[0], b, message=f"`{name}` must have one row per row of `user`"
                )
            )
        for name in ("category_history", "time_history"):
            checks.append(
                tf.debugging.assert_equal(
                    tf.shape(x[name]),
                    tf.shape(x["item_history"]),
                    message=f"`{name}` must have the same [B, N] shape as `item_history`",
                )
            )
        checks.append(
            tf.debugging.assert_non_negative(length, message="`history_length` must be >= 0")
        )
        checks.append(
            tf.debugging.assert_less_equal(
                length, n, message="`history_length` exceeds the padded history width N"
            )
        )
        checks += time_checks(
            x["time"], x["time_history"], tf.sequence_mask(length, tf.shape(x["time_history"])[1])
        )
        with tf.control_dependencies(checks):
            raw = {
                "users": tf.identity(x["user"]),
                "items": x["item"],
                "cates": x["category"],
                "time": x["time"],
                "item_history": tf.RaggedTensor.from_tensor(x["item_history"], lengths=length),
                "cate_history": tf.RaggedTensor.from_tensor(x["category_history"], lengths=length),
                "time_history": tf.RaggedTensor.from_tensor(x["time_history"], lengths=length),
            }
        return {"probability": self._scores(self._features(raw))}

    def _score_candidates(self, x: dict) -> dict[str, tf.Tensor]:
        """One user x ``C`` candidates -> ``{"scores": float32 [C]}``."""
        checks = [
            tf.debugging.assert_positive(
                tf.size(x["candidate_items"]), message="empty batch: no `candidate_items`"
            ),
            _same_size(
                x["candidate_items"],
                x["candidate_categories"],
                "candidate_items and candidate_categories must have the same length",
            ),
        ]
        with tf.control_dependencies(checks):
            items = self.lookup.items(x["candidate_items"])
            cates = self.lookup.cates(x["candidate_categories"])
        return {"scores": self._user_scores(self._user_features(x), items, cates)}

    def _recommend(self, x: dict) -> dict[str, tf.Tensor]:
        """One user -> ``{"item_ids": string [k], "scores": float32 [k]}``, best first.

        With ``exclude_history`` the items of ``item_history`` get score ``-inf`` (they appear
        only when fewer than ``k`` other catalogue items remain)."""
        user = self._user_features(x)
        size = self.chunk_size
        if self.n_chunks == 1:
            scores = self._user_scores(user, self.catalogue_item_index, self.catalogue_cate_index)
        else:
            item_chunks = tf.reshape(self.catalogue_item_index, [self.n_chunks, size])
            cate_chunks = tf.reshape(self.catalogue_cate_index, [self.n_chunks, size])
            scores = tf.map_fn(
                lambda ic: self._user_scores(user, ic[0], ic[1]),
                (item_chunks, cate_chunks),
                fn_output_signature=tf.TensorSpec([size], tf.float32),
            )
            scores = tf.reshape(scores, [-1])
        scores = scores[: self.catalogue_size]
        scores = tf.where(
            tf.logical_and(x["exclude_history"], self._seen(x)),
            tf.constant(-math.inf, tf.float32),
            scores,
        )
        top = tf.math.top_k(scores, k=self.k)
        return {"item_ids": self.catalogue.items_at(top.indices), "scores": top.values}

    def _seen(self, x: dict) -> tf.Tensor:
        """bool ``[n]``: catalogue positions of the items of ``item_history``."""
        position = self.catalogue.position(x["item_history"])
        position = tf.boolean_mask(position, position >= 0)
        return tf.scatter_nd(position[:, None], tf.ones_like(position), [self.catalogue_size]) > 0

    def _retrieve_and_rank(self, x: dict) -> dict[str, tf.Tensor]:
        """One user -> top ``k`` of the ``N`` retrieved candidates ranked by the model
        (``retrieval.py``): ``recommend``'s outputs plus ``retrieved_items`` (string ``[N]``,
        the candidates in retrieval order, for measuring the generator's recall)."""
        user = self._user_features(x)
        excluded = tf.logical_and(x["exclude_history"], self._seen(x))
        positions = self.retrieval(EmbeddingRetrieval.query(self.model, user), excluded)
        scores = self._user_scores(
            user,
            tf.gather(self.catalogue_item_index, positions),
            tf.gather(self.catalogue_cate_index, positions),
        )
        scores = tf.where(tf.gather(excluded, positions), tf.constant(-math.inf), scores)
        top = tf.math.top_k(scores, k=self.k)
        return {
            "item_ids": self.catalogue.items_at(tf.gather(positions, top.indices)),
            "scores": top.values,
            "retrieved_items": self.catalogue.items_at(positions),
        }

    def _rank_candidates(self, x: dict) -> dict[str, tf.Tensor]:
        """One user x the caller's ``C`` candidates -> the best ``min(k, C)``: ``item_ids``,
        ``scores`` (the candidate generator is the caller's)."""
        scores = self._score_candidates(x)["scores"]
        top = tf.math.top_k(scores, k=tf.minimum(self.k, tf.size(scores)))
        return {"item_ids": tf.gather(x["candidate_items"], top.indices), "scores": top.values}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        """The three concrete functions, keyed by signature name."""
        return {name: fn.get_concrete_function() for name, fn in self._functions.value.items()}

    def __call__(self, signature: str, inputs: dict) -> dict[str, tf.Tensor]:
        """Run one signature in this process (``inputs``: tensors named as in the signature)."""
        return self._functions.value[signature](inputs)
