"""Intention vectors and the sequence-to-sequence loss of Ma et al. (KDD 2020).

"Disentangled Self-Supervision in Sequential Recommenders": a set of step vectors is compressed
into ``K`` intention vectors, and the intentions of a user's *future* steps are fitted from their
*past* steps, keeping only the intentions that can be fitted reliably. Notation (shapes):

    steps      X [B, L, D], mask m [B, L]
    prototypes P [K, D] (learned)
    assignment a_bjk = softmax_k( cos(x_bj, p_k) / τ_a )                       [B, L, K]
    mass       w_bk  = Σ_j m_bj a_bjk               (Σ_k w_bk = ℓ_b)             [B, K]
    intention  z_bk  = Σ_j m_bj a_bjk x_bj / w_bk   (0 where w_bk = 0)          [B, K, D]

The paper routes items to intention prototypes; this is its soft, one-pass variant: every step is
split between the ``K`` prototypes in proportion to its softmax-ed cosine similarity, and an
intention is the assignment-weighted mean of its steps. ``w_bk`` says how much of the sequence
the intention covers.

Loss (:func:`seq2seq_disentangled_loss`), with past intentions ``ẑ_bk`` and future ``z_bk``:

    reliability  r_bk = cos(ẑ_bk, z_bk)   (``keep_by="similarity"``, the paper's rule)
                        or w_bk             (``keep_by="weight"``)
    keep         κ_bk = 1 for the ceil(ρ K) largest r_bk of row b (ρ = keep ratio), else 0
    InfoNCE      ℓ_bk = −log [ exp(s_bbk) / Σ_{c ∈ C_bk} exp(s_bck) ],  s_bck = cos(ẑ_bk, z_ck) / τ
                 C_bk = {b} ∪ {c : c valid, κ_ck = 1, row c is not a copy of row b}
    loss         Σ_{b valid, k} κ_bk ℓ_bk / Σ_{b valid, k} κ_bk        (0 if nothing is kept)

The selection is not differentiated (``stop_gradient``); a dropped intention ``(b, k)`` appears in
no term at all (neither as anchor, positive nor negative), so its gradient is exactly zero.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf
import tf_keras as keras

KEEP_BY = ("similarity", "weight")
_NEG = -1e9  # logit given to excluded candidates (finite: no inf - inf = NaN)


def num_kept(num_intentions: int, keep_ratio: float) -> int:
    """``ceil(keep_ratio × num_intentions)`` (at least 1), robust to float round-off
    (``0.3 × 10`` is ``3.0000000000000004`` and keeps 3, not 4)."""
    if not 0 < keep_ratio <= 1:
        raise ValueError(f"intention_keep_ratio must be in (0, 1], got {keep_ratio}")
    if num_intentions < 1:
        raise ValueError(f"num_intentions must be > 0, got {num_intentions}")
    return max(1, min(num_intentions, math.ceil(round(keep_ratio * num_intentions, 9))))


@keras.utils.register_keras_serializable(package="tf_lsrec")
class IntentionEncoder(keras.layers.Layer):
    """Soft prototype assignment of steps to ``K`` intentions (module docstring).

    Args:
      num_intentions: ``K`` (hyper-parameter ``num_intentions``).
      temperature: ``τ_a`` of the assignment softmax (smaller = harder assignment).
      prototype_initializer: initializer of the prototypes ``P [K, D]``.

    Call args:
      steps: ``X [B, L, D]`` float.
      mask: ``[B, L]`` (1 keep / 0 skip, or bool); ``None`` = all steps.

    Returns:
      ``(intentions [B, K, D], weights [B, K])``: the assignment-weighted masked means and the
      masses ``w_bk`` (summing to the row's number of kept steps). A row without kept steps
      gets zero intentions and zero weights (no NaN).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.intentions import IntentionEncoder
      >>> z, w = IntentionEncoder(3)(tf.ones([2, 5, 4]), tf.constant([[1.0] * 5, [1.0] * 2 + [0.0] * 3]))
      >>> z.shape, [round(float(v), 4) for v in tf.reduce_sum(w, 1)]
      (TensorShape([2, 3, 4]), [5.0, 2.0])
    """

    def __init__(
        self,
        num_intentions: int,
        temperature: float = 0.1,
        prototype_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(num_intentions) < 1:
            raise ValueError(f"IntentionEncoder: num_intentions must be > 0, got {num_intentions}")
        if not temperature > 0:
            raise ValueError(f"IntentionEncoder: temperature must be > 0, got {temperature}")
        self.num_intentions = int(num_intentions)
        self.temperature = float(temperature)
        self.prototype_initializer = keras.initializers.get(prototype_initializer)

    def build(self, input_shape: tf.TensorShape) -> None:
        shape = tf.TensorShape(input_shape)
        if shape.rank != 3 or shape[-1] is None:
            raise ValueError(f"IntentionEncoder: steps must be [B, L, D] with known D, got {shape}")
        self.prototypes = self.add_weight(
            name="prototypes",
            shape=[self.num_intentions, int(shape[-1])],
            initializer=self.prototype_initializer,
            trainable=True,
        )
        super().build(input_shape)

    def assignment(self, steps: tf.Tensor) -> tf.Tensor:
        """``a [B, L, K]``: softmax over prototypes of ``cos(x_bj, p_k) / τ_a``."""
        x = tf.math.l2_normalize(steps, axis=-1, epsilon=1e-12)
        p = tf.math.l2_normalize(tf.cast(self.prototypes, steps.dtype), axis=-1, epsilon=1e-12)
        return tf.nn.softmax(tf.matmul(x, p, transpose_b=True) / self.temperature, axis=-1)

    def call(self, steps: tf.Tensor, mask: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        a = self.assignment(steps)
        if mask is not None:
            a = a * tf.cast(mask, a.dtype)[..., None]
        weights = tf.reduce_sum(a, axis=1)  # [B, K]
        sums = tf.matmul(a, steps, transpose_a=True)  # [B, K, D]
        intentions = tf.math.divide_no_nan(sums, weights[..., None])
        return intentions, weights

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_intentions": self.num_intentions,
            "temperature": self.temperature,
            "prototype_initializer": keras.initializers.serialize(self.prototype_initializer),
        }


def select_reliable(scores: tf.Tensor, keep: int, eligible: tf.Tensor | None = None) -> tf.Tensor:
    """``κ [B, K]`` float: 1 on the ``keep`` largest ``scores [B, K]`` of each row, else 0.

    ``eligible [B, K]`` (optional, bool/float): intentions that may be kept at all (e.g. mass > 0);
    an ineligible one is never kept, so such a row keeps fewer. Ties go to the lower index
    (``tf.math.top_k``). The selection carries no gradient.
    """
    scores = tf.stop_gradient(scores)
    k_total = scores.shape[-1]
    if not 1 <= keep <= k_total:
        raise ValueError(f"select_reliable: keep must be in [1, {k_total}], got {keep}")
    _, idx = tf.math.top_k(scores, k=keep)
    chosen = tf.reduce_sum(tf.one_hot(idx, k_total, dtype=scores.dtype), axis=1)
    if eligible is not None:
        chosen = chosen * tf.cast(tf.cast(eligible, tf.bool), scores.dtype)
    return chosen


def seq2seq_disentangled_loss(
    past_intentions: tf.Tensor,
    future_intentions: tf.Tensor,
    future_weights: tf.Tensor,
    keep_ratio: float,
    temperature: float = 0.1,
    row_mask: tf.Tensor | None = None,
    same_row: tf.Tensor | None = None,
    keep_by: str = "similarity",
    return_keep: bool = False,
) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
    """InfoNCE between past and future intentions on the most reliable ones (module docstring).

    Args:
      past_intentions: ``ẑ [B, K, D]``, predicted from the history before the split.
      future_intentions: ``z [B, K, D]``, encoded from the steps after the split.
      future_weights: ``w [B, K]`` masses of the future intentions; an intention with ``w = 0``
        (no future step) is never kept.
      keep_ratio: ``ρ`` in (0, 1]; ``ceil(ρ K)`` intentions are kept per row.
      temperature: ``τ`` of the InfoNCE logits (cosine / τ).
      row_mask: ``[B]`` 1 for rows that take part (long enough to split, real rows); ``None`` =
        all. Other rows contribute nothing and are no one's negatives.
      same_row: ``[B, B]`` bool, ``True`` where two rows are copies of one sequence (in-batch
        negatives repeat the history): such pairs are not each other's negatives. ``None`` =
        only the diagonal.
      keep_by: ``"similarity"`` (``cos(ẑ_bk, z_bk)``, the paper's reliability) or ``"weight"``.
      return_keep: also return ``κ [B, K]`` (float; zero on rows outside ``row_mask``).

    Returns:
      The scalar loss (0, not NaN, when no row takes part), and ``κ`` if ``return_keep``.
    """
    if keep_by not in KEEP_BY:
        raise ValueError(f"seq2seq_disentangled_loss: keep_by {keep_by!r} not in {list(KEEP_BY)}")
    if not temperature > 0:
        raise ValueError(f"seq2seq_disentangled_loss: temperature must be > 0, got {temperature}")
    past = tf.math.l2_normalize(past_intentions, axis=-1, epsilon=1e-12)
    future = tf.math.l2_normalize(future_intentions, axis=-1, epsilon=1e-12)
    k_total = past_intentions.shape[1]
    dtype = past.dtype
    batch = tf.shape(past)[0]
    rows = tf.ones([batch], dtype) if row_mask is None else tf.cast(row_mask, dtype)
    rows = tf.cast(rows > 0, dtype)

    # per-intention reliability and keep mask κ [B, K]
    own = tf.reduce_sum(past * future, axis=-1)  # cos(ẑ_bk, z_bk)
    scores = own if keep_by == "similarity" else tf.cast(future_weights, dtype)
    keep = select_reliable(scores, num_kept(k_total, keep_ratio), eligible=future_weights > 0)
    keep = keep * rows[:, None]

    # logits s[k, b, c] = cos(ẑ_bk, z_ck) / τ ; candidates: own future + kept futures of others
    past_k = tf.transpose(past, [1, 0, 2])  # [K, B, D]
    future_k = tf.transpose(future, [1, 0, 2])
    logits = tf.matmul(past_k, future_k, transpose_b=True) / temperature  # [K, B, C]
    eye = tf.eye(batch, dtype=tf.bool)
    copies = eye if same_row is None else tf.logical_or(tf.cast(same_row, tf.bool), eye)
    others = tf.logical_and(tf.logical_not(copies)[None], tf.transpose(keep > 0)[:, None, :])
    candidates = tf.logical_or(eye[None], others)  # [K, B, C]
    masked = tf.where(candidates, logits, tf.cast(_NEG, dtype))
    positive = tf.linalg.diag_part(logits)  # [K, B]
    per_term = tf.transpose(tf.reduce_logsumexp(masked, axis=-1) - positive)  # [B, K]

    kept = keep > 0
    per_term = tf.where(kept, per_term, tf.zeros_like(per_term))
    loss = tf.math.divide_no_nan(tf.reduce_sum(per_term * keep), tf.reduce_sum(keep))
    return (loss, keep) if return_keep else loss
