"""SURGE (Chang et al., SIGIR'21) as in the official SURGE code's ``surge.py`` (docs/reference.md
§5.15).

    X        = [item_j ; cate_j]                                   [B, L, D]
    A        = InterestGraph(X) (metric learning, relative-rank sparsification)  [B, L, L]
    X', α'   = InterestFusion(X, A) (cluster-aware graph attentive convolution)
                                                                    [B, L, D], [B, L]
    X_p, r   = InterestGraphPooling(e_t, X', α') (query-aware top-min(n, P) pooling)
                                                                    [B, P', D], [B, D]
    a        = AttentionPooling(query=e_t, keys=X_p) weights        [B, P']
    f        = final state of AUGRU([X_p ; a])                      [B, H]
    output   [f ; r ; e_t ; r ⊙ e_t]                                [B, H+3D]

``P' = min(L, pool_length)``. The graph and the fusion are target-independent
(``encode_history``; the reference's target term in the fusion cancels exactly, see
``layers/graph_convolution.py``); the pooling's query-aware attention and the AUGRU run per
target (``score_targets``).
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.hparams import S, model_keys, positive
from tf_lsrec.layers.graph_convolution import InterestFusion
from tf_lsrec.layers.graph_pooling import InterestGraphPooling
from tf_lsrec.layers.interest_graph import InterestGraph
from tf_lsrec.layers.sequence_encoder import SequenceEncoder
from tf_lsrec.models.base import SequentialModel


def _share(x) -> bool:
    return 0.0 < x <= 1.0


class SURGEModel(SequentialModel):
    """Interest graph per history, graph convolution and pooling, AUGRU over the pooled steps."""

    hparams_spec = model_keys(
        pool_length=S(
            int,
            30,
            "SURGE: most history steps kept by the graph pooling (reference: "
            "30 on Taobao, 150 on Kuaishou)",
            check=positive,
            expect="> 0",
        ),
        relative_threshold=S(
            float,
            0.5,
            "SURGE: share of the non-zero node similarities kept as graph edges",
            check=_share,
            expect="in (0, 1]",
        ),
    )
    serving_jit_compile = True  # XLA-compiled serving measured faster (docs/serving.md)
    required_keys = ("hidden_size", "att_fcn_layer_sizes", "pool_length", "relative_threshold")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        hp = hparams
        n = len(hp.att_fcn_layer_sizes)
        self.interest_graph = InterestGraph(
            hp.relative_threshold, seed=self.seed, name="interest_graph"
        )
        attention = dict(
            att_fcn_layer_sizes=hp.att_fcn_layer_sizes,
            activations=hp.activation[:n],
            dropout_rates=hp.dropout[:n] if hp.user_dropout else None,
            use_bn=hp.enable_BN,
            kernel_initializer=self.initializer,
        )
        self.fusion = InterestFusion(**attention, seed=self.seed, name="interest_fusion")
        self.graph_pooling = InterestGraphPooling(hp.pool_length, **attention, name="graph_pooling")
        self.augru_attention = self.attention_pooling("augru_attention")
        self.augru = SequenceEncoder("augru", hp.hidden_size, name="augru")

    def history_dropout(self) -> bool:
        """Embedding dropout, or ``dropout`` in the cluster-aware attention MLP (``user_dropout``)."""
        hp = self.hparams
        n = len(hp.att_fcn_layer_sizes)
        return super().history_dropout() or (hp.user_dropout and any(r > 0 for r in hp.dropout[:n]))

    def encode_history(self, batch, emb, training):
        """The fused steps ``fused [B, L, D]`` and their cluster fitness ``cluster_weights
        [B, L]``."""
        nodes, mask = emb["history"], batch["mask"]
        adjacency = self.interest_graph(nodes, mask)
        fused, cluster_weights = self.fusion(nodes, mask, adjacency, training=training)
        return {"fused": fused, "cluster_weights": cluster_weights}

    def prepare_history_for_scoring(self, history):
        """Per user: the key sides of both attentions and the AUGRU's input projection
        (``augru_inputs [B, L, 3H]``) of every fused step; a candidate's pooled steps are a
        gather of these (``score_targets``)."""
        fused = history["fused"]
        return {
            **history,
            "query_keys": self.graph_pooling.encode_query_keys(fused),
            "augru_keys": self.augru_attention.encode_keys(fused),
            "augru_inputs": self.augru.cell.project_inputs(fused),
        }

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, H+3D]``, ``pooled_mask [B, P']`` and ``cluster_scores [B, L]``
        (``γ``)."""
        target = emb["target"]
        pooled, pooled_mask, readout, scores, order = self.graph_pooling(
            target,
            history["fused"],
            batch["mask"],
            history["cluster_weights"],
            training=training,
            query_keys=history.get("query_keys"),
            return_order=True,
        )
        if "augru_inputs" in history and not training:
            # Serving / shared-history inference: the pooled steps' key sides and AUGRU input
            # projections are gathers of the per-history ones; only the recurrence is per
            # candidate.
            def pick(t):
                return tf.gather(t, order, batch_dims=1)

            keys = {k: pick(v) for k, v in history["augru_keys"].items()}
            _, weights = self.augru_attention(
                target, pooled, pooled_mask, training=training, encoded_keys=keys
            )
            final = self.augru.final_state_from_projection(
                pick(history["augru_inputs"]), pooled_mask, weights
            )
        else:
            _, weights = self.augru_attention(target, pooled, pooled_mask, training=training)
            _, final = self.augru(
                tf.concat([pooled, weights[..., None]], axis=-1), pooled_mask, training=training
            )
        return {
            "output": tf.concat([final, readout, target, readout * target], axis=-1),
            "pooled_mask": pooled_mask,
            "cluster_scores": scores,
        }
