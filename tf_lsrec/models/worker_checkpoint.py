"""``fit``'s checkpoints under ``multi_worker_mirrored``: one authority, the chief's.

Saving mirrored variables can be a collective operation (sync-on-read variables are aggregated
across workers), so every worker saves at the same steps; only the chief's copy
(``MODEL_DIR/last``) is the run's checkpoint. Every other worker writes its copy, its training
log and its ``best_model`` under ``MODEL_DIR/<task>_<index>`` (e.g. ``MODEL_DIR/worker_1``) and,
when it resumes, restores the chief's ``MODEL_DIR/last``, never its own. ``MODEL_DIR`` is
therefore one directory every worker can read (a shared file system; the same path on one
machine), as for Keras' ``BackupAndRestore``.

After the restore the workers compare their restored positions (epoch, steps done within it)
with an all-gather; different positions (a ``MODEL_DIR`` that is not shared, a worker started
with ``resume=False``) stop ``fit`` with an error instead of a hang or silently different
replicas. Recovery from a lost worker: stop every worker and start them all again with the same
command; they resume from the chief's last checkpoint (docs/scale.md).
"""

from __future__ import annotations

import os

import tensorflow as tf


def worker_count(strategy: tf.distribute.Strategy) -> int:
    """Number of worker processes of ``strategy`` (chief included; 1 without a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec()
    return max(1, sum(spec.num_tasks(job) for job in ("chief", "worker") if job in spec.jobs))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's checkpoint (always, without a cluster)."""
    return worker_count(strategy) == 1 or bool(strategy.extended.should_checkpoint)


def worker_dir(path: str | None, strategy: tf.distribute.Strategy) -> str | None:
    """Where this process writes what would go to ``path``: ``path`` itself on the chief (and
    without a cluster), ``path/<task>_<index>`` on the other workers."""
    if not path or is_chief(strategy):
        return path
    resolver = strategy.cluster_resolver
    return os.path.join(path, f"{resolver.task_type}_{resolver.task_id}")


def check_same_position(strategy: tf.distribute.Strategy, epoch: int, step: int) -> None:
    """Stop when the workers restored different positions (``epoch`` done, ``step`` batches of
    the next one). One all-gather; a no-op without a cluster."""
    if worker_count(strategy) == 1:
        return
    mine = tf.constant([[epoch, step]], tf.float64)  # small integers: exact

    @tf.function
    def gather():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_gather(mine, axis=0))

    every = strategy.experimental_local_results(gather())[0].numpy()
    positions = sorted({(int(e), int(s)) for e, s in every})
    if len(positions) > 1:
        raise RuntimeError(
            "multi_worker_mirrored: the workers restored different checkpoints (epoch, step) "
            f"{positions}, this one {(epoch, step)}. Every worker resumes from the chief's "
            "MODEL_DIR/last, so MODEL_DIR must be the same directory for all workers (a shared "
            "file system), and all must resume (or none: fit(..., resume=False))."
        )
