"""``SequentialModel``: the deeprec sequential base model on ``tfrs.Model``.

A model is embeddings + an encoder (supplied by the subclass) + a prediction head + its losses:

    batch (tf_lsrec.io contract) -> embeddings
        -> encode_history (no target read) -> score_targets (subclass)  -> output [B, F]
        -> MLP(layer_sizes) -> logit [B, 1]
    loss = data loss (tfrs Ranking task) + regularisation + Σ objectives (models/objectives.py)

Running it on files (epochs, checkpoints, early stopping, logging, the evaluation loop) is
``tf_lsrec.models.trainer``. The Microsoft Recommenders API (docs/reference.md §3.10-3.11) stays here as
thin delegates to the trainer: ``fit(train_file, valid_file, valid_num_ngs, eval_metric)``,
``run_eval(file, num_ngs)``, ``predict(file, outfile)``, and ``load_model(path)``; Keras-native
``model.compile(optimizer); model.fit(dataset)`` also works because ``compute_loss`` is the one
place that defines the objective (TFRS convention).
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
import tensorflow_recommenders as tfrs
import tf_keras as keras

from tf_lsrec.evaluation.keras_metrics import group_metrics
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.layers.attention import AttentionPooling
from tf_lsrec.layers.initializers import fresh_initializer, get_initializer
from tf_lsrec.layers.mlp import MLP
from tf_lsrec.models.losses import make_data_loss
from tf_lsrec.models.objectives import Objective, Seq2SeqObjective
from tf_lsrec.models.seq2seq import Seq2SeqSelfSupervision
from tf_lsrec.models.trainer import FIT_KERAS_ARGS, Trainer


class SequentialModel(tfrs.Model):
    """Base of every sequential model.

    Args:
        hparams: validated ``HParams`` (``tf_lsrec.prepare_hparams``); vocab paths must be set.
        iterator_creator: accepted for Microsoft compatibility and ignored (training always runs
            on the ``tf.data`` pipeline, ``tf_lsrec.io.SequentialData``).
        seed: global seed for initialisers, shuffling and negative sampling (default
            ``hparams.seed``).
        data: an existing ``SequentialData`` (vocab lookups) to share; built from hparams if None.

    Subclasses implement the encoder as :meth:`encode_history` (target-independent; ``{}`` when
    nothing is) and :meth:`score_targets`, so that serving encodes a user's history once for
    many candidates; they may add objectives (:meth:`add_objective`) and override
    :meth:`embedding_regularization_rows`.
    """

    # ``tf_lsrec.serving.export``'s default ``jit_compile``: true where the XLA-compiled serving
    # graph was measured faster on CPU and scores equal to the plain one (docs/serving.md).
    serving_jit_compile: bool = False

    def __init__(
        self,
        hparams,
        iterator_creator=None,
        seed: int | None = None,
        data: SequentialData | None = None,
        graph=None,
    ):
        super().__init__(name=hparams.model_type)
        self.hparams = hparams
        self.seed = hparams.seed if seed is None else seed
        # Global reseeding stays: the layers whose initializers take no seed (Keras defaults in
        # the RNN cells, attention and transformer blocks) and dropout draw from the global
        # generator, so a run is reproducible only if it is reset here, before any variable
        # exists (the golden values in tests/models/golden.json depend on it).
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        if hparams.deterministic:  # process-wide; the pipeline's shuffles/negatives are seeded
            tf.config.experimental.enable_op_determinism()
        if hparams.get("length_bucketing") and self.needs_full_history_width:
            raise ValueError(
                f"data.length_bucketing = {hparams.length_bucketing}: {hparams.model_type} needs "
                f"every batch max_seq_length = {hparams.max_seq_length} wide (its weights span "
                "the whole history); set data.length_bucketing to 0"
            )
        self.data = data if data is not None else SequentialData(hparams)
        sizes = self.data.vocab_sizes
        self.initializer = get_initializer(hparams.init_method, hparams.init_value, seed=self.seed)
        self.user_embedding = self._embedding(sizes["user"], hparams.user_embedding_dim, "user")
        self.item_embedding = self._embedding(sizes["item"], hparams.item_embedding_dim, "item")
        self.cate_embedding = self._embedding(sizes["cate"], hparams.cate_embedding_dim, "category")
        self.embedding_dropout = keras.layers.Dropout(hparams.embedding_dropout)
        self.head = self.mlp(hparams.layer_sizes, name="logit_mlp")
        self.group_size = hparams.train_num_ngs + 1
        self.task = tfrs.tasks.Ranking(loss=make_data_loss(hparams.loss, self.group_size))
        self._model_objectives: list[Objective] = []
        # Ma et al. (KDD'20) auxiliary loss, docs/models/seq2seq_ssl.md; None when the weight is 0
        self.seq2seq = Seq2SeqSelfSupervision.for_model(self, hparams)
        self._seq2seq_objective = (
            Seq2SeqObjective(self.seq2seq, hparams.seq2seq_loss_weight)
            if self.seq2seq is not None
            else None
        )
        self.train_log = None
        self.eval_history: list[tuple[int, dict[str, float]]] = []
        self._trainer: Trainer | None = None

    def add_objective(self, objective: Objective) -> None:
        """Compose an auxiliary objective (``models/objectives.py``) into the loss."""
        self._model_objectives.append(objective)

    @property
    def objectives(self) -> list[Objective]:
        """The auxiliary objectives, in the order their parts are added: the model's own, then
        the seq2seq self-supervision when it is on."""
        shared = [self._seq2seq_objective] if self._seq2seq_objective is not None else []
        return [*self._model_objectives, *shared]

    def history_state_size(self) -> int | None:
        """Width ``H`` of the causal per-step states ``history_states [B, L, H]`` the encoder
        returns (state ``j`` depends on steps ``<= j`` only), or ``None`` when it returns none.
        ``seq2seq_past_encoder: states`` reads them."""
        return None

    # ------------------------------------------------------------------ building blocks
    def _embedding(self, rows: int, dim: int, name: str) -> keras.layers.Embedding:
        # One initializer instance per table: a seeded Keras 2 initializer returns the same
        # values on every call, so shared instances would start same-shaped tables identical.
        init = fresh_initializer(self.initializer, f"{name}_embedding")
        return keras.layers.Embedding(
            rows, dim, embeddings_initializer=init, name=f"{name}_embedding"
        )

    def mlp(self, layer_sizes, output_units: int | None = 1, name: str | None = None) -> MLP:
        """An ``fcn_net`` MLP configured from the shared activation / dropout / BN settings."""
        hp = self.hparams
        return MLP(
            layer_sizes,
            hp.activation[: len(layer_sizes)],
            dropout_rates=hp.dropout[: len(layer_sizes)] if hp.user_dropout else None,
            use_bn=hp.enable_BN,
            output_units=output_units,
            kernel_initializer=self.initializer,
            name=name,
        )

    def attention_pooling(self, name: str) -> AttentionPooling:
        """The reference's ``_attention_fcn`` configured from the shared MLP settings
        (``att_fcn_layer_sizes``, ``activation``, ``dropout`` if ``user_dropout``, ``enable_BN``)."""
        hp = self.hparams
        n = len(hp.att_fcn_layer_sizes)
        return AttentionPooling(
            hp.att_fcn_layer_sizes,
            hp.activation[:n],
            dropout_rates=hp.dropout[:n] if hp.user_dropout else None,
            use_bn=hp.enable_BN,
            kernel_initializer=self.initializer,
            name=name,
        )

    def embedding_tables(self) -> list[tf.Variable]:
        """Variables excluded from the layer L2 term (regularised per touched row instead)."""
        return [
            self.user_embedding.embeddings,
            self.item_embedding.embeddings,
            self.cate_embedding.embeddings,
        ]

    # ------------------------------------------------------------------ forward pass
    def embed(self, batch: dict[str, tf.Tensor], training: bool) -> dict[str, tf.Tensor]:
        """Look up embeddings (docs/reference.md §3.3).

        Returns ``user [B, Du]``, ``item [B, Di]``, ``cate [B, Dc]``, ``target [B, Di+Dc]``,
        ``item_history [B, L, Di]``, ``item_cate_history [B, L, Dc]``, ``history [B, L, Di+Dc]``.
        Padding positions look up row 0 (a trained row), as the reference does.
        """
        emb = self.embed_history(batch, training)
        emb.update(self.embed_targets(batch["items"], batch["cates"], training))
        return emb

    def embed_history(self, batch: dict[str, tf.Tensor], training: bool) -> dict[str, tf.Tensor]:
        """The target-independent lookups of :meth:`embed`: ``user``, ``item_history``,
        ``item_cate_history``, ``history``."""
        user = self.user_embedding(batch["users"])
        item_hist = self.item_embedding(batch["item_history"])
        cate_hist = self.cate_embedding(batch["item_cate_history"])
        if self.hparams.embedding_dropout > 0:  # CLSR code: dropout on each looked-up tensor
            user = self.embedding_dropout(user, training=training)
            item_hist = self.embedding_dropout(item_hist, training=training)
            cate_hist = self.embedding_dropout(cate_hist, training=training)
        return {
            "user": user,
            "item_history": item_hist,
            "item_cate_history": cate_hist,
            "history": tf.concat([item_hist, cate_hist], axis=-1),
        }

    def embed_targets(self, items: tf.Tensor, cates: tf.Tensor, training: bool):
        """The target lookups of :meth:`embed` for ``items``/``cates`` ``[B]``: ``item``,
        ``cate`` and ``target = [item ; cate]``."""
        item = self.item_embedding(items)
        cate = self.cate_embedding(cates)
        target = tf.concat([item, cate], axis=-1)
        if self.hparams.embedding_dropout > 0:
            target = self.embedding_dropout(target, training=training)
        return {"item": item, "cate": cate, "target": target}

    # The encoder is two methods: encode_history (what does not depend on the target item) and
    # score_targets (what does). The split lets serving encode one user's history once and
    # score many candidates against it.
    def encode_history(self, batch, emb, training) -> dict[str, tf.Tensor]:
        """Target-independent part of the encoder: a dict of ``[B, ...]`` tensors (``{}`` for a
        model whose encoder reads the target throughout, e.g. DIN, NCF).

        ``batch`` and ``emb`` are given without the target keys (``items``, ``cates``,
        ``emb["item" | "cate" | "target"]``), so reading them fails when the model is traced.
        """
        return {}

    def score_targets(self, batch, emb, history: dict[str, tf.Tensor], training):
        """Target-dependent part of the encoder: ``history`` is :meth:`encode_history`'s dict
        (row-aligned with ``batch``). Returns ``[B, F]`` or a dict with ``"output"`` ``[B, F]``
        (and ``"logits"`` ``[B, 1]`` to bypass the head) plus any intermediate tensors the
        model's objectives need."""
        raise NotImplementedError(f"{type(self).__name__} must implement score_targets")

    def prepare_history_for_scoring(self, history: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Per-user work that pays only when one encoding is scored against many targets
        (:meth:`score_user_targets`), e.g. the key side of a target attention
        (``AttentionPooling.encode_keys``). Default: none."""
        return history

    #: Keys of :meth:`encode_history`'s dict that :meth:`score_targets` takes *per history*
    #: (one row per group) rather than per row: when ``g`` rows share a history, these stay
    #: ``[B/g, ...]`` (the target attention pools each group's ``g`` targets against one copy,
    #: see ``AttentionPooling``) and every other entry is repeated to the ``g`` rows. A model
    #: that lists keys here must read the history's mask from its own dict, not from
    #: ``batch["mask"]``, and must not read ``emb``'s history entries in ``score_targets``.
    grouped_history_keys: tuple[str, ...] = ()

    #: ``True`` when the model needs every batch ``max_seq_length`` wide (a layer's weights span
    #: the whole history, e.g. Caser's vertical convolution), so ``length_bucketing``, which pads
    #: each training batch only to its longest history, is refused.
    needs_full_history_width: bool = False

    #: ``True`` when the model's own training encodes each sequence once per step and scores its
    #: positive and negatives from that one encoding (SASRec, BERT4Rec): one history-dropout mask
    #: per training line is then the model's training distribution, so ``share_history: auto``
    #: shares in training even with history dropout (5x fewer encoder passes at 4 negatives).
    history_dropout_per_line: bool = False

    def run_encoder(self, batch, emb, training) -> tf.Tensor | dict[str, tf.Tensor]:
        """The whole encoder on aligned rows: ``score_targets(encode_history(...))``."""
        history = self.encode_history(_without_targets(batch), _without_targets(emb), training)
        return self.score_targets(batch, emb, history, training)

    def forward(
        self,
        batch: dict[str, tf.Tensor],
        training: bool = False,
        group_size: int | None = None,
        checked: bool = True,
    ) -> dict[str, tf.Tensor]:
        """Run the model; returns a dict with ``logits [B, 1]`` and the encoder's extras.

        With ``group_size`` ``g > 1`` the rows come in contiguous groups of ``g`` that share one
        history (the training layout: a positive and its ``K`` negatives; an evaluation group of
        1+N lines): the history is embedded and encoded once per group, on the group's first
        row, and the encoding is repeated to the group's rows before :meth:`score_targets`. The
        outputs equal the per-row path's (``tests/models/test_shared_history.py``), except that
        history dropout, if any, draws one mask per group (see :meth:`share_history`).
        ``checked`` compares every group's history features in the graph and falls back to the
        per-row path for a batch where they differ (or whose row count is not a multiple of
        ``g``); the training step passes ``checked=False`` because ``train_dataset`` builds its
        groups by copying one line.
        """
        g = int(group_size or 1)
        rows = batch["mask"].shape[0]
        if g <= 1 or (rows is not None and rows % g):
            return self._forward_per_row(batch, training)
        if not checked:
            return self._forward_shared(batch, training, g)
        return tf.cond(
            groups_share_history(batch, g),
            lambda: self._forward_shared(batch, training, g),
            lambda: self._forward_per_row(batch, training),
        )

    def _forward_per_row(self, batch, training) -> dict[str, tf.Tensor]:
        emb = self.embed(batch, training)
        out = self._with_logits(self.run_encoder(batch, emb, training), training)
        out["embeddings"] = emb
        return out

    def _forward_shared(self, batch, training, g: int) -> dict[str, tf.Tensor]:
        self._ensure_built()  # prepare_history_for_scoring reads built layers' kernels
        history_batch = {k: v[::g] for k, v in _without_targets(batch).items()}
        emb, encoded = self._encode_for_scoring(history_batch, training)
        row_emb = self._expand_to_rows(emb, g, keep=())
        target_emb = self.embed_targets(batch["items"], batch["cates"], training)
        scoring_emb = {**(emb if self.grouped_history_keys else row_emb), **target_emb}
        out = self.score_targets(batch, scoring_emb, self._expand_to_rows(encoded, g), training)
        out = self._with_logits(out, training)
        out["embeddings"] = {**row_emb, **target_emb}
        return out

    def _encode_for_scoring(self, history_batch, training):
        """``(history embeddings, prepared encode_history dict)`` of one row per history."""
        emb = self.embed_history(history_batch, training)
        encoded = self.encode_history(history_batch, emb, training)
        return emb, self.prepare_history_for_scoring(encoded)

    def _expand_to_rows(self, tensors: dict, g, keep: tuple[str, ...] | None = None) -> dict:
        """Repeat each entry (nested structures too) ``g`` times along axis 0, except the keys
        in ``keep`` (default: :attr:`grouped_history_keys`)."""
        keep = self.grouped_history_keys if keep is None else keep

        def repeat(t):
            return tf.repeat(t, g, axis=0)

        return {k: v if k in keep else tf.nest.map_structure(repeat, v) for k, v in tensors.items()}

    def training_lines(self, batch, purpose: str) -> dict[str, tf.Tensor]:
        """One row per training line of a batch in the training layout (groups of
        ``1 + train_num_ngs`` rows sharing a history, positive first): each feature's first row
        of its group (``[N, ...]``, ``N = rows / (1 + K)``) plus ``length`` int32 ``[N]``, the
        history lengths. Raises ``ValueError`` when the rows are not whole groups (``purpose``
        names what needs the layout)."""
        g = self.group_size
        rows = batch["mask"].shape[0]
        if rows is not None and rows % g:
            model = type(self).__name__.removesuffix("Model")
            raise ValueError(
                f"{model}: a batch of {rows} rows is not made of groups of "
                f"train_num_ngs + 1 = {g} rows; {purpose} needs the training layout "
                "(SequentialData.train_dataset)"
            )
        lines = {k: v[::g] for k, v in batch.items()}
        lines["length"] = tf.cast(tf.reduce_sum(lines["mask"], axis=1), tf.int32)
        return lines

    def history_dropout(self) -> bool:
        """Whether the history path (:meth:`embed_history`, :meth:`encode_history`) draws dropout
        masks in training. Models with dropout in their history encoder extend it."""
        return self.hparams.embedding_dropout > 0

    def share_history(self, training: bool) -> bool:
        """Whether grouped rows encode their history once (``hparams.share_history``): ``auto``
        shares unless ``training`` and :meth:`history_dropout` (a shared history would share the
        dropout masks across a group, which changes the training distribution), except for a model
        whose own training draws one mask per line (:attr:`history_dropout_per_line`); ``True``
        always; ``False`` never."""
        mode = self.hparams.get("share_history", "auto")
        if mode == "auto":
            return self.history_dropout_per_line or not (training and self.history_dropout())
        return bool(mode)

    def _with_logits(self, out, training) -> dict[str, tf.Tensor]:
        out = dict(out) if isinstance(out, dict) else {"output": out}
        if "logits" not in out:
            out["logits"] = self.head(out["output"], training=training)
        return out

    def _scores_from_logits(self, logits: tf.Tensor) -> tf.Tensor:
        if self.hparams.method == "regression":
            return logits
        return tf.sigmoid(logits)

    def call(self, batch, training=False):
        """Logits ``[B, 1]`` for a batch dict."""
        return self.forward(batch, training=training)["logits"]

    def predict_scores(self, batch, training=False):
        """Probabilities ``[B, 1]`` (``sigmoid(logit)`` for classification)."""
        return self._scores_from_logits(self(batch, training=training))

    def serving_model(self):
        """What the serving signatures call (``tf_lsrec.serving.ServingModule``): the model
        itself, or, for a model with request-independent work that its exported weights fix
        (LightGCN's graph propagation), a view that holds the result as variables computed
        once at export and answers ``predict_scores`` / ``score_user_targets`` /
        ``embed_targets`` / ``retrieval_query`` with the same values."""
        return self

    def score_user_targets(
        self, user_batch: dict[str, tf.Tensor], items: tf.Tensor, cates: tf.Tensor
    ) -> tf.Tensor:
        """Scores ``[C]`` of targets ``items``/``cates`` ``[C]`` for one user (inference mode).

        ``user_batch`` holds one row (``[1, ...]`` features; its ``items``/``cates`` are
        ignored). The history is encoded once and only the encoding is repeated; the scores
        equal :meth:`predict_scores` of the tiled rows.
        """
        n = tf.shape(items)[0]
        batch = self._expand_to_rows(dict(user_batch), n, keep=())
        batch["items"], batch["cates"] = items, cates
        emb, encoded = self._encode_for_scoring(_without_targets(user_batch), training=False)
        if not self.grouped_history_keys:
            emb = self._expand_to_rows(emb, n, keep=())
        emb.update(self.embed_targets(items, cates, training=False))
        out = self.score_targets(batch, emb, self._expand_to_rows(encoded, n), training=False)
        logits = self._with_logits(out, training=False)["logits"]
        return tf.reshape(self._scores_from_logits(logits), [-1])

    # ------------------------------------------------------------------ losses
    def embedding_regularization_rows(self, batch) -> list[tf.Tensor]:
        """Embedding rows penalised by the embedding L2/L1 terms: each distinct item/category
        row touched by the batch, once (docs/reference.md §3.3)."""
        items = tf.unique(tf.concat([tf.reshape(batch["item_history"], [-1]), batch["items"]], 0))[
            0
        ]
        cates = tf.unique(
            tf.concat([tf.reshape(batch["item_cate_history"], [-1]), batch["cates"]], 0)
        )[0]
        return [
            tf.gather(self.item_embedding.embeddings, items),
            tf.gather(self.cate_embedding.embeddings, cates),
        ]

    def layer_variables(self) -> list[tf.Variable]:
        """Every trainable variable that is not an embedding table (biases and BN included)."""
        tables = {id(v) for v in self.embedding_tables()}
        return [v for v in self.trainable_variables if id(v) not in tables]

    def regularization_loss(self, batch) -> tf.Tensor:
        """``embed_l2 * Σ ½‖row‖² + layer_l2 * Σ ½‖W‖²`` (+ L1 terms), docs/reference.md §3.6."""
        hp = self.hparams
        total = tf.constant(0.0)
        rows = self.embedding_regularization_rows(batch) if (hp.embed_l2 or hp.embed_l1) else []
        for r in rows:
            if hp.embed_l2:
                total += hp.embed_l2 * tf.nn.l2_loss(r)
            if hp.embed_l1:
                total += hp.embed_l1 * tf.reduce_sum(tf.abs(r))
        if hp.layer_l2 or hp.layer_l1:
            for w in self.layer_variables():
                if hp.layer_l2:
                    total += hp.layer_l2 * tf.nn.l2_loss(w)
                if hp.layer_l1:
                    total += hp.layer_l1 * tf.reduce_sum(tf.abs(w))
        return total

    def extra_losses(self, batch, outputs, training) -> dict[str, tf.Tensor]:
        """The weighted parts of every auxiliary objective (:attr:`objectives`)."""
        parts: dict[str, tf.Tensor] = {}
        for objective in self.objectives:
            parts.update(objective(batch, outputs, training))
        return parts

    def compute_loss_parts(
        self, batch, training: bool = False, group_size: int | None = None, checked: bool = True
    ) -> dict[str, tf.Tensor]:
        """All loss terms by name, plus ``total_loss`` (``group_size``, ``checked``: see
        :meth:`forward`; the parts do not depend on them)."""
        outputs = self.forward(batch, training=training, group_size=group_size, checked=checked)
        parts = {
            "data_loss": self.task(
                labels=batch["labels"], predictions=outputs["logits"], training=training
            ),
            "regular_loss": self.regularization_loss(batch),
        }
        parts.update(self.extra_losses(batch, outputs, training))
        parts["total_loss"] = tf.add_n(list(parts.values()))
        return parts

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        """TFRS entry point: the objective optimised by ``fit`` and by Keras ``model.fit``.

        Rows are taken as groups of ``train_num_ngs + 1`` (the training layout; evaluation
        batches of ``eval_dataset(..., group_size=train_num_ngs + 1)`` too); each group's
        history is encoded once when :meth:`share_history` and the group's rows carry equal
        history features (checked in the graph; the per-row path otherwise)."""
        g = self.group_size if self.share_history(training) else None
        return self.compute_loss_parts(inputs, training=training, group_size=g)["total_loss"]

    # ------------------------------------------------------------------ building variables
    @tf.autograph.experimental.do_not_convert  # also called while a grouped step is traced
    def _ensure_built(self) -> None:
        # forward() does not go through Keras __call__, so `self.built` may stay False after the
        # variables exist; without the flag every run_eval / collect ran an eager dummy forward
        # (~0.5 s for SLi-Rec)
        if getattr(self, "_variables_built", False) or (self.built and self.trainable_variables):
            return
        self.forward(dummy_batch(self.group_size, self.hparams.max_seq_length), training=False)
        self._variables_built = True

    # ------------------------------------------------------------------ Keras workflow
    def compile(self, optimizer="rmsprop", metrics=None, **kwargs):
        """Keras ``compile``; ``metrics=None`` means the streaming group metrics of
        ``hparams.pairwise_metrics`` (``group_auc``, ``mean_mrr``, ``ndcg@k``, ``hit@k``;
        ``tf_lsrec.evaluation.keras_metrics``), so ``fit(..., validation_data=...)`` logs
        ``val_group_auc`` etc. and the standard callbacks can monitor them. Metrics are updated
        in :meth:`test_step` only (evaluation), on the rows of weight > 0."""
        if metrics is None:
            metrics = default_keras_metrics(self.hparams)
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        self._keras_loss_tracker()  # its variables are created here, outside any tf.function

    @property
    def metrics(self):
        # the loss tracker is kept off the tracked attributes so that it adds no variable to
        # model.weights or to checkpoints; listing it here makes Keras reset it each epoch
        return [*super().metrics, self._keras_loss_tracker()]

    def _keras_loss_tracker(self) -> keras.metrics.Mean:
        tracker = self.__dict__.get("_loss_tracker_untracked")
        if tracker is None:
            tracker = keras.metrics.Mean(name="loss")
            object.__setattr__(self, "_loss_tracker_untracked", tracker)
        return tracker

    def train_step(self, batch):
        """Keras training step: the loss parts of :meth:`compute_loss_parts`; ``loss`` is the
        epoch's running mean of ``total_loss``, the other parts are the batch's values."""
        g = self.group_size if self.share_history(True) else None  # as compute_loss
        with tf.GradientTape() as tape:
            parts = self.compute_loss_parts(batch, training=True, group_size=g)
        variables = self.trainable_variables
        grads = tape.gradient(parts["total_loss"], variables)
        self.optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
        tracker = self._keras_loss_tracker()
        tracker.update_state(parts["total_loss"])
        return {"loss": tracker.result(), **parts}

    def test_step(self, batch):
        """Keras evaluation step on batches of whole groups (``keras_eval_dataset``).

        Rows with ``sample_weight`` 0 (padding) are dropped; the compiled metrics see the
        remaining labels and scores. ``loss`` is the **data loss only** (no regularisation or
        auxiliary objectives), computed on the group size the batch has (``1 + num_ngs`` of
        the validation file, which may differ from ``train_num_ngs``), averaged over groups
        (softmax) or rows (the pointwise losses)."""
        logits = self.forward(batch, training=False)["logits"]
        keep = tf.reshape(batch["sample_weight"], [-1]) > 0
        labels = tf.boolean_mask(batch["labels"], keep)
        logits = tf.boolean_mask(logits, keep)
        loss, count = self.eval_data_loss(labels, logits)
        self._keras_loss_tracker().update_state(loss, sample_weight=count)
        self.compiled_metrics.update_state(labels, self._scores_from_logits(logits))
        return {m.name: m.result() for m in self.metrics}

    def eval_data_loss(self, labels, logits) -> tuple[tf.Tensor, tf.Tensor]:
        """``(data loss, weight)`` of evaluation rows ``[R, 1]`` of whole groups (1 positive
        first): the softmax loss on groups of ``R / positives`` rows (weight: groups), the
        pointwise losses on the rows (weight: rows)."""
        labels = tf.cast(labels, tf.float32)
        logits = tf.cast(logits, tf.float32)
        rows = tf.shape(labels)[0]
        if self.hparams.loss != "softmax":
            loss = make_data_loss(self.hparams.loss, 1)(labels, logits)
            return tf.where(rows > 0, loss, 0.0), tf.cast(rows, tf.float32)
        groups = tf.cast(tf.reduce_sum(labels), tf.int32)
        width = tf.maximum(rows // tf.maximum(groups, 1), 1)
        check = tf.debugging.assert_equal(
            groups * width, rows,
            message="evaluation batches must be whole groups; use keras_eval_dataset",
        )  # fmt: skip
        with tf.control_dependencies([check]):
            log_probs = tf.nn.log_softmax(tf.reshape(logits, [-1, width]), axis=-1)
        per_group = -tf.reduce_sum(tf.reshape(labels, [-1, width]) * log_probs, axis=-1)
        loss = tf.math.divide_no_nan(tf.reduce_sum(per_group), tf.cast(groups, tf.float32))
        return loss, tf.cast(groups, tf.float32)

    def keras_eval_dataset(self, file, num_ngs: int | None = None, batch_size=None):
        """Batches of whole groups of ``file`` for ``evaluate`` / ``validation_data``
        (``SequentialData.keras_eval_dataset``; ``num_ngs`` defaults to ``valid_num_ngs``)."""
        return self.data.keras_eval_dataset(file, num_ngs=num_ngs, batch_size=batch_size)

    # ------------------------------------------------------------------ Microsoft-style API
    @property
    def trainer(self) -> Trainer:
        """The :class:`~tf_lsrec.models.trainer.Trainer` that runs this model on files."""
        if self._trainer is None:
            self._trainer = Trainer(self)
        return self._trainer

    def fit(
        self,
        train_file=None,
        valid_file=None,
        valid_num_ngs: int | None = None,
        eval_metric: str | None = None,
        *args,
        **kwargs,
    ):
        """Microsoft's ``fit(train_file, valid_file, valid_num_ngs, eval_metric)``: train with
        validation each epoch and early stopping (docs/reference.md §3.10); see ``Trainer.fit``.

        Each epoch: one pass over ``train_file`` (shuffled, in-batch negatives), evaluation of
        ``valid_file`` with ``valid_num_ngs`` negatives per positive, a checkpoint of the last
        epoch (resume after interruption), and ``best_model`` when ``eval_metric`` improved.
        Stops when the metric has not improved for ``EARLY_STOP`` epochs. The model keeps the
        weights of the last epoch, as Microsoft's does; ``load_model(<MODEL_DIR>/best_model)``
        restores the best. Returns the model.

        Keras arguments ``callbacks``, ``verbose``, ``initial_epoch`` and ``epochs`` are
        accepted (``Trainer.fit``); any other raises ``TypeError``.

        With a ``tf.data.Dataset`` (or any non-path first argument) this is Keras' ``fit``.
        """
        if not isinstance(train_file, (str, os.PathLike)):
            validation = kwargs.get("validation_data")
            if isinstance(validation, (str, os.PathLike)):  # a file: whole-group batches
                kwargs["validation_data"] = self.keras_eval_dataset(validation)
            return super().fit(train_file, valid_file, *args, **kwargs)
        resume = kwargs.pop("resume", True)  # False: train from scratch despite MODEL_DIR/last
        keras_args = {k: kwargs.pop(k) for k in FIT_KERAS_ARGS if k in kwargs}
        if args or kwargs:
            raise TypeError(
                f"fit(train_file, valid_file, ...) got unexpected arguments {list(args)} "
                f"{sorted(kwargs)}; the file-based fit takes valid_num_ngs, eval_metric, resume "
                f"and the Keras arguments {list(FIT_KERAS_ARGS)} (batch size, shuffling and "
                "validation come from hparams and the files; for any other Keras argument use "
                "fit(model.data.train_dataset(file), validation_data=file, ...))"
            )
        self.trainer.fit(
            train_file, valid_file, valid_num_ngs, eval_metric, resume=resume, **keras_args
        )
        return self

    def run_eval(
        self, filename, num_ngs: int, full_ranking: bool | None = None
    ) -> dict[str, float]:
        """Metrics on a file of groups (1 positive + ``num_ngs`` negatives), docs/reference.md §3.11.

        Returns pointwise metrics (``metrics``), group metrics (``pairwise_metrics``) and
        weighted per-user metrics (``weighted_metrics``) in that key order, then, when
        ``full_ranking`` (default: when ``full_ranking_metrics`` is set), each positive's rank
        against the item catalogue (``full_hit@10``, ... or ``neg99_hit@10``, ...;
        ``tf_lsrec.models.ranking_eval``). ``fit`` computes the latter only when its
        ``eval_metric`` is one of them.
        """
        return self.trainer.run_eval(filename, num_ngs, full_ranking=full_ranking)

    def predict(self, infile, outfile=None, *args, **kwargs):
        """Microsoft's ``predict(file, outfile)``: one probability per line of ``infile`` into
        ``outfile`` (written atomically). Returns the model.

        With a ``tf.data.Dataset`` or tensors as first argument this is Keras' ``predict``.
        """
        if not isinstance(infile, (str, os.PathLike)) or outfile is None:
            return super().predict(infile, *args, **kwargs)
        self.trainer.predict(infile, outfile)
        return self

    def training_counters(self) -> dict[str, int]:
        """Cumulative counts kept by the objectives during training; ``fit`` prints and logs
        each epoch's increase (``training_log.csv``), so rows a loss term skips are reported."""
        counts: dict[str, int] = {}
        for objective in self.objectives:
            if hasattr(objective, "counters"):
                counts.update(objective.counters())
        # instances with no valid in-batch negative (all targets of the batch equal theirs)
        counts["negative_fallbacks"] = self.data.negative_fallbacks
        return counts

    # ------------------------------------------------------------------ persistence
    def save_weights_checkpoint(self, prefix: str) -> str:
        """Write model weights to a TF checkpoint ``prefix`` (``prefix.index`` + data files)."""
        self._ensure_built()
        return tf.train.Checkpoint(model=self).write(prefix)

    def load_model(self, path: str | None = None):
        """Restore weights from a checkpoint prefix (default ``hparams.load_saved_model``).

        Accepts a prefix written by ``fit`` (``<MODEL_DIR>/best_model``) or a directory holding
        ``tf.train.CheckpointManager`` checkpoints.
        """
        path = path or self.hparams.load_saved_model
        if path and os.path.isdir(path):
            path = tf.train.latest_checkpoint(path) or path
        if not path or not tf.io.gfile.exists(f"{path}.index"):
            raise OSError(f"Failed to find any matching files for {path}")
        self._ensure_built()
        tf.train.Checkpoint(model=self).read(path).expect_partial()
        return self

    def get_config(self) -> dict[str, Any]:
        return {"hparams": self.hparams.values()}


def default_keras_metrics(hparams) -> list[keras.metrics.Metric]:
    """The streaming Keras metrics of ``hparams.pairwise_metrics`` that have one (group AUC,
    MRR, NDCG@k, HIT@k); pointwise specs in that list are left to ``run_eval``."""
    specs = [
        m for m in hparams.get("pairwise_metrics") or ()
        if m in ("group_auc", "mean_mrr") or m.split("@")[0] in ("ndcg", "hit")
    ]  # fmt: skip
    return group_metrics(specs)


def dummy_batch(rows: int, max_seq_length: int) -> dict[str, tf.Tensor]:
    """A batch of zeros in the ``tf_lsrec.io`` contract, used to create variables."""
    seq = [rows, max_seq_length]
    return {
        "labels": tf.zeros([rows, 1], tf.float32),
        "users": tf.zeros([rows], tf.int32),
        "items": tf.zeros([rows], tf.int32),
        "cates": tf.zeros([rows], tf.int32),
        "item_history": tf.zeros(seq, tf.int32),
        "item_cate_history": tf.zeros(seq, tf.int32),
        "mask": tf.ones(seq, tf.float32),
        "time": tf.zeros([rows], tf.float64),
        "time_history": tf.zeros(seq, tf.float64),
        "time_diff": tf.zeros(seq, tf.float32),
        "time_from_first_action": tf.zeros(seq, tf.float32),
        "time_to_now": tf.zeros(seq, tf.float32),
        "sample_weight": tf.ones([rows], tf.float32),
    }


_TARGET_KEYS = frozenset({"items", "cates", "labels", "item", "cate", "target"})
# per-row bookkeeping of a batch that the model does not read as history
_NOT_HISTORY = frozenset({"sample_weight", "user_id", "item_id"})


def groups_share_history(batch: dict[str, tf.Tensor], group_size: int) -> tf.Tensor:
    """Scalar bool: every contiguous group of ``group_size`` rows carries the history features
    of its first row (every non-target, non-bookkeeping key equal across the group)."""
    same = []
    for k, v in _without_targets(batch).items():
        if k in _NOT_HISTORY or v.dtype == tf.string:
            continue
        grouped = tf.reshape(v, tf.concat([[-1, group_size], tf.shape(v)[1:]], 0))
        same.append(tf.reduce_all(tf.equal(grouped, grouped[:, :1])))
    return tf.reduce_all(tf.stack(same))


def _without_targets(features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """``features`` without the target item's entries (batch keys and embedding keys)."""
    return {k: v for k, v in features.items() if k not in _TARGET_KEYS}
