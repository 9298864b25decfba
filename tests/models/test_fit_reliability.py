"""fit: loud and optional resume, metric direction, fallback counts (issue 21)."""

import os
import warnings

import pytest

from tf_lsrec.models import get_model_class
from tf_lsrec.models.guards import lower_is_better, metric_improved


def test_metric_direction():
    assert lower_is_better("logloss") and lower_is_better("rmse") and not lower_is_better("auc")
    assert not lower_is_better("ndcg@2") and not lower_is_better("group_auc")
    assert metric_improved("logloss", 0.9, 0.0, 0)  # first epoch always
    assert metric_improved("logloss", 0.5, 0.6, 1) and not metric_improved("logloss", 0.7, 0.6, 1)
    assert metric_improved("auc", 0.7, 0.6, 1) and not metric_improved("auc", 0.5, 0.6, 1)
    assert not metric_improved("auc", float("nan"), 0.6, 1)


def test_second_fit_in_the_same_model_dir_is_announced_and_resume_false_retrains(
    make_hparams, capsys
):
    hp = make_hparams("gru4rec", epochs=1, eval_metric="logloss")
    model = get_model_class("gru4rec")(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    assert model.best_epoch == 1
    assert "epoch 1 counts: negative_fallbacks 0" in capsys.readouterr().out
    # Microsoft's quick start run twice: the second fit trains nothing, and says so loudly
    with pytest.warns(UserWarning, match=r"RESUMING .*all 1 epochs are already done"):
        again = get_model_class("gru4rec")(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
    out = capsys.readouterr().out
    assert "nothing will be trained" in out and "resume=False" in out
    assert [e for e, _ in again.eval_history] == [1]
    # resume=False trains from scratch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh = get_model_class("gru4rec")(hp).fit(
            hp.train_file, hp.valid_file, valid_num_ngs=4, resume=False
        )
    assert "eval valid at epoch 1" in capsys.readouterr().out
    assert [e for e, _ in fresh.eval_history] == [1]
    with open(os.path.join(hp.run_dir, "training_log.csv")) as f:
        assert f.read().count("\n") == 2
