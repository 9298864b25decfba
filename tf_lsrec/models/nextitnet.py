"""NextItNet (Yuan et al., WSDM'19) after Microsoft Recommenders' ``nextitnet.py``
(docs/reference.md §5.6): trained on every position, evaluated on the last real step.

Residual blocks over ``X = [item_j ; cate_j]`` ``[B, L, D]``, one per dilation ``d``:

    LN -> ReLU -> 1x1 conv (D/2) -> LN -> ReLU -> causal conv (kernel_size, dilation d, D/2)
       -> LN -> ReLU -> 1x1 conv (D);   X <- X + block(X)

(LayerNorm over channels, eps 1e-8; conv biases 0). Scoring a target ``t`` after step ``p``:
``MLP([Y_p ; e_t])``.

* Training (``nextitnet_train_positions: all``, the reference's ``NextItNetIterator``
  semantics): every real step ``p`` of an instance's history predicts the next item (the
  history's item ``p+1``, the line's target after the last step), against ``K`` negatives
  drawn for that position among the batch's targets that differ from its positive (uniform,
  with replacement, as the reference's rejection sampling); the loss is the data loss over the
  ``(instance, position)`` groups of ``1 + K`` candidates, averaged over the real positions.
  ``last`` trains the last step only (the line's own target and its in-batch negatives, like
  every other model).
* Evaluation, prediction and serving: ``[Y_{ℓ-1} ; e_t]`` with ``Y_{ℓ-1}`` the block output at
  the last real step, one target per line.

Differences from the reference:

* layout: histories are left-aligned here, so the last real step is slot ``ℓ-1`` (the reference
  reads slot ``L-1`` of a right-aligned history: the same step). Causal convolutions make
  ``Y_p`` independent of the right padding; left of slot 0 the convolutions see zeros,
  where the reference sees ``L-ℓ`` padding rows (row-0 embeddings) pushed through the blocks;
* padded positions are left out of the training loss. The reference's ``L-ℓ`` left-padding
  positions stay in its loss: they learn to predict the padding id from padding (and the one
  before the first real item predicts that item from padding alone); here padding follows the
  history, where such targets would teach steps that have read the whole history to predict
  the padding id;
* conv kernels use a truncated normal (stddev 0.02), the original NextItNet code's choice.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import S, model_keys, positive
from tf_lsrec.io.pipeline import pick_negatives, refuse_uniform_negatives
from tf_lsrec.layers.initializers import fresh_initializer
from tf_lsrec.models.base import SequentialModel
from tf_lsrec.models.losses import weighted_group_loss


@keras.utils.register_keras_serializable(package="tf_lsrec")
class NextItNetBlock(keras.layers.Layer):
    """One residual block: ``[B, L, D] -> [B, L, D]`` (causal: step ``p`` sees steps ``<= p``).

    Args: dilation ``d``; kernel_size of the dilated conv; seed of the kernels or ``None``.
    """

    def __init__(self, dilation: int, kernel_size: int = 3, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.dilation, self.kernel_size, self.seed = int(dilation), int(kernel_size), seed

    def _conv(self, filters: int, width: int, dilation: int, name: str) -> keras.layers.Conv1D:
        init = fresh_initializer(
            keras.initializers.TruncatedNormal(stddev=0.02, seed=self.seed), f"{self.name}/{name}"
        )
        return keras.layers.Conv1D(
            filters,
            width,
            padding="causal" if width > 1 else "valid",
            dilation_rate=dilation,
            kernel_initializer=init,
            name=name,
        )

    def build(self, input_shape: Any) -> None:
        channels = int(tf.TensorShape(input_shape)[-1])
        if channels < 2:
            raise ValueError(f"{self.name}: needs >= 2 channels, got {channels}")
        inner = channels // 2
        self.norms = [
            keras.layers.LayerNormalization(epsilon=1e-8, name=f"ln_{k}") for k in range(3)
        ]
        self.convs = [
            self._conv(inner, 1, 1, "conv_in"),
            self._conv(inner, self.kernel_size, self.dilation, "conv_dilated"),
            self._conv(channels, 1, 1, "conv_out"),
        ]
        shape = tf.TensorShape(input_shape)
        for norm, conv in zip(self.norms, self.convs):
            norm.build(shape)
            conv.build(shape)
            shape = shape[:-1].concatenate([conv.filters])
        super().build(input_shape)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        y = x
        for norm, conv in zip(self.norms, self.convs):
            y = conv(tf.nn.relu(norm(y)))
        return x + y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "dilation": self.dilation,
            "kernel_size": self.kernel_size,
            "seed": self.seed,
        }


class NextItNetModel(SequentialModel):
    """Stacked dilated causal residual blocks, trained on every position (or the last); the
    last real step's output is the user vector in evaluation and serving."""

    hparams_spec = model_keys(
        dilations=S(list, [1, 2, 4, 1, 2, 4], "NextItNet: dilation of each residual block"),
        kernel_size=S(int, 3, "NextItNet: causal convolution width", check=positive, expect="> 0"),
        nextitnet_train_positions=S(
            str,
            "all",
            "NextItNet: train every real position on its next item (reference) or the last only",
            choices=("all", "last"),
        ),
    )
    required_keys = ("user_embedding_dim", "dilations", "kernel_size", "min_seq_length")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
        if hparams.nextitnet_train_positions == "all":
            refuse_uniform_negatives(hparams, "NextItNet with nextitnet_train_positions: all")
        bad = [d for d in hparams.dilations if not isinstance(d, int) or d <= 0]
        if bad or not hparams.dilations:
            raise ValueError(
                f"NextItNet: hyper-parameter dilations={hparams.dilations!r}; expected a non-empty "
                "list of positive integers, e.g. [1, 2, 4, 1, 2, 4]"
            )
        self.blocks = [
            NextItNetBlock(d, hparams.kernel_size, seed=self.seed, name=f"block_{k}")
            for k, d in enumerate(hparams.dilations)
        ]

    def encode(self, history: tf.Tensor) -> tf.Tensor:
        """The residual stack: ``[B, L, D] -> [B, L, D]``."""
        for block in self.blocks:
            history = block(history)
        return history

    def encode_history(self, batch, emb, training):
        """``sequence_output [B, L, Di+Dc]`` and its last real step ``last [B, Di+Dc]``."""
        seq = self.encode(emb["history"])
        length = tf.cast(tf.reduce_sum(batch["mask"], axis=1), tf.int32)
        last = tf.gather(seq, tf.maximum(length - 1, 0), batch_dims=1)
        return {"sequence_output": seq, "last": last}

    def score_targets(self, batch, emb, history, training):
        """Returns ``output [B, 2(Di+Dc)]`` and ``sequence_output [B, L, Di+Dc]``."""
        return {
            "output": tf.concat([history["last"], emb["target"]], axis=-1),
            "sequence_output": history["sequence_output"],
        }

    # ------------------------------------------------------------------ training on every position
    def compute_loss_parts(self, batch, training=False, group_size=None, checked=True):
        """With ``nextitnet_train_positions: all`` the data loss is :meth:`every_position_loss`
        (the last-position logits of :meth:`forward` are not computed, so the head's batch
        normalisation sees the per-position rows only); ``last``: the base model's loss."""
        if self.hparams.nextitnet_train_positions == "last":
            return super().compute_loss_parts(batch, training, group_size, checked)
        parts = {
            "data_loss": self.every_position_loss(batch, training),
            "regular_loss": self.regularization_loss(batch),
        }
        if self.objectives:  # auxiliary objectives read forward()'s tensors
            outputs = self.forward(batch, training=training, group_size=group_size, checked=checked)
            parts.update(self.extra_losses(batch, outputs, training))
        parts["total_loss"] = tf.add_n(list(parts.values()))
        return parts

    def position_targets(self, batch) -> dict[str, tf.Tensor]:
        """Each instance's next item after every step, from a batch in the training layout
        (groups of ``1 + K`` rows sharing a history, positive first).

        Returns ``items``, ``cates`` int32 ``[N, L]`` (step ``p < ℓ-1``: history step ``p+1``;
        step ``ℓ-1``: the line's target; padding: 0) and ``valid`` float32 ``[N, L]`` (real
        steps), ``N = rows / (1 + K)``.
        """
        lines = self.training_lines(batch, "training on every position")
        length = lines["length"]
        steps = tf.range(tf.shape(lines["mask"])[1])[None, :]
        last = tf.equal(steps, (length - 1)[:, None])
        valid = steps < length[:, None]

        def next_of(history, target):
            shifted = tf.concat([history[:, 1:], tf.zeros_like(history[:, :1])], axis=1)
            return tf.where(valid, tf.where(last, target[:, None], shifted), 0)

        return {
            "items": next_of(lines["item_history"], lines["items"]),
            "cates": next_of(lines["item_cate_history"], lines["cates"]),
            "valid": tf.cast(valid, tf.float32),
        }

    def every_position_loss(self, batch, training) -> tf.Tensor:
        """The reference's many-to-many objective on a training-layout batch.

        Each group's history is encoded once (``Y [N, L, D]``); step ``p`` scores its next item
        (:meth:`position_targets`) and ``K`` negatives drawn per position among the batch's
        targets that differ from it, as ``MLP([Y_p ; e_c])``; the data loss ``hparams.loss``
        runs over the ``N·L`` groups of ``1 + K`` candidates, real steps only.
        """
        g, k = self.group_size, self.group_size - 1
        history = {
            key: batch[key][::g] for key in ("users", "item_history", "item_cate_history", "mask")
        }
        seq = self.encode(self.embed_history(history, training)["history"])  # [N, L, D]
        targets = self.position_targets(batch)
        n, steps = tf.shape(seq)[0], tf.shape(seq)[1]
        pool_items, pool_cates = batch["items"][::g], batch["cates"][::g]
        positives = tf.reshape(targets["items"], [-1])  # [N·L]
        idx, has_negative = pick_negatives(
            pool_items, positives, tf.random.uniform([n * steps, k], dtype=tf.float32)
        )
        neg_items = tf.where(has_negative[:, None], tf.gather(pool_items, idx), 0)
        neg_cates = tf.where(has_negative[:, None], tf.gather(pool_cates, idx), 0)
        items = tf.concat([positives[:, None], neg_items], axis=1)  # [N·L, g], positive first
        cates = tf.concat([tf.reshape(targets["cates"], [-1, 1]), neg_cates], axis=1)
        cand = self.embed_targets(tf.reshape(items, [-1]), tf.reshape(cates, [-1]), training)
        user = tf.repeat(tf.reshape(seq, [n * steps, -1]), g, axis=0)  # [N·L·g, D]
        logits = self.head(tf.concat([user, cand["target"]], axis=-1), training=training)
        logits = tf.reshape(logits, [n * steps, g])
        labels = tf.tile(tf.one_hot([0], g), [n * steps, 1])
        weights = tf.reshape(targets["valid"], [-1])
        return weighted_group_loss(self.hparams.loss, labels, logits, weights)
