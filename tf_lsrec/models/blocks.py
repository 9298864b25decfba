"""Small building blocks shared by the baseline encoders (DIN, DIEN)."""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.layers.attention import AttentionPooling


def masked_sum(x: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """``Σ_j mask_j x_j`` (a sum, not a mean, as DIN/DIEN do): ``[B, L, D]``, ``[B, L]`` -> ``[B, D]``."""
    return tf.reduce_sum(x * tf.cast(mask, x.dtype)[..., None], axis=1)


def attention_pooling(hparams, initializer, name: str) -> AttentionPooling:
    """The reference's ``_attention_fcn`` configured from the shared MLP settings
    (``att_fcn_layer_sizes``, ``activation``, ``dropout`` if ``user_dropout``, ``enable_BN``)."""
    n = len(hparams.att_fcn_layer_sizes)
    return AttentionPooling(
        hparams.att_fcn_layer_sizes,
        hparams.activation[:n],
        dropout_rates=hparams.dropout[:n] if hparams.user_dropout else None,
        use_bn=hparams.enable_BN,
        kernel_initializer=initializer,
        name=name,
    )
