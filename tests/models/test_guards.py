"""fit stops on a non-finite loss, naming the step, the loss part and the batch's lines."""

import math

import pytest
import tensorflow as tf

from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.models import get_model_class
from tf_lsrec.models.guards import NonFiniteLossError, batch_lines, check_finite_loss


def test_finite_parts_pass_through():
    values = check_finite_loss({"total_loss": tf.constant(1.5), "data_loss": 1.0}, 1, 1)
    assert values == {"total_loss": 1.5, "data_loss": 1.0}


def test_message_names_epoch_step_and_part():
    parts = {"data_loss": math.nan, "regular_loss": 0.25, "total_loss": math.nan}
    with pytest.raises(NonFiniteLossError) as e:
        check_finite_loss(parts, 2, 17)
    msg = str(e.value)
    assert "epoch 2, step 17: data_loss = nan" in msg and "regular_loss = 0.25" in msg
    assert e.value.epoch == 2 and e.value.step == 17 and e.value.lines == []


def test_batch_lines_finds_the_instances(make_hparams):
    hp = make_hparams("gru4rec", batch_size=8)
    data = SequentialData(hp)
    batch = next(iter(data.train_dataset(hp.train_file, shuffle=False)))
    assert batch_lines(batch, data.lookup, hp.train_file)[:8] == list(range(1, 9))
    parts = {"total_loss": math.inf, "data_loss": math.inf}
    with pytest.raises(NonFiniteLossError, match=r"step 3: data_loss = inf.* lines 1, 2, 3"):
        check_finite_loss(parts, 1, 3, batch, data, hp.train_file)


def test_fit_with_a_huge_learning_rate_stops(make_hparams):
    hp = make_hparams("gru4rec", learning_rate=1e30, epochs=1, batch_size=64)
    model = get_model_class("gru4rec")(hp)
    with pytest.raises(NonFiniteLossError) as e:
        model.fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    assert "epoch 1" in str(e.value) and str(hp.train_file) in str(e.value)
    assert "learning_rate (1e+30)" in str(e.value)
    assert e.value.lines and len(e.value.lines) >= 64
    assert not (model.train_log and model.train_log.rows)  # no epoch was logged as finished
