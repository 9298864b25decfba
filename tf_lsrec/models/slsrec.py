"""SLSRec (Zhou et al., 2026): session-based long/short-term interests with contrastive learning.

Reads top to bottom as §3 of the paper. ``x_j = [item_j ; cate_j]`` (``d = Di + Dc``) is the
embedding of history step ``j``, ``v_T = e_t = [item ; cate]`` the target (``[B, d]``).

    Eq. 1   S(1..k) = TSD(S, ω)            SessionSegmentation: current session S(k) [B, Ls],
                                            the S most recent earlier sessions [B, S, Ls]
    Eq. 2   u_s = Attention(S(k))           masked PlainAttention: a_j = softmax_j(x_j W q),
                                            u_s = Σ_j a_j x_j                          [B, d]
    Eq. 3   u_c = M u_s                     M = diag(m), m_j = [cate_j = dominant category]:
                                            u_c = Σ_j m_j a_j x_j (same weights a)     [B, d]
    Eq. 4   u^S = [u_s ; u_c]                                                          [B, 2d]
    Eq. 5   h_n = Attention(S(n))           a second masked PlainAttention per earlier session
    Eq. 6   h'_1..h'_{k-1} = GRU(h_1..h_{k-1})   TF1 GRU, hidden_size H                [B, S, H]
    Eq. 7-8 u_l  = Σ_i softmax_i(h_i^T W v_T) h_i          BilinearAttention            [B, d]
    Eq. 9   u'_l = Σ_i softmax_i(h'_i^T W' v_T) h'_i        (own W')                     [B, H]
            u^L = [u_l ; u'_l]                                                          [B, d+H]
    Eq. 10  α = σ(W_α [u^L ; u^S ; v_T] + b_α)             FusionGate, no hidden layer  [B, 1]
    Eq. 11  u^LS = α u^S + (1 − α) u^L                      (needs H = d)               [B, 2d]
    Eq. 12  ŷ = σ(MLP([u^LS ; v_T]))                        base head (layer_sizes)
    Eq. 13  U^L = mean of x_j over all steps before the current session               [B, d]
    Eq. 14  U^S = mean of x_j over the current session                                [B, d]
    Eq. 16  f(a, p, n) = max(‖a − p‖² − ‖a − n‖² + margin, 0)   (triplet_form: vector)
    Eq. 17  L_con = f(u^L, Ū^L, Ū^S) + f(u^S, Ū^S, Ū^L) + f(Ū^L, u^L, u^S) + f(Ū^S, u^S, u^L)
            with Ū = [U ; U] (the proxy repeated to the interests' width 2d), averaged over
            rows with at least two sessions
    Eq. 19  L = L_main + λ L_con            λ = contrastive_loss_weight

Ablations (paper Table 3): ``use_category_mask: False`` (m = the session mask, so u_c = u_s),
``use_long_term: False`` (u^LS = u^S; no session attention, GRU, pooling, gate),
``use_short_term: False`` (u^LS = u^L; no short-term attention, gate), ``contrastive_loss: none``.
The contrastive terms need both interests, so they are off whenever one side is ablated.
Choices where the paper is ambiguous are argued in ``docs/models/slsrec.md``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from tf_lsrec.hparams import S, model_keys, positive
from tf_lsrec.layers.attention import BilinearAttention, PlainAttention
from tf_lsrec.layers.category_mask import CategoryMask
from tf_lsrec.layers.fusion import FusionGate
from tf_lsrec.layers.interest_proxy import masked_mean
from tf_lsrec.layers.sequence_encoder import SequenceEncoder
from tf_lsrec.layers.session import (
    SECONDS_PER_UNIT,
    SessionSegmentation,
    gap_in_seconds,
    gather_steps,
    raw_time_scale,
)
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.blocks import CONTRASTIVE_KEYS, require_hidden_size_of_history
from tf_lsrec.models.objectives import SLSRecContrastiveObjective
from tf_lsrec.models.trainer import collect


def segmentation_from_hparams(hp: Any, name: str = "session_segmentation") -> SessionSegmentation:
    """The ``SessionSegmentation`` layer configured by ``session_gap`` / ``session_gap_unit`` /
    ``max_sessions`` / ``max_session_length`` / ``time_unit``."""
    return SessionSegmentation(
        gap_in_seconds(hp.session_gap, hp.session_gap_unit),
        hp.max_sessions,
        hp.max_session_length,
        time_scale=raw_time_scale(hp.time_unit),
        name=name,
    )


class SLSRecModel(SequentialModel):
    """SLSRec: session-segmented long-term encoder + category-masked short-term encoder."""

    hparams_spec = {
        **CONTRASTIVE_KEYS,
        **model_keys(
            session_gap=S(float, 90.0, "new session when the gap is >= this", check=positive,
                          expect="> 0"),
            session_gap_unit=S(str, "minutes", choices=tuple(SECONDS_PER_UNIT)),
            max_sessions=S(int, 10, check=positive, expect="> 0"),
            max_session_length=S(int, 20, check=positive, expect="> 0"),
            use_category_mask=S(bool, True, "ablation switch: category-masked short-term encoder"),
            use_long_term=S(bool, True, "ablation switch: session-level long-term encoder"),
            use_short_term=S(bool, True, "ablation switch: short-term encoder"),
        ),
    }  # fmt: skip
    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("hidden_size", "session_gap", "max_sessions", "max_session_length")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        hp = hparams
        self.use_long = bool(hp.use_long_term)
        self.use_short = bool(hp.use_short_term)
        self.use_category_mask = bool(hp.use_category_mask)
        if not (self.use_long or self.use_short):
            raise ValueError(
                "SLSRec: use_long_term and use_short_term are both False; at least one interest "
                "encoder is needed"
            )
        if self.use_long and self.use_short:
            require_hidden_size_of_history(
                hp,
                "SLSRec",
                "fuses u^L = [u_l ; u'_l] with u^S = [u_s ; u_c] by a weighted sum (Eq. 11)",
            )
        self.contrastive = (
            hp.contrastive_loss != "none"
            and hp.contrastive_loss_weight > 0
            and self.use_long
            and self.use_short
        )
        self.contrastive_objective = SLSRecContrastiveObjective(hp)
        if self.contrastive:  # Eq. 19: L = L_main + λ L_con
            self.add_objective(self.contrastive_objective)
        init = self.initializer
        self.segmentation = segmentation_from_hparams(hp)
        if self.use_short:
            self.short_attention = PlainAttention(
                use_mask=True, kernel_initializer=init, name="short_term_attention"
            )
            self.category_mask = CategoryMask(name="category_mask")
        if self.use_long:
            self.session_attention = PlainAttention(
                use_mask=True, kernel_initializer=init, name="session_attention"
            )
            self.session_gru = SequenceEncoder("gru", hp.hidden_size, name="session_gru")
            self.session_pooling = BilinearAttention(
                kernel_initializer=init, name="session_pooling"
            )
            self.evolution_pooling = BilinearAttention(
                kernel_initializer=init, name="evolution_pooling"
            )
        if self.use_long and self.use_short:
            self.fusion_gate = FusionGate(
                "adaptive", att_fcn_layer_sizes=[], kernel_initializer=init, name="fusion_gate"
            )

    # ------------------------------------------------------------------ §3.2
    def short_term(self, batch, emb, seg) -> dict[str, tf.Tensor]:
        """Eq. 2-4 on the current session: ``u_s``, ``u_c`` ``[B, d]``, ``u^S`` ``[B, 2d]``."""
        steps = gather_steps(emb["history"], seg["current_index"])  # [B, Ls, d]
        cur_mask = seg["current_mask"]
        u_s, weights = self.short_attention(steps, cur_mask)  # Eq. 2
        cates = gather_steps(batch["item_cate_history"], seg["current_index"])
        dominant, m = self.category_mask(cates, cur_mask)
        if not self.use_category_mask:  # ablation "w/o cate": M = I on the session
            m = cur_mask
        u_c = tf.reduce_sum((m * weights)[..., None] * steps, axis=1)  # Eq. 3
        return {
            "u_s": u_s,
            "u_c": u_c,
            "u_short": tf.concat([u_s, u_c], axis=-1),  # Eq. 4
            "short_weights": weights,
            "category_mask": m,
            "dominant_category": dominant,
        }

    # ------------------------------------------------------------------ §3.3
    def long_term_sessions(self, emb, seg) -> dict[str, tf.Tensor]:
        """Eq. 5-6, target-independent: ``session_vectors`` ``h [B, S, d]`` and their GRU
        evolution ``session_states [B, S, H]``."""
        steps = gather_steps(emb["history"], seg["session_index"])  # [B, S, Ls, d]
        n_sessions, session_len, d = steps.shape[1], steps.shape[2], steps.shape[3]
        flat, _ = self.session_attention(
            tf.reshape(steps, [-1, session_len, d]),
            tf.reshape(seg["session_mask"], [-1, session_len]),
        )
        h = tf.reshape(flat, [-1, n_sessions, d])  # Eq. 5, [B, S, d]
        h_evolved, _ = self.session_gru(h, seg["sessions_mask"])  # Eq. 6, [B, S, H]
        return {"session_vectors": h, "session_states": h_evolved}

    def long_term(self, emb, sessions, sessions_mask) -> dict[str, tf.Tensor]:
        """Eq. 7-9, against the target: ``u_l [B, d]``, ``u'_l [B, H]``, ``u^L``."""
        h = sessions["session_vectors"]
        u_l, session_weights = self.session_pooling(emb["target"], h, sessions_mask)  # Eq. 7-8
        u_l2, _ = self.evolution_pooling(emb["target"], sessions["session_states"], sessions_mask)
        return {
            "u_l": u_l,
            "u_l_evolved": u_l2,
            "u_long": tf.concat([u_l, u_l2], axis=-1),  # Eq. 9
            "session_weights": session_weights,
        }

    # ------------------------------------------------------------------ §3.4
    def encode_history(self, batch, emb, training):
        """Segmentation counts, the short-term encoder (it reads no target), the session vectors
        and their GRU states, and the proxies' inputs."""
        seg = self.segmentation(batch["time_history"], batch["mask"])  # Eq. 1
        out: dict[str, tf.Tensor] = {
            "num_sessions": seg["num_sessions"],
            "dropped_sessions": seg["dropped_sessions"],
            "dropped_items": seg["dropped_items"],
        }
        if self.use_short:
            out.update(self.short_term(batch, emb, seg))
        if self.use_long:
            out.update(self.long_term_sessions(emb, seg))
            out["sessions_mask"] = seg["sessions_mask"]
        if self.contrastive:
            history = emb["history"]
            out["long_proxy"] = masked_mean(history, seg["earlier_positions"])  # Eq. 13
            out["short_proxy"] = masked_mean(history, seg["current_positions"])  # Eq. 14
            out["contrastive_rows"] = tf.cast(seg["num_sessions"] >= 2, tf.float32)
        return out

    def score_targets(self, batch, emb, history, training):
        out = dict(history)
        if self.use_long:
            out.update(self.long_term(emb, history, history["sessions_mask"]))
        if self.use_long and self.use_short:
            gate_in = tf.concat([out["u_long"], out["u_short"], emb["target"]], axis=-1)
            # FusionGate returns α ⊙ first + (1 − α) ⊙ second; Eq. 11 gives α to u^S
            fused, alpha = self.fusion_gate(
                out["u_short"], out["u_long"], gate_in, training=training
            )  # Eq. 10-11
            out["alpha"] = alpha
        else:
            fused = out["u_short"] if self.use_short else out["u_long"]
        out["user"] = fused
        out["output"] = tf.concat([fused, emb["target"]], axis=-1)  # Eq. 12 input
        return out

    # ------------------------------------------------------------------ §3.5
    def contrastive_terms(self, outputs) -> dict[int, tf.Tensor]:
        """Eq. 15-17: the four triplet terms (unweighted), numbered as
        :func:`tf_lsrec.layers.contrastive.clsr_contrastive_terms`."""
        return self.contrastive_objective.terms(outputs)

    # ------------------------------------------------------------------ diagnostics
    def session_statistics(self, filename: str) -> dict[str, float]:
        """How the segmentation cuts a file's histories (for choosing ``session_gap``).

        Returns ``lines``, ``mean_sessions`` (k per line), ``single_session_lines`` (no earlier
        session: u^L = 0 and no contrastive term), ``mean_current_length``,
        ``dropped_sessions`` and ``dropped_items`` (totals cut by max_sessions /
        max_session_length).
        """
        keys = ("num_sessions", "dropped_sessions", "dropped_items")

        def step(batch):
            seg = self.segmentation(batch["time_history"], batch["mask"])
            current = tf.reduce_sum(seg["current_mask"], axis=-1)
            return {"current_length": current, **{k: seg[k] for k in keys}}

        cols = collect(self.data.eval_dataset(filename), step, what=str(filename))
        k = cols["num_sessions"]
        n = max(len(k), 1)
        return {
            "lines": float(len(k)),
            "mean_sessions": float(k.sum() / n),
            "single_session_lines": float((k == 1).sum()),
            "mean_current_length": float(cols["current_length"].sum() / n),
            "dropped_sessions": float(cols["dropped_sessions"].sum()),
            "dropped_items": float(cols["dropped_items"].sum()),
        }


SLSRECModel = SLSRecModel
