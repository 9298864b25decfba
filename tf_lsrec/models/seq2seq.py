"""Sequence-to-sequence disentangled self-supervision (Ma et al., KDD 2020) for any model.

An auxiliary loss added to a model's next-item loss: the steps *after* a split point of the
history are compressed into ``K`` intention vectors, and the model must recognise them (InfoNCE
over the batch) from the steps *before* the split, on the ``ceil(ρ K)`` most reliable
intentions only. Equations: :mod:`tf_lsrec.layers.intentions` and ``docs/models/seq2seq_ssl.md``.

Our lines carry one target and its past history (Microsoft format), so the future sub-sequence
is cut out of the history itself (:func:`split_history`):

    ℓ_b = Σ_j m_bj,  f_b = min(F, ⌊ℓ_b / 2⌋)       (F = ``future_length``)
    past   = steps j <  ℓ_b − f_b                   (at least f_b steps)
    future = steps ℓ_b − f_b <= j < ℓ_b             (the last f_b real steps)
    a row takes part iff f_b >= 1 (ℓ_b >= 2) and its ``sample_weight`` > 0.

Encoders (all owned by :class:`Seq2SeqSelfSupervision`):

    future  (z, w)  = IntentionEncoder(X, m_future)                         [B, K, D], [B, K]
    past    H       = GRU(X, m_past)                 (``past_encoder="gru"``)     [B, L, H]
                      or the model's causal per-step states (``"states"``)
            ẑ       = IntentionEncoder(Dense_D(H), m_past)   (same prototypes)  [B, K, D]
    loss            = seq2seq_disentangled_loss(ẑ, z, w, ρ, τ, rows, copies)

Training batches repeat each history once per negative; by default (``dedupe``) the loss is
computed on one row per distinct history, otherwise copies are excluded as each other's
negatives. ``X = emb["history"] = [E_i(item_j) ; E_c(cate_j)]``, so the loss trains the
shared embedding tables (and, with ``"states"``, the model's own encoder). The same prototypes assign both sides,
so intention ``k`` of the past and of the future refer to the same region of the item space.

A model switches it on with ``seq2seq_loss_weight > 0``; the weighted term is reported as
``seq2seq_loss`` (``tf_lsrec.models.objectives.Seq2SeqObjective``).
"""

from __future__ import annotations

import inspect
from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import S, model_keys, non_negative, positive
from tf_lsrec.layers.intentions import (
    KEEP_BY,
    IntentionEncoder,
    num_kept,
    seq2seq_disentangled_loss,
)
from tf_lsrec.layers.sequence_encoder import SequenceEncoder

DEFAULT_FUTURE_LENGTH = 8
"""``F``: at most this many last history steps form the future (2 × the default ``K`` = 4)."""
PAST_ENCODERS = ("gru", "states")


