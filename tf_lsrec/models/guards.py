"""Guards of the training loop: stop on a non-finite loss instead of training on NaN weights.

A NaN or Inf loss (a learning rate of 1e30, an exploding RNN, a timestamp that overflows a
time feature) turns the weights to NaN in one step; the run would then finish, report AUC 0.5
and exit 0. :func:`check_finite_loss` is called by ``SequentialModel.fit`` after each step and
raises :class:`NonFiniteLossError` naming the epoch, the step, the non-finite loss part(s) and,
when they can be found, the training file lines of the batch's instances. The checkpoint of the
previous epoch (``MODEL_DIR/last``) is not overwritten, so nothing trained before is lost.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import tensorflow as tf

MAX_LINES_REPORTED = 20


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or Inf; ``epoch``, ``step``, ``parts`` and ``lines`` say
    where (``lines``: 1-based line numbers of the batch's instances in the training file, or an
    empty list when they could not be found)."""

    def __init__(self, message: str, epoch: int, step: int, parts: dict, lines: list[int]):
        super().__init__(message)
        self.epoch, self.step, self.parts, self.lines = epoch, step, parts, lines


def loss_values(parts: Mapping[str, tf.Tensor]) -> dict[str, float]:
    """The loss parts as Python floats (one device read per part)."""
    return {k: float(v) for k, v in parts.items()}


def check_finite_loss(
    parts: Mapping[str, tf.Tensor] | Mapping[str, float],
    epoch: int,
    step: int,
    batch=None,
    data=None,
    train_file: str | os.PathLike | None = None,
    hparams=None,
) -> dict[str, float]:
    """Return the loss parts as floats; raise :class:`NonFiniteLossError` if one is NaN/Inf.

    Args:
        parts: the step's loss parts (``total_loss``, ``data_loss``, ...).
        epoch, step: where in training (1-based).
        batch: the step's batch dict (``labels``, ``users``, ``items``, ``time``), used to find
            the instances' lines in ``train_file``; optional.
        data: the model's ``SequentialData`` (vocab lookup), needed with ``batch``.
        train_file: the training file.
        hparams: to name ``learning_rate`` in the hint.
    """
    values = loss_values(parts)
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if not bad:
        return values
    lines: list[int] = []
    if batch is not None and data is not None and train_file is not None:
        try:
            lines = batch_lines(batch, data.lookup, train_file)
        except Exception:  # noqa: BLE001 - the report must not hide the real error
            lines = []
    named = ", ".join(f"{k} = {v}" for k, v in bad.items() if k != "total_loss") or ", ".join(
        f"{k} = {v}" for k, v in bad.items()
    )
    finite = ", ".join(f"{k} = {v:.6g}" for k, v in values.items() if k not in bad)
    where = ""
    if lines:
        shown = ", ".join(str(n) for n in lines[:MAX_LINES_REPORTED])
        more = (
            f" (+{len(lines) - MAX_LINES_REPORTED} more)" if len(lines) > MAX_LINES_REPORTED else ""
        )
        where = f"; the batch holds {train_file} lines {shown}{more}"
    elif train_file is not None:
        where = f"; batch of {train_file} (its lines could not be located)"
    lr = ""
    if hparams is not None and hparams.get("learning_rate") is not None:
        lr = f"learning_rate ({hparams.get('learning_rate')}), "
    message = (
        f"training loss is not finite at epoch {epoch}, step {step}: {named}"
        f"{f' (finite: {finite})' if finite else ''}{where}. Training stopped before the "
        "weights of this epoch were saved (the previous epoch's checkpoint is intact). Check "
        f"{lr}the timestamps and features of those lines, and clip_norm / is_clip_norm"
    )
    raise NonFiniteLossError(message, epoch, step, values, lines)


def batch_lines(batch, lookup, train_file: str | os.PathLike) -> list[int]:
    """1-based lines of ``train_file`` holding the batch's instances (its label-1 rows).

    Matches on the target timestamp, then the user and item indices (through ``lookup``); one
    streaming pass over the file, done only when a step failed.
    """
    labels = _local(batch["labels"]).reshape(-1)
    rows = np.flatnonzero(labels == 1)
    keys = {
        (float(t), int(u), int(i))
        for t, u, i in zip(
            _local(batch["time"]).reshape(-1)[rows],
            _local(batch["users"]).reshape(-1)[rows],
            _local(batch["items"]).reshape(-1)[rows],
        )
    }
    times = {k[0] for k in keys}
    found: list[int] = []
    reader = pd.read_csv(
        os.fspath(train_file), sep="\t", header=None, usecols=[1, 2, 4], dtype=str,
        keep_default_na=False, quoting=3, chunksize=200_000, encoding="utf-8",
    )  # fmt: skip
    base = 1
    for chunk in reader:
        stamp = pd.to_numeric(chunk[4], errors="coerce").to_numpy(float)
        hit = np.flatnonzero(np.isin(stamp, list(times)))
        if len(hit):
            users = lookup.users(tf.constant(chunk[1].to_numpy(str)[hit])).numpy()
            items = lookup.items(tf.constant(chunk[2].to_numpy(str)[hit])).numpy()
            for j, u, i in zip(hit, users, items):
                if (float(stamp[j]), int(u), int(i)) in keys:
                    found.append(base + int(j))
        base += len(chunk)
    return found


def _local(value) -> np.ndarray:
    """A batch tensor as numpy; a distributed (per-replica) value is concatenated."""
    if hasattr(value, "values") and not isinstance(value, (tf.Tensor, np.ndarray)):
        return np.concatenate([np.asarray(v) for v in value.values])
    return np.asarray(value)


# ---------------------------------------------------------------------------------- metrics
LOWER_IS_BETTER = frozenset({"logloss", "rmse", "mse", "mae"})


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is better (losses and errors)."""
    return metric.split("@")[0].lower() in LOWER_IS_BETTER


def metric_improved(metric: str, value: float, best: float, best_epoch: int) -> bool:
    """Whether ``value`` of ``metric`` beats ``best`` (the first epoch always does), in the
    metric's own direction: ``logloss`` and ``rmse`` improve downwards, the rest upwards. A
    non-finite value never improves."""
    if not math.isfinite(value):
        return False
    if best_epoch <= 0:
        return True
    return value < best if lower_is_better(metric) else value > best


# ---------------------------------------------------------------------------------- resume
def announce_resume(checkpoint: str, epoch: int, epochs: int, model_dir: str) -> str:
    """The loud message ``fit`` prints (and warns) when it resumes from ``MODEL_DIR/last``."""
    last = os.path.join(model_dir, "last")
    if epoch >= epochs:
        what = f"all {epochs} epochs are already done, so nothing will be trained"
    else:
        what = f"training continues at epoch {epoch + 1} of {epochs}"
    message = (
        f"RESUMING from {checkpoint} (epoch {epoch}): {what}. To train from scratch, call "
        f"fit(..., resume=False), or delete {last}, or use another MODEL_DIR"
    )
    import warnings

    warnings.warn(message, stacklevel=3)
    return message
