"""GRU4Rec as in Microsoft Recommenders' ``GRUModel`` (docs/reference.md §5.4).

Forward pass::

    h = final state of a TF1 GRU over [item_j ; cate_j] (length ℓ)   [B, H]
    output [h ; e_t]                                                 [B, H+Di+Dc]
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.layers.sequence_encoder import SequenceEncoder
from tf_lsrec.models.base import SequentialModel


class GRU4RecModel(SequentialModel):
    """A GRU over the history; its last state is the user representation."""

    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("hidden_size",)

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        self.rnn = SequenceEncoder("gru", hparams.hidden_size, name="gru")

    def history_state_size(self):
        return self.hparams.hidden_size

    def encode_history(self, batch, emb, training):
        """``state [B, H]``: the GRU's final state; ``history_states [B, L, H]``: its outputs."""
        outputs, state = self.rnn(emb["history"], batch["mask"], training=training)
        return {"state": state, "history_states": outputs}

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, H+Di+Dc]`` and ``history_states [B, L, H]``."""
        return {
            "output": tf.concat([history["state"], emb["target"]], axis=-1),
            "history_states": history["history_states"],
        }


GRUModel = GRU4RecModel
