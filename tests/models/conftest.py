"""Fixtures for model tests: a small planted synthetic dataset and tiny hyper-parameters."""

import pytest

from tf_lsrec.data.prepare import make_planted_dataset
from tf_lsrec.hparams import prepare_hparams


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


def tiny_hparams(model_type, paths, tmp_path=None, **overrides):
    """Small, fast hyper-parameters for learning tests on the planted data."""
    values = dict(
        model_type=model_type,
        item_embedding_dim=16,
        cate_embedding_dim=8,
        user_embedding_dim=24,
        hidden_size=24,
        attention_size=24,
        att_fcn_layer_sizes=[16, 8],
        layer_sizes=[32, 16],
        activation=["relu", "relu"],
        max_seq_length=20,
        batch_size=128,
        epochs=3,
        learning_rate=0.005,
        enable_BN=True,
        show_step=10_000,
        EARLY_STOP=0,
        save_model=False,
        seed=7,
        valid_num_ngs=4,
        test_num_ngs=9,
        pairwise_metrics=["mean_mrr", "ndcg@2;4", "hit@2", "group_auc"],
        weighted_metrics=["wauc"],
    )
    values.update(paths.as_hparams())
    if tmp_path is not None:
        values["MODEL_DIR"] = str(tmp_path / "model")
        values["run_dir"] = str(tmp_path)
        values["save_model"] = True
    values.update(overrides)
    return prepare_hparams(None, **values)
