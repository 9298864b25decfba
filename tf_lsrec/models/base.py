"""``SequentialModel``: the deeprec sequential base model on ``tfrs.Model``.

A model is the shared part below plus an encoder supplied by the subclass:

    batch (tf_lsrec.io contract) -> embeddings -> build_seq_output (subclass) [B, F]
        -> MLP(layer_sizes) -> logit [B, 1] -> data loss (tfrs Ranking task) + regularisation
        + model-specific losses (``extra_losses``)

The public API mirrors Microsoft Recommenders (reference-behavior §3.10-3.11):
``fit(train_file, valid_file, valid_num_ngs, eval_metric)``, ``run_eval(file, num_ngs)``,
``predict(file, outfile)``, ``load_model(path)``; Keras-native ``model.compile(optimizer);
model.fit(dataset)`` also works because ``compute_loss`` is the one place that defines the
objective (TFRS convention).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs
import tf_keras as keras

from tf_lsrec.evaluation.metrics import evaluate
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.layers.attention import AttentionPooling
from tf_lsrec.layers.initializers import fresh_initializer, get_initializer
from tf_lsrec.layers.mlp import MLP
from tf_lsrec.models.distribute import check_model_strategy, is_distributed
from tf_lsrec.models.losses import make_data_loss
from tf_lsrec.models.optimizers import make_optimizer
from tf_lsrec.models.seq2seq import Seq2SeqSelfSupervision, seq2seq_loss_parts
from tf_lsrec.models.training import TrainingLog, print_flush
from tf_lsrec.utils.files import atomic_path


class SequentialModel(tfrs.Model):
    """Base of every sequential model.

    Args:
        hparams: validated ``HParams`` (``tf_lsrec.prepare_hparams``); vocab paths must be set.
        iterator_creator: accepted for Microsoft compatibility and ignored (training always runs
            on the ``tf.data`` pipeline, ``tf_lsrec.io.SequentialData``).
        seed: global seed for initialisers, shuffling and negative sampling (default
            ``hparams.seed``).
        data: an existing ``SequentialData`` (vocab lookups) to share; built from hparams if None.

    Subclasses implement :meth:`build_seq_output`, or split it into :meth:`encode_history`
    (target-independent) and :meth:`score_targets` so that serving encodes a user's history once
    for many candidates; they may override :meth:`extra_losses` and
    :meth:`embedding_regularization_rows`.
    """

    def __init__(self, hparams, iterator_creator=None, seed: int | None = None,
                 data: SequentialData | None = None, graph=None):
        super().__init__(name=hparams.model_type)
        self.hparams = hparams
        self.seed = hparams.seed if seed is None else seed
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        self.data = data if data is not None else SequentialData(hparams)
        sizes = self.data.vocab_sizes
        self.initializer = get_initializer(hparams.init_method, hparams.init_value, seed=self.seed)
        self.user_embedding = self._embedding(sizes["user"], hparams.user_embedding_dim, "user")
        self.item_embedding = self._embedding(sizes["item"], hparams.item_embedding_dim, "item")
        self.cate_embedding = self._embedding(sizes["cate"], hparams.cate_embedding_dim, "category")
        self.embedding_dropout = keras.layers.Dropout(hparams.embedding_dropout)
        self.head = self.mlp(hparams.layer_sizes, name="logit_mlp")
        self.group_size = hparams.train_num_ngs + 1
        self.task = tfrs.tasks.Ranking(
            loss=make_data_loss(hparams.loss, self.group_size),
            metrics=[keras.metrics.AUC(name="auc", from_logits=True)],
        )
        # Ma et al. (KDD'20) auxiliary loss, docs/models/seq2seq_ssl.md; None when the weight is 0
        self.seq2seq = None
        if hparams.seq2seq_loss_weight > 0:
            state_dim = None
            if hparams.seq2seq_past_encoder == "states":
                state_dim = self.history_state_size()
                if state_dim is None:
                    raise ValueError(
                        f"hparams `seq2seq_past_encoder: states`: {type(self).__name__} has no "
                        "causal per-step history states (GRU4Rec, DIEN and SASRec have); use `gru`"
                    )
            self.seq2seq = Seq2SeqSelfSupervision.from_hparams(hparams, state_dim=state_dim)
        self.train_log: TrainingLog | None = None

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
        return keras.layers.Embedding(rows, dim, embeddings_initializer=init,
                                      name=f"{name}_embedding")

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
        return [self.user_embedding.embeddings, self.item_embedding.embeddings,
                self.cate_embedding.embeddings]

    # ------------------------------------------------------------------ forward pass
    def embed(self, batch: dict[str, tf.Tensor], training: bool) -> dict[str, tf.Tensor]:
        """Look up embeddings (reference §3.3).

        Returns ``user [B, Du]``, ``item [B, Di]``, ``cate [B, Dc]``, ``target [B, Di+Dc]``,
        ``item_history [B, L, Di]``, ``cate_history [B, L, Dc]``, ``history [B, L, Di+Dc]``.
        Padding positions look up row 0 (a trained row), as the reference does.
        """
        emb = self.embed_history(batch, training)
        emb.update(self.embed_targets(batch["items"], batch["cates"], training))
        return emb

    def embed_history(self, batch: dict[str, tf.Tensor], training: bool) -> dict[str, tf.Tensor]:
        """The target-independent lookups of :meth:`embed`: ``user``, ``item_history``,
        ``cate_history``, ``history``."""
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
            "cate_history": cate_hist,
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

    # A model's encoder is either one method, build_seq_output, or two: encode_history (what
    # does not depend on the target item) and score_targets (what does). The split lets serving
    # encode one user's history once and score many candidates against it.
    def encode_history(self, batch, emb, training) -> dict[str, tf.Tensor] | None:
        """Target-independent part of the encoder: a dict of ``[B, ...]`` tensors, or ``None``
        when the model does not split its encoder (the default).

        ``batch`` and ``emb`` are given without the target keys (``items``, ``cates``,
        ``emb["item" | "cate" | "target"]``), so reading them fails when the model is traced.
        """
        return None

    def score_targets(self, batch, emb, history: dict[str, tf.Tensor], training):
        """Target-dependent part of a split encoder: ``history`` is :meth:`encode_history`'s
        dict (row-aligned with ``batch``); returns what :meth:`build_seq_output` returns."""
        raise NotImplementedError(f"{type(self).__name__} does not split its encoder")

    def prepare_history_for_scoring(self, history: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Per-user work that pays only when one encoding is scored against many targets
        (:meth:`score_user_targets`), e.g. the key side of a target attention
        (``AttentionPooling.encode_keys``). Default: none."""
        return history

    def build_seq_output(self, batch, emb, training) -> tf.Tensor | dict[str, tf.Tensor]:
        """Model-specific encoder. Return ``[B, F]`` or a dict with ``"output"`` ``[B, F]`` and
        any intermediate tensors the model's :meth:`extra_losses` needs.

        Split models implement :meth:`encode_history` and :meth:`score_targets` instead."""
        history = self.encode_history(_without_targets(batch), _without_targets(emb), training)
        if history is None:
            raise NotImplementedError(
                f"{type(self).__name__} implements neither build_seq_output nor encode_history"
            )
        return self.score_targets(batch, emb, history, training)

    def forward(self, batch: dict[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        """Run the model; returns a dict with ``logits [B, 1]`` and the encoder's extras."""
        emb = self.embed(batch, training)
        out = self._with_logits(self.build_seq_output(batch, emb, training), training)
        out["embeddings"] = emb
        return out

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

    @property
    def splits_history(self) -> bool:
        """Whether :meth:`score_user_targets` encodes the history once (split encoder)."""
        return type(self).encode_history is not SequentialModel.encode_history

    def score_user_targets(self, user_batch: dict[str, tf.Tensor], items: tf.Tensor,
                           cates: tf.Tensor) -> tf.Tensor:
        """Scores ``[C]`` of targets ``items``/``cates`` ``[C]`` for one user (inference mode).

        ``user_batch`` holds one row (``[1, ...]`` features; its ``items``/``cates`` are
        ignored). A split model encodes the history once and repeats only the encoding;
        other models score ``C`` copies of the whole row. Both give :meth:`predict_scores`
        of the tiled rows.
        """
        n = tf.shape(items)[0]

        def tile(t):
            return tf.repeat(t, n, axis=0)

        batch = {k: tile(v) for k, v in user_batch.items()}
        batch["items"], batch["cates"] = items, cates
        if not self.splits_history:
            return tf.reshape(self.predict_scores(batch, training=False), [-1])
        history_batch = _without_targets(user_batch)
        emb = self.embed_history(history_batch, training=False)
        encoded = self.prepare_history_for_scoring(
            self.encode_history(history_batch, emb, training=False)
        )
        emb = {k: tile(v) for k, v in emb.items()}
        emb.update(self.embed_targets(items, cates, training=False))
        out = self.score_targets(batch, emb, tf.nest.map_structure(tile, encoded), training=False)
        logits = self._with_logits(out, training=False)["logits"]
        return tf.reshape(self._scores_from_logits(logits), [-1])

    # ------------------------------------------------------------------ losses
    def embedding_regularization_rows(self, batch) -> list[tf.Tensor]:
        """Embedding rows penalised by the embedding L2/L1 terms: each distinct item/category
        row touched by the batch, once (reference §3.3)."""
        items = tf.unique(tf.concat([tf.reshape(batch["item_history"], [-1]),
                                     batch["items"]], 0))[0]
        cates = tf.unique(tf.concat([tf.reshape(batch["item_cate_history"], [-1]),
                                     batch["cates"]], 0))[0]
        return [tf.gather(self.item_embedding.embeddings, items),
                tf.gather(self.cate_embedding.embeddings, cates)]

    def layer_variables(self) -> list[tf.Variable]:
        """Every trainable variable that is not an embedding table (biases and BN included)."""
        tables = {id(v) for v in self.embedding_tables()}
        return [v for v in self.trainable_variables if id(v) not in tables]

    def regularization_loss(self, batch) -> tf.Tensor:
        """``embed_l2 * Σ ½‖row‖² + layer_l2 * Σ ½‖W‖²`` (+ L1 terms), reference §3.6."""
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
        """Model-specific loss terms (e.g. CLSR contrastive / discrepancy), already weighted."""
        return {}

    def compute_loss_parts(self, batch, training: bool = False) -> dict[str, tf.Tensor]:
        """All loss terms by name, plus ``total_loss``."""
        outputs = self.forward(batch, training=training)
        parts = {
            "data_loss": self.task(labels=batch["labels"], predictions=outputs["logits"],
                                   training=training),
            "regular_loss": self.regularization_loss(batch),
        }
        parts.update(self.extra_losses(batch, outputs, training))
        parts.update(seq2seq_loss_parts(self.seq2seq, self.hparams.seq2seq_loss_weight,
                                        batch, outputs, training))
        parts["total_loss"] = tf.add_n(list(parts.values()))
        return parts

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        """TFRS entry point: the objective optimised by ``fit`` and by Keras ``model.fit``."""
        return self.compute_loss_parts(inputs, training=training)["total_loss"]

    # ------------------------------------------------------------------ compiled steps
    def _ensure_built(self) -> None:
        if self.built and self.trainable_variables:
            return
        self.forward(dummy_batch(self.group_size, self.hparams.max_seq_length), training=False)

    def _make_train_step(self, strategy: tf.distribute.Strategy | None = None):
        """The compiled training step; with ``strategy``, it takes a distributed batch and each
        replica's loss is scaled by ``1 / R`` (gradients are summed across replicas)."""
        optimizer = self.optimizer
        scale = 1.0 / strategy.num_replicas_in_sync if strategy is not None else 1.0

        def step(batch):
            with tf.GradientTape() as tape:
                parts = self.compute_loss_parts(batch, training=True)
                scaled_loss = parts["total_loss"] * scale
            variables = self.trainable_variables
            grads = tape.gradient(scaled_loss, variables)
            # Tables a model does not read (e.g. the base user table in SLi-Rec, as in the
            # reference) have no gradient; skip them instead of warning every step.
            pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
            if not pairs:  # checked once, at trace time
                raise ValueError(
                    f"{type(self).__name__}: the training loss reaches none of the "
                    f"{len(variables)} trainable variables"
                )
            optimizer.apply_gradients(pairs)
            return parts

        jit = bool(self.hparams.jit_compile)
        if strategy is None:
            return tf.function(step, jit_compile=jit)
        replica_step = tf.function(step, jit_compile=True) if jit else step

        def distributed_step(batch):
            parts = strategy.run(replica_step, args=(batch,))
            mean = tf.distribute.ReduceOp.MEAN
            return {k: strategy.reduce(mean, v, axis=None) for k, v in parts.items()}

        return tf.function(distributed_step)

    def _make_predict_step(self):
        def step(batch):
            return self.predict_scores(batch, training=False)

        return tf.function(step)

    # ------------------------------------------------------------------ Microsoft-style API
    def fit(self, train_file=None, valid_file=None, valid_num_ngs: int | None = None,
            eval_metric: str | None = None, *args, **kwargs):
        """Train with validation and early stopping (reference §3.10).

        With a ``tf.data.Dataset`` (or any non-path first argument) this is Keras' ``fit``.

        Each epoch: one pass over ``train_file`` (shuffled, in-batch negatives), evaluation of
        ``valid_file`` with ``valid_num_ngs`` negatives per positive, a checkpoint of the last
        epoch (resume after interruption), and ``best_model`` when ``eval_metric`` improved.
        Stops when the metric has not improved for ``EARLY_STOP`` epochs. The model keeps the
        weights of the last epoch, as Microsoft's does; ``load_model(<MODEL_DIR>/best_model)``
        restores the best.
        """
        if not isinstance(train_file, (str, os.PathLike)):
            return super().fit(train_file, valid_file, *args, **kwargs)
        hp = self.hparams
        strategy = check_model_strategy(self, hp)
        distributed = is_distributed(strategy)
        valid_num_ngs = hp.valid_num_ngs if valid_num_ngs is None else valid_num_ngs
        eval_metric = eval_metric or hp.eval_metric
        if valid_num_ngs < 1:
            raise ValueError(f"valid_num_ngs must be >= 1, got {valid_num_ngs}")
        with strategy.scope():  # variables and optimizer slots mirrored when distributed
            if getattr(self, "optimizer", None) is None:
                self.compile(optimizer=make_optimizer(hp))
            self._ensure_built()
        train_step = self._make_train_step(strategy if distributed else None)

        model_dir = hp.MODEL_DIR
        state = _FitState()
        ckpt = tf.train.Checkpoint(model=self, optimizer=self.optimizer, epoch=state.epoch,
                                   best_metric=state.best_metric, best_epoch=state.best_epoch)
        manager = None
        if model_dir:
            os.makedirs(model_dir, exist_ok=True)
            manager = tf.train.CheckpointManager(ckpt, os.path.join(model_dir, "last"),
                                                 max_to_keep=1)
            if manager.latest_checkpoint:
                ckpt.restore(manager.latest_checkpoint)
                print_flush(f"resumed from {manager.latest_checkpoint} "
                            f"(epoch {int(state.epoch.numpy())})")
        self.train_log = TrainingLog(hp.run_dir or model_dir, hp.SUMMARIES_DIR
                                     if hp.write_tfevents else None)
        self.history = []
        start_epoch = int(state.epoch.numpy()) + 1
        for epoch in range(start_epoch, hp.epochs + 1):
            t0 = time.time()
            counters_before = self.training_counters()
            sums: dict[str, float] = {}
            steps = 0
            dataset = self.data.train_dataset(train_file, seed=_epoch_seed(self.seed, epoch))
            if distributed:
                # one input file: each worker takes its part of every global batch (the default
                # FILE sharding needs at least one file per worker)
                options = tf.data.Options()
                options.experimental_distribute.auto_shard_policy = (
                    tf.data.experimental.AutoShardPolicy.DATA
                )
                dataset = strategy.experimental_distribute_dataset(dataset.with_options(options))
            for batch in dataset:
                parts = train_step(batch)
                steps += 1
                if steps % hp.show_step == 0 or steps == 1:
                    values = {k: float(v) for k, v in parts.items()}
                    print_flush(f"step {steps:d} , total_loss: {values['total_loss']:.4f}, "
                                f"data_loss: {values['data_loss']:.4f}")
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
            if steps == 0:
                raise ValueError(
                    f"{train_file}: no training batch of {hp.batch_size} instances; the file "
                    "has fewer lines than batch_size (after the min_seq_length filter)"
                )
            train_seconds = time.time() - t0
            counts = {k: v - counters_before[k] for k, v in self.training_counters().items()}
            if counts:
                print_flush(f"epoch {epoch} counts: "
                            + ", ".join(f"{k} {v:d}" for k, v in counts.items()))
            t1 = time.time()
            valid_res = self.run_eval(valid_file, valid_num_ngs)
            eval_seconds = time.time() - t1
            print_flush(f"eval valid at epoch {epoch}: "
                        + ",".join(f"{k}:{v}" for k, v in valid_res.items()))
            if eval_metric not in valid_res:
                raise KeyError(f"eval_metric `{eval_metric}` is not among the validation metrics "
                               f"{list(valid_res)}; add it to metrics / pairwise_metrics / "
                               "weighted_metrics")
            self.history.append((epoch, valid_res))
            means = {k: v / steps for k, v in sums.items()}
            self.train_log.write(epoch, {**means, "train_seconds": train_seconds,
                                         "eval_seconds": eval_seconds,
                                         "train_instances_per_s": steps * hp.batch_size
                                         / max(train_seconds, 1e-9), **counts},
                                 valid_res)
            improved = valid_res[eval_metric] > float(state.best_metric.numpy())
            if improved:
                state.best_metric.assign(valid_res[eval_metric])
                state.best_epoch.assign(epoch)
                if model_dir and hp.save_model:
                    self.save_weights_checkpoint(os.path.join(model_dir, "best_model"))
            state.epoch.assign(epoch)
            if manager is not None:
                manager.save(checkpoint_number=epoch)
            if (not improved and hp.EARLY_STOP > 0
                    and epoch - int(state.best_epoch.numpy()) >= hp.EARLY_STOP):
                print_flush(f"early stop at epoch {epoch}!")
                break
        self.best_epoch = int(state.best_epoch.numpy())
        self.best_metric = float(state.best_metric.numpy())
        print_flush(f"best epoch: {self.best_epoch}")
        return self

    def training_counters(self) -> dict[str, int]:
        """Cumulative counts kept by the model's layers during training; ``fit`` prints and logs
        each epoch's increase (``training_log.csv``), so rows a loss term skips are reported."""
        if self.seq2seq is None:
            return {}
        return {
            "seq2seq_rows_used": int(self.seq2seq.rows_used.numpy()),
            "seq2seq_rows_skipped": int(self.seq2seq.rows_skipped.numpy()),
        }

    def _collect(self, filename, min_seq_length=None, with_users=False):
        # One compiled predict step per model: tracing once per run_eval call dominated the
        # evaluation time of small files.
        if getattr(self, "_predict_step", None) is None:
            self._predict_step = self._make_predict_step()
        predict_step = self._predict_step
        preds, labels, users, weights = [], [], [], []
        for batch in self.data.eval_dataset(filename, min_seq_length=min_seq_length):
            preds.append(predict_step(batch).numpy().reshape(-1))
            labels.append(batch["labels"].numpy().reshape(-1))
            users.append(batch["users"].numpy().reshape(-1))
            weights.append(batch["sample_weight"].numpy().reshape(-1))
        if not preds:
            raise ValueError(f"{filename}: no lines to evaluate")
        keep = np.concatenate(weights) > 0
        return (np.concatenate(preds)[keep], np.concatenate(labels)[keep],
                np.concatenate(users)[keep])

    def run_eval(self, filename, num_ngs: int) -> dict[str, float]:
        """Metrics on a file of groups (1 positive + ``num_ngs`` negatives), reference §3.11.

        Returns pointwise metrics (``metrics``), group metrics (``pairwise_metrics``) and
        weighted per-user metrics (``weighted_metrics``) in that key order.
        """
        self._ensure_built()
        preds, labels, users = self._collect(filename)
        return evaluate(labels, preds, users, self.hparams, num_ngs)

    def predict(self, infile, outfile=None, *args, **kwargs):
        """Write one probability per line of ``infile`` to ``outfile`` (atomically).

        With a ``tf.data.Dataset`` or tensors as first argument this is Keras' ``predict``.
        """
        if not isinstance(infile, (str, os.PathLike)) or outfile is None:
            return super().predict(infile, *args, **kwargs)
        self._ensure_built()
        preds, _, _ = self._collect(infile, min_seq_length=1)
        with atomic_path(outfile) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(repr(float(p)) for p in preds))
            f.write("\n")
        return self

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


class _FitState:
    """Epoch bookkeeping kept in the checkpoint so an interrupted ``fit`` resumes."""

    def __init__(self):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.best_metric = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="best_metric")
        self.best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="best_epoch")


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


def _without_targets(features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """``features`` without the target item's entries (batch keys and embedding keys)."""
    return {k: v for k, v in features.items() if k not in _TARGET_KEYS}


def _epoch_seed(seed: int | None, epoch: int) -> int | None:
    return None if seed is None else seed * 1000 + epoch
