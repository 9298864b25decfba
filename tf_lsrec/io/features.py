"""Raw batch (string ids, ragged histories) -> model features; shared by training and serving.

Implements docs/reference.md §2.2 (time features) and §2.3 (truncation, padding, mask) with
vectorised TensorFlow ops on whole batches. The serving signatures call the same functions, so
training and serving features cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

SECONDS_PER_DAY = 86_400.0
MS_PER_DAY = 86_400_000.0
QUIRK_SECONDS_DIVISOR = 86.4  # official CLSR code: seconds -> thousandths of a day
_MIN_GAP = 0.5  # g(x) = log(max(x, 0.5))

TIME_FEATURES = ("time_diff", "time_from_first_action", "time_to_now")


def time_divisor(hparams: Any) -> float:
    """Time unit divisor ``R`` of §2.2 from ``time_unit`` and ``time_unit_quirk``."""
    unit = hparams.time_unit
    if unit == "ms":
        return MS_PER_DAY
    if unit == "s":
        return QUIRK_SECONDS_DIVISOR if hparams.time_unit_quirk else SECONDS_PER_DAY
    raise ValueError(f"hparams `time_unit` = {unit!r}; expected 's' or 'ms'")


def _g(delta: tf.Tensor, divisor: float) -> tf.Tensor:
    return tf.math.log(tf.maximum(delta / tf.constant(divisor, tf.float64), _MIN_GAP))


def time_features(
    time_history: tf.RaggedTensor, time: tf.Tensor, divisor: float
) -> dict[str, tf.RaggedTensor]:
    """The three time features of §2.2 on the full (untruncated) history.

    Args:
        time_history: float64 ragged ``[B, (n)]``, timestamps oldest first.
        time: float64 ``[B]``, timestamp of the target.
        divisor: unit divisor ``R`` (see ``time_divisor``).

    Returns:
        ``time_diff``, ``time_from_first_action``, ``time_to_now``: float64 ragged ``[B, (n)]``.
        With ``g(x) = log(max(x, 0.5))`` and ``next_j = t_{j+1}`` (``t*`` for the last step):
        ``time_diff[j] = g((next_j - t_j)/R)``, ``time_from_first_action[j] = g((next_j - t_0)/R)``,
        ``time_to_now[j] = g((t* - t_j)/R)``.
    """
    time_history = tf.cast(time_history, tf.float64)
    time = tf.cast(time, tf.float64)
    flat = time_history.flat_values  # [V]
    rowids = time_history.value_rowids()  # [V]
    starts = time_history.row_starts()  # [B]
    lengths = time_history.row_lengths()  # [B]
    n_values = tf.shape(flat, out_type=tf.int64)[0]
    position = tf.range(n_values, dtype=tf.int64) - tf.gather(starts, rowids)
    is_last = tf.equal(position, tf.gather(lengths, rowids) - 1)
    now = tf.gather(time, rowids)  # t* per value
    first = tf.gather(flat, tf.gather(starts, rowids))  # t_0 per value
    following = tf.concat([flat[1:], tf.zeros([1], tf.float64)], axis=0)[:n_values]
    nxt = tf.where(is_last, now, following)
    values = {
        "time_diff": _g(nxt - flat, divisor),
        "time_from_first_action": _g(nxt - first, divisor),
        "time_to_now": _g(now - flat, divisor),
    }
    return {k: time_history.with_flat_values(v) for k, v in values.items()}


def _last_padded(rt: tf.RaggedTensor, max_len: int, default) -> tf.Tensor:
    """Last ``min(n, L)`` steps of each row, left-aligned, right-padded: dense ``[B, L]``."""
    return rt[:, -max_len:].to_tensor(default_value=default, shape=[None, max_len])


def build_features(
    raw: Mapping[str, tf.Tensor], lookup, max_seq_length: int, divisor: float
) -> dict[str, tf.Tensor]:
    """Raw batch -> the batch contract of docs/architecture.md (without ``sample_weight``).

    Args:
        raw: ``users``, ``items``, ``cates``: string ``[B]``; ``time``: float64 ``[B]``;
            ``item_history``, ``cate_history``: ragged string ``[B, (n)]``; ``time_history``:
            ragged float64 ``[B, (n)]``; optional ``labels``: float32 ``[B]`` or ``[B, 1]``.
        lookup: a ``VocabLookup``.
        max_seq_length: ``L``.
        divisor: time unit divisor ``R``.

    Returns:
        ``labels`` float32 ``[B, 1]`` (when given), ``users``/``items``/``cates`` int32 ``[B]``,
        ``item_history``/``item_cate_history`` int32 ``[B, L]``, ``mask`` float32 ``[B, L]``,
        ``time`` float64 ``[B]``, ``time_history`` float64 ``[B, L]``, and the three time
        features float32 ``[B, L]`` (0 on padding).
    """
    L = int(max_seq_length)  # noqa: N806
    time = tf.cast(raw["time"], tf.float64)
    time_history = tf.cast(raw["time_history"], tf.float64)
    feats = time_features(time_history, time, divisor)
    lengths = tf.minimum(time_history.row_lengths(), L)
    out = {
        "users": lookup.users(raw["users"]),
        "items": lookup.items(raw["items"]),
        "cates": lookup.cates(raw["cates"]),
        "item_history": _last_padded(lookup.items(raw["item_history"]), L, 0),
        "item_cate_history": _last_padded(lookup.cates(raw["cate_history"]), L, 0),
        "mask": tf.sequence_mask(lengths, L, dtype=tf.float32),
        "time": time,
        "time_history": _last_padded(time_history, L, tf.constant(0.0, tf.float64)),
    }
    for name in TIME_FEATURES:
        out[name] = tf.cast(_last_padded(feats[name], L, tf.constant(0.0, tf.float64)), tf.float32)
    if "labels" in raw:
        out["labels"] = tf.reshape(tf.cast(raw["labels"], tf.float32), [-1, 1])
    return out
