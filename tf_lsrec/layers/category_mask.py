"""SLSRec category mask of the current session (Zhou et al. 2026, §3.2 Eq. 3).

The dominant category of a session is the category with the most interactions among its real
items. Ties are broken by recency: among the tied categories, the one of the most recently
interacted item wins. When the last item's category is among the tied ones (the case the
paper describes: "the category of the last interacted item is selected") it is therefore the
one chosen; when it is not (e.g. counts A=2, B=2, C=1 with C last), the paper is silent and the
tied category seen most recently is chosen.

The mask ``M = diag(m)`` with ``m_j = 1`` iff item ``j`` is real and of the dominant category.
Only the diagonal ``m`` is materialised: ``M X`` for per-item rows ``X [Ls, D]`` is
``m[:, None] * X``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras


def dominant_category(cates: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Majority category per row, ties to the most recent item among the tied categories.

    Args:
      cates: int ``[B, Ls]`` category ids, oldest first.
      mask: ``[B, Ls]`` 1 on real items, 0 on padding (need not be left-aligned).

    Returns:
      ``(dominant [B] int32, m [B, Ls] float32)``; a row without real items gets category 0 and
      an all-zero ``m``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> d, m = dominant_category(tf.constant([[3, 5, 5, 3]]), tf.constant([[1.0, 1, 1, 1]]))
      >>> int(d[0]), m.numpy().tolist()
      (3, [[1.0, 0.0, 0.0, 1.0]])
    """
    cates = tf.cast(cates, tf.int32)
    real = tf.cast(mask, tf.float32) > 0.0
    same = tf.logical_and(tf.equal(cates[:, :, None], cates[:, None, :]), real[:, None, :])
    counts = tf.reduce_sum(tf.cast(same, tf.int32), axis=2)  # [B, Ls] occurrences of c_j
    width = tf.shape(cates)[1]
    position = tf.range(width, dtype=tf.int32)[None, :]
    # lexicographic (count, position): the most frequent category, then the latest item
    score = tf.where(real, counts * (width + 1) + position, -1)
    best = tf.argmax(score, axis=1, output_type=tf.int32)
    has_items = tf.reduce_any(real, axis=1)
    dominant = tf.where(has_items, tf.gather(cates, best, batch_dims=1), 0)
    m = tf.logical_and(real, tf.equal(cates, dominant[:, None]))
    return dominant, tf.cast(m, tf.float32)


@keras.utils.register_keras_serializable(package="tf_lsrec")
class CategoryMask(keras.layers.Layer):
    """Keras wrapper of :func:`dominant_category` (no weights).

    Call args:
      cates: int ``[B, Ls]``; mask: ``[B, Ls]``.

    Returns:
      ``(dominant [B] int32, m [B, Ls])``: the diagonal of ``M``, in the compute dtype
      (float32, or bf16 / fp16 under a mixed policy).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)

    def call(self, cates: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        dominant, m = dominant_category(cates, mask)
        return dominant, tf.cast(m, self.compute_dtype or tf.float32)  # bf16 under mixed
