"""Item popularity as a reference row for result tables (a scorer, not a trainable model).

Every candidate is scored by how often it is the target of a positive line of the training
file: ``logit = log(1 + count)`` (items never seen score 0). It is evaluated by the models' own
code, :class:`tf_lsrec.models.trainer.Trainer` (``run_eval``: the sampled metrics of the file's
``1 + N`` groups, then, with ``full_ranking_metrics``, the catalogue ranking of
``tf_lsrec.models.ranking_eval`` with its history exclusion and pessimistic ties), so its
numbers stand beside theirs. It is not in ``tf_lsrec.models.MODELS``: it has no parameters to
train, export or serve.

Why it belongs beside sequential models: the sampled negatives of the deeprec files are drawn by
popularity, so popularity alone scores below chance on the sampled metrics, while on the full
catalogue the popular items are the hardest competitors of every target. A model's distance
from this row on both protocols shows what it learned beyond popularity.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tf_lsrec.io.pipeline import parse_lines
from tf_lsrec.models.trainer import Trainer

_READ_LINES = 8192


class PopularityReference:
    """Scores items by their training-target count (see the module docstring).

    Args:
      hparams: the run's hyper-parameters (evaluation keys: ``metrics``, ``pairwise_metrics``,
        ``weighted_metrics``, ``full_ranking_*``, ``min_seq_length``, ...).
      data: a ``tf_lsrec.io.pipeline.SequentialData`` (its lookup turns ids into indices).

    ``fit(train_file)`` counts; ``run_eval(file, num_ngs)`` evaluates as a model's does.
    """

    def __init__(self, hparams, data):
        self.hparams = hparams
        self.data = data
        self.counts = np.zeros(int(data.vocab_sizes["item"]), np.int64)  # [item vocab]
        self._log_counts = tf.Variable(tf.zeros([self.counts.size]), trainable=False)
        self.trainer = Trainer(self)

    def fit(self, train_file) -> PopularityReference:
        """Counts the target item of every label-1 line of ``train_file`` (unknown ids land on
        index 0, the vocab's default, which no catalogue holds)."""
        counts = np.zeros_like(self.counts)
        for lines in tf.data.TextLineDataset(os.fspath(train_file)).batch(_READ_LINES):
            raw = parse_lines(lines)
            items = self.data.lookup.items(raw["items"]).numpy()
            positive = raw["labels"].numpy() > 0.5
            counts += np.bincount(items[positive], minlength=counts.size)
        if not counts.any():
            raise ValueError(f"{train_file}: no positive line to count popularity from")
        self.counts = counts
        self._log_counts.assign(np.log1p(counts).astype(np.float32))
        return self

    # the part of the model interface the Trainer and ranking evaluation use
    def forward(self, batch, training=False, group_size=None, checked=True):
        """``{"logits": [B, 1]}``: ``log(1 + count)`` of each row's target ``batch["items"]``."""
        return {"logits": tf.gather(self._log_counts, batch["items"])[:, None]}

    def _scores_from_logits(self, logits):
        return tf.sigmoid(logits)

    def _ensure_built(self) -> None:
        return None

    def share_history(self, training: bool) -> bool:
        return False  # no history is read: rows are scored one by one

    def run_eval(self, filename, num_ngs: int) -> dict[str, float]:
        """Sampled metrics of ``filename`` (groups of ``1 + num_ngs``) and, with
        ``full_ranking_metrics``, the catalogue ranking (as ``SequentialModel.run_eval``)."""
        return self.trainer.run_eval(filename, num_ngs)
