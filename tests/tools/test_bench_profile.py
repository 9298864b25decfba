"""``tools/bench.py profile``: kernel times read from a real TensorFlow profile, by layer."""

from __future__ import annotations

import glob
import os

import pytest
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def profile(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "tools"))
    from benches import profile as profile_bench

    return profile_bench


def test_layer_of_splits_layer_direction_and_dropout(profile):
    assert profile.layer_of("short_term_attention/dense_1/MatMul:_MklMatMul") == (
        "short_term_attention",
        "forward",
    )
    assert profile.layer_of(
        "gradient_tape/short_term_attention/bn_0/FusedBatchNormGradV3:FusedBatchNormGradV3"
    ) == ("short_term_attention", "backward")
    assert profile.layer_of(
        "short_term_rnn/rnn/while/short_term_rnn/rnn/while_grad/body/_230/mul:Mul"
    ) == ("short_term_rnn", "backward")
    assert profile.layer_of(
        "short_term_attention/dropout_0/dropout/random_uniform/RandomUniform:RandomUniform"
    ) == ("short_term_attention/dropout", "forward")


def test_kernel_times_reads_a_real_profile(profile, tmp_path):
    w = tf.Variable(tf.ones([256, 256]))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            with tf.name_scope("my_layer"):
                y = tf.reduce_sum(tf.matmul(x, w))
        return y, tape.gradient(y, w)

    x = tf.ones([512, 256])
    step(x)
    tf.profiler.experimental.start(str(tmp_path))
    for _ in range(3):
        step(x)[1].numpy()
    tf.profiler.experimental.stop()
    (path,) = glob.glob(str(tmp_path / "plugins" / "profile" / "*" / "*.xplane.pb"))
    times = profile.kernel_times(path)
    forward = [op for op in times if op.startswith("my_layer/MatMul:")]
    assert forward and times[forward[0]] > 0
    assert all("::" not in op and ":" in op for op in times)  # kernels only, no executor spans
    layers = {profile.layer_of(op) for op in times}
    assert {("my_layer", "forward"), ("my_layer", "backward")} <= layers
