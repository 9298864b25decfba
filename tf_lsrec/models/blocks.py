"""Small building blocks shared by several encoders (DIN, DIEN, SLi-Rec, CLSR), and the
hyper-parameters that several models read (each model's ``hparams_spec`` includes them)."""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.hparams import S, model_keys, non_negative
from tf_lsrec.layers.contrastive import CONTRASTIVE_LOSSES, PAIRS, TRIPLET_FORMS

TIME_FEATURE_MODES = ("last_column", "last_event")
"""Modes of :func:`last_time_to_now` (``fusion_time_feature``)."""

FUSION_TIME_KEYS = model_keys(
    fusion_time_feature=S(str, "last_column", "which time_to_now value enters the fusion gate: "
                          "'last_column' (reference quirk: padding for short histories) or "
                          "'last_event'", choices=TIME_FEATURE_MODES),
)  # fmt: skip
"""SLi-Rec and CLSR."""

LONG_ATTENTION_KEYS = model_keys(
    mask_long_attention=S(bool, False, "SLi-Rec/A2SVD: mask padding in the long-term attention "
                          "(reference does not)"),
)  # fmt: skip
"""SLi-Rec and A2SVD."""

MANUAL_ALPHA_KEYS = model_keys(
    manual_alpha=S(bool, False, "fixed fusion weight instead of the gate"),
    manual_alpha_value=S(float, 0.5, "the fixed weight of the long-term interest",
                         check=lambda x: 0 <= x <= 1, expect="in [0, 1]"),
)  # fmt: skip
"""CLSR and SLi-Rec (the CLSR paper's RQ2 fixes α for both)."""

CONTRASTIVE_KEYS = model_keys(
    contrastive_loss=S(str, "triplet", "CLSR contrastive form; none = off",
                       choices=(*CONTRASTIVE_LOSSES, "none")),
    contrastive_loss_weight=S(float, 0.1, check=non_negative, expect=">= 0"),
    contrastive_pairs=S(list, list(PAIRS), "which of CLSR's four contrastive terms are on",
                        check=lambda ps: all(p in PAIRS for p in ps),
                        expect=f"entries among {list(PAIRS)}"),
    triplet_margin=S(float, 1.0, check=non_negative, expect=">= 0"),
    triplet_form=S(str, "per_dimension", "per_dimension (official code) or vector (paper)",
                   choices=TRIPLET_FORMS),
)  # fmt: skip
"""CLSR and SLSRec."""


def masked_sum(x: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """``Σ_j mask_j x_j`` (a sum, not a mean, as DIN/DIEN do): ``[B, L, D]``, ``[B, L]`` -> ``[B, D]``."""
    return tf.reduce_sum(x * tf.cast(mask, x.dtype)[..., None], axis=1)


def require_hidden_size_of_history(hparams, model: str, reason: str) -> None:
    """Raise unless ``hidden_size == item_embedding_dim + cate_embedding_dim``.

    SLi-Rec, CLSR and SLSRec mix a vector in the ``[item ; cate]`` space with an RNN output of
    width ``hidden_size`` by a weighted sum, so the two widths must agree.
    """
    dh = hparams.item_embedding_dim + hparams.cate_embedding_dim
    if hparams.hidden_size != dh:
        raise ValueError(
            f"{model} {reason}, so hidden_size must equal item_embedding_dim + "
            f"cate_embedding_dim: hyper-parameter `hidden_size` must be {dh}, "
            f"got {hparams.hidden_size}"
        )


def last_time_to_now(batch, mode: str) -> tf.Tensor:
    """The fusion gates' time feature ``[B, 1]`` (SLi-Rec, CLSR).

    ``mode="last_column"`` reads ``time_to_now[:, L-1]``, the last *slot*, which is padding (0.0)
    unless the history fills all ``L`` slots: the reference quirk. ``"last_event"`` reads the
    most recent real event (``ℓ - 1``).
    """
    ttn = batch["time_to_now"]
    if mode == "last_column":
        return ttn[:, -1:]
    length = tf.cast(tf.reduce_sum(batch["mask"], axis=1), tf.int32)
    idx = tf.maximum(length - 1, 0)
    return tf.gather(ttn, idx, batch_dims=1)[:, None]
