"""The pointwise data losses and ``make_optimizer`` against hand-computed values
(the group softmax loss is tested in test_base.py)."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tf_lsrec.hparams import prepare_hparams
from tf_lsrec.models.losses import (
    LOSSES,
    GroupSoftmaxLoss,
    SigmoidCrossEntropy,
    SquareLoss,
    TF1LogLoss,
    make_data_loss,
)
from tf_lsrec.models.optimizers import OPTIMIZERS, make_optimizer

LABELS = [1.0, 0.0, 1.0, 0.0]
LOGITS = [2.0, -1.0, 0.0, 20.0]  # the last: a confident mistake, where the epsilon matters


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _loss(loss):
    y = tf.constant(LABELS)[:, None]
    return float(loss(y, tf.constant(LOGITS)[:, None]))


def test_sigmoid_cross_entropy_by_hand():
    terms = [
        -math.log(_sigmoid(2.0)),
        -math.log(1 - _sigmoid(-1.0)),
        math.log(2.0),
        20.0 + math.log(1 + math.exp(-20.0)),
    ]  # -log(1 - sigmoid(20)) = 20 + log(1+e^-20)
    assert _loss(SigmoidCrossEntropy()) == pytest.approx(sum(terms) / 4, rel=1e-6)


def test_tf1_log_loss_by_hand_with_its_epsilon():
    # in float32, as the reference computes it: sigmoid(20) rounds to 1, so the confident
    # mistake costs exactly -log(1e-7) = 16.118 (20.0 in the cross-entropy)
    eps = np.float32(1e-7)
    p = [np.float32(_sigmoid(x)) for x in LOGITS]
    assert p[3] == 1.0
    terms = [-math.log(p[0] + eps), -math.log(1 - p[1] + eps), -math.log(p[2] + eps),
             -math.log(1 - p[3] + eps)]  # fmt: skip
    expected = sum(terms) / 4
    assert _loss(TF1LogLoss()) == pytest.approx(expected, rel=1e-5)
    assert terms[3] == pytest.approx(-math.log(1e-7), rel=1e-6)
    assert _loss(SigmoidCrossEntropy()) - expected == pytest.approx((20.0 - terms[3]) / 4, rel=1e-3)


def test_square_loss_is_the_batch_rmse_of_probabilities():
    p = np.array([_sigmoid(x) for x in LOGITS])
    expected = math.sqrt(np.mean((p - np.array(LABELS)) ** 2))
    assert _loss(SquareLoss()) == pytest.approx(expected, rel=1e-6)


def test_make_data_loss_names_and_config_round_trip():
    kinds = {"softmax": GroupSoftmaxLoss, "cross_entropy_loss": SigmoidCrossEntropy,
             "log_loss": TF1LogLoss, "square_loss": SquareLoss}  # fmt: skip
    assert set(kinds) == set(LOSSES)
    for name, cls in kinds.items():
        loss = make_data_loss(name, 2)
        assert type(loss) is cls
        clone = cls.from_config(loss.get_config())
        assert _loss(clone) == pytest.approx(_loss(loss), rel=1e-7)
    assert make_data_loss("softmax", 2).group_size == 2
    with pytest.raises(ValueError, match="loss `hinge` is not supported"):
        make_data_loss("hinge", 2)


# ----------------------------------------------------------------------------- optimisers
def _hp(**kw):
    return prepare_hparams(None, model_type="gru4rec", **kw)


def _one_step(opt, grad, start=(1.0, -2.0)):
    w = tf.Variable(start)
    opt.apply_gradients([(tf.constant(grad), w)])
    return w.numpy()


def test_make_optimizer_first_steps_by_hand():
    g = np.array([0.3, -0.4], np.float32)
    w0 = np.array([1.0, -2.0])
    lr = 0.1
    # SGD: w - lr g
    np.testing.assert_allclose(_one_step(make_optimizer(_hp(optimizer="sgd", learning_rate=lr)), g),
                               w0 - lr * g, rtol=1e-6)  # fmt: skip
    # Adam, first step with bias correction: w - lr g / (|g| + 1e-8) = w - lr sign(g)
    adam = make_optimizer(_hp(optimizer="adam", learning_rate=lr))
    assert adam.epsilon == 1e-8
    np.testing.assert_allclose(_one_step(adam, g), w0 - lr * np.sign(g), rtol=1e-5)
    # Adagrad from TF1's initial accumulator 0.1: w - lr g / sqrt(0.1 + g^2)
    np.testing.assert_allclose(
        _one_step(make_optimizer(_hp(optimizer="adagrad", learning_rate=lr)), g),
        w0 - lr * g / np.sqrt(0.1 + g**2), rtol=1e-5,
    )  # fmt: skip
    # RMSprop (rho 0.9, from 0): v = 0.1 g^2 -> w - lr g / sqrt(0.1 g^2) = w - lr sign(g)/sqrt(0.1)
    np.testing.assert_allclose(
        _one_step(make_optimizer(_hp(optimizer="rmsprop", learning_rate=lr)), g),
        w0 - lr * np.sign(g) / np.sqrt(0.1), rtol=1e-4,
    )  # fmt: skip


def test_clip_norm_clips_each_gradient_to_max_grad_norm():
    g = np.array([3.0, 4.0], np.float32)  # norm 5
    opt = make_optimizer(_hp(optimizer="sgd", learning_rate=1.0, is_clip_norm=1,
                             max_grad_norm=1.0))  # fmt: skip
    np.testing.assert_allclose(_one_step(opt, g), np.array([1.0, -2.0]) - [0.6, 0.8], rtol=1e-6)
    unclipped = make_optimizer(_hp(optimizer="sgd", learning_rate=1.0, max_grad_norm=1.0))
    np.testing.assert_allclose(_one_step(unclipped, g), np.array([1.0, -2.0]) - g, rtol=1e-6)


def test_every_name_builds_its_optimizer_with_the_learning_rate():
    classes = {"adam": keras.optimizers.Adam, "lazyadam": keras.optimizers.Adam,
               "adadelta": keras.optimizers.Adadelta, "adagrad": keras.optimizers.Adagrad,
               "padagrad": keras.optimizers.Adagrad, "sgd": keras.optimizers.SGD,
               "gd": keras.optimizers.SGD, "pgd": keras.optimizers.SGD,
               "ftrl": keras.optimizers.Ftrl, "rmsprop": keras.optimizers.RMSprop}  # fmt: skip
    assert set(classes) == set(OPTIMIZERS)
    for name, cls in classes.items():
        opt = make_optimizer(_hp(optimizer=name, learning_rate=0.025))
        assert isinstance(opt, cls), name
        assert float(opt.learning_rate) == pytest.approx(0.025), name
