"""Tests for tf_lsrec/layers/sequence_encoder.py: TF1 ``dynamic_rnn`` semantics (§6.1)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.sequence_encoder import SequenceEncoder

_spec = importlib.util.spec_from_file_location(
    "tf_lsrec_tests_rnn_numpy", Path(__file__).with_name("rnn_numpy.py")
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

B, L, F, H = 4, 5, 3, 4
RNG = np.random.default_rng(5)
# lengths 3, 5, 1, 0 (left-aligned); the last row is an empty history
MASK = (np.arange(L)[None, :] < np.array([3, 5, 1, 0])[:, None]).astype(np.float32)
EXTRA = {"time4lstm": 2, "gru": 0, "lstm": 0, "augru": 1}
STEPS = {
    "time4lstm": ref.time4lstm_step,
    "gru": ref.gru_step,
    "lstm": ref.lstm_step,
    "augru": ref.gru_step,
}


def _inputs(cell):
    x = RNG.normal(size=(B, L, F + EXTRA[cell])).astype(np.float32)
    if cell == "augru":
        x[..., -1] = RNG.uniform(size=(B, L))
    return x


@pytest.mark.parametrize("cell", sorted(EXTRA))
def test_shapes_and_config(run_layer_test, cell):
    run_layer_test(
        SequenceEncoder, {"cell": cell, "units": H}, (_inputs(cell), MASK), ((B, L, H), (B, H))
    )


@pytest.mark.parametrize("cell", sorted(EXTRA))
def test_matches_numpy_dynamic_rnn(cell):
    x = _inputs(cell)
    enc = SequenceEncoder(cell, H)
    enc.build(tf.TensorShape([None, L, x.shape[-1]]))
    w = {}
    for attr, var in list(vars(enc.cell).items()):
        if isinstance(var, tf.Variable):
            w[attr] = RNG.normal(scale=0.5, size=var.shape).astype(np.float32)
            var.assign(w[attr])
    w["augru"] = cell == "augru"
    two = cell in ("lstm", "time4lstm")
    zero = tuple(np.zeros((B, H), np.float32) for _ in range(2 if two else 1))
    expected_out, expected_state = ref.dynamic_rnn(STEPS[cell], x, MASK, zero, w)

    outputs, final = enc(x, MASK)
    np.testing.assert_allclose(outputs.numpy(), expected_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(final.numpy(), expected_state[-1], rtol=1e-5, atol=1e-5)
    # zero outputs beyond the length; final state = output at step length-1; empty row -> 0
    assert np.all(outputs.numpy()[MASK == 0] == 0.0)
    np.testing.assert_allclose(final.numpy()[0], outputs.numpy()[0, 2], rtol=1e-6)
    np.testing.assert_allclose(final.numpy()[2], outputs.numpy()[2, 0], rtol=1e-6)
    assert np.all(final.numpy()[3] == 0.0)


def test_padding_content_does_not_matter():
    x = _inputs("gru")
    enc = SequenceEncoder("gru", H)
    out1, fin1 = enc(x, MASK)
    x2 = np.where(MASK[..., None] > 0, x, 123.0).astype(np.float32)
    out2, fin2 = enc(x2, MASK)
    np.testing.assert_array_equal(out1.numpy(), out2.numpy())
    np.testing.assert_array_equal(fin1.numpy(), fin2.numpy())


def test_initial_state_gru_and_lstm():
    x = _inputs("gru")
    h0 = RNG.normal(size=(B, H)).astype(np.float32)
    enc = SequenceEncoder("gru", H)
    enc.build(tf.TensorShape([None, L, F]))
    w = {a: v.numpy() for a, v in vars(enc.cell).items() if isinstance(v, tf.Variable)}
    expected_out, (expected_h,) = ref.dynamic_rnn(ref.gru_step, x, MASK, (h0,), w)
    outputs, final = enc(x, MASK, initial_state=h0)
    np.testing.assert_allclose(outputs.numpy(), expected_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(final.numpy(), expected_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(final.numpy()[3], h0[3])  # empty row keeps its initial state

    lstm = SequenceEncoder("lstm", H)
    c0 = RNG.normal(size=(B, H)).astype(np.float32)
    _, final = lstm(x, MASK, initial_state=(c0, h0))
    np.testing.assert_allclose(final.numpy()[3], h0[3])
    with pytest.raises(ValueError, match="initial_state must be a pair"):
        lstm(x, MASK, initial_state=h0)


def test_unknown_cell_and_bad_rank():
    with pytest.raises(ValueError, match="cell 'rnn' is not supported; expected one of"):
        SequenceEncoder("rnn", H)
    with pytest.raises(ValueError, match=r"inputs must be \[B, L, F\]"):
        SequenceEncoder("gru", H)(tf.ones([B, F]))


@pytest.mark.parametrize("cell", ["gru", "augru"])
def test_final_state_from_projection_matches_call(cell):
    """Serving's split form (input side projected once, then the recurrence) gives call's
    final state, lengths 3, 5, 1 and 0 included; a projection shared by several attention
    vectors (DIEN: one history, many candidates) gives each its own state."""
    x = _inputs(cell)
    enc = SequenceEncoder(cell, H)
    enc.build(tf.TensorShape([None, L, x.shape[-1]]))
    for var in enc.cell.weights:
        var.assign(RNG.normal(scale=0.5, size=var.shape).astype(np.float32))
    _, expected = enc(x, MASK)
    features = x[..., :-1] if cell == "augru" else x
    attention = tf.constant(x[..., -1]) if cell == "augru" else None
    projected = enc.cell.project_inputs(tf.constant(features))
    assert projected.shape == (B, L, 3 * H)
    got = enc.final_state_from_projection(projected, MASK, attention)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert np.all(got.numpy()[3] == 0.0)  # empty history: the zero state
    if cell == "augru":
        other = np.where(MASK > 0, 1.0 - x[..., -1], 0.0).astype(np.float32)
        _, expected_other = enc(np.concatenate([features, other[..., None]], -1), MASK)
        got_other = enc.final_state_from_projection(projected, MASK, tf.constant(other))
        np.testing.assert_allclose(got_other.numpy(), expected_other.numpy(), rtol=1e-5, atol=1e-6)
        assert not np.allclose(got_other.numpy()[:3], got.numpy()[:3])


def test_final_state_from_projection_needs_a_gru_cell():
    with pytest.raises(ValueError, match="needs a gru or augru cell"):
        SequenceEncoder("lstm", H).final_state_from_projection(
            tf.ones([B, L, 3 * H]), tf.ones([B, L])
        )
