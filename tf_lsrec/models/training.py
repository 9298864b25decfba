"""Training-loop bookkeeping: per-epoch CSV log and optional TensorBoard scalars."""

from __future__ import annotations

import csv
import io
import os

import tensorflow as tf

from tf_lsrec.utils.files import atomic_write_text
from tf_lsrec.utils.logs import progress


def _scalar_metadata():
    from tensorflow.core.framework import summary_pb2

    md = summary_pb2.SummaryMetadata()
    md.plugin_data.plugin_name = "scalars"  # what TensorBoard's tf.summary.scalar writes
    return md


def _scalar(tag: str, value: float, step: int) -> None:
    """A TensorBoard scalar through core ``tf.summary.write`` (``tf.summary.scalar`` needs the
    ``tensorboard`` package, which is not a dependency)."""
    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=int(step),
                     metadata=_scalar_metadata())  # fmt: skip


def print_flush(message: str) -> None:
    """A progress message through ``logging`` (``tf_lsrec.utils.logs``; stdout by default)."""
    progress(message)


class TrainingLog:
    """Writes ``training_log.csv`` (one row per epoch: train loss parts, speed, valid metrics)
    into ``log_dir`` and, if ``summaries_dir`` is given, TensorBoard scalars per epoch, and per
    step when asked (``tfevents_steps``; scalars only: the reference's per-step histograms
    dominated its training time)."""

    def __init__(self, log_dir: str | None, summaries_dir: str | None = None):
        self.rows: list[dict[str, float]] = []
        self.path = os.path.join(log_dir, "training_log.csv") if log_dir else None
        self.writer = tf.summary.create_file_writer(summaries_dir) if summaries_dir else None

    def keep_before(self, epoch: int) -> list[tuple[int, dict[str, float]]]:
        """On resume at ``epoch``: keep the rows of earlier epochs from ``training_log.csv`` (so
        the log stays whole after an interruption) and return their ``(epoch, valid metrics)``
        for ``model.eval_history``. With ``epoch <= 1`` (a fresh run) nothing is kept."""
        self.rows = []
        if epoch <= 1 or not self.path or not os.path.isfile(self.path):
            return []
        with open(self.path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                try:
                    parsed = {k: float(v) for k, v in row.items() if v not in ("", None)}
                except ValueError:
                    continue
                if "epoch" in parsed and int(parsed["epoch"]) < epoch:
                    parsed["epoch"] = int(parsed["epoch"])
                    self.rows.append(parsed)
        return [
            (r["epoch"], {k[len("valid_") :]: v for k, v in r.items() if k.startswith("valid_")})
            for r in self.rows
        ]

    def write_step(self, step: int, values: dict[str, float]) -> None:
        """Per-step TensorBoard scalars ``train_step/<name>`` at global step ``step``
        (``tfevents_steps``); nothing without a summaries directory."""
        if self.writer is None:
            return
        with self.writer.as_default():
            for k, v in values.items():
                _scalar(f"train_step/{k}", v, step)

    def write(self, epoch: int, train: dict[str, float], valid: dict[str, float]) -> None:
        row = {
            "epoch": epoch,
            **{f"train_{k}" if not k.startswith("train") else k: v for k, v in train.items()},
            **{f"valid_{k}": v for k, v in valid.items()},
        }
        self.rows.append(row)
        if self.path:
            buf = io.StringIO()
            fields = list(dict.fromkeys(k for r in self.rows for k in r))
            writer = csv.DictWriter(buf, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)
            atomic_write_text(self.path, buf.getvalue())
        if self.writer is not None:
            with self.writer.as_default():
                for k, v in row.items():
                    if k != "epoch":
                        _scalar(k, v, epoch)
            self.writer.flush()
