"""BERT4Rec (Sun et al., CIKM'19): a bidirectional transformer over the history, trained by
cloze (masked items), adapted to the deeprec pipeline (one target per line).

Scoring a line (the paper's inference, §3.6: a ``[MASK]`` appended to the history)::

    s   = [h_0 .. h_{ℓ-1}, [MASK]]                 ℓ+1 real slots of L+1   (slot ℓ: the target)
    X_j = sqrt(D) s_j + P_j, dropout, x m_j       [B, L+1, D], D = Di + Dc, s_j = [item ; cate]
    H   = LayerNorm(Block_num_blocks(... Block_1(X)))          (bidirectional self-attention)
    u   = LayerNorm(GELU(W H_ℓ + b))               the output projection (Eq. 7; the LayerNorm
                                                   is the official code's, from BERT)
    logit = <u, e_t>                               (Eq. 7 with the item embeddings shared)

Training: the loss is the library's data loss of that last-slot score against the line's
in-batch negatives (the paper's samples "that only mask the last item", which match
inference) plus ``bert4rec_cloze_weight ×`` the cloze loss (Eq. 8): the line's whole sequence
``[h_0 .. h_{ℓ-1}, target]`` with each real step hidden behind ``[MASK]`` with probability
``bert4rec_mask_prob`` (``tf_lsrec.layers.cloze``); every hidden step scores its own item
against ``K`` negatives drawn for it among the batch's targets that differ from it, as
NextItNet's per-position sampling; averaged over the hidden steps.

Differences from the paper:

* steps are ``[item ; category]`` and the ``[MASK]`` is one learned ``D``-vector for both;
* the step embeddings are scaled by ``sqrt(D)`` before the positions are added (the
  Transformer's and SASRec's convention; BERT adds them unscaled): with this library's small
  initial embeddings (truncated normal 0.01-0.02) the unscaled sum is dominated by the
  positions and learns markedly slower (planted-data test AUC 0.68 -> 0.74 after 3 epochs);
* sampled softmax over ``1 + K`` candidates (in-batch negatives) instead of the full softmax
  over the catalogue, and no per-item output bias;
* the blocks are the library's transformer block (``tf_lsrec.layers.transformer``, shared with
  SASRec: LayerNorm before attention, ReLU FFN of width D, final LayerNorm) with
  ``causal=False``, not BERT's post-LayerNorm GELU FFN of width 4D;
* the paper draws its cloze samples once per sequence before training; here the masks are
  drawn anew at every step, on the lines of the batch.
"""

from __future__ import annotations

import math

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import S, model_keys
from tf_lsrec.io.pipeline import pick_negatives, refuse_uniform_negatives
from tf_lsrec.layers.cloze import apply_cloze, cloze_positions
from tf_lsrec.layers.initializers import fresh_initializer
from tf_lsrec.layers.transformer import LN_EPSILON, CausalSelfAttentionBlock
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.losses import weighted_group_loss
from tf_lsrec.models.objectives import ClozeObjective
from tf_lsrec.models.sasrec import TRANSFORMER_KEYS


