"""Tests for tf_lsrec/layers/fusion.py (docs/reference.md §7.8)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.fusion import FusionGate

LONG = tf.constant([[1.0, 2.0, 3.0], [0.0, 0.0, 4.0]])
SHORT = tf.constant([[3.0, 2.0, 1.0], [4.0, 0.0, 0.0]])
GATE = tf.random.stateless_normal([2, 7], seed=[3, 4])


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (
            {
                "mode": "adaptive",
                "att_fcn_layer_sizes": [6, 4],
                "activations": ["relu", "relu"],
                "use_bn": True,
            },
            ((2, 3), (2, 1)),
        ),
        ({"mode": "fixed", "alpha_value": 0.3}, ((2, 3), (2, 1))),
        ({"mode": "concat"}, ((2, 6), (2, 0))),
    ],
)
def test_shapes_and_config_round_trip(run_layer_test, kwargs, expected):
    run_layer_test(
        FusionGate, kwargs, (LONG, SHORT, GATE), expected, call_kwargs={"training": False}
    )


def test_adaptive_alpha_is_sigmoid_of_the_mlp_and_mixes():
    gate = FusionGate("adaptive", [6, 4], ["relu", "relu"])
    fused, alpha = gate(LONG, SHORT, GATE, training=False)
    logit = gate.mlp(GATE, training=False)
    np.testing.assert_allclose(alpha.numpy(), 1.0 / (1.0 + np.exp(-logit.numpy())), rtol=1e-6)
    a = alpha.numpy()
    assert np.all((a > 0) & (a < 1))
    np.testing.assert_allclose(fused.numpy(), a * LONG.numpy() + (1 - a) * SHORT.numpy(), rtol=1e-6)
    assert len(gate.trainable_variables) == 6  # 3 dense kernels + 3 biases


def test_fixed_alpha_has_no_variables_and_is_constant():
    gate = FusionGate("fixed", alpha_value=0.25)
    fused, alpha = gate(LONG, SHORT, None)
    assert gate.trainable_variables == []
    np.testing.assert_array_equal(alpha.numpy(), [[0.25], [0.25]])
    np.testing.assert_allclose(fused.numpy(), [[2.5, 2.0, 1.5], [3.0, 0.0, 1.0]])


def test_concat_concatenates():
    fused, alpha = FusionGate("concat")(LONG, SHORT)
    np.testing.assert_array_equal(fused.numpy(), np.concatenate([LONG, SHORT], -1))
    assert alpha.shape == (2, 0)


def test_errors():
    with pytest.raises(ValueError, match="mode 'sum'"):
        FusionGate("sum")
    with pytest.raises(ValueError, match="alpha_value must be in"):
        FusionGate("fixed", alpha_value=1.5)
    with pytest.raises(ValueError, match="needs gate_inputs"):
        FusionGate("adaptive", [4], ["relu"])(LONG, SHORT)
