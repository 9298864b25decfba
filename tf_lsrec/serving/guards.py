"""Input guards of the serving signatures: non-finite or absurd timestamps are refused.

A NaN ``time`` or ``time_history`` makes every time feature NaN, every candidate scores the same,
and ``recommend`` would return the first catalogue items as if they were a recommendation. The
signatures therefore refuse such requests with ``INVALID_ARGUMENT`` (``tf.debugging.Assert``),
naming the input, and apply the training files' timestamp range (``tf_lsrec.io.validate``).
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.io.validate import TIME_LIMIT


def _time_ok(values: tf.Tensor) -> tf.Tensor:
    values = tf.cast(values, tf.float64)
    finite = tf.math.is_finite(values)
    in_range = tf.logical_and(values >= 0.0, values <= TIME_LIMIT)
    return tf.reduce_all(tf.logical_and(finite, in_range))


def time_checks(time: tf.Tensor, time_history: tf.Tensor, mask: tf.Tensor | None = None) -> list:
    """Assertions (``INVALID_ARGUMENT`` when violated) that ``time`` and the used entries of
    ``time_history`` (those where ``mask`` is True; all when ``mask`` is None) are finite
    timestamps in ``[0, TIME_LIMIT]``."""
    history = time_history if mask is None else tf.boolean_mask(time_history, mask)
    expected = f"finite timestamps in [0, {TIME_LIMIT:.0e}] (no NaN or Inf)"
    return [
        tf.debugging.Assert(_time_ok(time), [f"`time` must hold {expected}"]),
        tf.debugging.Assert(_time_ok(history), [f"`time_history` must hold {expected}"]),
    ]
