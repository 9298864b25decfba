"""Streaming Keras metrics for the group metrics of ``run_eval`` (``pairwise_metrics``).

``GroupAUC``, ``MeanMRR``, ``NDCG(k)`` and ``HitRate(k)`` compute, batch by batch, exactly what
``cal_group_metric`` computes on a whole evaluation file (``group_auc``, ``mean_mrr``,
``ndcg@k``, ``hit@k``): groups are formed **positionally from the file**, one positive
followed by its ``N`` negatives (``group_rows``), every group gets one value with Microsoft's
tie rule (a positive tied with a negative ranks below it; AUC counts ties one half), and the
result is the unweighted mean over groups. ``run_eval`` rounds to 4 decimals; these metrics
do not (``round(metric.result(), 4)`` equals ``run_eval``'s number).

Contract of ``update_state(y_true, y_pred, sample_weight)``: ``y_true`` / ``y_pred`` ``[B]`` or
``[B, 1]`` (labels 0/1, scores), ``sample_weight`` ``[B]`` with 0 on padding rows. The rows with
weight > 0 must be whole groups of equal size, each ``[1, 0, ..., 0]``: the batches of
``SequentialData.keras_eval_dataset`` (or training batches of ``train_dataset``). The group
size is read from the batch (rows / positives), so one metric object serves validation files
with any ``num_ngs``. A batch that is not whole groups fails with ``InvalidArgumentError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.evaluation.spec import PAIRWISE_AT_K, PAIRWISE_PLAIN, describe, parse_at_k

__all__ = [
    "GroupAUC",
    "GroupMetric",
    "HitRate",
    "MeanMRR",
    "NDCG",
    "group_metrics",
    "whole_groups",
]


def whole_groups(y_true, y_pred, sample_weight=None) -> tuple[tf.Tensor, tf.Tensor]:
    """The rows of a batch with weight > 0 as groups: float64 ``(labels, scores)`` ``[G, M]``.

    Raises ``InvalidArgumentError`` (at run time) when those rows are not whole groups of one
    positive followed by ``M - 1`` negatives.
    """
    labels = tf.reshape(tf.cast(y_true, tf.float64), [-1])
    scores = tf.reshape(tf.cast(y_pred, tf.float64), [-1])
    if sample_weight is not None:
        keep = tf.reshape(sample_weight, [-1]) > 0
        labels = tf.boolean_mask(labels, keep)
        scores = tf.boolean_mask(scores, keep)
    rows = tf.size(labels, out_type=tf.int32)
    groups = tf.cast(tf.reduce_sum(labels), tf.int32)
    width = rows // tf.maximum(groups, 1)
    message = (
        "group metrics need batches of whole groups (1 positive followed by N negatives, "
        "same N in the batch); use SequentialData.keras_eval_dataset(file, num_ngs)"
    )
    checks = [
        tf.debugging.assert_equal(groups * width, rows, message=message),
    ]
    with tf.control_dependencies(checks):
        labels = tf.reshape(labels, [-1, tf.maximum(width, 1)])
        scores = tf.reshape(scores, [-1, tf.maximum(width, 1)])
    first = tf.debugging.assert_equal(
        tf.reduce_all(tf.equal(labels[:, 0], 1.0))
        & tf.reduce_all(tf.equal(tf.reduce_sum(labels, axis=1), 1.0)),
        True,
        message=message,
    )
    with tf.control_dependencies([first]):
        return tf.identity(labels), tf.identity(scores)


def descending_ranks(scores: tf.Tensor) -> tf.Tensor:
    """float64 ``[G, M]`` 1-based descending rank of each row in its group with Microsoft's tie
    rule: ``1 + #(higher scores) + #(tied rows later in the group)``."""
    m = tf.shape(scores)[1]
    s_i = scores[:, :, None]
    s_j = scores[:, None, :]
    later = tf.range(m)[None, :] > tf.range(m)[:, None]  # [i, j]: j after i
    beats = (s_j > s_i) | ((s_j == s_i) & later[None])
    return 1.0 + tf.reduce_sum(tf.cast(beats, tf.float64), axis=2)


def group_auc_values(labels: tf.Tensor, scores: tf.Tensor) -> tf.Tensor:
    """``[G]`` ROC AUC per group (ties count one half)."""
    pos = labels[:, :, None]
    neg = (1.0 - labels)[:, None, :]
    s_p = scores[:, :, None]
    s_n = scores[:, None, :]
    wins = tf.cast(s_p > s_n, tf.float64) + 0.5 * tf.cast(tf.equal(s_p, s_n), tf.float64)
    pairs = tf.reduce_sum(pos * neg, axis=[1, 2])
    return tf.reduce_sum(pos * neg * wins, axis=[1, 2]) / pairs


