"""Input coercion and validation shared by the metric modules (errors name the argument)."""

from __future__ import annotations

import numpy as np


def flat_floats(values, name: str) -> np.ndarray:
    """``values`` (any array-like, e.g. ``[B]`` or ``[B, 1]``) -> finite float64 ``[B]``."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: {int(bad.sum())} non-finite value(s) (first at row {first}: {array[first]})"
        )
    return array


def binary_labels(values, name: str = "labels") -> np.ndarray:
    """``values`` -> float64 ``[B]`` holding only 0 and 1 (raises on anything else)."""
    array = flat_floats(values, name)
    bad = (array != 0) & (array != 1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: expected only 0/1 labels, found {int(bad.sum())} other value(s) "
            f"(first at row {first}: {array[first]})"
        )
    return array


def same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise if the two flat arrays differ in length."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} has {a.shape[0]} rows but {name_b} has {b.shape[0]}")
