"""CLSR (Zheng et al., "Disentangling Long and Short-Term Interests for Recommendation", WWW'22).

Faithful to the official code (docs/reference.md §7); the paper's variants are switches.
Comments cite the paper's sections (§3.2.1 queries, §3.2.2 long-term encoder, §3.2.3
short-term encoder, §3.2.4 self-supervised disentanglement, §3.2.5 adaptive fusion and
prediction); ``x_j = [E_i(item_j) ; E_c(cate_j)]``, ``X [B, L, Dh]``,
``m`` the mask, ``ℓ = Σ_j m_j``, ``e_t = [E_i(item) ; E_c(cate)]`` the target.

    queries (§3.2.1)      q_L = E_long[u]                                         [B, Du]
                          q_S = GRU(X; h_0 = E_short[u])  (interest_evolve)        [B, Du]
                                or E_short[u]             (interest_evolve False)
    long-term (§3.2.2)    I_L = Σ_j AttentionPooling(q_L, X)_j                    [B, Dh]
    short-term (§3.2.3)   O  = RNN_seq([x_j ; time_from_first_action_j ; time_to_now_j])
                          I_S = Σ_j AttentionPooling([q_S ; e_t], O)_j            [B, H]
    proxies (§3.2.4)      P_L = mean of the kept x_j;  P_S = mean of the last min(k, ℓ) x_j
    contrastive (§3.2.4)  L_con = w_con Σ_{k in pairs} mean_{ℓ > threshold} f_k
    fusion (§3.2.5)       h_F = GRU(X)  (predict_long_short)
                          α   = σ(MLP_att([h_F ; e_t ; I_L ; I_S ; τ]))           [B, 1]
                          U   = α I_L + (1 − α) I_S                               [B, H]
    prediction (§3.2.5)   logit = MLP([U ; e_t])
    official extra        L_disc = − w_disc mean_{v ∈ users(batch)} (E_long[v] − E_short[v])²

``τ`` is ``time_to_now[:, L-1]`` (official code: the last *column*, padding for short histories;
``fusion_time_feature: last_event`` reads the last real event instead). See ``docs/models/clsr.md``
for every switch and every paper/code difference.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_lsrec.evaluation.metrics import evaluate
from tf_lsrec.hparams import S, model_keys, non_negative, positive
from tf_lsrec.layers.contrastive import PAIRS, CLSRContrastiveLoss
from tf_lsrec.layers.discrepancy import unique_user_rows
from tf_lsrec.layers.fusion import FUSION_MODES, FusionGate
from tf_lsrec.layers.interest_proxy import InterestProxy
from tf_lsrec.layers.sequence_encoder import SequenceEncoder
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.blocks import (
    CONTRASTIVE_KEYS,
    FUSION_TIME_KEYS,
    MANUAL_ALPHA_KEYS,
    last_time_to_now,
    require_hidden_size_of_history,
)
from tf_lsrec.models.objectives import CLSRContrastiveObjective, DiscrepancyObjective
from tf_lsrec.utils.files import atomic_path


def resolve_fusion(hparams) -> str:
    """The fusion mode: ``fusion``, with the official ``manual_alpha: True`` meaning ``fixed``."""
    fusion = hparams.fusion
    if hparams.manual_alpha:
        if fusion == "concat":
            raise ValueError(
                "CLSR hyper-parameters: `manual_alpha: True` (a fixed mixing weight) contradicts "
                "`fusion: concat` (no mixing weight); set one of them"
            )
        return "fixed"
    return fusion


class CLSRModel(SequentialModel):
    """CLSR: contrastively disentangled long- and short-term interests, adaptively fused.

    Extra state over :class:`SequentialModel`: two user tables ``user_long`` and ``user_short``
    (``[|U|, user_embedding_dim]``); the base ``user`` table exists but is not read, as in
    the official code.

    The encoder is split (``encode_history`` / ``score_targets``); its output dict holds
    ``output [B, H + Di + Dc]`` (``[B, 2H + Di + Dc]`` for
    ``fusion: concat``, ``[B, Di + Dc + Dh]`` style for ``predict_mode`` long/short), ``alpha``
    (``[B, 1]``; ``[B, 0]`` for concat), and the four contrastive inputs ``long_interest``,
    ``short_interest``, ``long_proxy``, ``short_proxy`` (``[B, Dh]`` each; absent when unused).
    """

    hparams_spec = {
        **CONTRASTIVE_KEYS,
        **FUSION_TIME_KEYS,
        **MANUAL_ALPHA_KEYS,
        **model_keys(
            contrastive_length_threshold=S(int, 5, "contrastive terms only for rows longer than "
                                           "this", check=non_negative, expect=">= 0"),
            contrastive_recent_k=S(int, 3, "short-term proxy window", check=positive,
                                   expect="> 0"),
            discrepancy_loss_weight=S(float, 0.01, check=non_negative, expect=">= 0"),
            interest_evolve=S(bool, True, "short-term query from a GRU over the history"),
            predict_long_short=S(bool, True, "fusion input includes a GRU summary of the history"),
            fusion=S(str, "adaptive", "how the two interests are fused", choices=FUSION_MODES),
            predict_mode=S(str, "both", "use both interests or one",
                           choices=("both", "long", "short")),
            sequential_model=S(str, "time4lstm", "short-term encoder cell",
                               choices=("time4lstm", "gru", "lstm")),
        ),
    }  # fmt: skip
    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("hidden_size", "att_fcn_layer_sizes", "user_embedding_dim",
                     "discrepancy_loss_weight", "contrastive_loss_weight", "is_clip_norm",
                     "contrastive_length_threshold")  # fmt: skip
    grouped_history_keys = ("short_sequence", "short_keys", "history_mask")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        hp = hparams
        require_hidden_size_of_history(hp, "CLSR", "compares and mixes I_L with I_S")
        pairs = list(hp.contrastive_pairs)
        if not pairs or any(p not in PAIRS for p in pairs) or len(set(pairs)) != len(pairs):
            raise ValueError(
                f"CLSR hyper-parameter `contrastive_pairs` = {pairs}; expected a non-empty "
                f"subset of {list(PAIRS)} without repeats"
            )
        self.fusion_mode = resolve_fusion(hp)
        self.predict_mode = hp.predict_mode
        self.use_contrastive = hp.contrastive_loss != "none" and hp.contrastive_loss_weight > 0
        self.use_discrepancy = hp.discrepancy_loss_weight > 0
        sizes = self.data.vocab_sizes

        # §3.2.1: the two query sources, separate user tables (official code)
        self.user_long_embedding = self._embedding(
            sizes["user"], hp.user_embedding_dim, "user_long"
        )
        self.user_short_embedding = self._embedding(
            sizes["user"], hp.user_embedding_dim, "user_short"
        )
        self.interest_gru = (
            SequenceEncoder("gru", hp.user_embedding_dim, name="interest_evolution_gru")
            if hp.interest_evolve
            else None
        )
        # §3.2.2: long-term encoder
        self.long_attention = self.attention_pooling("long_term_attention")
        # §3.2.3: short-term encoder
        self.short_rnn = SequenceEncoder(hp.sequential_model, hp.hidden_size, name="short_term_rnn")
        self.short_attention = self.attention_pooling("short_term_attention")
        # §3.2.4: proxies
        self.long_proxy = InterestProxy("all", name="long_term_proxy")
        self.short_proxy = InterestProxy("recent", hp.contrastive_recent_k, name="short_term_proxy")
        # §3.2.4: contrastive loss
        self.contrastive = None
        self.contrastive_objective = None
        if self.use_contrastive:
            self.contrastive = CLSRContrastiveLoss(
                hp.contrastive_loss,
                hp.triplet_form,
                hp.triplet_margin,
                pairs,
                hp.contrastive_loss_weight,
                hp.contrastive_length_threshold,
                name="contrastive_loss",
            )
            self.contrastive_objective = CLSRContrastiveObjective(self.contrastive)
            self.add_objective(self.contrastive_objective)
        if self.use_discrepancy:  # official code
            self.add_objective(DiscrepancyObjective(self._user_tables, hp.discrepancy_loss_weight))
        # §3.2.5: fusion
        self.fusion = None
        self.fusion_gru = None
        if self.predict_mode == "both":
            n = len(hp.att_fcn_layer_sizes)
            self.fusion = FusionGate(
                self.fusion_mode,
                hp.att_fcn_layer_sizes,
                hp.activation[:n],
                dropout_rates=hp.dropout[:n] if hp.user_dropout else None,
                use_bn=hp.enable_BN,
                kernel_initializer=self.initializer,
                alpha_value=hp.manual_alpha_value,
                name="fusion_gate",
            )
            if self.fusion_mode == "adaptive" and hp.predict_long_short:
                self.fusion_gru = SequenceEncoder("gru", hp.hidden_size, name="fusion_gru")

    # ------------------------------------------------------------------ building blocks
    def embedding_tables(self) -> list[tf.Variable]:
        self._build_user_tables()
        return super().embedding_tables() + [
            self.user_long_embedding.embeddings,
            self.user_short_embedding.embeddings,
        ]

    def _build_user_tables(self) -> None:
        for table in (self.user_long_embedding, self.user_short_embedding):
            if not table.built:
                table.build((None,))

    def _user_tables(self) -> tuple[tf.Variable, tf.Variable]:
        """The ``user_long`` and ``user_short`` tables ``[|U|, Du]`` (built if needed)."""
        self._build_user_tables()
        return self.user_long_embedding.embeddings, self.user_short_embedding.embeddings

    def _needs(self) -> tuple[bool, bool]:
        """Whether the long / short encoders run: for prediction or for the contrastive terms."""
        long = self.predict_mode in ("both", "long") or self.use_contrastive
        short = self.predict_mode in ("both", "short") or self.use_contrastive
        return long, short

    # ------------------------------------------------------------------ forward pass
    def encode_history(self, batch, emb, training):
        """Everything that does not read the target: ``long_interest`` / ``long_attention``,
        the short-term query ``short_query`` and RNN outputs ``short_sequence``, the proxies,
        and the fusion gate's ``tau`` / ``fusion_state`` (each present when used)."""
        hp = self.hparams
        mask = batch["mask"]
        x = emb["history"]  # X [B, L, Dh]
        u_long = self.user_long_embedding(batch["users"])
        u_short = self.user_short_embedding(batch["users"])
        if hp.embedding_dropout > 0:  # official code: dropout after each lookup
            u_long = self.embedding_dropout(u_long, training=training)
            u_short = self.embedding_dropout(u_short, training=training)
        need_long, need_short = self._needs()
        out = {}

        # §3.2.2: I_L = Σ_j a_j x_j, attention query q_L = u_long
        if need_long:
            out["long_interest"], out["long_attention"] = self.long_attention(
                u_long, x, mask, training=training
            )
        # §3.2.1, §3.2.3: q_S and O (the attention with [q_S ; e_t] is in score_targets)
        if need_short:
            if self.interest_gru is not None:
                _, q_short = self.interest_gru(x, mask, initial_state=u_short, training=training)
            else:
                q_short = u_short
            if hp.sequential_model == "time4lstm":
                rnn_in = tf.concat(
                    [
                        x,
                        batch["time_from_first_action"][..., None],
                        batch["time_to_now"][..., None],
                    ],
                    axis=-1,
                )
            else:
                rnn_in = x
            out["short_query"] = q_short
            out["short_sequence"], _ = self.short_rnn(rnn_in, mask, training=training)
            out["history_mask"] = mask
        # §3.2.4: proxies (no stop-gradient, as the official code)
        if self.use_contrastive:
            out["long_proxy"] = self.long_proxy(x, mask)
            out["short_proxy"] = self.short_proxy(x, mask)
        # §3.2.5: the target-independent inputs of the adaptive gate
        if self.predict_mode == "both" and self.fusion_mode == "adaptive":
            out["tau"] = last_time_to_now(batch, hp.fusion_time_feature)
            if self.fusion_gru is not None:
                _, out["fusion_state"] = self.fusion_gru(x, mask, training=training)
        return out

    def history_dropout(self) -> bool:
        """Embedding dropout, or ``dropout`` in the long-term attention MLP (``user_dropout``)."""
        hp = self.hparams
        n = len(hp.att_fcn_layer_sizes)
        mlp_dropout = hp.user_dropout and any(r > 0 for r in hp.dropout[:n])
        return super().history_dropout() or (self._needs()[0] and mlp_dropout)

    def prepare_history_for_scoring(self, history):
        if "short_sequence" not in history:
            return history
        # q_S is the same for every target: its part of the attention's V * [q_S ; e_t] term is
        # computed once here, per candidate only the e_t part remains
        keys = self.short_attention.encode_keys(
            history["short_sequence"], query_prefix=history["short_query"]
        )
        return {**history, "short_keys": keys}

    def score_targets(self, batch, emb, history, training):
        """``history`` plus ``short_interest`` / ``short_attention``, ``output`` and ``alpha``."""
        target = emb["target"]  # e_t [B, Dh]
        out = dict(history)
        encoded_keys = out.pop("short_keys", None)
        # §3.2.3: I_S with the target-aware query [q_S ; e_t] (official code)
        if "short_sequence" in out:
            query = tf.concat([out["short_query"], target], axis=-1)
            out["short_interest"], out["short_attention"] = self.short_attention(
                query,
                out.pop("short_sequence"),
                out.pop("history_mask"),
                training=training,
                encoded_keys=encoded_keys,
            )

        # §3.2.5: fusion, or one interest only (predict_mode ablations)
        rows = tf.shape(target)[0]
        if self.predict_mode == "long":
            user, alpha = out["long_interest"], tf.ones([rows, 1], target.dtype)
        elif self.predict_mode == "short":
            user, alpha = out["short_interest"], tf.zeros([rows, 1], target.dtype)
        else:
            gate_in = None
            if self.fusion_mode == "adaptive":
                parts = [target, out["long_interest"], out["short_interest"], out["tau"]]
                if self.fusion_gru is not None:
                    parts = [out["fusion_state"]] + parts
                gate_in = tf.concat(parts, axis=-1)
            user, alpha = self.fusion(
                out["long_interest"], out["short_interest"], gate_in, training=training
            )
        # §3.2.5: model_output = [U ; e_t]
        out["output"] = tf.concat([user, target], axis=-1)
        out["alpha"] = alpha
        return out

    # ------------------------------------------------------------------ losses
    def embedding_regularization_rows(self, batch) -> list[tf.Tensor]:
        """Base rows plus the ``user_long`` / ``user_short`` rows of the batch's unique users."""
        long_rows, short_rows = unique_user_rows(batch["users"], *self._user_tables())
        return super().embedding_regularization_rows(batch) + [long_rows, short_rows]

    def contrastive_terms(self, batch, training: bool = False) -> dict[int, tf.Tensor]:
        """The unweighted contrastive terms ``{k: scalar}`` of a batch (for analysis)."""
        if self.contrastive_objective is None:
            return {}
        return self.contrastive_objective.terms(batch, self.forward(batch, training=training))[1]

    # ------------------------------------------------------------------ CLSR evaluation API
    def _collect_with_alpha(self, filename, raw_ids: bool = False, num_ngs: int | None = None):
        """Scores, fusion weights ``alpha [N, 1 or 0]``, labels and users of a file's lines
        (``num_ngs``: the file's groups, whose histories are then encoded once)."""
        group_size = self.trainer.eval_group_size(num_ngs)

        def step(batch):
            out = self.forward(batch, training=False, group_size=group_size)
            return {"scores": self._scores_from_logits(out["logits"]), "alpha": out["alpha"]}

        keys = ("labels", "users") + (("user_id", "item_id") if raw_ids else ())
        step = self.trainer.compiled(f"alpha_g{group_size or 1}", step)
        return self.trainer.collect(filename, step, keys, raw_ids=raw_ids, group_size=group_size)

    def _alpha_column(self, alpha: np.ndarray, what: str) -> np.ndarray:
        if alpha.ndim != 1:  # [N, 0]: no weight (collect returns [N, 1] columns as [N])
            raise ValueError(
                f"{what}: `fusion: concat` has no fusion weight alpha; use fusion adaptive or "
                "fixed (or predict_mode long/short, where alpha is 1/0)"
            )
        return alpha

    def run_weighted_eval(
        self, filename, num_ngs: int, calc_mean_alpha: bool = False
    ) -> dict[str, float]:
        """CLSR code API: :meth:`run_eval`'s metrics (weighted ones included), plus
        ``mean_alpha`` (the mean fusion weight on positive rows, docs/reference.md §4.4) when
        ``calc_mean_alpha``."""
        if not calc_mean_alpha:
            return self.run_eval(filename, num_ngs)
        cols = self._collect_with_alpha(filename, num_ngs=num_ngs)
        alphas = self._alpha_column(cols["alpha"], "run_weighted_eval(calc_mean_alpha=True)")
        return evaluate(
            cols["labels"], cols["scores"], cols["users"], self.hparams, num_ngs, alphas=alphas
        )

    def export_alpha(self, filename, outfile) -> int:
        """Write ``user, item, label, score, alpha`` per line of ``filename`` to ``outfile``
        (TSV with a header, raw user/item ids from the file, written atomically).

        Returns the number of rows written.
        """
        cols = self._collect_with_alpha(filename, raw_ids=True)
        alphas = self._alpha_column(cols["alpha"], "export_alpha")
        rows = zip(cols["user_id"], cols["item_id"], cols["labels"], cols["scores"], alphas)
        with atomic_path(outfile) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write("user\titem\tlabel\tscore\talpha\n")
            for user, item, label, score, alpha in rows:
                f.write(
                    f"{user.decode()}\t{item.decode()}\t{int(label)}\t{float(score)!r}\t"
                    f"{float(alpha)!r}\n"
                )
        return len(alphas)
