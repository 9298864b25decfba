"""CLSR's discrepancy term between the two user tables (docs/reference.md §7.10).

``L_disc = − weight × mean_{v ∈ V, d} (E_long[v, d] − E_short[v, d])²`` over the unique users
``V`` of the batch, on the raw table rows (before embedding dropout). The **negative** sign is
the official code's: training *maximises* the distance between each user's long- and
short-term rows, held back only by the embedding L2 on the same rows. The paper's objective
has no such term (set ``discrepancy_loss_weight: 0`` for the paper's objective).
"""

from __future__ import annotations

import tensorflow as tf


def discrepancy_loss(long_rows: tf.Tensor, short_rows: tf.Tensor, weight: float) -> tf.Tensor:
    """``−weight × mean((long_rows − short_rows)²)``; 0 (not NaN) for zero rows.

    Args:
      long_rows: ``[V, D]`` ``user_long`` rows of the batch's unique users.
      short_rows: ``[V, D]`` ``user_short`` rows of the same users.
      weight: ``discrepancy_loss_weight`` (official script 0.01).

    Returns:
      scalar ``[]``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> loss = discrepancy_loss(tf.constant([[1.0, 3.0]]), tf.constant([[0.0, 0.0]]), 0.01)
      >>> round(float(loss), 6)  # -0.01 * mean(1, 9)
      -0.05
    """
    sq = tf.square(long_rows - short_rows)
    count = tf.cast(tf.size(sq), sq.dtype)
    return -float(weight) * tf.math.divide_no_nan(tf.reduce_sum(sq), count)


def unique_user_rows(
    users: tf.Tensor, long_table: tf.Tensor, short_table: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Rows of both tables for the distinct ids in ``users [B]``: ``([V, D], [V, D])``."""
    ids = tf.unique(tf.reshape(users, [-1]))[0]
    return tf.gather(long_table, ids), tf.gather(short_table, ids)
