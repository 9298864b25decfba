"""The file-based training loop and the evaluation loop of every model.

A model (``SequentialModel``) is embeddings + encoder + head + its losses; this module runs it:

* :func:`make_train_step` — the compiled step (loss parts, gradients, optimizer update), on one
  device or under a ``tf.distribute`` strategy;
* :func:`collect` — the one evaluation loop: iterate batches, run a step, drop the rows padding
  the last batch, concatenate;
* :class:`Trainer` — Microsoft's ``fit(train_file, valid_file, valid_num_ngs, eval_metric)``
  (epochs, checkpoints and resume, early stopping, logging), ``run_eval(file, num_ngs)`` and
  ``predict(file, outfile)``. The model's methods of the same names delegate here.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from tf_lsrec.evaluation.full_ranking import is_ranking_key
from tf_lsrec.evaluation.metrics import evaluate
from tf_lsrec.models.distribute import check_model_strategy, is_distributed
from tf_lsrec.models.guards import announce_resume, check_finite_loss, metric_improved
from tf_lsrec.models.optimizers import make_optimizer
from tf_lsrec.models.ranking_eval import Ranker, RankingProtocol, model_catalogue
from tf_lsrec.models.step_checkpoint import StepCheckpoint
from tf_lsrec.models.training import TrainingLog, print_flush
from tf_lsrec.models.worker_checkpoint import check_same_position, worker_dir
from tf_lsrec.utils.files import atomic_path
from tf_lsrec.utils.logs import progress


def _eval_batch_rows(hp, group_size: int | None) -> int:
    batch = int(hp.get("eval_batch_size") or hp.batch_size)
    return max(group_size, batch // group_size * group_size) if group_size else batch


def make_train_step(model, strategy: tf.distribute.Strategy | None = None):
    """The compiled training step of ``model`` (its ``optimizer`` must be set): returns the loss
    parts of a batch. With ``strategy``, it takes a distributed batch, each replica's loss is
    scaled by ``1 / R`` (gradients are summed across replicas) and the parts are averaged."""
    optimizer = model.optimizer
    scale = 1.0 / strategy.num_replicas_in_sync if strategy is not None else 1.0
    # train_dataset copies one line to its 1+K rows (each replica gets whole groups), so the
    # history is encoded once per line without the in-graph check (hparams.share_history)
    group_size = model.group_size if model.share_history(training=True) else None

    def step(batch):
        with tf.GradientTape() as tape:
            parts = model.compute_loss_parts(
                batch, training=True, group_size=group_size, checked=False
            )
            scaled_loss = parts["total_loss"] * scale
        variables = model.trainable_variables
        grads = tape.gradient(scaled_loss, variables)
        # Tables a model does not read (e.g. the base user table in SLi-Rec, as in the
        # reference) have no gradient; skip them instead of warning every step.
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:  # checked once, at trace time
            raise ValueError(
                f"{type(model).__name__}: the training loss reaches none of the "
                f"{len(variables)} trainable variables"
            )
        optimizer.apply_gradients(pairs)
        return parts

    jit = bool(model.hparams.jit_compile)
    if strategy is None:
        return tf.function(step, jit_compile=jit)
    replica_step = tf.function(step, jit_compile=True) if jit else step

    def distributed_step(batch):
        parts = strategy.run(replica_step, args=(batch,))
        mean = tf.distribute.ReduceOp.MEAN
        return {k: strategy.reduce(mean, v, axis=None) for k, v in parts.items()}

    return tf.function(distributed_step)


def collect(
    batches: Iterable[dict[str, tf.Tensor]],
    step: Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]],
    batch_keys: Sequence[str] = (),
    what: str = "evaluation data",
    progbar: keras.utils.Progbar | None = None,
) -> dict[str, np.ndarray]:
    """Run ``step`` on every batch and return its outputs and the ``batch_keys`` of the batches,
    concatenated over batches, without the rows padding the last batch (``sample_weight`` 0).

    Arrays ``[B]`` or ``[B, 1]`` come back as ``[N]``; wider ones as ``[N, ...]``.
    """
    columns: dict[str, list[np.ndarray]] = {}
    weights = []
    for batch in batches:
        values = {k: v.numpy() for k, v in step(batch).items()}
        values.update({k: batch[k].numpy() for k in batch_keys})
        for k, v in values.items():
            if v.ndim == 2 and v.shape[1] == 1:
                v = v[:, 0]
            columns.setdefault(k, []).append(v)
        weights.append(batch["sample_weight"].numpy().reshape(-1))
        if progbar is not None:
            progbar.add(1)
    if not weights:
        raise ValueError(f"{what}: no lines to evaluate")
    keep = np.concatenate(weights) > 0
    return {k: np.concatenate(v)[keep] for k, v in columns.items()}


class _FitState:
    """Epoch bookkeeping kept in the checkpoint so an interrupted ``fit`` resumes."""

    def __init__(self):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.best_metric = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="best_metric")
        self.best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="best_epoch")


def _epoch_seed(seed: int | None, epoch: int) -> int | None:
    return None if seed is None else seed * 1000 + epoch


def progress_mode(verbose) -> int:
    """Keras' ``verbose`` for the file-based loops, as an internal mode: ``"auto"`` is 1
    (progress bars) when stdout is a terminal, else ``LINES`` (-1: Microsoft's ``step N ,
    total_loss`` lines every ``show_step`` steps, the default off a terminal); 0 = neither bars
    nor ``step N`` lines, 1 = bars, 2 = one line per epoch."""
    if verbose == "auto":
        return 1 if getattr(sys.stdout, "isatty", lambda: False)() else LINES
    if verbose not in (LINES, 0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


LINES = -1
"""``progress_mode`` of a default run off a terminal: Microsoft's ``step N`` lines."""

