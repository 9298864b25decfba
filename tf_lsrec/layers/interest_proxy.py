"""CLSR's interest proxies: masked means of the history embeddings (docs/reference.md §7.3, §7.5).

* long-term proxy  ``P_L = Σ_j m_j x_j / Σ_j m_j`` — the mean of every kept history step;
* short-term proxy ``P_S = Σ_j r_j x_j / Σ_j r_j`` — the mean of the last ``min(k, ℓ)`` kept
  steps, where ``pos_j = Σ_{j' >= j} m_{j'}`` (reverse cumulative sum of the mask) and
  ``r_j = m_j · [1 <= pos_j <= k]``.

The official code computes exactly these (no stop-gradient, so the proxies train the
embeddings too). The only difference: a row whose mask is all zero gives a zero vector here,
where the reference divides 0 by 0 (NaN).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

PROXY_MODES = ("all", "recent")


def recent_mask(mask: tf.Tensor, k: int) -> tf.Tensor:
    """``[B, L]`` 0/1 mask of the last ``min(k, ℓ)`` kept positions of each row.

    Args:
      mask: ``[B, L]`` 1 on kept steps, 0 on padding (any numeric or bool dtype).
      k: window size (> 0).

    Returns:
      ``[B, L]`` float mask, same float dtype as ``mask`` (float32 for int/bool masks).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> recent_mask(tf.constant([[1.0, 1.0, 1.0, 1.0, 0.0]]), 3).numpy()
      array([[0., 1., 1., 1., 0.]], dtype=float32)
    """
    m = tf.cast(mask, mask.dtype if mask.dtype.is_floating else tf.float32)
    pos = tf.cumsum(m, axis=1, reverse=True)
    inside = tf.logical_and(pos >= 1.0, pos <= float(k))
    return m * tf.cast(inside, m.dtype)


def masked_mean(values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """``Σ_j w_j v_j / Σ_j w_j`` over axis 1; a row with ``Σ_j w_j = 0`` gives zeros, not NaN.

    Args:
      values: ``[B, L, D]``. weights: ``[B, L]`` (0/1).

    Returns:
      ``[B, D]``.
    """
    w = tf.cast(weights, values.dtype)
    total = tf.reduce_sum(values * w[..., None], axis=1)
    count = tf.reduce_sum(w, axis=1, keepdims=True)
    return tf.math.divide_no_nan(total, count)


@keras.utils.register_keras_serializable(package="tf_lsrec")
class InterestProxy(keras.layers.Layer):
    """Masked mean of history embeddings: CLSR's long-term (``"all"``) or short-term
    (``"recent"``) interest proxy.

    Args:
      mode: ``"all"`` (mean of every kept step, §7.3) or ``"recent"`` (mean of the last
        ``min(recent_k, ℓ)`` kept steps, §7.5).
      recent_k: the short-term window ``k`` (``contrastive_recent_k``, official default 3);
        ignored for ``"all"``.

    Call args:
      history: ``[B, L, D]`` history embeddings (CLSR: ``[item ; cate]``, after embedding
        dropout).
      mask: ``[B, L]`` 1 on kept steps, 0 on padding.

    Returns:
      ``[B, D]`` proxy; all-zero for a row with no kept step.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.interest_proxy import InterestProxy
      >>> x = tf.constant([[[1.0], [2.0], [3.0], [9.0]]])
      >>> m = tf.constant([[1.0, 1.0, 1.0, 0.0]])
      >>> InterestProxy("all")(x, m).numpy(), InterestProxy("recent", 2)(x, m).numpy()
      (array([[2.]], dtype=float32), array([[2.5]], dtype=float32))
    """

    def __init__(self, mode: str = "all", recent_k: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in PROXY_MODES:
            raise ValueError(f"InterestProxy: mode {mode!r} not in {list(PROXY_MODES)}")
        if int(recent_k) <= 0:
            raise ValueError(f"InterestProxy: recent_k must be > 0, got {recent_k}")
        self.mode = mode
        self.recent_k = int(recent_k)

    def call(self, history: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        weights = tf.cast(mask, history.dtype)
        if self.mode == "recent":
            weights = recent_mask(weights, self.recent_k)
        return masked_mean(history, weights)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "recent_k": self.recent_k}
