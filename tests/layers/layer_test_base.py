"""Shared checks for every Keras layer of ``tf_lsrec.layers`` (used through ``conftest.py``).

``run_layer_test`` builds a layer, calls it eagerly and inside ``tf.function``, checks the
output shapes, and round-trips it through ``get_config`` -> ``from_config`` and through
``keras.layers.serialize`` -> ``deserialize``: the rebuilt layer must have the same config and,
once the original weights are copied in, produce the same outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras


def _as_list(outputs: Any) -> list[tf.Tensor]:
    return tf.nest.flatten(outputs)


def run_layer_test(
    layer_cls: type[keras.layers.Layer],
    init_kwargs: dict[str, Any],
    inputs: Any,
    expected_output_shape: Sequence[Any],
    call_kwargs: dict[str, Any] | None = None,
) -> keras.layers.Layer:
    """Build, call and round-trip a layer; return the built layer.

    Args:
      layer_cls: the layer class.
      init_kwargs: constructor arguments.
      inputs: one tensor, or a tuple of positional call arguments.
      expected_output_shape: a shape tuple (single output) or a tuple of shape tuples (one
        per output); ``None`` entries match any size.
      call_kwargs: extra keyword arguments for the call (default ``{"training": False}``
        is NOT added: pass it when the layer takes ``training``).
    """
    call_kwargs = dict(call_kwargs or {})
    args = tuple(inputs) if isinstance(inputs, tuple) else (inputs,)
    layer = layer_cls(**init_kwargs)
    outputs = _as_list(layer(*args, **call_kwargs))
    expected = expected_output_shape
    if not expected or not isinstance(expected[0], (tuple, list)):
        expected = [expected]
    assert len(outputs) == len(expected), f"{len(outputs)} outputs, expected {len(expected)}"
    for out, shape in zip(outputs, expected):
        assert out.shape.rank == len(shape), f"rank of {out.shape} != {shape}"
        for got, want in zip(out.shape.as_list(), shape):
            assert want is None or got == want, f"output shape {out.shape} != {shape}"
        assert np.all(np.isfinite(out.numpy())), "non-finite output"

    @tf.function
    @tf.autograph.experimental.do_not_convert
    def traced_call(*a):
        return layer(*a, **call_kwargs)

    traced = _as_list(traced_call(*args))
    for out, again in zip(outputs, traced):
        np.testing.assert_allclose(out.numpy(), again.numpy(), rtol=1e-5, atol=1e-6)

    config = layer.get_config()
    rebuilds = [
        layer_cls.from_config(config),
        keras.layers.deserialize(keras.layers.serialize(layer)),
    ]
    for clone in rebuilds:
        assert type(clone) is layer_cls
        assert clone.get_config() == config
        clone(*args, **call_kwargs)  # build
        clone.set_weights(layer.get_weights())
        for out, again in zip(outputs, _as_list(clone(*args, **call_kwargs))):
            np.testing.assert_allclose(out.numpy(), again.numpy(), rtol=1e-5, atol=1e-6)
    return layer
