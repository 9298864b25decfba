"""Candidate generation for large catalogues: a dot-product top-N before the model's ranking.

Sequential models score ``MLP([user ; target])``, which does not factorise into a user vector
times an item vector, so ranking a whole catalogue costs one model evaluation per item. The
``retrieve_and_rank`` signature scores only ``N`` retrieved candidates with the model:

1. query ``u = mean of the request's history embeddings [item ; category]`` (the last
   ``max_seq_length`` steps, as the model sees them);
2. every catalogue item's target embedding ``e_i = [item ; category]`` (the model's own tables,
   taken at export) is scored ``<u, e_i>``; with ``exclude_history`` the history items are left
   out; the best ``N`` are the candidates (``tf.math.top_k`` over one matrix product, what
   ``tfrs.layers.factorized_top_k.BruteForce`` does, here with the exclusion mask applied before
   the cut);
3. the model scores the ``N`` candidates (history encoded once) and the top ``k`` are returned.

How much of the model's full-catalogue top-``k`` the ``N`` candidates hold (recall@N) is
measured by ``tools/bench.py retrieval`` (docs/serving.md).
"""

from __future__ import annotations

import tensorflow as tf


class EmbeddingRetrieval(tf.Module):
    """The dot-product candidate generator over the catalogue's target embeddings.

    Args:
        model: a built ``SequentialModel``.
        item_index, cate_index: int32 ``[n]`` catalogue indices (vocab indices, catalogue order).
        size: ``N``, candidates returned per request (``1 <= N <= n``).
    """

    def __init__(self, model, item_index: tf.Tensor, cate_index: tf.Tensor, size: int):
        super().__init__(name="embedding_retrieval")
        n = int(item_index.shape[0])
        if not 1 <= size <= n:
            raise ValueError(f"retrieval size N = {size}; expected 1 <= N <= catalogue size {n}")
        self.size = int(size)
        emb = model.embed_targets(item_index, cate_index, training=False)["target"]
        self.item_embeddings = tf.Variable(emb, trainable=False, name="catalogue_embeddings")

    @staticmethod
    def query(model, user_features: dict[str, tf.Tensor]) -> tf.Tensor:
        """``[1, D]``: the masked mean of the history embeddings of one user's features, or the
        model's own ``retrieval_query(user_features)`` where it has one (a dot-product model
        such as LightGCN, whose ``embed_targets`` are its item vectors: retrieval is then
        exact)."""
        own = getattr(model, "retrieval_query", None)
        if own is not None:
            return own(user_features)
        emb = model.embed_history(user_features, training=False)["history"]  # [1, L, D]
        mask = user_features["mask"][..., None]
        return tf.reduce_sum(emb * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)

    def __call__(self, query: tf.Tensor, excluded: tf.Tensor | None = None) -> tf.Tensor:
        """Catalogue positions ``[N]`` of the best ``<query, e_i>``; ``excluded`` (bool
        ``[n]``) positions come last."""
        scores = tf.linalg.matvec(self.item_embeddings, query[0])
        if excluded is not None:
            scores = tf.where(excluded, tf.constant(-float("inf"), scores.dtype), scores)
        return tf.math.top_k(scores, k=self.size).indices
