"""Data losses of the deeprec framework (docs/reference.md §3.5) as Keras losses.

All losses take ``y_true`` labels ``[B, 1]`` and ``y_pred`` **logits** ``[B, 1]`` and return the
scalar batch loss. They reduce themselves (Keras reduction ``NONE``): Keras refuses its own
``AUTO`` / ``SUM_OVER_BATCH_SIZE`` reductions inside a ``tf.distribute`` replica, and the batch
mean is what the reference optimises (under a strategy, each replica's mean is scaled by
``1 / R`` in the training step).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


class _SelfReducingLoss(keras.losses.Loss):
    """A Keras loss whose ``call`` returns the reduced scalar (Keras reduction fixed to
    ``NONE``, and left out of the config because it cannot be changed)."""

    def __init__(self, name: str, **kwargs):
        super().__init__(name=name, reduction=keras.losses.Reduction.NONE, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("reduction", None)
        return config


class GroupSoftmaxLoss(_SelfReducingLoss):
    """Sampled-softmax loss over consecutive groups of ``group_size`` rows.

    Rows come in blocks of one positive and ``group_size - 1`` negatives (the training layout of
    the in-batch sampler). Per group the loss is ``-log softmax(logits)[positive]``; the result is
    the mean over groups, which equals Microsoft's ``-G * mean(log(value))`` formulation.

    Shapes: ``y_true`` ``[B, 1]``, ``y_pred`` ``[B, 1]`` with ``B % group_size == 0`` -> scalar.
    """

    def __init__(self, group_size: int, name: str = "group_softmax", **kwargs):
        super().__init__(name=name, **kwargs)
        self.group_size = int(group_size)

    def call(self, y_true, y_pred):
        logits = tf.reshape(tf.cast(y_pred, tf.float32), [-1, self.group_size])
        labels = tf.reshape(tf.cast(y_true, tf.float32), [-1, self.group_size])
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        return tf.reduce_mean(-tf.reduce_sum(labels * log_probs, axis=-1))

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


class SigmoidCrossEntropy(_SelfReducingLoss):
    """Mean sigmoid cross-entropy on logits (Microsoft's ``cross_entropy_loss``)."""

    def __init__(self, name: str = "cross_entropy_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.cast(y_true, tf.float32), logits=tf.cast(y_pred, tf.float32)
            )
        )


class TF1LogLoss(_SelfReducingLoss):
    """Mean TF1 ``log_loss`` on probabilities with epsilon 1e-7 (Microsoft's ``log_loss``)."""

    def __init__(self, epsilon: float = 1e-7, name: str = "log_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.epsilon = epsilon

    def call(self, y_true, y_pred):
        y = tf.cast(y_true, tf.float32)
        p = tf.sigmoid(tf.cast(y_pred, tf.float32))
        eps = self.epsilon
        return tf.reduce_mean(-y * tf.math.log(p + eps) - (1 - y) * tf.math.log(1 - p + eps))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class SquareLoss(_SelfReducingLoss):
    """Squared error on probabilities; ``square_loss`` in Microsoft is the RMSE of the batch."""

    def __init__(self, name: str = "square_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        p = tf.sigmoid(tf.cast(y_pred, tf.float32))
        return tf.sqrt(tf.reduce_mean(tf.square(p - tf.cast(y_true, tf.float32))))


LOSSES = ("softmax", "cross_entropy_loss", "log_loss", "square_loss")
"""Names accepted by :func:`make_data_loss` (the ``loss`` hyper-parameter)."""


def make_data_loss(name: str, group_size: int) -> keras.losses.Loss:
    """The data loss named by the ``loss`` hyper-parameter."""
    if name == "softmax":
        return GroupSoftmaxLoss(group_size)
    if name == "cross_entropy_loss":
        return SigmoidCrossEntropy()
    if name == "log_loss":
        return TF1LogLoss()
    if name == "square_loss":
        return SquareLoss()
    raise ValueError(f"loss `{name}` is not supported; expected one of {list(LOSSES)}")


def weighted_group_loss(
    name: str, labels: tf.Tensor, logits: tf.Tensor, weights: tf.Tensor
) -> tf.Tensor:
    """The data loss ``name`` over groups with per-group weights (0 drops a group).

    ``labels``, ``logits`` ``[G, g]`` (one positive per group for ``softmax``), ``weights``
    ``[G]`` -> scalar: the weighted mean over groups of ``-log softmax[positive]`` for
    ``softmax``, the weighted mean over rows for the pointwise losses (``square_loss``: the
    root of the weighted mean square). With all weights 1 each equals :func:`make_data_loss`
    on the flattened rows.
    """
    labels = tf.cast(labels, tf.float32)
    logits = tf.cast(logits, tf.float32)
    weights = tf.cast(weights, tf.float32)
    if name == "softmax":
        per_group = -tf.reduce_sum(labels * tf.nn.log_softmax(logits, axis=-1), axis=-1)
        return tf.math.divide_no_nan(tf.reduce_sum(weights * per_group), tf.reduce_sum(weights))
    rows = tf.broadcast_to(weights[:, None], tf.shape(labels))
    if name == "cross_entropy_loss":
        per_row = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    elif name == "log_loss":
        p, eps = tf.sigmoid(logits), 1e-7
        per_row = -labels * tf.math.log(p + eps) - (1 - labels) * tf.math.log(1 - p + eps)
    elif name == "square_loss":
        per_row = tf.square(tf.sigmoid(logits) - labels)
    else:
        raise ValueError(f"loss `{name}` is not supported; expected one of {list(LOSSES)}")
    mean = tf.math.divide_no_nan(tf.reduce_sum(rows * per_row), tf.reduce_sum(rows))
    return tf.sqrt(mean) if name == "square_loss" else mean
