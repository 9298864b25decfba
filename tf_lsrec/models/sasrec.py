"""SASRec (Kang & McAuley, ICDM'18) as a model of the deeprec framework.

    X_j = sqrt(D) [item_j ; cate_j] + P_j,  then dropout and x m_j      [B, L, D], D = Di + Dc
    H   = LayerNorm(Block_num_blocks(... Block_1(X)))                  (causal self-attention)
    h   = H_{ℓ-1}, the last real step                                  [B, D]
    logit = <h, e_t>                        (sasrec_scoring: dot, the paper's score)
          | MLP([h ; e_t])                  (sasrec_scoring: mlp, the framework's head)

Microsoft's SASRec (docs/reference.md §5.12) is a separate TF2 implementation with its own data
pipeline (item ids only, one positive and one random negative per position). Here the encoder
is the same (learned positions, pre-LayerNorm causal blocks, final LayerNorm), but the model
runs on the standard pipeline: ``[item ; category]`` steps, one target per line with its
in-batch negatives and the group-softmax loss, like every other model; histories are
left-aligned, so the last real step is slot ``ℓ-1`` and causality keeps the right padding out.
"""

from __future__ import annotations

import math

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import S, model_keys, positive
from tf_lsrec.layers.transformer import LN_EPSILON, CausalSelfAttentionBlock
from tf_lsrec.models.base import SequentialModel

# shared by the transformer models (SASRec, BERT4Rec): one declaration per key
TRANSFORMER_KEYS = model_keys(
    num_blocks=S(int, 2, "SASRec, BERT4Rec: self-attention blocks", check=positive, expect="> 0"),
    num_heads=S(int, 1, "SASRec, BERT4Rec: attention heads", check=positive, expect="> 0"),
    transformer_dropout=S(
        float,
        0.2,
        "SASRec, BERT4Rec: dropout of inputs, attention and FFN",
        check=lambda x: 0 <= x < 1,
        expect="in [0, 1)",
    ),
)


class SASRecModel(SequentialModel):
    """Causal self-attention over the history; the last real step is the user vector."""

    hparams_spec = {
        **TRANSFORMER_KEYS,
        **model_keys(
            sasrec_scoring=S(
                str,
                "dot",
                "SASRec: <h, e_t> (paper) or the MLP head on [h ; e_t]",
                choices=("dot", "mlp"),
            ),
        ),
    }
    required_keys = ("num_blocks", "num_heads", "transformer_dropout")
    # the paper (and Microsoft's TF2 SASRec) encodes a sequence once per step and scores its
    # positive and negative from it: one dropout mask per line, so training shares the history
    history_dropout_per_line = True

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        hp = hparams
        if hp.num_blocks < 1:
            raise ValueError(f"SASRec: hyper-parameter num_blocks = {hp.num_blocks}; expected >= 1")
        width = hp.item_embedding_dim + hp.cate_embedding_dim
        self.positions = self._embedding(hp.max_seq_length, width, "position")
        self.input_dropout = keras.layers.Dropout(hp.transformer_dropout)
        self.blocks = [
            CausalSelfAttentionBlock(
                hp.num_heads, hp.transformer_dropout, seed=self.seed, name=f"block_{k}"
            )
            for k in range(hp.num_blocks)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="final_ln")

    def embedding_tables(self):
        if not self.positions.built:
            self.positions.build((None,))
        return super().embedding_tables() + [self.positions.embeddings]

    def history_state_size(self):
        return self.hparams.item_embedding_dim + self.hparams.cate_embedding_dim

    def history_dropout(self) -> bool:
        """``transformer_dropout`` runs on the inputs and in every block of the encoder."""
        return super().history_dropout() or self.hparams.transformer_dropout > 0

    def encode_history(self, batch, emb, training):
        """``user [B, D]`` (the last real step) and ``sequence_output [B, L, D]``."""
        mask = batch["mask"]
        x = emb["history"]
        width = x.shape[-1]
        steps = tf.range(tf.shape(x)[1])
        x = x * math.sqrt(width) + self.positions(steps)[None, :, :]
        x = self.input_dropout(x, training=training) * mask[..., None]
        for block in self.blocks:
            x = block(x, mask, training=training)
        seq = self.final_norm(x)
        length = tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)
        user = tf.gather(seq, tf.maximum(length - 1, 0), batch_dims=1)
        return {"user": user, "sequence_output": seq}

    def score_targets(self, batch, emb, history, training):
        """``output [B, 2D]``, ``sequence_output [B, L, D]`` and, for ``sasrec_scoring: dot``,
        ``logits = <h, e_t>`` ``[B, 1]``."""
        user, target = history["user"], emb["target"]
        out = {
            "output": tf.concat([user, target], axis=-1),
            "sequence_output": history["sequence_output"],
            "history_states": history["sequence_output"],  # causal: seq2seq_past_encoder states
        }
        if self.hparams.sasrec_scoring == "dot":
            out["logits"] = tf.reduce_sum(user * target, axis=-1, keepdims=True)
        return out


SASRECModel = SASRecModel
