"""checkpoint_steps: a run killed mid-epoch resumes at its input position (issue 21)."""

import numpy as np
import pytest

import tf_lsrec.models.trainer as trainer_module
from tf_lsrec.models import get_model_class


class Killed(BaseException):
    """Stands in for kill -9: nothing after it runs (no except / finally of the library)."""


def _weights(model):
    return [v.numpy() for v in model.variables]


def _fit(hp):
    return get_model_class("gru4rec")(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)


def _uninterrupted_and_killed(hp_a, tmp_path, monkeypatch):
    """Fit ``hp_a`` to the end in ``tmp_path/a``; fit the same run in ``tmp_path/b`` killed at
    epoch 2 step 12 (after the step-10 checkpoint with ``checkpoint_steps: 5``). Returns the
    finished model and the killed run's hparams."""
    a = _fit(hp_a)
    hp_b = hp_a.replace(MODEL_DIR=str(tmp_path / "b"), run_dir=str(tmp_path / "b"))
    real_epoch = trainer_module.Trainer._train_epoch

    def kill_at_epoch_2_step_12(self, train_step, train_file, epoch, *args, **kwargs):
        done = 0

        def step(batch):
            nonlocal done
            done += 1
            if epoch == 2 and done == 12:
                raise Killed
            return train_step(batch)

        return real_epoch(self, step, train_file, epoch, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "_train_epoch", kill_at_epoch_2_step_12)
    with pytest.raises(Killed):
        _fit(hp_b)
    monkeypatch.setattr(trainer_module.Trainer, "_train_epoch", real_epoch)
    return a, hp_b


def test_resume_mid_epoch_gives_the_uninterrupted_weights(make_hparams, tmp_path, monkeypatch):
    common = dict(epochs=2, checkpoint_steps=5, batch_size=128, save_model=False)
    hp_a = make_hparams("gru4rec", MODEL_DIR=str(tmp_path / "a"), run_dir=str(tmp_path / "a"),
                        **common)  # fmt: skip
    a, hp_b = _uninterrupted_and_killed(hp_a, tmp_path, monkeypatch)
    b = _fit(hp_b)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    # the log is whole: both epochs, the resumed epoch's mean loss over all its steps
    assert [r["epoch"] for r in b.train_log.rows] == [1, 2]
    for ra, rb in zip(a.train_log.rows, b.train_log.rows):
        assert rb["train_total_loss"] == pytest.approx(ra["train_total_loss"], rel=1e-5)
    assert [e for e, _ in b.eval_history] == [1, 2]


@pytest.mark.parametrize(
    "checkpoint_steps, skipped",
    [(0, None), (5, "resuming epoch at step 10 (checkpoint_steps): 10 batches skipped")],
    ids=["epoch-boundary", "mid-epoch"],
)
def test_a_deterministic_run_killed_and_resumed_is_bit_identical(
    make_hparams, tmp_path, monkeypatch, caplog, checkpoint_steps, skipped
):
    """With ``deterministic: true`` a killed run resumed from its epoch checkpoint (``last``) or
    its step checkpoint ends with exactly the weights and log of the uninterrupted run, so a long
    campaign can resume a run killed by a session stop instead of restarting it."""
    common = dict(epochs=2, checkpoint_steps=checkpoint_steps, batch_size=128, save_model=False,
                  deterministic=True)  # fmt: skip
    hp_a = make_hparams("gru4rec", MODEL_DIR=str(tmp_path / "a"), run_dir=str(tmp_path / "a"),
                        **common)  # fmt: skip
    a, hp_b = _uninterrupted_and_killed(hp_a, tmp_path, monkeypatch)
    caplog.clear()
    with pytest.warns(UserWarning, match=r"RESUMING from .*last/ckpt-\d+ \(epoch 1\)"):
        b = _fit(hp_b)
    assert (skipped in caplog.text) if skipped else ("batches skipped" not in caplog.text)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(wa, wb)
    keys = ("train_data_loss", "valid_group_auc", "valid_auc", "valid_logloss")
    assert [[r[k] for k in keys] for r in b.train_log.rows] == [
        [r[k] for k in keys] for r in a.train_log.rows
    ]
