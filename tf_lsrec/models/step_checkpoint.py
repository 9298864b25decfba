"""Checkpoints within an epoch (``checkpoint_steps``), so a long epoch is not redone.

Every ``checkpoint_steps`` training steps ``fit`` saves, with the model and optimizer, the
number of batches of the current epoch already trained and the running sums of the loss parts.
The epoch's batches are a deterministic function of the seed and the epoch (shuffle, in-batch
negatives), so a resumed ``fit`` rebuilds the epoch's dataset and skips the batches already
trained: the input position is restored without saving the shuffle buffer.
"""

from __future__ import annotations

import tensorflow as tf

from tf_lsrec.utils.logs import progress


class StepCheckpoint:
    """The in-epoch position kept in ``fit``'s checkpoint.

    Args:
        every: save every this many steps (0: never; only the epoch-end checkpoints).
    """

    def __init__(self, every: int):
        self.every = int(every or 0)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_step")
        self.sums = tf.Variable(
            tf.zeros([0], tf.float64), shape=tf.TensorShape([None]), trainable=False,
            name="epoch_loss_sums",
        )  # fmt: skip
        self.keys = tf.Variable("", dtype=tf.string, trainable=False, name="epoch_loss_keys")

    def trackables(self) -> dict[str, tf.Variable]:
        """Entries for ``tf.train.Checkpoint(**...)``."""
        return {"epoch_step": self.step, "epoch_sums": self.sums, "epoch_keys": self.keys}

    def resume(self, dataset: tf.data.Dataset) -> tuple[tf.data.Dataset, int, dict[str, float]]:
        """``(dataset without the batches already trained, steps done, loss sums so far)``;
        call for the first epoch of a ``fit`` only. ``(dataset, 0, {})`` when nothing was
        saved within the epoch."""
        done = int(self.step.numpy())
        if done <= 0:
            return dataset, 0, {}
        keys = self.keys.numpy().decode().split(",")
        sums = dict(zip(keys, self.sums.numpy().tolist())) if keys != [""] else {}
        progress(f"resuming epoch at step {done} (checkpoint_steps): {done} batches skipped")
        return dataset.skip(done), done, sums

    def due(self, steps: int) -> bool:
        return self.every > 0 and steps % self.every == 0

    def record(self, steps: int, sums: dict[str, float]) -> None:
        """Set the position (call before saving the checkpoint within an epoch)."""
        self.step.assign(steps)
        keys = sorted(sums)
        self.keys.assign(",".join(keys))
        self.sums.assign(tf.constant([sums[k] for k in keys], tf.float64))

    def reset(self) -> None:
        """At an epoch's end: the next epoch starts at its first batch."""
        self.record(0, {})
