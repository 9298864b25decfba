"""Tests for tf_lsrec/layers/mlp.py (docs/reference.md §3.4)."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.layers.mlp import MLP


@pytest.mark.parametrize(
    "kwargs, shape, expected",
    [
        ({"layer_sizes": [8, 4], "activations": ["relu", "tanh"]}, [3, 6], (3, 1)),
        (
            {"layer_sizes": [8], "activations": ["dice"], "use_bn": True, "dropout_rates": [0.5]},
            [3, 5, 6],
            (3, 5, 1),
        ),
        ({"layer_sizes": [8, 4], "activations": "elu", "output_units": None}, [3, 6], (3, 4)),
        ({"layer_sizes": [], "activations": [], "output_units": 2}, [3, 6], (3, 2)),
    ],
)
def test_mlp_shapes_and_config(run_layer_test, kwargs, shape, expected):
    inputs = tf.random.stateless_normal(shape, seed=[1, 2])
    run_layer_test(MLP, kwargs, inputs, expected, call_kwargs={"training": False})


def test_unknown_activation_names_it():
    with pytest.raises(ValueError, match="'swish'.*hidden layer 1"):
        MLP([4, 4], ["relu", "swish"])


def test_too_short_activation_list():
    with pytest.raises(ValueError, match="`activations` has 1 entries but there are 2"):
        MLP([4, 4], ["relu"])


def test_longer_lists_are_truncated_like_the_reference():
    mlp = MLP([4], ["relu", "tanh", "sigmoid"], dropout_rates=[0.1, 0.2, 0.3])
    assert mlp.activations == ["relu"] and mlp.dropout_rates == [0.1]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_mlp_matches_numpy_with_bn_in_inference_mode():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    mlp = MLP([4, 2], ["relu", "sigmoid"], dropout_rates=[0.5, 0.5], use_bn=True)
    mlp.build(tf.TensorShape([None, 3]))
    w0, b0 = rng.normal(size=(3, 4)), rng.normal(size=4)
    g0, be0, mu0, var0 = (
        rng.normal(size=4),
        rng.normal(size=4),
        rng.normal(size=4),
        rng.uniform(0.5, 2, 4),
    )
    w1, b1 = rng.normal(size=(4, 2)), rng.normal(size=2)
    g1, be1, mu1, var1 = (
        rng.normal(size=2),
        rng.normal(size=2),
        rng.normal(size=2),
        rng.uniform(0.5, 2, 2),
    )
    wo, bo = rng.normal(size=(2, 1)), rng.normal(size=1)
    mlp.dense_layers[0].set_weights([w0, b0])
    mlp.bn_layers[0].set_weights([g0, be0, mu0, var0])
    mlp.dense_layers[1].set_weights([w1, b1])
    mlp.bn_layers[1].set_weights([g1, be1, mu1, var1])
    mlp.output_layer.set_weights([wo, bo])

    def bn(z, g, b, mu, var):
        return g * (z - mu) / np.sqrt(var + 1e-4) + b

    h = np.maximum(bn(x @ w0 + b0, g0, be0, mu0, var0), 0.0)
    h = _sigmoid(bn(h @ w1 + b1, g1, be1, mu1, var1))
    expected = h @ wo + bo
    got = mlp(x, training=False).numpy()  # dropout off, BN moving statistics
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_bn_settings_and_zero_biases():
    mlp = MLP([4], ["identity"], use_bn=True)
    mlp.build(tf.TensorShape([None, 3]))
    bn = mlp.bn_layers[0]
    assert bn.momentum == 0.95 and bn.epsilon == 1e-4
    assert np.all(mlp.dense_layers[0].bias.numpy() == 0)
    assert np.all(mlp.output_layer.bias.numpy() == 0)


def test_training_uses_batch_statistics_pooled_over_leading_axes():
    # identity activation, no output projection: output = BN(x W + b) in training mode
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) ** 1.5
    mlp = MLP([4], ["identity"], use_bn=True, output_units=None)
    mlp.build(tf.TensorShape([None, None, 4]))
    mlp.dense_layers[0].set_weights([np.eye(4), np.zeros(4)])
    got = mlp(x, training=True).numpy()
    flat = x.reshape(-1, 4)
    expected = (x - flat.mean(0)) / np.sqrt(flat.var(0) + 1e-4)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_dropout_is_after_bn_and_before_activation():
    # sigmoid(0) = 0.5: if dropout came after the activation, dropped units would give 0.
    mlp = MLP([64], ["sigmoid"], dropout_rates=[0.5], output_units=None)
    mlp.build(tf.TensorShape([None, 2]))
    mlp.dense_layers[0].set_weights([np.zeros((2, 64)), np.zeros(64)])
    got = mlp(np.ones((8, 2), np.float32), training=True).numpy()
    np.testing.assert_allclose(got, 0.5)


@pytest.mark.parametrize("sizes,output_units", [([4, 3], 1), ([4], None), ([], 2), ([], None)])
def test_call_after_first_dense_completes_the_mlp(sizes, output_units):
    mlp = MLP(sizes, ["relu"] * len(sizes), use_bn=True, output_units=output_units)
    x = tf.random.stateless_normal([5, 6], seed=[1, 2])
    whole = mlp(x, training=False)
    first = mlp.first_dense
    if sizes or output_units:
        assert first is not None and first.units == (sizes[0] if sizes else output_units)
        rest = mlp.call_after_first_dense(first(x), training=False)
    else:  # identity MLP: nothing to split off
        assert first is None
        rest = mlp.call_after_first_dense(x, training=False)
    np.testing.assert_allclose(rest.numpy(), whole.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 5, 4), (7, 4)])
def test_batch_norm_on_the_fused_view_equals_plain_batch_norm(shape):
    """The MLP runs its batch norm on the [N, 1, 1, C] view (fused kernel); outputs, gradients
    and moving statistics equal the previous formulation, Keras' BN on the input's own rank."""
    import tf_keras as keras

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, size=shape).astype(np.float32))
    mlp = MLP([3], ["relu"], use_bn=True, output_units=1)
    mlp.build(x.shape)
    bn = mlp.bn_layers[0]
    bn.gamma.assign(rng.uniform(0.5, 1.5, size=3))
    bn.beta.assign(rng.normal(size=3))
    plain = keras.layers.BatchNormalization(axis=-1, momentum=0.95, epsilon=1e-4)
    plain.build(tf.TensorShape([*shape[:-1], 3]))
    plain.set_weights(bn.get_weights())
    dense, out = mlp.dense_layers[0], mlp.output_layer

    def previous(x, training):
        return out(tf.nn.relu(plain(dense(x), training=training)))

    for training in (True, False):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y_new = mlp(x, training=training)
            y_old = previous(x, training)
        np.testing.assert_allclose(y_new.numpy(), y_old.numpy(), rtol=1e-5, atol=1e-5)
        sources = [x, dense.kernel, bn.gamma, bn.beta]
        old_sources = [x, dense.kernel, plain.gamma, plain.beta]
        g_new = tape.gradient(tf.reduce_sum(tf.sin(y_new)), sources)
        g_old = tape.gradient(tf.reduce_sum(tf.sin(y_old)), old_sources)
        for i, (a, b) in enumerate(zip(g_new, g_old)):
            assert (a is None) == (b is None), (training, i, a, b)
            if a is not None:
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(bn.moving_mean.numpy(), plain.moving_mean.numpy(), rtol=1e-5)
        np.testing.assert_allclose(
            bn.moving_variance.numpy(), plain.moving_variance.numpy(), rtol=1e-5
        )
