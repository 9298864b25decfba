"""Time-aware session segmentation (SLSRec, Zhou et al. 2026, §3.1 Eq. 1).

Two consecutive interactions of a history share a session when their time gap is **strictly
less** than the threshold ``ω``; a gap ``>= ω`` starts a new session. The padded history
(left-aligned, oldest first, the batch contract of ``tf_lsrec.io``) is cut into ``k`` sessions
``S(1) .. S(k)``; ``S(k)`` (the one holding the most recent interaction) is the *current*
session used by the short-term encoder, ``S(1) .. S(k-1)`` the *earlier* sessions used by the
long-term encoder.

Everything is static-shape index arithmetic (segment reductions and ``tf.gather`` indices), no
Python loop over rows, so the layer runs inside ``tf.function`` / XLA.

Output layout (``Ls`` = ``max_session_length``, ``S`` = ``max_sessions``):

* the current session keeps its ``Ls`` most recent items, oldest first, left-aligned in
  ``current_index [B, Ls]`` / ``current_mask [B, Ls]``;
* the ``S`` most recent earlier sessions, oldest first, left-aligned in slot order
  (``session_index [B, S, Ls]``, ``session_mask [B, S, Ls]``, ``sessions_mask [B, S]``); each
  keeps its ``Ls`` most recent items, oldest first, left-aligned;
* index entries under a zero mask are 0 (a valid position, so ``tf.gather`` never fails);
  callers must use the mask.

Edge cases (defined, and tested in ``tests/layers/test_session.py``):

* one session (``k = 1``): ``sessions_mask`` is all zero, every ``session_mask`` entry is 0;
* an all-padding row (``mask`` all 0, e.g. the rows padding the last evaluation batch):
  ``k = 0``, every mask is 0 (current included);
* timestamps that go backwards (negative gap) count as ``< ω``: same session;
* what does not fit is counted, not silently lost: ``dropped_sessions [B]`` (earlier sessions
  beyond ``S``) and ``dropped_items [B]`` (items of the history in no output slot: those of
  dropped sessions plus those cut by ``Ls``).

The history was already truncated to ``max_seq_length`` by the pipeline, so the oldest session
of a long history may be a partial one; that is inherent to the data contract.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

SECONDS_PER_UNIT = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
RAW_TIME_SCALE = {"s": 1.0, "ms": 1e-3}


def gap_in_seconds(session_gap: float, unit: str) -> float:
    """``session_gap`` expressed in ``unit`` (seconds|minutes|hours|days) -> seconds.

    >>> gap_in_seconds(90, "minutes")
    5400.0
    """
    if unit not in SECONDS_PER_UNIT:
        raise ValueError(
            f"session_gap_unit = {unit!r}; expected one of {', '.join(SECONDS_PER_UNIT)}"
        )
    return float(session_gap) * SECONDS_PER_UNIT[unit]


def raw_time_scale(time_unit: str) -> float:
    """Seconds per raw timestamp unit for the ``time_unit`` hyper-parameter (``s`` or ``ms``)."""
    if time_unit not in RAW_TIME_SCALE:
        raise ValueError(f"time_unit = {time_unit!r}; expected 's' or 'ms'")
    return RAW_TIME_SCALE[time_unit]


def _slot_indices(
    start: tf.Tensor, end: tf.Tensor, valid: tf.Tensor, max_len: int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """History positions of the last ``max_len`` items of sessions ``[start, end]`` (inclusive).

    Args:
      start, end: int32 ``[...]`` first / last history position of each session.
      valid: bool ``[...]`` whether the session exists.
      max_len: items kept per session (the most recent).

    Returns:
      ``index [..., max_len]`` (0 where masked), ``mask [..., max_len]`` float32, and the
      number of items cut ``[...]`` int32.
    """
    length = tf.where(valid, end - start + 1, 0)
    lo = tf.maximum(start, end - max_len + 1)
    offsets = tf.range(max_len, dtype=tf.int32)
    index = lo[..., None] + offsets
    keep = tf.logical_and(valid[..., None], index <= end[..., None])
    index = tf.where(keep, index, 0)
    cut = tf.maximum(length - max_len, 0)
    return index, tf.cast(keep, tf.float32), cut


@keras.utils.register_keras_serializable(package="tf_lsrec")
class SessionSegmentation(keras.layers.Layer):
    """Cut a padded history into time-gap sessions (SLSRec Eq. 1); see the module docstring.

    Args:
      gap_seconds: the threshold ``ω`` in seconds (``gap_in_seconds(session_gap, unit)``);
        a gap ``>= ω`` starts a new session.
      max_sessions: ``S``, earlier sessions kept (the most recent ones).
      max_session_length: ``Ls``, items kept per session (the most recent ones).
      time_scale: seconds per raw timestamp unit (1 for ``time_unit: s``, 0.001 for ``ms``).

    Call args:
      time_history: ``[B, L]`` raw timestamps (float64 preferred: millisecond epochs exceed
        float32 precision), left-aligned, oldest first.
      mask: ``[B, L]`` 1 on real steps, 0 on padding (left-aligned).

    Returns a dict:
      ``current_index`` int32 ``[B, Ls]``, ``current_mask`` float32 ``[B, Ls]``;
      ``session_index`` int32 ``[B, S, Ls]``, ``session_mask`` float32 ``[B, S, Ls]``,
      ``sessions_mask`` float32 ``[B, S]``;
      ``position_session`` int32 ``[B, L]`` (session number ``0..k-1`` of each step, -1 on
      padding); ``current_positions`` / ``earlier_positions`` float32 ``[B, L]`` (steps of the
      whole current session / of all earlier sessions, ignoring ``S`` and ``Ls``);
      ``num_sessions`` int32 ``[B]`` (``k``), ``dropped_sessions`` int32 ``[B]``,
      ``dropped_items`` int32 ``[B]``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> seg = SessionSegmentation(gap_seconds=10, max_sessions=2, max_session_length=2)
      >>> out = seg(tf.constant([[0.0, 5, 20, 21, 22, 0]]), tf.constant([[1.0, 1, 1, 1, 1, 0]]))
      >>> out["current_index"].numpy().tolist(), out["session_index"].numpy().tolist()
      ([[3, 4]], [[[0, 1], [0, 0]]])
    """

    def __init__(
        self,
        gap_seconds: float,
        max_sessions: int,
        max_session_length: int,
        time_scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("autocast", None)
        # raw timestamps stay float64: Keras' autocast to float32 would round epoch milliseconds
        super().__init__(autocast=False, **kwargs)
        if not gap_seconds > 0:
            raise ValueError(f"SessionSegmentation: gap_seconds must be > 0, got {gap_seconds}")
        if int(max_sessions) < 1 or int(max_session_length) < 1:
            raise ValueError(
                "SessionSegmentation: max_sessions and max_session_length must be >= 1, got "
                f"{max_sessions} and {max_session_length}"
            )
        if not time_scale > 0:
            raise ValueError(f"SessionSegmentation: time_scale must be > 0, got {time_scale}")
        self.gap_seconds = float(gap_seconds)
        self.max_sessions = int(max_sessions)
        self.max_session_length = int(max_session_length)
        self.time_scale = float(time_scale)

    def call(self, time_history: tf.Tensor, mask: tf.Tensor) -> dict[str, tf.Tensor]:
        t = tf.cast(time_history, tf.float64)
        valid = tf.cast(mask, tf.float32) > 0.0  # [B, L]
        batch = tf.shape(t)[0]
        length = tf.shape(t)[1]

        # a step starts a session when it is real and (first step or gap >= ω)
        gap = (t[:, 1:] - t[:, :-1]) * self.time_scale
        breaks = tf.concat([tf.ones_like(valid[:, :1]), gap >= self.gap_seconds], axis=1)
        starts = tf.logical_and(valid, breaks)
        session_id = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1  # [B, L]
        position_session = tf.where(valid, session_id, -1)
        k = tf.reduce_sum(tf.cast(starts, tf.int32), axis=1)  # [B]

        # first / last position of each session id (ids < L), by segment reductions
        positions = tf.broadcast_to(tf.range(length, dtype=tf.int32)[None, :], tf.shape(t))
        rows = tf.broadcast_to(tf.range(batch, dtype=tf.int32)[:, None], tf.shape(t))
        trash = batch * length  # padding steps go to an extra segment that is discarded
        segment = tf.where(valid, rows * length + session_id, trash)
        n_seg = trash + 1
        seg_start = tf.math.unsorted_segment_min(positions, segment, n_seg)[:-1]
        seg_end = tf.math.unsorted_segment_max(positions, segment, n_seg)[:-1]
        seg_start = tf.reshape(seg_start, [batch, length])  # [B, L] indexed by session id
        seg_end = tf.reshape(seg_end, [batch, length])

        # current session = id k-1
        cur_id = tf.maximum(k - 1, 0)
        has_current = k > 0
        cur_start = tf.gather(seg_start, cur_id, batch_dims=1)
        cur_end = tf.gather(seg_end, cur_id, batch_dims=1)
        current_index, current_mask, cur_cut = _slot_indices(
            cur_start, cur_end, has_current, self.max_session_length
        )

        # earlier sessions: ids first .. k-2, left-aligned into S slots
        n_earlier = tf.maximum(k - 1, 0)
        n_kept = tf.minimum(n_earlier, self.max_sessions)
        first = n_earlier - n_kept
        slots = tf.range(self.max_sessions, dtype=tf.int32)[None, :]
        slot_valid = slots < n_kept[:, None]  # [B, S]
        slot_id = tf.where(slot_valid, first[:, None] + slots, 0)
        s_start = tf.gather(seg_start, slot_id, batch_dims=1)
        s_end = tf.gather(seg_end, slot_id, batch_dims=1)
        session_index, session_mask, s_cut = _slot_indices(
            s_start, s_end, slot_valid, self.max_session_length
        )

        cur_positions = tf.logical_and(valid, tf.equal(session_id, (k - 1)[:, None]))
        earlier_positions = tf.logical_and(valid, session_id < (k - 1)[:, None])
        in_dropped = tf.logical_and(earlier_positions, session_id < first[:, None])
        dropped_items = (
            tf.reduce_sum(tf.cast(in_dropped, tf.int32), axis=1)
            + cur_cut
            + tf.reduce_sum(s_cut, axis=1)
        )
        # the 0/1 masks in the compute dtype (float32, or bf16/fp16 under a mixed policy) so
        # that they multiply the attention weights; positions stay float32 (exact integers)
        mask_dtype = self.compute_dtype or tf.float32
        return {
            "current_index": current_index,
            "current_mask": tf.cast(current_mask, mask_dtype),
            "session_index": session_index,
            "session_mask": tf.cast(session_mask, mask_dtype),
            "sessions_mask": tf.cast(slot_valid, mask_dtype),
            "position_session": position_session,
            "current_positions": tf.cast(cur_positions, tf.float32),
            "earlier_positions": tf.cast(earlier_positions, tf.float32),
            "num_sessions": k,
            "dropped_sessions": first,
            "dropped_items": dropped_items,
        }

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "gap_seconds": self.gap_seconds,
            "max_sessions": self.max_sessions,
            "max_session_length": self.max_session_length,
            "time_scale": self.time_scale,
        }


def gather_steps(values: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """Gather per-step values by history position.

    Args:
      values: ``[B, L, ...]`` per-step tensor (embeddings, category ids, ...).
      index: int32 ``[B, ...idx]`` positions from :class:`SessionSegmentation`.

    Returns:
      ``[B, ...idx, ...]``; entries under a zero mask hold step 0 and must be masked by the caller.
    """
    return tf.gather(values, index, batch_dims=1)
