"""``tf.distribute`` for ``SequentialModel.fit``: the strategy named by ``hparams.distribute``.

A model trains with the strategy it was created under (the Keras convention)::

    strategy = strategy_from_hparams(hparams)      # MirroredStrategy for "mirrored"
    with strategy.scope():
        model = SLIRECModel(hparams)
    model.fit(train_file, valid_file)               # one global batch split over the replicas

``tools/run.py`` does this. Each global training batch of ``batch_size`` instances
(``batch_size * (train_num_ngs + 1)`` rows) is split into ``R`` contiguous per-replica batches
of ``batch_size / R`` whole instance groups; every replica's loss is a mean over its own rows and
is scaled by ``1 / R`` before the gradients are summed across replicas, so the update equals the
single-device update on the global batch (for models without batch statistics; batch
normalisation uses per-replica statistics, and the embedding L2 term counts the rows each replica
touched, scaled by ``1 / R``).
"""

from __future__ import annotations

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker_mirrored")


def strategy_from_hparams(hparams) -> tf.distribute.Strategy:
    """The strategy for ``hparams.distribute``: ``default`` (no distribution: the current
    strategy, normally the default one), ``mirrored`` (all local GPUs, else the CPU) or
    ``multi_worker_mirrored`` (workers from ``TF_CONFIG``)."""
    name = hparams.distribute
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise NotImplementedError(
        f"hparams `distribute` = {name!r} is not supported by fit(); expected one of "
        f"{list(STRATEGIES)} (TPUStrategy is not wired in yet)"
    )


def check_model_strategy(model, hparams) -> tf.distribute.Strategy:
    """The strategy ``model`` was created under, checked against ``hparams.distribute``."""
    strategy = model.distribute_strategy
    if hparams.distribute != "default" and not is_distributed(strategy):
        raise ValueError(
            f"hparams `distribute` = {hparams.distribute!r}, but the model was created outside "
            "a strategy scope; create it inside one: `with strategy_from_hparams(hparams)"
            ".scope(): model = ...` (tf_lsrec.models.distribute; tools/run.py does this)"
        )
    replicas = strategy.num_replicas_in_sync
    if hparams.batch_size % replicas:
        raise ValueError(
            f"hparams `batch_size` = {hparams.batch_size} is not a multiple of the "
            f"{replicas} replicas of {type(strategy).__name__}; each replica needs whole "
            "groups of one positive and its negatives"
        )
    return strategy


def is_distributed(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` is an actual distribution strategy (not the default one)."""
    return strategy is not tf.distribute.get_strategy() or tf.distribute.has_strategy()
