"""SLi-Rec (Yu et al., IJCAI'19) as in Microsoft Recommenders (docs/reference.md §5.3).

    long-term   u_l = Σ_j PlainAttention([item_j ; cate_j])                       [B, Di+Dc]
    short-term  O   = Time4LSTM([item_j ; time_from_first_action_j ; time_to_now_j])  [B, L, H]
                u_s = Σ_j AttentionPooling(query=e_t, keys=O)                    [B, H]
    fusion      α   = σ(MLP_att([e_t ; u_l ; u_s ; τ]))                          [B, 1]
                      (``manual_alpha: true``: the constant ``manual_alpha_value``, no gate)
                u   = α u_l + (1 − α) u_s                                        [B, H]
    output      [u ; e_t]                                                        [B, H+Di+Dc]

``τ`` is ``time_to_now[:, L-1]`` (the last *slot*, padding for short histories: the reference quirk,
``fusion_time_feature: last_column``) or the last real event (``last_event``). The long-term
attention ignores the mask as the reference does unless ``mask_long_attention`` is set.
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.layers.attention import PlainAttention
from tf_lsrec.layers.sequence_encoder import SequenceEncoder
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.blocks import (
    FUSION_TIME_KEYS,
    LONG_ATTENTION_KEYS,
    MANUAL_ALPHA_KEYS,
    last_time_to_now,
    require_hidden_size_of_history,
)


class SLIRECModel(SequentialModel):
    """SLi-Rec: attentive long-term user vector + time-aware LSTM short-term vector, gated."""

    hparams_spec = {**LONG_ATTENTION_KEYS, **FUSION_TIME_KEYS, **MANUAL_ALPHA_KEYS}
    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("attention_size", "hidden_size", "att_fcn_layer_sizes")
    grouped_history_keys = ("outputs", "short_keys", "history_mask")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        hp = hparams
        require_hidden_size_of_history(
            hp, "SLi-Rec", "mixes the long-term vector with the short-term one"
        )
        self.long_attention = PlainAttention(
            attention_size=hp.attention_size,
            use_mask=hp.mask_long_attention,
            kernel_initializer=self.initializer,
            name="long_term_attention",
        )
        self.short_rnn = SequenceEncoder("time4lstm", hp.hidden_size, name="short_term_rnn")
        self.short_attention = self.attention_pooling("short_term_attention")
        # manual_alpha (CLSR paper, RQ2): a fixed weight, so no gate variables at all
        self.manual_alpha = hp.manual_alpha_value if hp.manual_alpha else None
        if self.manual_alpha is None:
            self.fusion_gate = self.mlp(hp.att_fcn_layer_sizes, name="fusion_gate")

    def encode_history(self, batch, emb, training):
        """``u_long [B, H]``, the Time4LSTM ``outputs`` ``[B, L, H]``, ``tau [B, 1]`` and the
        ``history_mask [B, L]`` the target attention needs."""
        mask = batch["mask"]
        u_long, _ = self.long_attention(emb["history"], mask)
        rnn_in = tf.concat(
            [
                emb["item_history"],
                batch["time_from_first_action"][..., None],
                batch["time_to_now"][..., None],
            ],
            axis=-1,
        )
        outputs, _ = self.short_rnn(rnn_in, mask, training=training)
        tau = last_time_to_now(batch, self.hparams.fusion_time_feature)
        return {"u_long": u_long, "outputs": outputs, "tau": tau, "history_mask": mask}

    def prepare_history_for_scoring(self, history):
        return {**history, "short_keys": self.short_attention.encode_keys(history["outputs"])}

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, H+Di+Dc]``, ``alpha [B, 1]`` and the two vectors it mixes,
        ``u_long`` / ``u_short`` ``[B, H]`` (for probes such as tools/disentanglement.py)."""
        u_long, tau = history["u_long"], history["tau"]
        u_short, _ = self.short_attention(
            emb["target"],
            history["outputs"],
            history["history_mask"],
            training=training,
            encoded_keys=history.get("short_keys"),
        )
        if self.manual_alpha is None:
            gate_in = tf.concat([emb["target"], u_long, u_short, tau], axis=-1)
            alpha = tf.sigmoid(self.fusion_gate(gate_in, training=training))
        else:
            alpha = tf.fill([tf.shape(u_long)[0], 1], tf.cast(self.manual_alpha, u_long.dtype))
        user = alpha * u_long + (1.0 - alpha) * u_short
        return {
            "output": tf.concat([user, emb["target"]], axis=-1),
            "alpha": alpha,
            "u_long": u_long,
            "u_short": u_short,
        }


SLI_RECModel = SLIRECModel
