"""SUM's sequential user matrix: a memory of ``S`` interest slots written by an RNN cell
(Lian et al., "Multi-Interest-Aware User Modeling for Large-Scale Sequential Recommendations",
2021; docs/reference.md §5.7).

The memory ``M [B, S, H]`` has ``S - 1`` interest slots and one *highway* slot (the last). At
step ``t`` with input ``x [B, D]`` (an ``[item ; category]`` embedding) and the previous input
``x⁻`` (zeros before the first step):

    a   = softmax(β · x Wₕᵀ)                        read weights over the interest slots [B, S-1]
    ĥ   = (Σₖ aₖ Mₖ + M_highway) / 2                 what the memory says about x         [B, H]
    d   = α ** cos(x⁻, x)                            step weight (cos = 0 when x⁻ = 0)    [B, 1]
    w   = a · d                                      write weights ("sum")                [B, S-1]
          softmax(relu([x ; ĥ] W_w + b_w) W_w2) · d  ("sumv2": a learned writing attention)
    r   = σ([x ; ĥ] W_r + b_r)                       reset gate                           [B, 1]
    e   = σ([x ; ĥ] W_e + b_e)                       erase vector                         [B, H]
    c   = tanh([x ; r ĥ] W_a + b_a)                  add vector                           [B, H]
    Mₖ  ← Mₖ (1 − wₖ e) + wₖ e c                     interest slots
    M_highway ← M_highway (1 − d e) + d e c          highway slot

``α`` (init 0.98) and ``β`` (init 1.02) are learned scalars; kernels and the heads ``Wₕ
[S-1, D]`` are Glorot-uniform (TF1's default ``get_variable`` initializer, which the reference
cell gets), biases start at 1.0. :class:`MemoryReadout` merges the slots for a target item.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.attention import _QueryKeysLayer
from tf_lsrec.layers.initializers import serialize_initializer

SUM_CELLS = ("sum", "sumv2")
"""Cell variants: Microsoft's ``SUM`` and ``SUMV2`` (upgraded writing attention)."""


def _unit_rows(x: tf.Tensor) -> tf.Tensor:
    """Rows of ``x [B, D]`` scaled to unit L2 norm; an all-zero row stays zero (TF
    ``l2_normalize``: ``x / sqrt(max(‖x‖², 1e-12))``)."""
    return x * tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(x), 1, keepdims=True), 1e-12))


