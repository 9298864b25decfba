"""Sequential models; ``get_model_class(model_type)`` maps a YAML ``model_type`` to its class."""

from __future__ import annotations

import importlib

from tf_lsrec.hparams import canonical_model_type

# model name -> (module, class); imported lazily so one broken model never blocks the others
MODEL_CLASSES = {
    "sli_rec": ("tf_lsrec.models.sli_rec", "SLIRECModel"),
    "gru4rec": ("tf_lsrec.models.gru4rec", "GRU4RecModel"),
    "clsr": ("tf_lsrec.models.clsr", "CLSRModel"),
    "slsrec": ("tf_lsrec.models.slsrec", "SLSRecModel"),
    "a2svd": ("tf_lsrec.models.a2svd", "A2SVDModel"),
    "din": ("tf_lsrec.models.din", "DINModel"),
    "dien": ("tf_lsrec.models.dien", "DIENModel"),
    "caser": ("tf_lsrec.models.caser", "CaserModel"),
    "ncf": ("tf_lsrec.models.ncf", "NCFModel"),
    "nextitnet": ("tf_lsrec.models.nextitnet", "NextItNetModel"),
    "sasrec": ("tf_lsrec.models.sasrec", "SASRecModel"),
}


def get_model_class(model_type: str):
    """The model class for a ``model_type`` (Microsoft / CLSR spellings accepted)."""
    name = canonical_model_type(model_type)
    if name not in MODEL_CLASSES:
        raise ValueError(
            f"model_type `{model_type}` is not implemented; available: {sorted(MODEL_CLASSES)}"
        )
    module, cls = MODEL_CLASSES[name]
    return getattr(importlib.import_module(module), cls)
