"""SUM, the sequential user matrix (Lian et al., 2021), as in Microsoft Recommenders' ``sum.py``
(docs/reference.md §5.7).

    x_j = [item_j ; cate_j]                                             [B, L, Di+Dc]
    M   = UserMemory(hidden_size, slots, cell)(x, mask)                  [B, S, H]
          (S - 1 interest slots + a highway slot, written step by step; layers/user_memory.py)
    u   = Σ_k p_k M_k, p = softmax_k((M_k W_q) · e_t)   (S > 1)          [B, H]
        = M_0                                           (S = 1)
    output [u ; e_t]                                                    [B, H+Di+Dc]

The memory is target-independent (``encode_history``); only the read-out reads the target.
``α`` and ``β`` of the cell stay out of the layer L2 term, as the reference's ``_no_reg``
variables do.
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.hparams import S, model_keys
from tf_lsrec.layers.initializers import fresh_initializer
from tf_lsrec.layers.user_memory import MemoryReadout, UserMemory
from tf_lsrec.models.base import SequentialModel

SUM_CELL_NAMES = {"SUM": "sum", "SUMV2": "sumv2"}
"""Microsoft's ``cell`` values -> :data:`tf_lsrec.layers.user_memory.SUM_CELLS`."""


class SUMModel(SequentialModel):
    """A multi-slot user memory written by the history, read out by the target item."""

    hparams_spec = model_keys(
        slots=S(int, 5, "SUM: memory slots, the highway slot included", check=lambda x: x >= 1,
                expect=">= 1"),
        cell=S(str, "SUM", "SUM: memory cell, SUM or SUMV2 (learned writing attention)",
               choices=tuple(SUM_CELL_NAMES)),
    )  # fmt: skip
    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("hidden_size", "slots", "cell")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        hp = hparams
        self.memory = UserMemory(
            hp.hidden_size, hp.slots, SUM_CELL_NAMES[hp.cell], name="user_memory"
        )
        self.readout = (
            MemoryReadout(fresh_initializer(self.initializer, "sum_query"), name="memory_readout")
            if hp.slots > 1 else None
        )  # fmt: skip

    def encode_history(self, batch, emb, training):
        """``memory [B, S, H]``: the user matrix after the last kept step."""
        return {"memory": self.memory(emb["history"], batch["mask"])}

    def prepare_history_for_scoring(self, history):
        if self.readout is None:
            return history
        return {**history, "memory_keys": self.readout.encode(history["memory"])}

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, H+Di+Dc]`` and ``memory_weights [B, S]`` (the read-out)."""
        memory, target = history["memory"], emb["target"]
        if self.readout is None:
            user = memory[:, 0]
            weights = tf.ones_like(memory[:, :, 0])
        else:
            user, weights = self.readout(target, memory, encoded=history.get("memory_keys"))
        return {"output": tf.concat([user, target], axis=-1), "memory_weights": weights}

    def layer_variables(self) -> list[tf.Variable]:
        cell = self.memory.cell  # None until the model is built
        keep_out = {id(v) for v in cell.unregularized_weights()} if cell is not None else set()
        return [v for v in super().layer_variables() if id(v) not in keep_out]
