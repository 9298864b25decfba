"""BERT4Rec's cloze masking (Sun et al., CIKM'19, §3.6): hide random steps of a sequence
behind a learned ``[MASK]`` vector, to be predicted from both sides.

Two pure functions (the ``[MASK]`` vector is a variable of the model):

    masked = valid & (u < p)                       cloze_positions   [N, S] bool
    x'_j   = mask_vector if masked_j else x_j      apply_cloze       [N, S, D]
"""

from __future__ import annotations

import tensorflow as tf


def cloze_positions(valid: tf.Tensor, mask_prob: float, u: tf.Tensor) -> tf.Tensor:
    """The steps to hide: each real step independently with probability ``mask_prob``.

    Args:
        valid: bool ``[N, S]``, True on real steps.
        mask_prob: ``p`` in ``(0, 1)`` (the paper's ``ρ``).
        u: float ``[N, S]`` uniform draws in ``[0, 1)``.

    Returns:
        bool ``[N, S]``: ``valid & (u < p)``.
    """
    if not 0.0 < float(mask_prob) < 1.0:
        raise ValueError(f"cloze mask probability = {mask_prob}; expected in (0, 1)")
    return tf.logical_and(tf.cast(valid, tf.bool), u < mask_prob)


def apply_cloze(x: tf.Tensor, masked: tf.Tensor, mask_vector: tf.Tensor) -> tf.Tensor:
    """Replace the hidden steps' inputs by the ``[MASK]`` vector.

    Args:
        x: ``[N, S, D]`` step embeddings.
        masked: bool ``[N, S]`` (:func:`cloze_positions`).
        mask_vector: ``[D]``.

    Returns:
        ``[N, S, D]``: ``mask_vector`` at the hidden steps, ``x`` elsewhere.
    """
    token = tf.cast(mask_vector, x.dtype)[None, None, :]
    return tf.where(tf.cast(masked, tf.bool)[..., None], token, x)
