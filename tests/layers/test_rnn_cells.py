"""Tests for tf_lsrec/layers/rnn_cells.py against numpy steps (docs/reference.md §6.2-§6.4)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.rnn_cells import TF1GRUCell, TF1LSTMCell, Time4LSTMCell, VecAttGRUCell

_spec = importlib.util.spec_from_file_location(
    "tf_lsrec_tests_rnn_numpy", Path(__file__).with_name("rnn_numpy.py")
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

B, F, H = 3, 4, 5
RNG = np.random.default_rng(11)


def _randomize(cell):
    """Give every weight random values (so zero/one initialisations hide no bug)."""
    weights = {}
    for attr, var in list(vars(cell).items()):
        if isinstance(var, tf.Variable):
            value = RNG.normal(scale=0.5, size=var.shape).astype(np.float32)
            var.assign(value)
            weights[attr] = value
    assert len(weights) == len(cell.weights)
    return weights


def _cell(cls, in_dim):
    cell = cls(H)
    cell.build(tf.TensorShape([None, in_dim]))
    return cell


@pytest.mark.parametrize(
    "cls, in_dim, n_states",
    [(TF1GRUCell, F, 1), (VecAttGRUCell, F + 1, 1), (TF1LSTMCell, F, 2), (Time4LSTMCell, F + 2, 2)],
)
def test_cell_in_keras_rnn_shapes_and_config(run_layer_test, cls, in_dim, n_states):
    inputs = tf.random.stateless_normal([B, in_dim], seed=[3, 4])
    states = [tf.random.stateless_normal([B, H], seed=[5, k]) for k in range(n_states)]
    run_layer_test(cls, {"units": H}, (inputs, states), ((B, H), *[(B, H)] * n_states))
    rnn = keras.layers.RNN(cls(H), return_sequences=True)
    assert rnn(tf.ones([B, 6, in_dim])).shape == (B, 6, H)


def test_tf1_gru_initial_biases_and_shapes():
    cell = _cell(TF1GRUCell, F)
    assert cell.gate_kernel.shape == (F + H, 2 * H) and cell.candidate_kernel.shape == (F + H, H)
    np.testing.assert_array_equal(cell.gate_bias.numpy(), np.ones(2 * H))
    np.testing.assert_array_equal(cell.candidate_bias.numpy(), np.zeros(H))
    limit = np.sqrt(6.0 / (F + H + 2 * H))  # Glorot-uniform on the concatenated kernel
    assert np.abs(cell.gate_kernel.numpy()).max() <= limit


def test_lstm_and_time4lstm_initial_values():
    lstm = _cell(TF1LSTMCell, F)
    assert lstm.kernel.shape == (F + H, 4 * H)
    np.testing.assert_array_equal(lstm.bias.numpy(), np.zeros(4 * H))
    t4 = Time4LSTMCell(64)
    t4.build(tf.TensorShape([None, F + 2]))
    np.testing.assert_array_equal(t4.bias.numpy(), np.zeros(4 * 64))
    assert t4.kernel.shape == (F + 64, 4 * 64) and t4.gate_now_x.shape == (F, 64)
    for vec in (t4.time_now_w, t4.time_now_b, t4.gate_last_b):
        # Glorot-uniform on a 1-D vector: fan_in = fan_out = 64 -> limit sqrt(6 / 128)
        values = vec.numpy()
        assert np.abs(values).max() <= np.sqrt(6 / 128) and values.std() > 0.05


@pytest.mark.parametrize(
    "cls, in_dim, step, augru",
    [
        (TF1GRUCell, F, ref.gru_step, False),
        (VecAttGRUCell, F + 1, ref.gru_step, True),
        (TF1LSTMCell, F, ref.lstm_step, False),
        (Time4LSTMCell, F + 2, ref.time4lstm_step, False),
    ],
)
def test_cell_steps_match_numpy(cls, in_dim, step, augru):
    cell = _cell(cls, in_dim)
    w = _randomize(cell)
    w["augru"] = augru
    two = cls in (TF1LSTMCell, Time4LSTMCell)
    state_np = tuple(RNG.normal(size=(B, H)).astype(np.float32) for _ in range(2 if two else 1))
    state_tf = [tf.constant(s) for s in state_np]
    for _ in range(3):  # several steps, feeding the state back
        x = RNG.normal(size=(B, in_dim)).astype(np.float32)
        if augru:
            x[:, -1] = RNG.uniform(size=B)
        out_np, state_np = step(x, state_np, w)
        out_tf, state_tf = cell(tf.constant(x), state_tf)
        np.testing.assert_allclose(out_tf.numpy(), out_np, rtol=1e-5, atol=1e-5)
        for s_tf, s_np in zip(state_tf, state_np):
            np.testing.assert_allclose(s_tf.numpy(), s_np, rtol=1e-5, atol=1e-5)


def test_augru_with_attention_one_is_candidate_and_zero_is_plain_gru():
    aug, gru = _cell(VecAttGRUCell, F + 1), _cell(TF1GRUCell, F)
    w = _randomize(aug)
    gru.set_weights(aug.get_weights())
    x = RNG.normal(size=(B, F)).astype(np.float32)
    h = RNG.normal(size=(B, H)).astype(np.float32)
    plain, _ = gru(x, [h])
    att0, _ = aug(np.concatenate([x, np.zeros((B, 1), np.float32)], 1), [h])
    np.testing.assert_allclose(att0.numpy(), plain.numpy(), rtol=1e-6)
    att1, _ = aug(np.concatenate([x, np.ones((B, 1), np.float32)], 1), [h])
    gates = ref.sigmoid(np.concatenate([x, h], 1) @ w["gate_kernel"] + w["gate_bias"])
    r = gates[:, :H]
    c = np.tanh(np.concatenate([x, r * h], 1) @ w["candidate_kernel"] + w["candidate_bias"])
    np.testing.assert_allclose(att1.numpy(), c, rtol=1e-5, atol=1e-6)


def test_bad_units_and_inputs():
    with pytest.raises(ValueError, match="units must be > 0"):
        TF1GRUCell(0)
    with pytest.raises(ValueError, match="Time4LSTMCell: inputs need >= 3 features"):
        Time4LSTMCell(3).build(tf.TensorShape([None, 2]))
