"""Fixtures for model tests: a small planted synthetic dataset and tiny hyper-parameters."""

import pytest

from tests.models.helpers import tiny_hparams
from tf_lsrec.data.prepare import make_planted_dataset
from tf_lsrec.models import get_model_class


@pytest.fixture(scope="session")
def planted(tmp_path_factory):
    """DataPaths of a small planted dataset (shared by all model tests of a session)."""
    return make_planted_dataset(str(tmp_path_factory.mktemp("planted")), seed=0)


@pytest.fixture
def make_hparams(planted, tmp_path):
    """``make_hparams(model_type, **overrides)``: tiny hyper-parameters on the planted data."""

    def make(model_type, **overrides):
        return tiny_hparams(model_type, planted, tmp_path, **overrides)

    return make


@pytest.fixture
def assert_learns(make_hparams):
    """``assert_learns(model_type, min_auc=0.75, **overrides)``: train on the planted data and
    check that the mean training data loss falls from the first epoch to the last and that the
    test AUC (9 negatives per positive; chance 0.5) reaches ``min_auc``.
    Returns ``(model, test_metrics)``."""

    def check(model_type, min_auc=0.75, **overrides):
        hp = make_hparams(model_type, **{"MODEL_DIR": None, "save_model": False, **overrides})
        model = get_model_class(model_type)(hp).fit(hp.train_file, hp.valid_file, valid_num_ngs=4)
        rows = model.train_log.rows
        assert rows[-1]["train_data_loss"] < rows[0]["train_data_loss"], rows
        result = model.run_eval(hp.test_file, num_ngs=9)
        assert result["auc"] >= min_auc, result
        return model, result

    return check
