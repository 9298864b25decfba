"""DIEN (Zhou et al., AAAI'19) as in the official CLSR code's ``dien.py`` (docs/reference.md §5.9).

    x_j = [item_j ; cate_j]                                              [B, L, Di+Dc]
    O   = GRU(x) outputs (zero beyond the length)                        [B, L, H]
    a   = AttentionPooling(query=e_t, keys=O) weights (masked softmax)   [B, L]
    f   = final state of AUGRU([O_j ; a_j])                              [B, H]
    s   = Σ_j mask_j x_j                                                 [B, Di+Dc]
    output [e_t ; f ; s ; e_t ⊙ s]                                       [B, 3(Di+Dc)+H]

The AUGRU is the reference's ``VecAttGRUCell``: the update gate becomes ``u' = (1 − a_j) u`` and
``h' = u' h + (1 − u') c``, so ``a_j = 0`` is an ordinary GRU step and ``a_j = 1`` replaces the
state with the candidate (not the paper's "a = 0 keeps the state"). There is no auxiliary loss,
as in the reference.
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.layers.sequence_encoder import SequenceEncoder
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.blocks import masked_sum


class DIENModel(SequentialModel):
    """Interest extraction (GRU) then attention-driven interest evolution (AUGRU)."""

    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("hidden_size", "att_fcn_layer_sizes")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        self.interest_gru = SequenceEncoder("gru", hparams.hidden_size, name="interest_gru")
        self.attention = self.attention_pooling("dien_attention")
        self.evolution_augru = SequenceEncoder("augru", hparams.hidden_size, name="augru")

    def encode_history(self, batch, emb, training):
        """``interest_states [B, L, H]`` (the GRU outputs) and the masked ``history_sum``."""
        mask = batch["mask"]
        states, _ = self.interest_gru(emb["history"], mask, training=training)
        return {"interest_states": states, "history_sum": masked_sum(emb["history"], mask)}

    def history_state_size(self):
        return self.hparams.hidden_size

    def prepare_history_for_scoring(self, history):
        """Per user: the attention's key side and the AUGRU's input projection of every
        interest state (``augru_inputs [B, L, 3H]``), the same for every candidate."""
        states = history["interest_states"]
        keys = self.attention.encode_keys(states)
        return {
            **history,
            "interest_keys": keys,
            "augru_inputs": self.evolution_augru.cell.project_inputs(states),
        }

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, 3(Di+Dc)+H]``, ``attention_weights [B, L]`` and
        ``interest_states [B, L, H]``."""
        mask = batch["mask"]
        target, states, summed = emb["target"], history["interest_states"], history["history_sum"]
        _, weights = self.attention(
            target, states, mask, training=training, encoded_keys=history.get("interest_keys")
        )
        if "augru_inputs" in history and not training and states.shape[1] is not None:
            # Serving / shared-history inference: only a_j and h W_h are per candidate.
            final = self.evolution_augru.final_state_from_projection(
                history["augru_inputs"], mask, weights
            )
        else:
            augru_in = tf.concat([states, weights[..., None]], axis=-1)
            _, final = self.evolution_augru(augru_in, mask, training=training)
        return {
            "output": tf.concat([target, final, summed, target * summed], axis=-1),
            "attention_weights": weights,
            "interest_states": states,
            "history_states": states,  # causal: read by seq2seq_past_encoder "states"
        }
