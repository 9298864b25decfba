"""A2SVD (asymmetric SVD with attention) as in Microsoft Recommenders (docs/reference.md §5.2).

    x_j = [item_j ; cate_j]                                  [B, L, Di+Dc]
    (u, a) = PlainAttention(x)   u = Σ_j a_j x_j             [B, Di+Dc], a [B, L]
    output [u ; e_t]                                         [B, 2(Di+Dc)]

The attention softmax runs over all ``L`` slots, padding included (reference quirk), unless
``mask_long_attention`` is set. ``attention_size`` must equal ``Di + Dc`` (or be null).
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.layers.attention import PlainAttention
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.blocks import LONG_ATTENTION_KEYS


class A2SVDModel(SequentialModel):
    """An attentive sum of the history embeddings is the user vector."""

    hparams_spec = LONG_ATTENTION_KEYS
    required_keys = ("attention_size",)

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        self.attention = PlainAttention(
            attention_size=hparams.attention_size,
            use_mask=hparams.mask_long_attention,
            kernel_initializer=self.initializer,
            name="asvd_attention",
        )

    def encode_history(self, batch, emb, training):
        """``user [B, Di+Dc]`` and ``attention_weights [B, L]`` (the attention has no query)."""
        user, weights = self.attention(emb["history"], batch["mask"])
        return {"user": user, "attention_weights": weights}

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, 2(Di+Dc)]`` and ``attention_weights [B, L]``."""
        return {
            "output": tf.concat([history["user"], emb["target"]], axis=-1),
            "attention_weights": history["attention_weights"],
        }


ASVDModel = A2SVDModel
