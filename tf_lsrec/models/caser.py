"""Caser (Tang & Wang, WSDM'18) as in Microsoft Recommenders' ``caser.py`` (docs/reference.md §5.5).

Applied separately to the item history ``E_i [B, L, Di]`` and the category history
``E_c [B, L, Dc]`` (all ``L = max_seq_length`` slots, padding rows included, no mask):

* vertical: the history transposed to ``[B, D, L]`` (D steps, L channels) goes through a 1-D
  convolution with ``n_v`` filters of width ``D`` (valid padding, ReLU) -> ``[B, 1, n_v]`` ->
  ``[B, n_v]``. Each filter is therefore a full linear map over the ``L x D`` matrix, as in the
  reference (not the paper's per-dimension vertical filter);
* horizontal: for ``h = 1..hparams.L``, ``n_h`` filters of height ``h`` over time (valid padding,
  ReLU) -> ``[B, L-h+1, n_h]`` -> max over time -> ``[B, n_h]``;
* per part ``[v ; h_1 ; ... ; h_L]`` (``n_v + L n_h``); output ``[item_part ; cate_part ; e_t]``.

``T`` is unused (as in the reference). Convolution kernels are Glorot-uniform (TF1
``tf.layers.conv1d`` default), biases zero.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import S, model_keys, positive
from tf_lsrec.layers.initializers import fresh_initializer
from tf_lsrec.models.base import SequentialModel


@keras.utils.register_keras_serializable(package="tf_lsrec")
class CaserConvolutions(keras.layers.Layer):
    """Caser's vertical + horizontal convolutions over one ``[B, L, D]`` history.

    Args:
      n_v: vertical filters. n_h: horizontal filters per height.
      max_height: the largest horizontal filter height (``hparams.L``); heights ``1..max_height``.
      seed: seed of the Glorot-uniform kernels (salted per variable), or ``None``.

    Call args: ``history [B, L, D]`` with static ``L >= max_height`` and ``D``.
    Returns: ``[B, n_v + max_height * n_h]``.
    """

    def __init__(self, n_v: int, n_h: int, max_height: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.n_v, self.n_h, self.max_height, self.seed = int(n_v), int(n_h), int(max_height), seed
        self.horizontal = [
            self._conv(self.n_h, h, f"horizontal_{h}") for h in range(1, self.max_height + 1)
        ]
        self.vertical: keras.layers.Conv1D | None = None

    def _conv(self, filters: int, width: int, name: str) -> keras.layers.Conv1D:
        init = fresh_initializer(
            keras.initializers.GlorotUniform(seed=self.seed), f"{self.name}/{name}"
        )
        return keras.layers.Conv1D(
            filters, width, activation="relu", kernel_initializer=init, name=name
        )

    def build(self, input_shape: Any) -> None:
        shape = tf.TensorShape(input_shape)
        steps, dim = shape[1], shape[2]
        if steps is None or dim is None:
            raise ValueError(f"{self.name}: history needs static [B, L, D], got {shape}")
        if self.max_height > steps:
            raise ValueError(
                f"Caser: hyper-parameter L={self.max_height} (largest horizontal filter height) "
                f"exceeds max_seq_length={steps}; expected L <= max_seq_length"
            )
        self.vertical = self._conv(self.n_v, int(dim), "vertical")
        self.vertical.build(tf.TensorShape([shape[0], dim, steps]))
        for layer in self.horizontal:
            layer.build(shape)
        super().build(input_shape)

    def call(self, history: tf.Tensor) -> tf.Tensor:
        vertical = self.vertical(tf.transpose(history, [0, 2, 1]))  # [B, 1, n_v]
        parts = [tf.reshape(vertical, [-1, self.n_v])]
        parts += [tf.reduce_max(layer(history), axis=1) for layer in self.horizontal]
        return tf.concat(parts, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "n_v": self.n_v,
            "n_h": self.n_h,
            "max_height": self.max_height,
            "seed": self.seed,
        }


class CaserModel(SequentialModel):
    """Convolutional sequence embedding of the item and category histories."""

    needs_full_history_width = True  # the vertical convolution's kernel is L steps tall
    hparams_spec = model_keys(
        L=S(int, 3, "Caser: largest horizontal filter height", check=positive, expect="> 0"),
        n_v=S(int, 128, "Caser: vertical filters", check=positive, expect="> 0"),
        n_h=S(int, 128, "Caser: horizontal filters per height", check=positive, expect="> 0"),
    )
    required_keys = ("user_embedding_dim", "L", "n_v", "n_h", "min_seq_length")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        hp = hparams
        self.item_cnn = CaserConvolutions(hp.n_v, hp.n_h, hp.L, seed=self.seed, name="item_cnn")
        self.cate_cnn = CaserConvolutions(hp.n_v, hp.n_h, hp.L, seed=self.seed, name="cate_cnn")

    def encode_history(self, batch, emb, training):
        """``convolutions [B, 2 (n_v + L n_h)]`` of the item and category histories."""
        item_part = self.item_cnn(emb["item_history"])
        cate_part = self.cate_cnn(emb["item_cate_history"])
        return {"convolutions": tf.concat([item_part, cate_part], axis=-1)}

    def score_targets(self, batch, emb, history, training):
        """Returns ``[B, 2 (n_v + L n_h) + Di + Dc]``."""
        return tf.concat([history["convolutions"], emb["target"]], axis=-1)
