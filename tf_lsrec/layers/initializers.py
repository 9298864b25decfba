"""Weight initialisers selected by the ``init_method`` / ``init_value`` hyper-parameters.

Reference behaviour (docs/reference.md §3.8):

=====================  ======================================================================
``init_method``        initializer (``v`` = ``init_value``)
=====================  ======================================================================
``tnormal``            truncated normal, mean 0, stddev ``v``, re-drawn beyond 2σ (default)
``uniform``            U(-v, v)
``normal``             N(0, v²)
``xavier_normal``      variance scaling, scale 1, fan_avg, truncated normal
``xavier_uniform``     variance scaling, scale 1, fan_avg, uniform
``he_normal``          variance scaling, scale 2, fan_in, truncated normal
``he_uniform``         variance scaling, scale 2, fan_in, uniform
anything else          ``tnormal`` (as the reference), with a logged warning
=====================  ======================================================================

Keras 2 initialisers are *stateless*: one instance called twice, or two instances with the
same seed, return identical values. :func:`fresh_initializer` therefore builds a new instance
per variable and, when a seed is set, derives a per-variable seed from a stable name.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

import tf_keras as keras

logger = logging.getLogger(__name__)

INIT_METHODS = (
    "tnormal",
    "uniform",
    "normal",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
)


def get_initializer(
    init_method: str, init_value: float, seed: int | None = None
) -> keras.initializers.Initializer:
    """Return the Keras initializer named by ``init_method`` (docs/reference.md §3.8).

    Args:
      init_method: one of :data:`INIT_METHODS`; unknown names fall back to ``tnormal`` like the
        reference, with a warning in the log.
      init_value: stddev (``tnormal``, ``normal``) or half-width (``uniform``); ignored by the
        variance-scaling methods.
      seed: optional integer seed. A seeded Keras 2 initializer returns the same values on
        every call: use :func:`fresh_initializer` to create one per variable.

    Returns:
      A new ``tf_keras.initializers.Initializer``.

    Example:
      >>> init = get_initializer("uniform", 0.5, seed=1)
      >>> w = init((3, 2))
      >>> bool((abs(w.numpy()) <= 0.5).all())
      True
    """
    v = float(init_value)
    vs = keras.initializers.VarianceScaling
    if init_method == "tnormal":
        return keras.initializers.TruncatedNormal(mean=0.0, stddev=v, seed=seed)
    if init_method == "uniform":
        return keras.initializers.RandomUniform(minval=-v, maxval=v, seed=seed)
    if init_method == "normal":
        return keras.initializers.RandomNormal(mean=0.0, stddev=v, seed=seed)
    if init_method == "xavier_normal":
        return vs(scale=1.0, mode="fan_avg", distribution="truncated_normal", seed=seed)
    if init_method == "xavier_uniform":
        return vs(scale=1.0, mode="fan_avg", distribution="uniform", seed=seed)
    if init_method == "he_normal":
        return vs(scale=2.0, mode="fan_in", distribution="truncated_normal", seed=seed)
    if init_method == "he_uniform":
        return vs(scale=2.0, mode="fan_in", distribution="uniform", seed=seed)
    logger.warning(
        "init_method %r is not one of %s; falling back to 'tnormal' with stddev %s "
        "(the reference does the same)",
        init_method,
        ", ".join(INIT_METHODS),
        v,
    )
    return keras.initializers.TruncatedNormal(mean=0.0, stddev=v, seed=seed)


def serialize_initializer(spec: Any) -> Any:
    """Turn a string, dict or ``Initializer`` into a JSON-able config (for ``get_config``)."""
    return keras.initializers.serialize(keras.initializers.get(spec))


def fresh_initializer(spec: Any, salt: str = "") -> keras.initializers.Initializer:
    """A new initializer instance built from ``spec``, safe to use for exactly one variable.

    Args:
      spec: a name (``"glorot_uniform"``), a serialized config or an ``Initializer`` instance
        (never reused: it is serialized and rebuilt).
      salt: a stable per-variable string (e.g. ``"mlp/dense_0/kernel"``). When the initializer
        carries a seed, the new instance's seed is ``(seed + crc32(salt)) mod 2**31`` so that
        different variables of equal shape do not start identical, reproducibly.

    Returns:
      A new ``tf_keras.initializers.Initializer``.

    Example:
      >>> a = fresh_initializer(get_initializer("normal", 1.0, seed=3), "a")((4,))
      >>> b = fresh_initializer(get_initializer("normal", 1.0, seed=3), "b")((4,))
      >>> bool((a.numpy() != b.numpy()).any())
      True
    """
    config = serialize_initializer(spec)
    if isinstance(config, dict):
        inner = dict(config.get("config", {}))
        if inner.get("seed") is not None:
            inner["seed"] = int((int(inner["seed"]) + zlib.crc32(salt.encode())) % (2**31))
        config = {**config, "config": inner}
    return keras.initializers.deserialize(config)
