"""NextItNet (Yuan et al., WSDM'19) after Microsoft Recommenders' ``nextitnet.py``
(docs/reference.md §5.6), **evaluation semantics on the standard left-aligned pipeline**.

Residual blocks over ``X = [item_j ; cate_j]`` ``[B, L, D]``, one per dilation ``d``:

    LN -> ReLU -> 1x1 conv (D/2) -> LN -> ReLU -> causal conv (kernel_size, dilation d, D/2)
       -> LN -> ReLU -> 1x1 conv (D);   X <- X + block(X)

(LayerNorm over channels, eps 1e-8; conv biases 0). Output ``[Y_{ℓ-1} ; e_t]`` ``[B, 2D]``
with ``Y_{ℓ-1}`` the block output at the last real step.

Differences from the reference (which needs ``NextItNetIterator``):

* layout: histories are left-aligned here, so the last real step is slot ``ℓ-1`` (the reference
  reads slot ``L-1`` of a right-aligned history: the same step). Causal convolutions make
  ``Y_{ℓ-1}`` independent of the right padding; left of slot 0 the convolutions see zeros,
  where the reference sees ``L-ℓ`` padding rows (row-0 embeddings) pushed through the blocks;
* training: the reference scores *every* position against its next item (``K+1`` candidates
  per position, padded positions included, softmax per position). Here training uses the
  standard pipeline's single target per line (the last position), like every other model;
  the many-to-many objective is not implemented;
* conv kernels use a truncated normal (stddev 0.02), the original NextItNet code's choice.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import S, model_keys, positive
from tf_lsrec.layers.initializers import fresh_initializer
from tf_lsrec.models.base import SequentialModel


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
    """Stacked dilated causal residual blocks; the last real step's output is the user vector."""

    hparams_spec = model_keys(
        dilations=S(list, [1, 2, 4, 1, 2, 4], "NextItNet: dilation of each residual block"),
        kernel_size=S(int, 3, "NextItNet: causal convolution width", check=positive, expect="> 0"),
    )
    required_keys = ("user_embedding_dim", "dilations", "kernel_size", "min_seq_length")

    def __init__(self, hparams, iterator_creator=None, seed=None, **kwargs):
        super().__init__(hparams, iterator_creator, seed=seed, **kwargs)
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
