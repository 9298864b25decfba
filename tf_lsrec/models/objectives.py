"""Auxiliary objectives a model composes next to its data loss.

An objective is a callable ``objective(batch, outputs, training) -> {name: weighted loss}``
(:class:`Objective`); ``outputs`` is the dict of ``SequentialModel.forward`` (the encoder's
tensors, ``logits`` and ``embeddings``). ``SequentialModel.compute_loss_parts`` adds the data
loss, the regularisation and every objective's parts, in the order the model lists them.

Objectives hold no variables of their own: the layers they call (``Seq2SeqSelfSupervision``,
``CLSRContrastiveLoss``, the CLSR user tables) are attributes of the model, so checkpoints and
``trainable_variables`` do not depend on how the objectives are composed.
"""

from __future__ import annotations

from typing import Protocol

import tensorflow as tf

from tf_lsrec.layers.contrastive import clsr_contrastive_terms
from tf_lsrec.layers.discrepancy import discrepancy_loss, unique_user_rows


class Objective(Protocol):
    def __call__(
        self, batch: dict[str, tf.Tensor], outputs: dict[str, tf.Tensor], training: bool
    ) -> dict[str, tf.Tensor]: ...


class Seq2SeqObjective:
    """Ma et al. (KDD'20) self-supervision: ``{"seq2seq_loss": weight × loss}``.

    Reads ``outputs["embeddings"]`` and, when the layer's ``past_encoder`` is ``"states"``, the
    encoder's causal per-step states ``outputs["history_states"] [B, L, H]``."""

    def __init__(self, layer, weight: float):
        self.layer = layer
        self.weight = float(weight)

    def __call__(self, batch, outputs, training):
        loss = self.layer(
            batch,
            outputs["embeddings"],
            past_states=outputs.get("history_states"),
            training=training,
        )
        return {"seq2seq_loss": self.weight * loss}

    def counters(self) -> dict[str, int]:
        """Rows the loss used / skipped so far (cumulative, training steps only)."""
        return {
            "seq2seq_rows_used": int(self.layer.rows_used.numpy()),
            "seq2seq_rows_skipped": int(self.layer.rows_skipped.numpy()),
        }


class ClozeObjective:
    """BERT4Rec's cloze task (Sun et al., CIKM'19, Eq. 8): ``{"cloze_loss": weight × loss}``,
    ``loss = loss_fn(batch, training)`` (the model's ``cloze_loss``, which encodes the masked
    sequences itself)."""

    def __init__(self, loss_fn, weight: float):
        self.loss_fn = loss_fn
        self.weight = float(weight)

    def __call__(self, batch, outputs, training):
        return {"cloze_loss": self.weight * self.loss_fn(batch, training)}


class CLSRContrastiveObjective:
    """CLSR §3.2.4: ``{"contrastive_loss": ...}`` from the interests and proxies of ``outputs``
    (``layer`` is a ``CLSRContrastiveLoss``, which applies its own weight)."""

    def __init__(self, layer):
        self.layer = layer

    def terms(self, batch, outputs) -> tuple[tf.Tensor, dict[int, tf.Tensor]]:
        return self.layer(
            outputs["long_interest"],
            outputs["short_interest"],
            outputs["long_proxy"],
            outputs["short_proxy"],
            batch["mask"],
        )

    def __call__(self, batch, outputs, training):
        return {"contrastive_loss": self.terms(batch, outputs)[0]}


class DiscrepancyObjective:
    """Official CLSR code: ``{"discrepancy_loss": −w mean_v (E_long[v] − E_short[v])²}`` over the
    batch's distinct users; ``tables()`` returns the two user tables ``[|U|, Du]``."""

    def __init__(self, tables, weight: float):
        self.tables = tables
        self.weight = weight

    def __call__(self, batch, outputs, training):
        long_rows, short_rows = unique_user_rows(batch["users"], *self.tables())
        return {"discrepancy_loss": discrepancy_loss(long_rows, short_rows, self.weight)}


class SLSRecContrastiveObjective:
    """SLSRec Eq. 15-17, 19: ``{"contrastive_loss": λ Σ_k f_k}`` with the proxies repeated to
    the interests' width (``Ū = [U ; U]``), on rows with at least two sessions."""

    def __init__(self, hparams):
        self.hparams = hparams

    def terms(self, outputs) -> dict[int, tf.Tensor]:
        """The unweighted triplet terms, numbered as ``clsr_contrastive_terms``."""
        hp = self.hparams
        return clsr_contrastive_terms(
            outputs["u_long"],
            outputs["u_short"],
            tf.concat([outputs["long_proxy"]] * 2, axis=-1),
            tf.concat([outputs["short_proxy"]] * 2, axis=-1),
            outputs["contrastive_rows"],
            loss=hp.contrastive_loss,
            form=hp.triplet_form,
            margin=hp.triplet_margin,
            pairs=hp.contrastive_pairs,
        )

    def __call__(self, batch, outputs, training):
        terms = self.terms(outputs)
        return {
            "contrastive_loss": self.hparams.contrastive_loss_weight
            * tf.add_n(list(terms.values()))
        }
