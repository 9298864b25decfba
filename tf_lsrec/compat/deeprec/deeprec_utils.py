"""``recommenders.models.deeprec.deeprec_utils`` equivalents."""

from tf_lsrec.evaluation.metrics import cal_metric  # noqa: F401
from tf_lsrec.hparams import HParams, check_required_keys
from tf_lsrec.hparams import prepare_hparams as _prepare


def prepare_hparams(yaml_file=None, **kwargs) -> HParams:
    """Microsoft's ``prepare_hparams(yaml_file, **kwargs)``: file values overridden by kwargs,
    and the keys the model type requires checked (``check_nn_config``)."""
    hparams = _prepare(yaml_file, **kwargs)
    check_required_keys(hparams)
    return hparams
