"""Linear probes: how much of a label a representation holds in linearly decodable form.

A probe is multinomial logistic (softmax) regression fitted on the representations of one set
of users and scored on held-out users. Features are standardised with the training split's mean
and standard deviation; the L2 strength is picked from a small grid on an inner validation part
of the training split, then the probe is refitted on the whole training split. The fit is
full-batch Nesterov gradient descent with the step ``1 / L`` from the loss's Lipschitz bound, so
it is deterministic and needs no tuning.

    probe = fit_linear_probe(x[train], y[train])
    accuracy = probe.accuracy(x[~train], y[~train])
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


@dataclasses.dataclass(frozen=True)
class LinearProbe:
    """A fitted softmax-regression probe.

    Attributes:
        mean, scale: ``[D]`` standardisation of the features.
        weights: ``[D, K]``; bias ``[K]``; classes ``[K]`` (the label values).
        l2: the L2 strength used.
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    classes: np.ndarray
    l2: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Labels ``[N]`` for features ``[N, D]``."""
        z = (np.asarray(x, np.float64) - self.mean) / self.scale
        return self.classes[np.argmax(z @ self.weights + self.bias, axis=1)]

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))


def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"linear probe: need x [N, D] and y [N]; got {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError(f"linear probe: need at least 2 training rows, got {len(x)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("linear probe: x has non-finite values")
    return x, y


def _fit_softmax(z: np.ndarray, onehot: np.ndarray, l2: float, steps: int):
    """Minimise ``mean CE(softmax(z W + b), onehot) + l2/2 ‖W‖²`` (z standardised ``[N, D]``)."""
    n, d = z.shape
    k = onehot.shape[1]
    # the softmax cross-entropy's Hessian is at most 1/2 * [z 1]^T [z 1] / n (per class block)
    zb = np.concatenate([z, np.ones((n, 1))], axis=1)
    lipschitz = 0.5 * np.linalg.norm(zb, 2) ** 2 / n + l2
    lr = 1.0 / lipschitz
    theta = np.zeros((d + 1, k))
    lookahead = theta.copy()
    t = 1.0
    for _ in range(steps):
        logits = zb @ lookahead
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = zb.T @ (p - onehot) / n
        grad[:-1] += l2 * lookahead[:-1]
        new_theta = lookahead - lr * grad
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        lookahead = new_theta + (t - 1) / t_next * (new_theta - theta)
        theta, t = new_theta, t_next
    return theta[:-1], theta[-1]


def fit_linear_probe(
    x: np.ndarray,
    y: np.ndarray,
    l2: float | None = None,
    steps: int = 500,
    seed: int = 0,
) -> LinearProbe:
    """Fit a softmax-regression probe on ``x [N, D]`` -> ``y [N]`` (any hashable label values).

    ``l2=None`` picks the L2 strength from ``L2_GRID`` by accuracy on a random 25 % of the rows
    (fitted on the other 75 %), then refits on all rows with it.
    """
    x, y = _check(x, y)
    if l2 is None:
        rng = np.random.default_rng(seed)
        inner = rng.random(len(y)) < 0.25
        if inner.all() or not inner.any():
            inner = np.arange(len(y)) % 4 == 0
        scores = [
            fit_linear_probe(x[~inner], y[~inner], l2=c, steps=steps).accuracy(x[inner], y[inner])
            for c in L2_GRID
        ]
        l2 = L2_GRID[int(np.argmax(scores))]
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    classes, codes = np.unique(y, return_inverse=True)
    onehot = np.eye(len(classes))[codes]
    weights, bias = _fit_softmax((x - mean) / scale, onehot, float(l2), steps)
    return LinearProbe(mean, scale, weights, bias, classes, float(l2))


def user_split(users, fraction: float = 0.5, salt: int = 0) -> np.ndarray:
    """``[N]`` bool: True for the rows whose user falls in the probe's training split.

    A user's side depends only on its id (CRC32 of ``salt:user``), so all rows of one user are on
    one side and the split does not depend on row order.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"user_split: fraction must be in (0, 1), got {fraction}")

    def side(u) -> float:
        raw = u.decode() if isinstance(u, bytes) else str(u)
        return zlib.crc32(f"{salt}:{raw}".encode()) / 2**32

    return np.array([side(u) < fraction for u in users], dtype=bool)


def probe_accuracy(x: np.ndarray, y: np.ndarray, train: np.ndarray, **kwargs) -> float:
    """Accuracy on ``~train`` rows of a probe fitted on the ``train`` rows of ``x`` / ``y``."""
    train = np.asarray(train, bool)
    if not train.any() or train.all():
        raise ValueError("probe_accuracy: the split needs rows on both sides")
    return fit_linear_probe(x[train], y[train], **kwargs).accuracy(x[~train], y[~train])