FIT_KERAS_ARGS = ("callbacks", "verbose", "initial_epoch", "epochs")
"""The Keras ``fit`` arguments the file-based ``fit`` accepts (besides ``resume``)."""


class Trainer:
    """Runs one model on files: training with validation, evaluation and prediction.

    After :meth:`fit` the model carries ``train_log`` (``TrainingLog``: one row per epoch),
    ``eval_history`` (``[(epoch, valid metrics)]``), ``best_epoch`` and ``best_metric``.
    """

    def __init__(self, model):
        self.model = model
        self._steps: dict[str, Callable] = {}
        self.verbose = "auto"  # progress bars of collect / run_eval (progress_mode)
        # ranking evaluation (rank): a ranking_eval.CatalogueIndex, set by tools/run.py from
        # the prepared data paths or built from hparams on first use
        self.catalogue = None
        self.last_ranking_info: dict | None = None
        self._ranker = None

    # ------------------------------------------------------------------ evaluation
    def compiled(self, name: str, fn: Callable) -> Callable:
        """``tf.function(fn)``, created once per trainer and ``name`` (tracing once per run_eval
        call dominated the evaluation time of small files)."""
        if name not in self._steps:
            self._steps[name] = tf.function(fn)
        return self._steps[name]

    def eval_group_size(self, num_ngs: int | None) -> int | None:
        """Rows per evaluation group (``num_ngs + 1``) when the model shares a group's history in
        inference (``hparams.share_history``), else ``None`` (one row at a time)."""
        if num_ngs is None or not self.model.share_history(training=False):
            return None
        return int(num_ngs) + 1

    def predict_step(self, group_size: int | None = None):
        """The compiled ``batch -> {"scores": [B, 1]}`` step (one per ``group_size``, traced
        once): with ``group_size`` each group's history is encoded once (checked in the graph;
        a batch whose groups do not share their history runs row by row)."""
        model = self.model

        def step(batch):
            out = model.forward(batch, training=False, group_size=group_size)
            return {"scores": model._scores_from_logits(out["logits"])}

        return self.compiled(f"predict_g{group_size or 1}", step)

    def collect(
        self,
        filename,
        step=None,
        batch_keys=("labels", "users"),
        min_seq_length=None,
        raw_ids: bool = False,
        group_size: int | None = None,
    ) -> dict[str, np.ndarray]:
        """:func:`collect` over the evaluation batches of ``filename`` (``step`` defaults to
        :meth:`predict_step`; ``raw_ids`` adds the file's ``user_id`` / ``item_id`` strings;
        ``group_size`` makes batches of whole groups, ``SequentialData.eval_dataset``)."""
        model = self.model
        model._ensure_built()
        batches = model.data.eval_dataset(
            filename, min_seq_length=min_seq_length, raw_ids=raw_ids, group_size=group_size
        )
        step = step or self.predict_step(group_size)
        progbar = None
        if progress_mode(self.verbose) == 1:
            lines = model.data.file_stats(filename).lines
            per_batch = _eval_batch_rows(model.hparams, group_size)
            progbar = keras.utils.Progbar(-(-lines // per_batch), unit_name="batch")
        return collect(batches, step, batch_keys, what=str(filename), progbar=progbar)

    def run_eval(
        self, filename, num_ngs: int, full_ranking: bool | None = None
    ) -> dict[str, float]:
        """The sampled metrics of ``filename``, then (``full_ranking``; default: when
        ``full_ranking_metrics`` is set) the ranking metrics of :meth:`rank`."""
        self.model.data.file_stats(filename, group_size=num_ngs + 1)  # 1 positive + num_ngs
        cols = self.collect(filename, group_size=self.eval_group_size(num_ngs))
        hp = self.model.hparams
        result = evaluate(cols["labels"], cols["scores"], cols["users"], hp, num_ngs)
        if full_ranking is None:
            full_ranking = bool(hp.get("full_ranking_metrics"))
        if full_ranking:
            result.update(self.rank(filename))
        return result

    def rank(self, filename) -> dict[str, float]:
        """Ranking metrics of the positive lines of ``filename`` against the catalogue
        (``tf_lsrec.models.ranking_eval``; keys ``full_...`` or ``neg<N>_...``). The protocol's
        counts are kept in :attr:`last_ranking_info`. The catalogue is :attr:`catalogue`, built
        on first use from ``item_vocab`` and ``train_file``."""
        model = self.model
        model._ensure_built()
        protocol = RankingProtocol.from_hparams(model.hparams)
        if self.catalogue is None:
            self.catalogue = model_catalogue(model)
        if (
            self._ranker is None
            or self._ranker.protocol != protocol
            or self._ranker.catalogue is not self.catalogue
        ):
            self._ranker = Ranker(model, self.catalogue, protocol)
        metrics, self.last_ranking_info = self._ranker.rank(filename)
        return metrics

    def predict(self, infile, outfile) -> None:
        scores = self.collect(infile, batch_keys=(), min_seq_length=1)["scores"]
        with atomic_path(outfile) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(repr(float(p)) for p in scores))
            f.write("\n")

    # ------------------------------------------------------------------ training
    def fit(
        self,
        train_file,
        valid_file,
        valid_num_ngs: int | None = None,
        eval_metric: str | None = None,
        resume: bool = True,
        callbacks=None,
        verbose="auto",
        initial_epoch: int = 0,
        epochs: int | None = None,
    ) -> None:
        """Train with validation each epoch (see ``SequentialModel.fit``); ``resume=False``
        trains from scratch even when ``MODEL_DIR/last`` holds a checkpoint.

        Keras arguments: ``callbacks`` (a list of ``keras.callbacks.Callback``) get
        ``on_train_begin``, ``on_epoch_begin(e)``, ``on_train_batch_end(step, logs)``,
        ``on_epoch_end(e, logs)`` with the training loss parts and the validation metrics as
        ``val_<name>`` (``val_group_auc``, ...), and ``on_train_end``; Keras epochs are
        0-based (``e = epoch - 1``). A callback setting ``model.stop_training`` (EarlyStopping)
        ends training after that epoch. ``verbose``: see :func:`progress_mode`.
        ``initial_epoch``: the 0-based epoch to start at (as Keras; a resumed run starts after
        its checkpoint if that is later). ``epochs``: overrides ``hparams.epochs``."""
        model = self.model
        hp = model.hparams
        mode = progress_mode(verbose)
        last_epoch = int(hp.epochs if epochs is None else epochs)
        strategy = check_model_strategy(model, hp)
        distributed = is_distributed(strategy)
        valid_num_ngs = hp.valid_num_ngs if valid_num_ngs is None else valid_num_ngs
        eval_metric = eval_metric or hp.eval_metric
        if valid_num_ngs < 1:
            raise ValueError(f"valid_num_ngs must be >= 1, got {valid_num_ngs}")
        model.data.file_stats(train_file, group_size=1)  # both files checked before epoch 1
        model.data.file_stats(valid_file, group_size=valid_num_ngs + 1)
        with strategy.scope():  # variables and optimizer slots mirrored when distributed
            if getattr(model, "optimizer", None) is None:
                model.compile(optimizer=make_optimizer(hp))
            model._ensure_built()
        train_step = make_train_step(model, strategy if distributed else None)

        model_dir = hp.MODEL_DIR
        state = _FitState()
        position = StepCheckpoint(hp.checkpoint_steps)  # in-epoch position (checkpoint_steps)
        ckpt = tf.train.Checkpoint(
            model=model,
            optimizer=model.optimizer,
            epoch=state.epoch,
            best_metric=state.best_metric,
            best_epoch=state.best_epoch,
            **position.trackables(),
        )
        manager = None
        # multi-worker: the chief's MODEL_DIR/last is the checkpoint every worker restores; the
        # other workers write their copies under MODEL_DIR/worker_<i> (worker_checkpoint.py)
        write_dir = worker_dir(model_dir, strategy)
        if model_dir:
            os.makedirs(write_dir, exist_ok=True)
            manager = tf.train.CheckpointManager(
                ckpt, os.path.join(write_dir, "last"), max_to_keep=1
            )
            latest = tf.train.latest_checkpoint(os.path.join(model_dir, "last"))
            if latest and resume:
                ckpt.restore(latest)
                epoch_done = int(state.epoch.numpy())
                print_flush(f"resumed from {latest} (epoch {epoch_done})")
                print_flush(announce_resume(latest, epoch_done, hp.epochs, model_dir))
            check_same_position(strategy, int(state.epoch.numpy()), int(position.step.numpy()))
        model.train_log = TrainingLog(
            worker_dir(hp.run_dir or model_dir, strategy),
            worker_dir(hp.SUMMARIES_DIR, strategy) if hp.write_tfevents else None,
        )
        start_epoch = max(int(state.epoch.numpy()), int(initial_epoch)) + 1
        model.eval_history = model.train_log.keep_before(start_epoch)  # epochs before a resume
        callback_list = keras.callbacks.CallbackList(
            callbacks, add_history=False, add_progbar=False, model=model,
            verbose=max(mode, 0), epochs=last_epoch,
        )  # fmt: skip
        model.stop_training = False
        self.verbose = mode
        callback_list.on_train_begin()
        for epoch in range(start_epoch, last_epoch + 1):
            callback_list.on_epoch_begin(epoch - 1)
            if mode > 0:
                progress(f"Epoch {epoch}/{last_epoch}")
            t0 = time.time()
            counters_before = model.training_counters()
            means, steps = self._train_epoch(
                train_step,
                train_file,
                epoch,
                strategy if distributed else None,
                position=position,
                manager=manager,
                resuming=epoch == start_epoch,
                callbacks=callback_list,
                mode=mode,
            )
            train_seconds = time.time() - t0
            counts = {k: v - counters_before[k] for k, v in model.training_counters().items()}
            if counts:
                print_flush(
                    f"epoch {epoch} counts: " + ", ".join(f"{k} {v:d}" for k, v in counts.items())
                )
            t1 = time.time()
            # a model may extend run_eval; the ranking metrics (slow: the whole catalogue per
            # user) only when early stopping watches one of them
            valid_res = model.run_eval(
                valid_file, valid_num_ngs, full_ranking=is_ranking_key(eval_metric)
            )
            eval_seconds = time.time() - t1
            print_flush(
                f"eval valid at epoch {epoch}: "
                + ",".join(f"{k}:{v}" for k, v in valid_res.items())
            )
            if eval_metric not in valid_res:
                raise KeyError(
                    f"eval_metric `{eval_metric}` is not among the validation metrics "
                    f"{list(valid_res)}; add it to metrics / pairwise_metrics / "
                    "weighted_metrics"
                )
            model.eval_history.append((epoch, valid_res))
            model.train_log.write(
                epoch,
                {
                    **means,
                    "train_seconds": train_seconds,
                    "eval_seconds": eval_seconds,
                    "train_instances_per_s": steps * hp.batch_size / max(train_seconds, 1e-9),
                    **counts,
                },
                valid_res,
            )
            improved = metric_improved(  # logloss / rmse: lower is better
                eval_metric,
                valid_res[eval_metric],
                float(state.best_metric.numpy()),
                int(state.best_epoch.numpy()),
            )
            if improved:
                state.best_metric.assign(valid_res[eval_metric])
                state.best_epoch.assign(epoch)
                if model_dir and hp.save_model:
                    model.save_weights_checkpoint(os.path.join(write_dir, "best_model"))
            state.epoch.assign(epoch)
            position.reset()
            if manager is not None:
                manager.save(checkpoint_number=epoch)
            logs = {"loss": means.get("total_loss"), **means}
            logs.update({f"val_{k}": v for k, v in valid_res.items()})
            callback_list.on_epoch_end(epoch - 1, logs)
            if (
                not improved
                and hp.EARLY_STOP > 0
                and epoch - int(state.best_epoch.numpy()) >= hp.EARLY_STOP
            ):
                print_flush(f"early stop at epoch {epoch}!")
                break
            if model.stop_training:  # a callback (EarlyStopping) asked to stop
                print_flush(f"stopped by a callback at epoch {epoch}")
                break
        self.verbose = "auto"
        callback_list.on_train_end()
        model.best_epoch = int(state.best_epoch.numpy())
        model.best_metric = float(state.best_metric.numpy())
        print_flush(f"best epoch: {model.best_epoch}")

    def _train_epoch(
        self,
        train_step,
        train_file,
        epoch: int,
        strategy=None,
        position: StepCheckpoint | None = None,
        manager=None,
        resuming: bool = False,
        callbacks: keras.callbacks.CallbackList | None = None,
        mode: int = LINES,
    ):
        """One pass over ``train_file``; returns the mean loss parts and the number of steps.

        Stops with ``NonFiniteLossError`` (models/guards.py) on a NaN / Inf loss part; with
        ``position``, saves the in-epoch position every ``checkpoint_steps`` and, when
        ``resuming``, skips the batches trained before the last such checkpoint."""
        model = self.model
        hp = model.hparams
        dataset = model.data.train_dataset(train_file, seed=_epoch_seed(model.seed, epoch))
        # The loss parts are summed as tensors (float64) and read on the host only every
        # show_step steps, at in-epoch checkpoints and at the end of the epoch; per step only
        # the total is read, for the non-finite guard (a NaN / Inf part makes it non-finite).
        sums: dict[str, tf.Tensor | float] = {}
        steps = 0
        if resuming and position is not None:
            dataset, steps, sums = position.resume(dataset)
        if strategy is not None:
            # one input file: each worker takes its part of every global batch (the default
            # FILE sharding needs at least one file per worker)
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA
            )
            dataset = strategy.experimental_distribute_dataset(dataset.with_options(options))
        stats = model.data.file_stats(train_file, group_size=1)
        per_epoch = (stats.lines - stats.lines_shorter_than(int(hp.min_seq_length))) // int(
            hp.batch_size
        )
        progbar = keras.utils.Progbar(per_epoch, verbose=mode) if mode > 0 else None
        log = model.train_log
        every = int(hp.get("tfevents_steps") or 0)
        for batch in dataset:
            if callbacks is not None:
                callbacks.on_train_batch_begin(steps)
            parts = train_step(batch)
            steps += 1
            total = float(parts["total_loss"])  # the one host read every step
            if not math.isfinite(total):
                check_finite_loss(parts, epoch, steps, batch, model.data, train_file, hp)
            for k, v in parts.items():
                v = tf.cast(v, tf.float64)
                sums[k] = sums[k] + v if k in sums else v
            write_step = bool(every and log is not None and steps % every == 0)
            values = (
                {k: float(v) for k, v in parts.items()}
                if progbar is not None or write_step or (callbacks and callbacks.callbacks)
                else None
            )
            if progbar is not None:
                progbar.update(steps, [("total_loss", values["total_loss"]),
                                       ("data_loss", values["data_loss"])])  # fmt: skip
            elif mode == LINES and (steps % hp.show_step == 0 or steps == 1):  # Microsoft's
                print_flush(
                    f"step {steps:d} , total_loss: {float(parts['total_loss']):.4f}, "
                    f"data_loss: {float(parts['data_loss']):.4f}"
                )
            if write_step:
                log.write_step((epoch - 1) * per_epoch + steps, values)
            if values is not None and callbacks is not None:
                callbacks.on_train_batch_end(steps - 1, {"loss": values["total_loss"], **values})
            if manager is not None and position is not None and position.due(steps):
                position.record(steps, {k: float(v) for k, v in sums.items()})
                manager.save()
        if steps == 0:
            raise ValueError(
                f"{train_file}: no training batch of {hp.batch_size} instances; the file "
                "has fewer lines than batch_size (after the min_seq_length filter)"
            )
        return {k: float(v) / steps for k, v in sums.items()}, steps
