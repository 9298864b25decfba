"""Shared helpers of the model tests: tiny hyper-parameters and hand-built batches.

Import as ``from tests.models.helpers import ...`` (setup.cfg puts the repository root on the
path of pytest).
"""

from __future__ import annotations

import os
import socket

import numpy as np
import tensorflow as tf

from tf_lsrec.hparams import prepare_hparams
from tf_lsrec.models.base import dummy_batch


def tiny_hparams(model_type, paths=None, tmp_path=None, **overrides):
    """Small, fast hyper-parameters for learning tests on the planted data (``paths``, a
    ``DataPaths``; None leaves the data keys unset, for models given a ``data`` object)."""
    values = dict(
        model_type=model_type,
        item_embedding_dim=16,
        cate_embedding_dim=8,
        user_embedding_dim=24,
        hidden_size=24,
        attention_size=24,
        att_fcn_layer_sizes=[16, 8],
        layer_sizes=[32, 16],
        activation=["relu", "relu"],
        max_seq_length=20,
        batch_size=128,
        epochs=3,
        learning_rate=0.005,
        enable_BN=True,
        show_step=10_000,
        EARLY_STOP=0,
        save_model=False,
        seed=7,
        valid_num_ngs=4,
        test_num_ngs=9,
        pairwise_metrics=["mean_mrr", "ndcg@2;4", "hit@2", "group_auc"],
        weighted_metrics=["wauc"],
    )
    if paths is not None:
        values.update(paths.as_hparams())
    if tmp_path is not None:
        values["MODEL_DIR"] = str(tmp_path / "model")
        values["run_dir"] = str(tmp_path)
        values["save_model"] = True
    values.update(overrides)
    return prepare_hparams(None, **values)


def length_mask(lengths, max_len: int) -> np.ndarray:
    """float32 ``[len(lengths), max_len]``: 1 on the first ``lengths[i]`` steps of row ``i``."""
    lengths = np.asarray(lengths)
    return (np.arange(max_len)[None, :] < lengths[:, None]).astype(np.float32)


def short_and_full_batch(max_len: int, pad_item: int | None = None) -> dict[str, tf.Tensor]:
    """Two rows: a history of 3 steps and a full one (items ``j % 30 + 1``, categories
    ``item % 7 + 1``), targets 5 and 9 (categories 1 and 2). ``pad_item`` fills the padding
    of the short row (default: the same pattern as real steps)."""
    batch = dummy_batch(2, max_len)
    hist = np.arange(2 * max_len).reshape(2, max_len) % 30 + 1
    if pad_item is not None:
        hist[0, 3:] = pad_item
    batch["mask"] = tf.constant(length_mask([3, max_len], max_len))
    batch["item_history"] = tf.constant(hist, tf.int32)
    batch["item_cate_history"] = tf.constant(hist % 7 + 1, tf.int32)
    batch["items"] = tf.constant([5, 9], tf.int32)
    batch["cates"] = tf.constant([1, 2], tf.int32)
    return batch


def free_local_ports(n: int) -> list[int]:
    """``n`` TCP ports free on 127.0.0.1 right now (for the workers of a local TF cluster)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def worker_env() -> dict[str, str]:
    """The environment of a test's child Python process: this one's, with the repository root
    first on ``PYTHONPATH`` (so the child imports this checkout's ``tf_lsrec`` and ``tests``)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