def split_history(mask: tf.Tensor, future_length: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Split left-aligned histories into past and future (module docstring).

    Args:
      mask: ``[B, L]`` 1 on kept steps (left-aligned, the pipeline contract).
      future_length: ``F >= 1``.

    Returns:
      ``(past_mask [B, L], future_mask [B, L], splittable [B])`` float32; ``splittable`` is 1
      where ``ℓ >= 2`` (both parts non-empty). Rows with ``ℓ < 2`` get empty masks.
    """
    if future_length < 1:
        raise ValueError(f"split_history: future_length must be >= 1, got {future_length}")
    mask = tf.cast(mask, tf.float32)
    length = tf.cast(tf.round(tf.reduce_sum(mask, axis=1)), tf.int32)  # ℓ [B]
    future = tf.minimum(future_length, length // 2)  # f [B]
    cut = (length - future)[:, None]
    pos = tf.range(tf.shape(mask)[1])[None, :]
    splittable = tf.cast(future >= 1, tf.float32)
    past_mask = mask * tf.cast(pos < cut, tf.float32) * splittable[:, None]
    future_mask = mask * tf.cast(pos >= cut, tf.float32) * splittable[:, None]
    return past_mask, future_mask, splittable


def same_history(item_history: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """``[B, B]`` bool: rows ``b`` and ``c`` hold the same kept history (items and length).

    Training batches repeat each history once per negative; such copies would otherwise be
    false negatives of one another.
    """
    m = tf.cast(mask, tf.bool)
    items = tf.where(m, tf.cast(item_history, tf.int64), tf.constant(-1, tf.int64))
    return tf.reduce_all(tf.equal(items[:, None, :], items[None, :, :]), axis=-1)


def first_occurrences(same: tf.Tensor) -> tf.Tensor:
    """``[N]`` int64 indices of the rows with no identical earlier row (``same [B, B]`` from
    :func:`same_history`), in order; row 0 is always one of them."""
    batch = tf.shape(same)[0]
    earlier = tf.linalg.band_part(tf.ones([batch, batch], tf.bool), -1, 0)  # c <= b
    earlier = tf.logical_and(earlier, tf.logical_not(tf.eye(batch, dtype=tf.bool)))  # c < b
    repeated = tf.reduce_any(tf.logical_and(same, earlier), axis=1)
    return tf.where(tf.logical_not(repeated))[:, 0]


def _real_rows(batch: dict[str, tf.Tensor], like: tf.Tensor) -> tf.Tensor:
    """``[B]`` 1 for real rows (``sample_weight > 0``; all rows when the key is absent)."""
    if "sample_weight" not in batch:
        return tf.ones_like(like)
    return tf.cast(tf.cast(batch["sample_weight"], tf.float32) > 0, like.dtype)


_READ_KEYS = ("mask", "item_history", "sample_weight")


@keras.utils.register_keras_serializable(package="tf_lsrec")
class Seq2SeqSelfSupervision(keras.layers.Layer):
    """The auxiliary sequence-to-sequence loss (unweighted) of one batch.

    Args:
      num_intentions: ``K`` (``num_intentions``).
      keep_ratio: ``ρ`` (``intention_keep_ratio``); ``ceil(ρ K)`` intentions kept per row.
      future_length: ``F``, the most history steps taken as the future.
      temperature: ``τ`` of the InfoNCE logits.
      assignment_temperature: ``τ_a`` of the prototype assignment.
      keep_by: ``"similarity"`` (paper) or ``"weight"`` (largest future mass).
      past_encoder: ``"gru"`` (own TF1 GRU over the past steps) or ``"states"`` (per-step states
        ``[B, L, H]`` given by the model at call time; they must be causal — state ``j`` may
        depend only on steps ``<= j`` — or the future leaks into the past).
      past_units: GRU units (default: the step dimension ``D``).
      dedupe: compute the loss on one row per distinct history (:func:`first_occurrences`;
        training batches repeat each history ``train_num_ngs + 1`` times). The result is the
        loss over distinct histories; it needs dynamic shapes, so XLA cannot compile it (the
        ``seq2seq_dedupe`` hyper-parameter must be off under ``jit_compile``; ``from_hparams``
        says so). Off: all rows, copies excluded as each other's negatives.

    Call args:
      batch: the ``tf_lsrec.io`` batch dict (reads ``mask``, ``item_history``, ``sample_weight``).
      emb: the model's embeddings dict (reads ``history [B, L, D]``).
      past_states: ``[B, L, H]`` for ``past_encoder="states"``; ignored otherwise.
      training: when true, the row counters are updated.

    Returns:
      The scalar loss; 0 (not NaN) when no row of the batch can be split.

    The counters ``rows_used`` / ``rows_skipped`` (int64 weights) accumulate, over training
    calls, the rows that took part and the rows skipped as too short (``ℓ < 2``; padding rows of
    an evaluation batch are counted in neither).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.models.seq2seq import Seq2SeqSelfSupervision
      >>> layer = Seq2SeqSelfSupervision(num_intentions=2, keep_ratio=0.5)
      >>> batch = {"mask": tf.constant([[1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]),
      ...          "item_history": tf.constant([[3, 4, 5, 0], [6, 0, 0, 0]])}
      >>> loss = layer(batch, {"history": tf.random.normal([2, 4, 6], seed=1)}, training=True)
      >>> float(loss) >= 0.0, int(layer.rows_used.numpy()), int(layer.rows_skipped.numpy())
      (True, 1, 1)
    """

    def __init__(
        self,
        num_intentions: int = 4,
        keep_ratio: float = 0.5,
        future_length: int = DEFAULT_FUTURE_LENGTH,
        temperature: float = 0.1,
        assignment_temperature: float = 0.1,
        keep_by: str = "similarity",
        past_encoder: str = "gru",
        past_units: int | None = None,
        dedupe: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        num_kept(int(num_intentions), float(keep_ratio))  # validates both
        if keep_by not in KEEP_BY:
            raise ValueError(f"Seq2SeqSelfSupervision: keep_by {keep_by!r} not in {list(KEEP_BY)}")
        if past_encoder not in PAST_ENCODERS:
            raise ValueError(
                f"Seq2SeqSelfSupervision: past_encoder {past_encoder!r} not in "
                f"{list(PAST_ENCODERS)}"
            )
        if int(future_length) < 1:
            raise ValueError(
                f"Seq2SeqSelfSupervision: future_length must be >= 1, got {future_length}"
            )
        if not temperature > 0:
            raise ValueError(f"Seq2SeqSelfSupervision: temperature must be > 0, got {temperature}")
        self.num_intentions = int(num_intentions)
        self.keep_ratio = float(keep_ratio)
        self.future_length = int(future_length)
        self.temperature = float(temperature)
        self.assignment_temperature = float(assignment_temperature)
        self.keep_by = keep_by
        self.past_encoder = past_encoder
        self.past_units = None if past_units is None else int(past_units)
        self.dedupe = bool(dedupe)
        self.intentions = IntentionEncoder(
            self.num_intentions, self.assignment_temperature, name="intentions"
        )
        self.past_rnn: SequenceEncoder | None = None
        self.past_projection: keras.layers.Dense | None = None
        # per-replica counts under tf.distribute, summed when read (as Keras metrics do)
        counter = dict(
            shape=[],
            dtype=tf.int64,
            initializer="zeros",
            trainable=False,
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.SUM,
        )
        self.rows_used = self.add_weight(name="rows_used", **counter)
        self.rows_skipped = self.add_weight(name="rows_skipped", **counter)

    @classmethod
    def from_hparams(
        cls, hparams, state_dim: int | None = None, **overrides: Any
    ) -> Seq2SeqSelfSupervision:
        """The layer configured by ``num_intentions`` / ``intention_keep_ratio`` (``overrides``
        set any other constructor argument), with its variables created so that checkpoints
        restore into it before the first training step. ``state_dim``: width ``H`` of the
        model's per-step states for ``past_encoder="states"``."""
        kwargs = dict(
            num_intentions=hparams.num_intentions,
            keep_ratio=hparams.intention_keep_ratio,
            future_length=hparams.seq2seq_future_length,
            temperature=hparams.seq2seq_temperature,
            keep_by=hparams.seq2seq_keep_by,
            past_encoder=hparams.seq2seq_past_encoder,
            dedupe=hparams.seq2seq_dedupe,
            name="seq2seq_ssl",
        )
        if kwargs["dedupe"] and hparams.jit_compile and "dedupe" not in overrides:
            raise ValueError(
                "hyper-parameters `jit_compile: true` (train) and `seq2seq_dedupe: true` "
                "(model, the default) cannot be combined: deduplicating the histories needs "
                "dynamic shapes, which XLA does not compile. Set `seq2seq_dedupe: false` (every "
                "row takes part, copies excluded as negatives: a different loss value) or "
                "`jit_compile: false`."
            )
        kwargs.update(overrides)
        layer = cls(**kwargs)
        dim = hparams.item_embedding_dim + hparams.cate_embedding_dim
        layer.build_for(dim, state_dim=state_dim)
        return layer

    @classmethod
    def for_model(cls, model, hparams) -> Seq2SeqSelfSupervision | None:
        """The layer a model composes when ``seq2seq_loss_weight > 0`` (else ``None``); with
        ``seq2seq_past_encoder: states`` it reads ``model.history_state_size()``."""
        if hparams.seq2seq_loss_weight <= 0:
            return None
        state_dim = None
        if hparams.seq2seq_past_encoder == "states":
            state_dim = model.history_state_size()
            if state_dim is None:
                raise ValueError(
                    f"hparams `seq2seq_past_encoder: states`: {type(model).__name__} has no "
                    "causal per-step history states (GRU4Rec, DIEN and SASRec have); use `gru`"
                )
        return cls.from_hparams(hparams, state_dim=state_dim)

    def build_for(self, dim: int, state_dim: int | None = None) -> None:
        """Create the variables for steps of width ``dim`` (``D``) and, for ``"states"``,
        past states of width ``state_dim`` (default ``D``)."""
        h = self.past_units or dim
        if self.past_encoder == "gru":
            self.past_rnn = SequenceEncoder("gru", h, name="past_gru")
            self.past_rnn.build(tf.TensorShape([None, None, dim]))
        else:
            h = state_dim or dim
        self.past_projection = keras.layers.Dense(dim, name="past_projection")
        self.past_projection.build(tf.TensorShape([None, None, h]))
        self.intentions.build(tf.TensorShape([None, None, dim]))
        self.built = True

    def build(self, input_shape: Any) -> None:
        # called by Keras with the shapes of ``batch``; the width comes from ``emb`` at call time
        pass

    def encode(
        self,
        batch: dict[str, tf.Tensor],
        emb: dict[str, tf.Tensor],
        past_states: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> dict[str, tf.Tensor]:
        """The loss inputs: ``past [B, K, D]`` (ẑ), ``future [B, K, D]`` (z), ``weights [B, K]``
        (w), ``rows [B]`` (1 = takes part), ``splittable [B]`` and ``real [B]``."""
        x = emb["history"]
        if self.past_encoder == "states" and past_states is None:
            raise ValueError(
                "Seq2SeqSelfSupervision(past_encoder='states'): the model must pass "
                "past_states [B, L, H] (its causal per-step encoder outputs), e.g. as "
                "outputs['history_states'] of score_targets"
            )
        if self.past_projection is None:
            state_dim = None if past_states is None else int(past_states.shape[-1])
            self.build_for(int(x.shape[-1]), state_dim)
        past_mask, future_mask, splittable = split_history(batch["mask"], self.future_length)
        real = _real_rows(batch, splittable)
        future, weights = self.intentions(x, future_mask)
        if self.past_encoder == "gru":
            states, _ = self.past_rnn(x, past_mask, training=training)
        else:
            states = past_states
        past, _ = self.intentions(self.past_projection(states), past_mask)
        return {
            "past": past,
            "future": future,
            "weights": weights,
            "rows": splittable * real,
            "splittable": splittable,
            "real": real,
        }

    def call(
        self,
        batch: dict[str, tf.Tensor],
        emb: dict[str, tf.Tensor],
        past_states: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> tf.Tensor:
        same = same_history(batch["item_history"], batch["mask"])
        if self.dedupe:
            # one row per distinct history: the copies made for the negatives add cost, not
            # information (and would be false negatives); the counters still count every row
            _, _, splittable = split_history(batch["mask"], self.future_length)
            if training:
                self._count(batch, splittable)
            idx = first_occurrences(same)
            batch = {k: tf.gather(batch[k], idx) for k in _READ_KEYS if k in batch}
            emb = {"history": tf.gather(emb["history"], idx)}
            if past_states is not None:
                past_states = tf.gather(past_states, idx)
            same = None
        parts = self.encode(batch, emb, past_states, training)
        if training and not self.dedupe:
            self._count(batch, parts["splittable"])
        return seq2seq_disentangled_loss(
            parts["past"],
            parts["future"],
            parts["weights"],
            self.keep_ratio,
            self.temperature,
            row_mask=parts["rows"],
            same_row=same,
            keep_by=self.keep_by,
        )

    def _count(self, batch: dict[str, tf.Tensor], splittable: tf.Tensor) -> None:
        real = _real_rows(batch, splittable)
        self.rows_used.assign_add(tf.cast(tf.reduce_sum(splittable * real), tf.int64))
        self.rows_skipped.assign_add(tf.cast(tf.reduce_sum((1.0 - splittable) * real), tf.int64))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_intentions": self.num_intentions,
            "keep_ratio": self.keep_ratio,
            "future_length": self.future_length,
            "temperature": self.temperature,
            "assignment_temperature": self.assignment_temperature,
            "keep_by": self.keep_by,
            "past_encoder": self.past_encoder,
            "past_units": self.past_units,
            "dedupe": self.dedupe,
        }


def _default(arg: str) -> Any:
    return inspect.signature(Seq2SeqSelfSupervision.__init__).parameters[arg].default


HPARAMS = model_keys(
    seq2seq_loss_weight=S(float, 0.0, "weight of the seq2seq self-supervision loss; 0 = off",
                          check=non_negative, expect=">= 0"),
    num_intentions=S(int, _default("num_intentions"), "K", check=positive, expect="> 0"),
    intention_keep_ratio=S(float, _default("keep_ratio"), "ρ: ceil(ρ K) intentions kept",
                           check=lambda x: 0 < x <= 1, expect="in (0, 1]"),
    seq2seq_future_length=S(int, _default("future_length"), "at most this many last history "
                            "steps are the 'future' (and at most half the history)",
                            check=positive, expect="> 0"),
    seq2seq_temperature=S(float, _default("temperature"), "InfoNCE temperature",
                          check=positive, expect="> 0"),
    seq2seq_keep_by=S(str, _default("keep_by"), "which intentions count as reliable",
                      choices=KEEP_BY),
    seq2seq_past_encoder=S(str, _default("past_encoder"), "what encodes the past sub-sequence: "
                           "the layer's own GRU, or the model's causal per-step states (GRU4Rec, "
                           "DIEN, SASRec)", choices=PAST_ENCODERS),
    seq2seq_dedupe=S(bool, _default("dedupe"), "loss on one row per distinct history (needs "
                     "dynamic shapes: set false with jit_compile)"),
)  # fmt: skip
"""The seq2seq keys (read by every model through ``from_hparams``); defaults are the layer's."""
