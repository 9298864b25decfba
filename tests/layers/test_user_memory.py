"""SUM's user matrix: the cell's read / write on hand-computed numbers, the sequence layer against
a NumPy loop of the reference update (``dynamic_rnn`` lengths), the read-out, shapes and configs."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tf_lsrec.layers.user_memory import MemoryReadout, SUMCell, UserMemory

B, D, H, S = 3, 5, 4, 3


def _cell(variant="sum", slots=3, units=2, input_dim=2):
    cell = SUMCell(units, slots, input_dim, variant)
    cell.build(tf.TensorShape([None, input_dim]))
    return cell


def _zero_gates(cell, add=0.6):
    """Zero kernels and biases, so reset = erase = 0.5 and add = ``add`` whatever the input."""
    for v in cell.trainable_weights:
        v.assign(tf.zeros_like(v))
    cell.add_bias.assign(tf.fill(cell.add_bias.shape, math.atanh(add)))
    cell.beta.assign(1.0)


def _step(cell, x, memory, previous):
    flat, (state, last) = cell(
        tf.constant([x], tf.float32),
        [tf.constant([np.ravel(memory)], tf.float32), tf.constant([previous], tf.float32)],
    )
    assert np.array_equal(flat.numpy(), state.numpy()) and np.allclose(last.numpy(), [x])
    return flat.numpy().reshape(cell.slots, cell.units)


def test_read_attention_and_write_by_hand():
    # heads = I and x = [ln 3, 0]: read weights softmax([ln 3, 0]) = [0.75, 0.25]
    cell = _cell()
    _zero_gates(cell)
    cell.heads.assign(np.eye(2, dtype=np.float32))
    memory = np.array([[2.0, 0.0], [0.0, 4.0], [1.0, 1.0]], np.float32)  # 2 slots + highway
    x = [math.log(3.0), 0.0]
    a, h_hat = cell.read(tf.constant([x]), tf.constant([memory]))
    np.testing.assert_allclose(a.numpy(), [[0.75, 0.25]], rtol=1e-6)
    # ĥ = (0.75 [2, 0] + 0.25 [0, 4] + [1, 1]) / 2
    np.testing.assert_allclose(h_hat.numpy(), [[1.25, 1.0]], rtol=1e-6)
    # no previous input -> cos 0 -> d = α⁰ = 1; erase 0.5, add 0.6; slot strength w_k * 0.5
    new = _step(cell, x, memory, [0.0, 0.0])
    expected = [
        [2 * 0.625 + 0.375 * 0.6, 0.375 * 0.6],  # w = 0.75 -> strength 0.375
        [0.125 * 0.6, 4 * 0.875 + 0.125 * 0.6],  # w = 0.25 -> strength 0.125
        [1 * 0.5 + 0.5 * 0.6, 1 * 0.5 + 0.5 * 0.6],  # highway: strength d * 0.5
    ]
    np.testing.assert_allclose(new, expected, rtol=1e-6)


def test_repeating_an_input_writes_with_weight_alpha():
    # d = α ** cos(x_prev, x): 1 for the first step, α for a repeated item
    cell = _cell()
    _zero_gates(cell)
    cell.alpha.assign(0.5)
    x = [0.3, -0.7]
    first = _step(cell, x, np.zeros((3, 2)), [0.0, 0.0])
    # uniform read weights 0.5 (zero heads), d = 1: slots 0.25 * 0.6, highway 0.5 * 0.6
    np.testing.assert_allclose(first, [[0.15] * 2, [0.15] * 2, [0.3] * 2], rtol=1e-6)
    second = _step(cell, x, first, x)
    # d = 0.5: slot strength 0.5 * 0.5 * 0.5 = 0.125, highway 0.5 * 0.5 = 0.25
    slot = 0.15 * 0.875 + 0.125 * 0.6
    np.testing.assert_allclose(second, [[slot] * 2, [slot] * 2, [0.3 * 0.75 + 0.25 * 0.6] * 2],
                               rtol=1e-6)  # fmt: skip
    # an opposite input: cos = -1, d = 1 / α = 2 (the reference does not clip it)
    third = _step(cell, [-0.3, 0.7], first, x)
    np.testing.assert_allclose(third[2], [0.3 * 0.0 + 1.0 * 0.6] * 2, rtol=1e-6)


def test_sumv2_writes_with_its_own_attention():
    # V2: w = softmax(relu([x ; ĥ] W_w + b_w) W_w2); W_w = 0, b_w = 1 -> hidden [1, 1], and
    # W_w2 columns summing to [ln 9, 0] -> w = [0.9, 0.1], whatever the read weights are
    cell = _cell("sumv2")
    _zero_gates(cell)
    cell.heads.assign(np.eye(2, dtype=np.float32))
    cell.writing_bias.assign([1.0, 1.0])
    cell.writing_out.assign([[math.log(9.0), 0.0], [0.0, 0.0]])
    new = _step(cell, [math.log(3.0), 0.0], np.zeros((3, 2)), [0.0, 0.0])
    np.testing.assert_allclose(new[:2, 0], [0.9 * 0.5 * 0.6, 0.1 * 0.5 * 0.6], rtol=1e-6)


def _numpy_memory(cell, x, lengths, variant):
    """The reference update, step by step, state frozen after each row's length."""
    w = {v.name.split("/")[-1].split(":")[0]: v.numpy() for v in cell.weights}
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def unit(v):
        return v / np.sqrt(max((v**2).sum(), 1e-12))

    out = []
    for b in range(x.shape[0]):
        m, prev = np.zeros((cell.slots, cell.units)), np.zeros(x.shape[-1])
        for t in range(lengths[b]):
            xt = x[b, t]
            a = softmax(w["beta"] * (w["heads"] @ xt))
            h_hat = ((a[:, None] * m[:-1]).sum(0) + m[-1]) / 2
            d = w["alpha"] ** (unit(prev) @ unit(xt))
            xh = np.concatenate([xt, h_hat])
            if variant == "sumv2":
                a = softmax(np.maximum(xh @ w["writing_kernel"] + w["writing_bias"], 0)
                            @ w["writing_out"])  # fmt: skip
            r = sig(xh @ w["reset_kernel"] + w["reset_bias"])
            e = sig(xh @ w["erase_kernel"] + w["erase_bias"])
            c = np.tanh(np.concatenate([xt, r * h_hat]) @ w["add_kernel"] + w["add_bias"])
            for k in range(cell.slots - 1):
                m[k] = m[k] * (1 - a[k] * d * e) + a[k] * d * e * c
            m[-1] = m[-1] * (1 - d * e) + d * e * c
            prev = xt
        out.append(m)
    return np.stack(out)


