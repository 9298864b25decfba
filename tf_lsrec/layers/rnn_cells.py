"""Keras RNN cells with the TF1 semantics of the reference code (docs/reference.md §6).

Keras' own GRU/LSTM cells differ from TF1's (gate order, bias initialisation, the constant
forget bias), so the cells the reference uses are re-implemented here:

* :class:`TF1GRUCell` — ``tf.compat.v1.nn.rnn_cell.GRUCell`` (§6.2);
* :class:`TF1LSTMCell` — ``tf.compat.v1.nn.rnn_cell.LSTMCell`` with defaults (§6.2);
* :class:`Time4LSTMCell` — SLi-Rec / CLSR short-term cell with two time gates (§6.3);
* :class:`VecAttGRUCell` — DIEN's AUGRU (§6.4).

Every kernel and every parameter vector is Glorot-uniform (for a 1-D vector of length ``n``,
fan_in = fan_out = ``n``, as TF1's default ``get_variable`` initializer); biases are as noted.
Run them over a sequence with :class:`tf_lsrec.layers.sequence_encoder.SequenceEncoder` or
``tf_keras.layers.RNN(cell, zero_output_for_mask=True)``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

FORGET_BIAS = 1.0


class _TF1Cell(keras.layers.Layer):
    """Common config handling: ``units`` and the kernel initializer (default Glorot-uniform)."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"{type(self).__name__}: units must be > 0, got {units}")

    def _weight(self, name: str, shape: tuple[int, ...], initializer: Any = "glorot_uniform"):
        return self.add_weight(name=name, shape=shape, initializer=initializer, trainable=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


@keras.utils.register_keras_serializable(package="tf_lsrec")
class TF1GRUCell(_TF1Cell):
    """TF1 ``GRUCell``: reset/update gates with bias 1.0, candidate without reset-after.

    ``[r, u] = sigmoid([x ; h] @ W_g + b_g)`` (``W_g [F+H, 2H]``, ``b_g`` init 1.0),
    ``c = tanh([x ; r * h] @ W_c + b_c)`` (``W_c [F+H, H]``, ``b_c`` init 0),
    ``h' = u * h + (1 - u) * c``; the output is the new state.

    Args:
      units: ``H``.

    Call args: inputs ``[B, F]``; states ``[h [B, H]]``. Returns ``(h' [B, H], [h'])``.

    Example:
      >>> import tf_lsrec, tensorflow as tf, tf_keras as keras
      >>> from tf_lsrec.layers.rnn_cells import TF1GRUCell
      >>> keras.layers.RNN(TF1GRUCell(4))(tf.ones([2, 3, 5])).shape
      TensorShape([2, 4])
    """

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def _input_dim(self, input_shape: tf.TensorShape) -> int:
        return int(tf.TensorShape(input_shape)[-1])

    def build(self, input_shape: tf.TensorShape) -> None:
        f, h = self._input_dim(input_shape), self.units
        self.gate_kernel = self._weight("gates_kernel", (f + h, 2 * h))
        self.gate_bias = self._weight("gates_bias", (2 * h,), keras.initializers.Constant(1.0))
        self.candidate_kernel = self._weight("candidate_kernel", (f + h, h))
        self.candidate_bias = self._weight("candidate_bias", (h,), "zeros")
        super().build(input_shape)

    def _gru_step(self, x: tf.Tensor, h: tf.Tensor, attention: tf.Tensor | None) -> tf.Tensor:
        gates = tf.sigmoid(tf.matmul(tf.concat([x, h], 1), self.gate_kernel) + self.gate_bias)
        r, u = tf.split(gates, 2, axis=1)
        c = tf.tanh(
            tf.matmul(tf.concat([x, r * h], 1), self.candidate_kernel) + self.candidate_bias
        )
        if attention is not None:
            u = (1.0 - attention) * u
        return u * h + (1.0 - u) * c

    def call(self, inputs: tf.Tensor, states: Any) -> tuple[tf.Tensor, list[tf.Tensor]]:
        h = states[0] if isinstance(states, (list, tuple)) else states
        new_h = self._gru_step(inputs, h, None)
        return new_h, [new_h]

    # Split form of _gru_step for serving: [x ; h] @ W = x @ W_x + h @ W_h, so the x side of
    # every step can be computed once and reused by many recurrences over the same inputs
    # (DIEN's AUGRU runs once per candidate over one user's interest states).
    def project_inputs(self, x: tf.Tensor) -> tf.Tensor:
        """``x [..., F]`` -> ``[x @ W_g,x + b_g ; x @ W_c,x + b_c]`` ``[..., 3H]``, the input
        side of the gates and the candidate (equal to :meth:`call`'s up to float rounding)."""
        f = self.gate_kernel.shape[0] - self.units
        kernel = tf.concat([self.gate_kernel[:f], self.candidate_kernel[:f]], axis=1)
        bias = tf.concat([self.gate_bias, self.candidate_bias], axis=0)
        return tf.tensordot(x, kernel, axes=1) + bias

    def step_from_projection(
        self, projected: tf.Tensor, h: tf.Tensor, attention: tf.Tensor | None = None
    ) -> tf.Tensor:
        """One step from :meth:`project_inputs`' ``[B, 3H]`` and ``h [B, H]`` (``attention
        [B, 1]`` scales the update gate as in :class:`VecAttGRUCell`). Returns ``h' [B, H]``."""
        f = self.gate_kernel.shape[0] - self.units
        x_gates, x_cand = projected[:, : 2 * self.units], projected[:, 2 * self.units :]
        gates = tf.sigmoid(x_gates + tf.matmul(h, self.gate_kernel[f:]))
        r, u = tf.split(gates, 2, axis=1)
        c = tf.tanh(x_cand + tf.matmul(r * h, self.candidate_kernel[f:]))
        if attention is not None:
            u = (1.0 - attention) * u
        return u * h + (1.0 - u) * c


@keras.utils.register_keras_serializable(package="tf_lsrec")
class VecAttGRUCell(TF1GRUCell):
    """DIEN's AUGRU (``VecAttGRUCell``): a TF1 GRU whose update gate is scaled by attention.

    The input carries the step's attention score ``a`` as its **last** feature:
    ``inputs = [x ; a]``. Gates and candidate as :class:`TF1GRUCell` on ``x``, then
    ``u' = (1 - a) * u`` and ``h' = u' * h + (1 - u') * c``.

    Args:
      units: ``H``.

    Call args: inputs ``[B, F + 1]``; states ``[h [B, H]]``. Returns ``(h' [B, H], [h'])``.

    Example:
      >>> import tf_lsrec, tensorflow as tf, tf_keras as keras
      >>> from tf_lsrec.layers.rnn_cells import VecAttGRUCell
      >>> keras.layers.RNN(VecAttGRUCell(4))(tf.ones([2, 3, 5 + 1])).shape
      TensorShape([2, 4])
    """

    def _input_dim(self, input_shape: tf.TensorShape) -> int:
        total = int(tf.TensorShape(input_shape)[-1])
        if total < 2:
            raise ValueError(
                f"VecAttGRUCell: inputs need >= 2 features ([x ; attention]), got {total}"
            )
        return total - 1

    def call(self, inputs: tf.Tensor, states: Any) -> tuple[tf.Tensor, list[tf.Tensor]]:
        h = states[0] if isinstance(states, (list, tuple)) else states
        new_h = self._gru_step(inputs[:, :-1], h, inputs[:, -1:])
        return new_h, [new_h]


@keras.utils.register_keras_serializable(package="tf_lsrec")
class TF1LSTMCell(_TF1Cell):
    """TF1 ``LSTMCell`` with defaults: gate order ``i, j, f, o``, constant forget bias 1.0.

    ``[i, j, f, o] = [x ; h] @ W + b`` (``W [F+H, 4H]`` Glorot-uniform, ``b`` init 0);
    ``c' = sigmoid(f + 1.0) * c + sigmoid(i) * tanh(j)``; ``h' = sigmoid(o) * tanh(c')``.
    The ``+1.0`` is a constant, not a variable.

    Args:
      units: ``H``.

    Call args: inputs ``[B, F]``; states ``[c [B, H], h [B, H]]``.
    Returns ``(h' [B, H], [c', h'])``.

    Example:
      >>> import tf_lsrec, tensorflow as tf, tf_keras as keras
      >>> from tf_lsrec.layers.rnn_cells import TF1LSTMCell
      >>> keras.layers.RNN(TF1LSTMCell(4))(tf.ones([2, 3, 5])).shape
      TensorShape([2, 4])
    """

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: tf.TensorShape) -> None:
        f, h = int(tf.TensorShape(input_shape)[-1]), self.units
        self.kernel = self._weight("kernel", (f + h, 4 * h))
        self.bias = self._weight("bias", (4 * h,), "zeros")
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, states: Any) -> tuple[tf.Tensor, list[tf.Tensor]]:
        c_prev, h_prev = states[0], states[1]
        z = tf.matmul(tf.concat([inputs, h_prev], 1), self.kernel) + self.bias
        i, j, f, o = tf.split(z, 4, axis=1)
        c = tf.sigmoid(f + FORGET_BIAS) * c_prev + tf.sigmoid(i) * tf.tanh(j)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, [c, h]


