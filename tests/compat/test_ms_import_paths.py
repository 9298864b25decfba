"""Microsoft's sequential notebooks' import paths resolve (issue 16): each model module is
imported as the notebook does, and the model is created and evaluated as the notebook does
(``SeqModel(hparams, input_creator, seed=RANDOM_SEED)``, ``run_eval(test_file, num_ngs)``)."""

from __future__ import annotations

import importlib

import pytest

from tests.models.helpers import tiny_hparams

NOTEBOOK_IMPORTS = [
    # (module, class, iterator module, iterator class, our model type)
    ("models.sequential.asvd", "A2SVDModel", "io.sequential_iterator", "SequentialIterator",
     "a2svd"),
    ("models.sequential.caser", "CaserModel", "io.sequential_iterator", "SequentialIterator",
     "caser"),
    ("models.sequential.gru", "GRUModel", "io.sequential_iterator", "SequentialIterator",
     "gru4rec"),
    ("models.sequential.sli_rec", "SLI_RECModel", "io.sequential_iterator",
     "SequentialIterator", "sli_rec"),
    ("models.sequential.nextitnet", "NextItNetModel", "io.nextitnet_iterator",
     "NextItNetIterator", "nextitnet"),
    ("models.sequential.sum", "SUMModel", "io.sequential_iterator", "SequentialIterator",
     "sum"),
]  # fmt: skip


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from tf_lsrec.data.prepare import make_planted_dataset

    return make_planted_dataset(str(tmp_path_factory.mktemp("ms_paths")), n_users=200, seed=5)


@pytest.mark.parametrize("module, cls, it_module, it_cls, model_type", NOTEBOOK_IMPORTS)
def test_notebook_imports_create_and_evaluate(planted, module, cls, it_module, it_cls,
                                              model_type):  # fmt: skip
    base = "tf_lsrec.compat.deeprec."
    SeqModel = getattr(importlib.import_module(base + module), cls)
    input_creator = getattr(importlib.import_module(base + it_module), it_cls)
    prepare_hparams = importlib.import_module(base + "deeprec_utils").prepare_hparams
    from tf_lsrec.models import get_model_class

    assert issubclass(SeqModel, get_model_class(model_type))
    hp = tiny_hparams(model_type, planted)
    hparams = prepare_hparams(None, **{k: v for k, v in hp.values().items() if v is not None})
    model = SeqModel(hparams, input_creator, seed=42)
    result = model.run_eval(hparams.test_file, num_ngs=9)
    assert "group_auc" in result and 0.0 <= result["group_auc"] <= 1.0


def test_timer_and_constants_as_in_the_notebooks():
    from tf_lsrec.compat.utils.constants import SEED
    from tf_lsrec.compat.utils.timer import Timer

    assert SEED == 42
    with Timer() as train_time:
        sum(range(1000))
    assert train_time.interval >= 0.0 and str(train_time) == f"{train_time.interval:0.4f}"
    t = Timer()
    t.start()
    with pytest.raises(ValueError, match="running"):
        _ = t.interval
    t.stop()
    assert t.interval >= 0.0
