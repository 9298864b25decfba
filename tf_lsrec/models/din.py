"""DIN (Zhou et al., KDD'18) as in the official CLSR code's ``din.py`` (docs/reference.md §5.8).

x_j = [item_j ; cate_j]                                       [B, L, Di+Dc]
s   = Σ_j mask_j x_j              (masked sum, not a mean)    [B, Di+Dc]
a   = Σ_j w_j x_j, w = AttentionPooling(query=e_t, keys=x)    [B, Di+Dc], w [B, L]
output [e_t ; s ; a]                                          [B, 3(Di+Dc)]
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.blocks import masked_sum


class DINModel(SequentialModel):
    """Target-attentive pooling of the history plus its plain masked sum."""

    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("att_fcn_layer_sizes",)

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        self.attention = self.attention_pooling("din_attention")

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, 3(Di+Dc)]`` and ``attention_weights [B, L]`` (everything reads
        the target; ``encode_history`` is the base's empty one)."""
        mask = batch["mask"]
        history, target = emb["history"], emb["target"]
        summed = masked_sum(history, mask)
        attended, weights = self.attention(target, history, mask, training=training)
        return {
            "output": tf.concat([target, summed, attended], axis=-1),
            "attention_weights": weights,
        }