@keras.utils.register_keras_serializable(package="tf_lsrec")
class Time4LSTMCell(_TF1Cell):
    """SLi-Rec's ``Time4LSTMCell``: an LSTM with a "time-now" and a "time-last" gate (§6.3).

    The input is ``[x ; tau_2 ; tau_1]`` with the two time scalars **last**:
    ``tau_1`` = last feature = ``time_to_now``, ``tau_2`` = second-to-last =
    ``time_from_first_action``. Per step (``*`` element-wise, scalars broadcast)::

        tn = tanh(tau_1 * w_1 + b_1)            tl = tanh(tau_2 * w_2 + b_2)
        g1 = x @ W_x1 + tn @ W_t1 + c_1         g2 = x @ W_x2 + tl @ W_t2 + c_2
        [i, j, f, o] = [x ; h_prev] @ W + b
        o  = o + tn @ O_t1 + tl @ O_t2
        c  = sigmoid(f + 1.0) * sigmoid(g2) * c_prev + sigmoid(i) * sigmoid(g1) * tanh(j)
        h  = sigmoid(o) * tanh(c)

    Weights (attribute: shape): ``time_now_w`` (w_1), ``time_now_b`` (b_1), ``time_last_w``
    (w_2), ``time_last_b`` (b_2): ``[H]``; ``gate_now_x`` (W_x1), ``gate_last_x`` (W_x2):
    ``[|x|, H]``; ``gate_now_t`` (W_t1), ``gate_last_t`` (W_t2), ``output_now`` (O_t1),
    ``output_last`` (O_t2): ``[H, H]``; ``gate_now_b`` (c_1), ``gate_last_b`` (c_2): ``[H]``;
    ``kernel`` (W): ``[|x| + H, 4H]``; ``bias`` (b): ``[4H]`` zeros. All but ``bias`` are
    Glorot-uniform. Peepholes, clipping and projection of the reference are off there, and
    not implemented here.

    Args:
      units: ``H``.

    Call args: inputs ``[B, |x| + 2]``; states ``[c [B, H], h [B, H]]``.
    Returns ``(h [B, H], [c, h])``.

    Example:
      >>> import tf_lsrec, tensorflow as tf, tf_keras as keras
      >>> from tf_lsrec.layers.rnn_cells import Time4LSTMCell
      >>> keras.layers.RNN(Time4LSTMCell(4))(tf.ones([2, 3, 5 + 2])).shape
      TensorShape([2, 4])
    """

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: tf.TensorShape) -> None:
        total = int(tf.TensorShape(input_shape)[-1])
        if total < 3:
            raise ValueError(
                "Time4LSTMCell: inputs need >= 3 features ([x ; time_from_first_action ; "
                f"time_to_now]), got {total}"
            )
        x_dim, h = total - 2, self.units
        self.time_now_w = self._weight("time_now_w", (h,))
        self.time_now_b = self._weight("time_now_b", (h,))
        self.time_last_w = self._weight("time_last_w", (h,))
        self.time_last_b = self._weight("time_last_b", (h,))
        self.gate_now_x = self._weight("gate_now_x", (x_dim, h))
        self.gate_last_x = self._weight("gate_last_x", (x_dim, h))
        self.gate_now_t = self._weight("gate_now_t", (h, h))
        self.gate_last_t = self._weight("gate_last_t", (h, h))
        self.output_now = self._weight("output_now", (h, h))
        self.output_last = self._weight("output_last", (h, h))
        self.gate_now_b = self._weight("gate_now_b", (h,))
        self.gate_last_b = self._weight("gate_last_b", (h,))
        self.kernel = self._weight("kernel", (x_dim + h, 4 * h))
        self.bias = self._weight("bias", (4 * h,), "zeros")
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, states: Any) -> tuple[tf.Tensor, list[tf.Tensor]]:
        c_prev, h_prev = states[0], states[1]
        tau_now = inputs[:, -1:]
        tau_last = inputs[:, -2:-1]
        x = inputs[:, :-2]
        tn = tf.tanh(tau_now * self.time_now_w + self.time_now_b)
        tl = tf.tanh(tau_last * self.time_last_w + self.time_last_b)
        g1 = tf.matmul(x, self.gate_now_x) + tf.matmul(tn, self.gate_now_t) + self.gate_now_b
        g2 = tf.matmul(x, self.gate_last_x) + tf.matmul(tl, self.gate_last_t) + self.gate_last_b
        z = tf.matmul(tf.concat([x, h_prev], 1), self.kernel) + self.bias
        i, j, f, o = tf.split(z, 4, axis=1)
        o = o + tf.matmul(tn, self.output_now) + tf.matmul(tl, self.output_last)
        c = tf.sigmoid(f + FORGET_BIAS) * tf.sigmoid(g2) * c_prev + tf.sigmoid(i) * tf.sigmoid(
            g1
        ) * tf.tanh(j)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, [c, h]
