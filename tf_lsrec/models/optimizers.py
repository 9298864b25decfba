"""Optimisers with the reference semantics (docs/reference.md §3.9).

TF1 defaults are kept where Keras differs (Adam epsilon 1e-8). Gradient clipping, when
``is_clip_norm`` is set, clips **each variable's gradient separately** to ``max_grad_norm``, which is
exactly Keras' ``clipnorm``. Microsoft silently falls back to plain gradient descent for unknown
names; here the hyper-parameter validation rejects unknown names instead, and ``lazyadam``
(a sparse row-wise Adam from ``tf.contrib`` in the CLSR code) maps to Adam with a logged note.
"""

from __future__ import annotations

import logging

import tf_keras as keras

log = logging.getLogger(__name__)

OPTIMIZERS = (
    "adam",
    "adadelta",
    "adagrad",
    "sgd",
    "gd",
    "ftrl",
    "padagrad",
    "pgd",
    "rmsprop",
    "lazyadam",
)
"""Names accepted by :func:`make_optimizer` (the ``optimizer`` hyper-parameter)."""


def make_optimizer(hparams) -> keras.optimizers.Optimizer:
    """Build the optimiser named by ``hparams.optimizer`` with ``learning_rate`` and clipping."""
    lr = hparams.learning_rate
    kwargs = {}
    if hparams.is_clip_norm:
        kwargs["clipnorm"] = hparams.max_grad_norm
    name = hparams.optimizer
    opt = keras.optimizers
    if name in ("adam", "lazyadam"):
        if name == "lazyadam":
            log.info("optimizer lazyadam: using dense Adam (tf.contrib LazyAdam no longer exists)")
        return opt.Adam(learning_rate=lr, epsilon=1e-8, **kwargs)
    if name == "adadelta":
        return opt.Adadelta(learning_rate=lr, rho=0.95, epsilon=1e-8, **kwargs)
    if name in ("adagrad", "padagrad"):
        return opt.Adagrad(learning_rate=lr, initial_accumulator_value=0.1, epsilon=1e-8, **kwargs)
    if name in ("sgd", "gd", "pgd"):
        return opt.SGD(learning_rate=lr, **kwargs)
    if name == "ftrl":
        return opt.Ftrl(learning_rate=lr, **kwargs)
    if name == "rmsprop":
        return opt.RMSprop(learning_rate=lr, rho=0.9, momentum=0.0, epsilon=1e-10, **kwargs)
    raise ValueError(f"optimizer `{name}` is not supported")
