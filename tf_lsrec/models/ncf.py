"""NCF / NeuMF (He et al., WWW'17) as in the official CLSR code's ``ncf.py`` (docs/reference.md §5.10).

Four extra tables of width ``Du = user_embedding_dim`` (user-GMF, user-MLP, item-GMF, item-MLP,
configured initializer):

    gmf    = u_gmf ⊙ i_gmf                                                  [B, Du]
    mlp    = ReLU-Dense stack (ncf_layer_sizes, default [80, 40]) on [u_mlp ; i_mlp]
             (Glorot-uniform kernels, zero biases, no BN / dropout)        [B, 40]
    logit  = Dense(1, no bias, Glorot-uniform)([gmf ; mlp])                 [B, 1]

The history is ignored and the shared prediction MLP (``layer_sizes``) is not used: the encoder
returns ``logits`` directly. As in the reference the four tables are in neither L2 term (the
embedding L2 covers the shared item / category rows only; the layer L2 covers the dense
kernels and biases).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import S, model_keys
from tf_lsrec.layers.initializers import fresh_initializer
from tf_lsrec.layers.mlp import MLP
from tf_lsrec.models.base import SequentialModel


class NCFModel(SequentialModel):
    """Generalised matrix factorisation + an MLP tower on user and target-item ids."""

    hparams_spec = model_keys(
        ncf_layer_sizes=S(list, [80, 40], "NCF: MLP tower sizes (the official code's)"),
    )
    required_keys = ("user_embedding_dim", "ncf_layer_sizes")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        sizes, dim = self.data.vocab_sizes, hparams.user_embedding_dim
        self.user_gmf = self._embedding(sizes["user"], dim, "user_gmf")
        self.user_mlp = self._embedding(sizes["user"], dim, "user_mlp")
        self.item_gmf = self._embedding(sizes["item"], dim, "item_gmf")
        self.item_mlp = self._embedding(sizes["item"], dim, "item_mlp")
        layer_sizes = list(hparams.ncf_layer_sizes)
        xavier = keras.initializers.GlorotUniform(seed=self.seed)
        self.tower = MLP(
            layer_sizes, "relu", output_units=None, kernel_initializer=xavier, name="ncf_mlp"
        )
        self.logit_layer = keras.layers.Dense(
            1,
            use_bias=False,
            kernel_initializer=fresh_initializer(xavier, "ncf/logit"),
            name="ncf_logit",
        )

    def embedding_tables(self) -> list[tf.Variable]:
        """The shared tables plus the four NCF tables (all excluded from the layer L2)."""
        return super().embedding_tables() + [
            t.embeddings for t in (self.user_gmf, self.user_mlp, self.item_gmf, self.item_mlp)
        ]

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, Du + ncf_layer_sizes[-1]]`` and ``logits [B, 1]`` (no history
        is read; ``encode_history`` is the base's empty one)."""
        users, items = batch["users"], batch["items"]
        gmf = self.user_gmf(users) * self.item_gmf(items)
        tower_in = tf.concat([self.user_mlp(users), self.item_mlp(items)], axis=-1)
        output = tf.concat([gmf, self.tower(tower_in, training=training)], axis=-1)
        return {"output": output, "logits": self.logit_layer(output)}
