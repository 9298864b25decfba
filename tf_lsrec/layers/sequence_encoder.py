"""Run a TF1-semantics RNN cell over a padded history (docs/reference.md §6.1).

TF1 ``dynamic_rnn(cell, inputs, sequence_length=l)`` zeroes the outputs of steps ``j >= l``,
carries the state through them unchanged and returns the state after step ``l - 1``. Keras'
``RNN(cell, zero_output_for_mask=True)`` with ``mask = (j < l)`` does the same (by default
Keras would instead repeat the previous output at masked steps); the tests check it.

The equivalence assumes **left-aligned** masks (1s then 0s), which is what the pipeline
produces. A mask with holes would make Keras skip the masked steps in the middle, whereas
``dynamic_rnn`` has no notion of holes.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.rnn_cells import TF1GRUCell, TF1LSTMCell, Time4LSTMCell, VecAttGRUCell

CELLS: dict[str, type[keras.layers.Layer]] = {
    "time4lstm": Time4LSTMCell,
    "gru": TF1GRUCell,
    "lstm": TF1LSTMCell,
    "augru": VecAttGRUCell,
}
_TWO_STATES = ("time4lstm", "lstm")


@keras.utils.register_keras_serializable(package="tf_lsrec")
class SequenceEncoder(keras.layers.Layer):
    """A masked RNN over ``[B, L, F]`` with TF1 ``dynamic_rnn`` semantics.

    Args:
      cell: ``"time4lstm"`` (inputs ``[x ; time_from_first_action ; time_to_now]``),
        ``"gru"``, ``"lstm"`` or ``"augru"`` (inputs ``[x ; attention_score]``); see
        :mod:`tf_lsrec.layers.rnn_cells`.
      units: ``H``.

    Call args:
      inputs: ``[B, L, F]`` float.
      mask: ``[B, L]`` (bool, or float 1 keep / 0 pad), left-aligned; ``None`` = all steps.
      initial_state: ``None`` (zeros); for ``gru``/``augru`` a ``[B, H]`` tensor; for
        ``lstm``/``time4lstm`` a pair ``(c, h)`` of ``[B, H]`` tensors.
      training: forwarded to the RNN (the cells have no dropout; accepted for uniformity).

    Returns:
      ``(outputs [B, L, H], final_state [B, H])``: outputs are zero beyond each row's length;
      ``final_state`` is the state after the last kept step (for LSTM cells, ``h``). A row
      with an all-zero mask returns its initial state.

    Example:
      >>> import tf_lsrec, tensorflow as tf
      >>> from tf_lsrec.layers.sequence_encoder import SequenceEncoder
      >>> outputs, state = SequenceEncoder("gru", 4)(tf.ones([2, 3, 5]), tf.ones([2, 3]))
      >>> outputs.shape, state.shape
      (TensorShape([2, 3, 4]), TensorShape([2, 4]))
    """

    def __init__(self, cell: str, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(
                f"SequenceEncoder: cell {cell!r} is not supported; expected one of "
                f"{', '.join(CELLS)}"
            )
        self.cell_name = cell
        self.units = int(units)
        self.cell = CELLS[cell](self.units, name=f"{cell}_cell", dtype=self.dtype_policy)
        self.rnn = keras.layers.RNN(
            self.cell,
            return_sequences=True,
            return_state=True,
            zero_output_for_mask=True,
            name="rnn",
        )
        self.supports_masking = True

    def build(self, input_shape: tf.TensorShape) -> None:
        shape = tf.TensorShape(input_shape)
        if shape.rank != 3:
            raise ValueError(f"SequenceEncoder: inputs must be [B, L, F], got shape {shape}")
        self.cell.build(tf.TensorShape([shape[0], shape[-1]]))
        super().build(input_shape)

    def call(
        self,
        inputs: tf.Tensor,
        mask: tf.Tensor | None = None,
        initial_state: Any = None,
        training: bool | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        if mask is not None:
            mask = tf.convert_to_tensor(mask)
            if mask.dtype != tf.bool:
                mask = tf.cast(mask, tf.bool)
        states = None
        if initial_state is not None:
            if self.cell_name in _TWO_STATES:
                if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2:
                    raise ValueError(
                        f"SequenceEncoder({self.cell_name!r}): initial_state must be a pair "
                        "(c, h) of [B, H] tensors"
                    )
                states = [tf.cast(s, inputs.dtype) for s in initial_state]
            else:
                states = [tf.cast(initial_state, inputs.dtype)]
        results = self.rnn(inputs, mask=mask, initial_state=states, training=training)
        outputs = results[0]
        final = results[-1]  # GRU: h; LSTM cells: states are [c, h], so h is last.
        return outputs, final

    def final_state_from_projection(
        self, projected: tf.Tensor, mask: tf.Tensor, attention: tf.Tensor | None = None
    ) -> tf.Tensor:
        """The ``final_state [B, H]`` of :meth:`call` from inputs already projected by the
        cell's ``project_inputs`` (``projected [B, L, 3H]``; ``gru``/``augru`` only), with
        ``attention [B, L]`` as the AUGRU's last input feature. Equal to :meth:`call`'s up to
        float rounding (the tests check 1e-5); serving uses it to share the input projection
        of one history between many candidates. ``L`` must be static.
        """
        if self.cell_name not in ("gru", "augru"):
            raise ValueError(
                f"SequenceEncoder({self.cell_name!r}): final_state_from_projection needs a "
                "gru or augru cell"
            )
        steps = projected.shape[1]
        if steps is None:
            raise ValueError("SequenceEncoder.final_state_from_projection: L must be static")
        # A while loop, not unrolled steps: XLA compiles an unrolled body 3x slower (warm-up).
        keep = tf.transpose(tf.cast(mask, tf.bool))[..., None]  # [L, B, 1]
        steps_first = tf.transpose(projected, [1, 0, 2])  # [L, B, 3H]
        att = None if attention is None else tf.transpose(attention)[..., None]  # [L, B, 1]
        h = tf.zeros([tf.shape(projected)[0], self.units], projected.dtype)

        def body(t, h):
            a = None if att is None else att[t]
            new_h = self.cell.step_from_projection(steps_first[t], h, a)
            return t + 1, tf.where(keep[t], new_h, h)

        _, h = tf.while_loop(lambda t, h: t < steps, body, (tf.constant(0), h))
        return h

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cell": self.cell_name, "units": self.units}
