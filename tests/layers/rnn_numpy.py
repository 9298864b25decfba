"""Hand-written numpy reference steps of the TF1 cells (docs/reference.md §6) for the layer tests."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gru_step(x, state, w):
    """TF1 GRUCell; with ``w["augru"]`` true, AUGRU (x carries the score a as last feature)."""
    (h,) = state
    a = None
    if w.get("augru"):
        x, a = x[:, :-1], x[:, -1:]
    gates = sigmoid(np.concatenate([x, h], 1) @ w["gate_kernel"] + w["gate_bias"])
    r, u = np.split(gates, 2, axis=1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ w["candidate_kernel"] + w["candidate_bias"])
    if a is not None:
        u = (1.0 - a) * u
    new_h = u * h + (1 - u) * c
    return new_h, (new_h,)


def lstm_step(x, state, w):
    c_prev, h_prev = state
    z = np.concatenate([x, h_prev], 1) @ w["kernel"] + w["bias"]
    i, j, f, o = np.split(z, 4, axis=1)
    c = sigmoid(f + 1.0) * c_prev + sigmoid(i) * np.tanh(j)
    h = sigmoid(o) * np.tanh(c)
    return h, (c, h)


def time4lstm_step(inputs, state, w):
    c_prev, h_prev = state
    t1, t2, x = inputs[:, -1:], inputs[:, -2:-1], inputs[:, :-2]
    tn = np.tanh(t1 * w["time_now_w"] + w["time_now_b"])
    tl = np.tanh(t2 * w["time_last_w"] + w["time_last_b"])
    g1 = x @ w["gate_now_x"] + tn @ w["gate_now_t"] + w["gate_now_b"]
    g2 = x @ w["gate_last_x"] + tl @ w["gate_last_t"] + w["gate_last_b"]
    z = np.concatenate([x, h_prev], 1) @ w["kernel"] + w["bias"]
    i, j, f, o = np.split(z, 4, axis=1)
    o = o + tn @ w["output_now"] + tl @ w["output_last"]
    c = sigmoid(f + 1.0) * sigmoid(g2) * c_prev + sigmoid(i) * sigmoid(g1) * np.tanh(j)
    h = sigmoid(o) * np.tanh(c)
    return h, (c, h)


def dynamic_rnn(step, inputs, mask, state, w):
    """TF1 ``dynamic_rnn``: zero outputs and a carried state at masked steps."""
    batch, length, _ = inputs.shape
    outputs = []
    for j in range(length):
        out, new_state = step(inputs[:, j], state, w)
        keep = mask[:, j : j + 1] > 0
        outputs.append(np.where(keep, out, 0.0))
        state = tuple(np.where(keep, n, s) for n, s in zip(new_state, state))
    return np.stack(outputs, 1), state