@keras.utils.register_keras_serializable(package="tf_lsrec")
class SUMCell(keras.layers.Layer):
    """One step of the user-matrix update (module docstring), as a Keras RNN cell.

    Args:
      units: ``H``, the width of each memory slot.
      slots: ``S >= 1``, memory slots including the highway slot.
      input_dim: ``D``, the width of the step inputs (the state carries the previous one).
      variant: ``"sum"`` or ``"sumv2"``.
      kernel_initializer: kernels, heads and the V2 writing weights (default Glorot-uniform).

    Call args: inputs ``x [B, D]``; states ``[memory [B, S*H], previous input [B, D]]``.
    Returns ``(memory' [B, S*H], [memory', x])``.

    Example:
      >>> import tf_lsrec, tensorflow as tf, tf_keras as keras
      >>> from tf_lsrec.layers.user_memory import SUMCell
      >>> keras.layers.RNN(SUMCell(4, 3, 6))(tf.ones([2, 5, 6])).shape
      TensorShape([2, 12])
    """

    def __init__(
        self,
        units: int,
        slots: int,
        input_dim: int,
        variant: str = "sum",
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.slots, self.input_dim = int(units), int(slots), int(input_dim)
        if min(self.units, self.slots, self.input_dim) <= 0:
            raise ValueError(
                f"SUMCell: units, slots and input_dim must be > 0, got {units}, {slots}, "
                f"{input_dim}"
            )
        if variant not in SUM_CELLS:
            raise ValueError(f"SUMCell: variant {variant!r} is not one of {SUM_CELLS}")
        self.variant = variant
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.state_size = [self.slots * self.units, self.input_dim]
        self.output_size = self.slots * self.units

    def _kernel(self, name: str, shape: tuple[int, ...]) -> tf.Variable:
        init = keras.initializers.get(self.kernel_initializer)
        return self.add_weight(name=name, shape=shape, initializer=init, trainable=True)

    def _bias(self, name: str, size: int) -> tf.Variable:
        return self.add_weight(
            name=name, shape=(size,), initializer=keras.initializers.Constant(1.0), trainable=True
        )

    def build(self, input_shape: Any) -> None:
        d, h, k = int(tf.TensorShape(input_shape)[-1]), self.units, self.slots - 1
        if d != self.input_dim:
            raise ValueError(
                f"SUMCell: inputs have width {d}, the cell was made for {self.input_dim}"
            )
        self.erase_kernel = self._kernel("erase_kernel", (d + h, h))
        self.erase_bias = self._bias("erase_bias", h)
        self.reset_kernel = self._kernel("reset_kernel", (d + h, 1))
        self.reset_bias = self._bias("reset_bias", 1)
        self.add_kernel = self._kernel("add_kernel", (d + h, h))
        self.add_bias = self._bias("add_bias", h)
        self.heads = self._kernel("heads", (k, d))
        self.beta = self.add_weight(
            name="beta", shape=(), initializer=keras.initializers.Constant(1.02), trainable=True
        )
        self.alpha = self.add_weight(
            name="alpha", shape=(), initializer=keras.initializers.Constant(0.98), trainable=True
        )
        if self.variant == "sumv2":
            self.writing_kernel = self._kernel("writing_kernel", (d + h, h))
            self.writing_bias = self._bias("writing_bias", h)
            self.writing_out = self._kernel("writing_out", (h, k))
        super().build(input_shape)

    def unregularized_weights(self) -> list[tf.Variable]:
        """``α`` and ``β``: the reference keeps them out of the layer L2 term."""
        return [self.alpha, self.beta]

    def read(self, x: tf.Tensor, memory: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``(a [B, S-1], ĥ [B, H])`` for inputs ``x [B, D]`` and ``memory [B, S, H]``."""
        a = tf.nn.softmax(self.beta * tf.matmul(x, self.heads, transpose_b=True), axis=-1)
        interests = tf.reduce_sum(memory[:, :-1] * a[..., None], axis=1)
        return a, (interests + memory[:, -1]) / 2.0

    def write_weights(self, x, h_hat, a, step_weight) -> tf.Tensor:
        """``w [B, S-1]``: the read weights (``sum``) or the learned writing attention
        (``sumv2``), times the step weight ``d [B, 1]``."""
        if self.variant == "sumv2":
            hidden = tf.nn.relu(
                tf.matmul(tf.concat([x, h_hat], 1), self.writing_kernel) + self.writing_bias
            )
            a = tf.nn.softmax(tf.matmul(hidden, self.writing_out), axis=-1)
        return a * step_weight

    def call(self, inputs: tf.Tensor, states: list[tf.Tensor]):
        x, previous = inputs, states[1]
        memory = tf.reshape(states[0], [-1, self.slots, self.units])
        a, h_hat = self.read(x, memory)
        cosine = tf.reduce_sum(_unit_rows(previous) * _unit_rows(x), 1, keepdims=True)
        d = tf.pow(self.alpha, cosine)  # [B, 1]
        w = self.write_weights(x, h_hat, a, d)
        xh = tf.concat([x, h_hat], 1)
        reset = tf.sigmoid(tf.matmul(xh, self.reset_kernel) + self.reset_bias)
        erase = tf.sigmoid(tf.matmul(xh, self.erase_kernel) + self.erase_bias)
        add = tf.tanh(tf.matmul(tf.concat([x, reset * h_hat], 1), self.add_kernel) + self.add_bias)
        strength = tf.concat([w, d], axis=1)[..., None] * erase[:, None, :]  # [B, S, H]
        memory = memory * (1.0 - strength) + strength * add[:, None, :]
        flat = tf.reshape(memory, [-1, self.slots * self.units])
        return flat, [flat, x]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "slots": self.slots,
            "input_dim": self.input_dim,
            "variant": self.variant,
            "kernel_initializer": self.kernel_initializer,
        }


@keras.utils.register_keras_serializable(package="tf_lsrec")
class UserMemory(keras.layers.Layer):
    """Run :class:`SUMCell` over a padded history (TF1 ``dynamic_rnn`` semantics: the memory is
    carried unchanged through padded steps; masks are left-aligned, as the pipeline makes them).

    Args: as :class:`SUMCell`.

    Call args:
      inputs: ``[B, L, D]`` float. mask: ``[B, L]`` (1 keep / 0 pad), or ``None`` = all steps.

    Returns:
      ``memory [B, S, H]`` after the last kept step (zeros for an all-padding row).

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.user_memory import UserMemory
      >>> UserMemory(4, 3)(tf.ones([2, 5, 6]), tf.ones([2, 5])).shape
      TensorShape([2, 3, 4])
    """

    def __init__(
        self,
        units: int,
        slots: int,
        variant: str = "sum",
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.slots, self.variant = int(units), int(slots), variant
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        if variant not in SUM_CELLS:
            raise ValueError(f"UserMemory: variant {variant!r} is not one of {SUM_CELLS}")
        self.cell: SUMCell | None = None
        self.rnn: keras.layers.RNN | None = None

    def build(self, input_shape: Any) -> None:
        shape = tf.TensorShape(input_shape)
        if shape.rank != 3 or shape[-1] is None:
            raise ValueError(f"UserMemory: inputs must be [B, L, D] with static D, got {shape}")
        self.cell = SUMCell(
            self.units,
            self.slots,
            int(shape[-1]),
            self.variant,
            self.kernel_initializer,
            name="sum_cell",
            dtype=self.dtype_policy,
        )
        self.cell.build(tf.TensorShape([shape[0], shape[-1]]))
        self.rnn = keras.layers.RNN(self.cell, name="rnn")
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        memory = self.rnn(inputs, mask=mask)
        return tf.reshape(memory, [-1, self.slots, self.units])

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "slots": self.slots,
            "variant": self.variant,
            "kernel_initializer": self.kernel_initializer,
        }


@keras.utils.register_keras_serializable(package="tf_lsrec")
class MemoryReadout(_QueryKeysLayer):
    """SUM's target read-out: ``p = softmax_k((Mₖ W_q) · q)``, ``u = Σₖ pₖ Mₖ``.

    Args:
      kernel_initializer: ``W_q [H, Dq]`` (the model's ``init_method``).

    Call args:
      query ``[B, Dq]`` (the target ``[item ; category]``); memory ``[B, S, H]``; mask: unused
      (every slot is read); encoded: ``encode(memory)``, when it was computed once for many
      queries.

    Returns:
      ``(u [B, H], p [B, S])``.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.user_memory import MemoryReadout
      >>> u, p = MemoryReadout()(tf.ones([2, 6]), tf.ones([2, 3, 4]))
      >>> u.shape, p.shape
      (TensorShape([2, 4]), TensorShape([2, 3]))
    """

    def __init__(self, kernel_initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_initializer = serialize_initializer(kernel_initializer)

    def build(self, input_shape: Any) -> None:
        query_shape, h = self._shapes(input_shape)
        self.kernel = self.add_weight(
            name="kernel", shape=(h, int(query_shape[-1])), trainable=True,
            initializer=keras.initializers.get(self.kernel_initializer),
        )  # fmt: skip
        super().build(input_shape)

    def encode(self, memory: tf.Tensor) -> tf.Tensor:
        """The query-independent half ``M W_q [B, S, Dq]``."""
        return tf.einsum("bsh,hq->bsq", memory, self.kernel)

    def call(self, query, memory, mask=None, encoded=None) -> tuple[tf.Tensor, tf.Tensor]:
        keys = self.encode(memory) if encoded is None else encoded
        weights = tf.nn.softmax(tf.einsum("bsq,bq->bs", keys, query), axis=-1)
        return tf.reduce_sum(memory * weights[..., None], axis=1), weights

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_initializer": self.kernel_initializer}