@pytest.mark.parametrize("variant", ["sum", "sumv2"])
def test_user_memory_equals_numpy_reference_with_lengths(variant):
    layer = UserMemory(H, S, variant)
    x = tf.random.stateless_normal([B, 6, D], seed=[1, 2])
    lengths = [2, 6, 0]
    mask = (np.arange(6)[None, :] < np.array(lengths)[:, None]).astype(np.float32)
    layer.build(x.shape)
    rng = np.random.default_rng(0)
    for v in layer.weights:  # away from the initial values, so every term matters
        v.assign(rng.normal(0.0, 0.5, size=v.shape).astype(np.float32))
    got = layer(x, mask).numpy()
    expected = _numpy_memory(layer.cell, x.numpy().astype(np.float64), lengths, variant)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert np.all(got[2] == 0.0)  # empty history: the zero memory
    padded = x.numpy().copy()
    padded[0, 2:] = 9.0  # padding content cannot leak into the memory
    np.testing.assert_allclose(layer(tf.constant(padded), mask).numpy(), got, rtol=1e-6)


def test_initial_values_as_reference():
    cell = _cell(slots=4, units=3, input_dim=5)
    assert float(cell.alpha) == pytest.approx(0.98) and float(cell.beta) == pytest.approx(1.02)
    for bias in (cell.erase_bias, cell.reset_bias, cell.add_bias):
        assert np.all(bias.numpy() == 1.0)
    assert cell.heads.shape == (3, 5) and cell.reset_kernel.shape == (8, 1)
    assert {id(v) for v in cell.unregularized_weights()} == {id(cell.alpha), id(cell.beta)}


def test_readout_by_hand_and_encoded_keys():
    layer = MemoryReadout(kernel_initializer="identity")
    memory = tf.constant([[[1.0, 0.0], [0.0, 1.0]]])
    query = tf.constant([[math.log(3.0), 0.0]])
    u, p = layer(query, memory)
    np.testing.assert_allclose(p.numpy(), [[0.75, 0.25]], rtol=1e-6)
    np.testing.assert_allclose(u.numpy(), [[0.75, 0.25]], rtol=1e-6)
    u2, p2 = layer(query, memory, encoded=layer.encode(memory))
    np.testing.assert_allclose(u2.numpy(), u.numpy())


def test_cell_shapes_and_config(run_layer_test):
    inputs = tf.random.stateless_normal([B, D], seed=[3, 4])
    states = [tf.zeros([B, S * H]), tf.zeros([B, D])]
    kwargs = {"units": H, "slots": S, "input_dim": D, "variant": "sumv2"}
    run_layer_test(SUMCell, kwargs, (inputs, states), ((B, S * H), (B, S * H), (B, D)))
    assert keras.layers.RNN(SUMCell(H, S, D))(tf.ones([B, 6, D])).shape == (B, S * H)


@pytest.mark.parametrize("slots", [1, S])
def test_user_memory_shapes_and_config(run_layer_test, slots):
    x = tf.random.stateless_normal([B, 6, D], seed=[5, 6])
    mask = tf.constant([[1.0] * 6, [1.0] * 2 + [0.0] * 4, [1.0] * 4 + [0.0] * 2])
    run_layer_test(UserMemory, {"units": H, "slots": slots}, (x, mask), (B, slots, H))


def test_readout_shapes_and_config(run_layer_test):
    query = tf.random.stateless_normal([B, D], seed=[7, 8])
    memory = tf.random.stateless_normal([B, S, H], seed=[9, 10])
    run_layer_test(MemoryReadout, {}, (query, memory), ((B, H), (B, S)))


def test_bad_arguments_fail_clearly():
    with pytest.raises(ValueError, match="variant 'gru' is not one of"):
        SUMCell(H, S, D, "gru")
    with pytest.raises(ValueError, match="slots and input_dim must be > 0"):
        SUMCell(H, 0, D)
    with pytest.raises(ValueError, match=r"inputs must be \[B, L, D\]"):
        UserMemory(H, S)(tf.ones([B, D]))