class BERT4RecModel(SequentialModel):
    """Bidirectional self-attention over ``[history ; [MASK]]``; the ``[MASK]`` slot's output
    is the user vector."""

    hparams_spec = {
        **TRANSFORMER_KEYS,
        **model_keys(
            bert4rec_mask_prob=S(
                float,
                0.2,
                "BERT4Rec: probability of hiding each step in the cloze task (paper's ρ)",
                check=lambda x: 0 < x < 1,
                expect="in (0, 1)",
            ),
            bert4rec_cloze_weight=S(
                float,
                1.0,
                "BERT4Rec: weight of the cloze loss next to the last-item data loss (0: off)",
                check=lambda x: x >= 0,
                expect=">= 0",
            ),
        ),
    }
    required_keys = ("num_blocks", "num_heads", "transformer_dropout", "bert4rec_mask_prob")
    # the paper encodes each sequence once per step: one dropout mask per line (as SASRec)
    history_dropout_per_line = True

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        refuse_uniform_negatives(hparams, "BERT4Rec")
        hp = hparams
        width = hp.item_embedding_dim + hp.cate_embedding_dim
        self.positions = self._embedding(hp.max_seq_length + 1, width, "position")
        self.mask_token = self._embedding(1, width, "mask_token")
        self.input_dropout = keras.layers.Dropout(hp.transformer_dropout)
        self.blocks = [
            CausalSelfAttentionBlock(
                hp.num_heads, hp.transformer_dropout, seed=self.seed, causal=False,
                name=f"block_{k}",
            )
            for k in range(hp.num_blocks)
        ]  # fmt: skip
        self.final_norm = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="final_ln")
        init = keras.initializers.TruncatedNormal(stddev=0.02, seed=self.seed)
        self.projection_dense = keras.layers.Dense(
            width,
            activation="gelu",
            kernel_initializer=fresh_initializer(init, "projection"),
            name="projection",
        )
        self.projection_norm = keras.layers.LayerNormalization(
            epsilon=LN_EPSILON, name="projection_ln"
        )
        if hp.bert4rec_cloze_weight > 0:
            self.add_objective(ClozeObjective(self.cloze_loss, hp.bert4rec_cloze_weight))

    def embedding_tables(self):
        for table in (self.positions, self.mask_token):
            if not table.built:
                table.build((None,))
        return super().embedding_tables() + [
            self.positions.embeddings,
            self.mask_token.embeddings,
        ]

    def history_dropout(self) -> bool:
        """``transformer_dropout`` runs on the inputs and in every block of the encoder."""
        return super().history_dropout() or self.hparams.transformer_dropout > 0

    def mask_vector(self) -> tf.Tensor:
        """The learned ``[MASK]`` input ``[D]``."""
        return self.mask_token(tf.zeros([1], tf.int32))[0]

    def projection(self, h: tf.Tensor) -> tf.Tensor:
        """The output projection ``LayerNorm(GELU(W h + b))``, ``[..., D] -> [..., D]``."""
        # rank 2 always: a Keras LayerNormalization fixes its (positive) axis at build time
        flat = tf.reshape(h, [-1, h.shape[-1]])
        return tf.reshape(self.projection_norm(self.projection_dense(flat)), tf.shape(h))

    # ------------------------------------------------------------------ encoder
    def encode(self, x: tf.Tensor, mask: tf.Tensor, training) -> tf.Tensor:
        """``[N, S, D]`` steps (+ ``[N, S]`` real-step mask) -> ``H [N, S, D]``, ``S <= L+1``."""
        steps = tf.range(tf.shape(x)[1])
        x = x * math.sqrt(x.shape[-1]) + self.positions(steps)[None, :, :]
        x = self.input_dropout(x, training=training) * mask[..., None]
        for block in self.blocks:
            x = block(x, mask, training=training)
        return self.final_norm(x)

    def encode_history(self, batch, emb, training):
        """``user [B, D]`` (the projected output of the ``[MASK]`` appended at slot ``ℓ``) and
        ``sequence_output [B, L+1, D]``."""
        history = emb["history"]
        length = tf.cast(tf.reduce_sum(batch["mask"], axis=1), tf.int32)
        x = tf.pad(history, [[0, 0], [0, 1], [0, 0]])  # slot L for a full history's [MASK]
        steps = tf.range(tf.shape(x)[1])[None, :]
        slot = tf.equal(steps, length[:, None])
        x = apply_cloze(x, slot, self.mask_vector())
        mask = tf.cast(steps <= length[:, None], x.dtype)
        seq = self.encode(x, mask, training)
        user = self.projection(tf.gather(seq, length, batch_dims=1))
        return {"user": user, "sequence_output": seq}

    def score_targets(self, batch, emb, history, training):
        """``logits = <u, e_t>`` ``[B, 1]``, ``output = [u ; e_t]`` ``[B, 2D]`` and
        ``sequence_output [B, L+1, D]``."""
        user, target = history["user"], emb["target"]
        return {
            "output": tf.concat([user, target], axis=-1),
            "logits": tf.reduce_sum(user * target, axis=-1, keepdims=True),
            "sequence_output": history["sequence_output"],
        }

    # ------------------------------------------------------------------ cloze task
    def cloze_sequences(self, batch) -> dict[str, tf.Tensor]:
        """Each instance's whole sequence ``[h_0 .. h_{ℓ-1}, target]`` from a batch in the
        training layout (groups of ``1 + K`` rows sharing a history, positive first):
        ``items``, ``cates`` int32 ``[N, L+1]`` (0 after slot ``ℓ``), ``valid`` bool
        ``[N, L+1]`` (slots ``<= ℓ``), ``N = rows / (1 + K)``."""
        lines = self.training_lines(batch, "the cloze loss")
        length = lines["length"]
        steps = tf.range(tf.shape(lines["mask"])[1] + 1)[None, :]
        valid = steps <= length[:, None]

        def sequence(history, target):
            padded = tf.pad(history, [[0, 0], [0, 1]])
            return tf.where(valid, tf.where(steps == length[:, None], target[:, None], padded), 0)

        return {
            "items": sequence(lines["item_history"], lines["items"]),
            "cates": sequence(lines["item_cate_history"], lines["cates"]),
            "valid": valid,
        }

    def cloze_loss(self, batch, training) -> tf.Tensor:
        """The cloze loss (Eq. 8) with sampled negatives: the data loss ``hparams.loss`` over
        the hidden steps, each a group of its own item and ``K`` negatives."""
        g, k = self.group_size, self.group_size - 1
        seqs = self.cloze_sequences(batch)
        items, cates, valid = seqs["items"], seqs["cates"], seqs["valid"]
        masked = cloze_positions(
            valid, self.hparams.bert4rec_mask_prob, tf.random.uniform(tf.shape(items))
        )
        x = apply_cloze(self.embed_targets(items, cates, training)["target"], masked,
                        self.mask_vector())  # fmt: skip
        h = self.projection(self.encode(x, tf.cast(valid, x.dtype), training))  # [N, S, D]
        n, s = tf.shape(items)[0], tf.shape(items)[1]
        positives = tf.reshape(items, [-1])  # [N·S]
        pool_items, pool_cates = batch["items"][::g], batch["cates"][::g]
        idx, has_negative = pick_negatives(
            pool_items, positives, tf.random.uniform([n * s, k], dtype=tf.float32)
        )
        cand_items = tf.concat(
            [positives[:, None], tf.where(has_negative[:, None], tf.gather(pool_items, idx), 0)],
            axis=1,
        )  # [N·S, g], own item first
        cand_cates = tf.concat(
            [
                tf.reshape(cates, [-1, 1]),
                tf.where(has_negative[:, None], tf.gather(pool_cates, idx), 0),
            ],
            axis=1,
        )
        cand = self.embed_targets(cand_items, cand_cates, training)["target"]  # [N·S, g, D]
        logits = tf.einsum("md,mgd->mg", tf.reshape(h, [n * s, -1]), cand)
        labels = tf.tile(tf.one_hot([0], g), [n * s, 1])
        weights = tf.reshape(tf.cast(masked, tf.float32), [-1])
        return weighted_group_loss(self.hparams.loss, labels, logits, weights)


BERT4RECModel = BERT4RecModel