def mrr_values(labels: tf.Tensor, scores: tf.Tensor) -> tf.Tensor:
    """``[G]``: ``sum_r y_(r) / r / sum y``."""
    rank = descending_ranks(scores)
    return tf.reduce_sum(labels / rank, axis=1) / tf.reduce_sum(labels, axis=1)


def hit_values(labels: tf.Tensor, scores: tf.Tensor, k: int) -> tf.Tensor:
    """``[G]``: 1 if a positive is among the top ``k``."""
    rank = descending_ranks(scores)
    hits = tf.reduce_sum(labels * tf.cast(rank <= k, tf.float64), axis=1)
    return tf.cast(hits > 0, tf.float64)


def ndcg_values(labels: tf.Tensor, scores: tf.Tensor, k: int) -> tf.Tensor:
    """``[G]``: DCG@k / ideal DCG@k, gains ``2^y - 1``, discount ``log2(r + 1)``."""
    rank = descending_ranks(scores)
    discount = 1.0 / (tf.math.log(rank + 1.0) / tf.math.log(tf.constant(2.0, tf.float64)))
    dcg = tf.reduce_sum(labels * discount * tf.cast(rank <= k, tf.float64), axis=1)
    m = tf.shape(labels)[1]
    r = tf.cast(tf.range(1, m + 1), tf.float64)
    ideal_discount = 1.0 / (tf.math.log(r + 1.0) / tf.math.log(tf.constant(2.0, tf.float64)))
    positives = tf.reduce_sum(labels, axis=1, keepdims=True)
    top = tf.minimum(positives, float(k))
    ideal = tf.reduce_sum(ideal_discount[None, :] * tf.cast(r[None, :] <= top, tf.float64), 1)
    return dcg / ideal


class GroupMetric(keras.metrics.Metric):
    """Mean over groups of a per-group value (float64 sum and count, streamed)."""

    def __init__(self, name: str, dtype=tf.float64, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.total = self.add_weight("total", initializer="zeros", dtype=tf.float64)
        self.groups = self.add_weight("groups", initializer="zeros", dtype=tf.float64)

    def group_values(self, labels: tf.Tensor, scores: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, scores = whole_groups(y_true, y_pred, sample_weight)
        values = self.group_values(labels, scores)
        self.total.assign_add(tf.reduce_sum(values))
        return self.groups.assign_add(tf.cast(tf.shape(values)[0], tf.float64))

    def result(self):
        return tf.math.divide_no_nan(self.total, self.groups)

    def reset_state(self):
        self.total.assign(0.0)
        self.groups.assign(0.0)


class GroupAUC(GroupMetric):
    """``group_auc``: mean per-group ROC AUC."""

    def __init__(self, name: str = "group_auc", **kwargs):
        super().__init__(name=name, **kwargs)

    def group_values(self, labels, scores):
        return group_auc_values(labels, scores)


class MeanMRR(GroupMetric):
    """``mean_mrr``: mean reciprocal rank of the positive."""

    def __init__(self, name: str = "mean_mrr", **kwargs):
        super().__init__(name=name, **kwargs)

    def group_values(self, labels, scores):
        return mrr_values(labels, scores)


class NDCG(GroupMetric):
    """``ndcg@k``."""

    def __init__(self, k: int, name: str | None = None, **kwargs):
        super().__init__(name=name or f"ndcg@{int(k)}", **kwargs)
        self.k = int(k)

    def group_values(self, labels, scores):
        return ndcg_values(labels, scores, self.k)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class HitRate(GroupMetric):
    """``hit@k``."""

    def __init__(self, k: int, name: str | None = None, **kwargs):
        super().__init__(name=name or f"hit@{int(k)}", **kwargs)
        self.k = int(k)

    def group_values(self, labels, scores):
        return hit_values(labels, scores, self.k)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


def group_metrics(specs: Sequence[str] | None) -> list[GroupMetric]:
    """Metric objects for ``pairwise_metrics`` specs (``["group_auc", "ndcg@2;4"]`` ->
    ``[GroupAUC(), NDCG(2), NDCG(4)]``), named as ``run_eval``'s keys."""
    out: list[GroupMetric] = []
    for spec in specs or ():
        if spec == "group_auc":
            out.append(GroupAUC())
        elif spec == "mean_mrr":
            out.append(MeanMRR())
        elif (ks := parse_at_k(spec, "ndcg")) is not None:
            out.extend(NDCG(k) for k in ks)
        elif (ks := parse_at_k(spec, "hit")) is not None:
            out.extend(HitRate(k) for k in ks)
        else:
            raise ValueError(
                f"no streaming metric for {spec!r}; valid: {describe(PAIRWISE_PLAIN, PAIRWISE_AT_K)}"
            )
    return out
