"""Models (sequential, and the graph model LightGCN): the one registry of model types.

``MODELS`` maps each model name to its class (imported lazily, so one broken model never blocks
the others) and the YAML spellings it accepts. A model class declares its own hyper-parameters
(``hparams_spec``) and the keys it cannot run without (``required_keys``); ``tf_lsrec.hparams``
collects both from here.
"""

from __future__ import annotations

import difflib
import importlib
from typing import NamedTuple


class ModelEntry(NamedTuple):
    module: str
    cls: str
    aliases: tuple[str, ...]  # lower-case YAML spellings (Microsoft / CLSR code), name included


MODELS: dict[str, ModelEntry] = {
    "sli_rec": ModelEntry("tf_lsrec.models.sli_rec", "SLIRECModel", ("slirec", "sli_rec")),
    "gru4rec": ModelEntry("tf_lsrec.models.gru4rec", "GRU4RecModel", ("gru", "gru4rec")),
    "clsr": ModelEntry("tf_lsrec.models.clsr", "CLSRModel", ("clsr",)),
    "slsrec": ModelEntry("tf_lsrec.models.slsrec", "SLSRecModel", ("slsrec",)),
    "a2svd": ModelEntry("tf_lsrec.models.a2svd", "A2SVDModel", ("asvd", "a2svd")),
    "din": ModelEntry("tf_lsrec.models.din", "DINModel", ("din",)),
    "dien": ModelEntry("tf_lsrec.models.dien", "DIENModel", ("dien",)),
    "caser": ModelEntry("tf_lsrec.models.caser", "CaserModel", ("caser",)),
    "ncf": ModelEntry("tf_lsrec.models.ncf", "NCFModel", ("ncf",)),
    "nextitnet": ModelEntry(
        "tf_lsrec.models.nextitnet", "NextItNetModel", ("nextitnet", "next_it_net")
    ),
    "sasrec": ModelEntry("tf_lsrec.models.sasrec", "SASRecModel", ("sasrec",)),
    "surge": ModelEntry("tf_lsrec.models.surge", "SURGEModel", ("surge",)),
    "lightgcn": ModelEntry("tf_lsrec.models.lightgcn", "LightGCNModel", ("lightgcn", "light_gcn")),
    "bert4rec": ModelEntry("tf_lsrec.models.bert4rec", "BERT4RecModel", ("bert4rec",)),
    "sum": ModelEntry("tf_lsrec.models.sum", "SUMModel", ("sum",)),
}
MODEL_CLASSES = {name: (e.module, e.cls) for name, e in MODELS.items()}  # name -> (module, class)


def canonical_model_type(model_type: str) -> str:
    """Map Microsoft / CLSR spellings (``GRU4REC``, ``Sli_rec``, ``asvd`` ...) to our model name;
    an unknown name is returned lower-cased."""
    low = str(model_type).lower()
    for name, entry in MODELS.items():
        if low in entry.aliases:
            return name
    return low


def unknown_model_message(model_type: str) -> str:
    """``model_type `x` is not implemented; did you mean ...; available: [...]``."""
    spellings = [a for e in MODELS.values() for a in e.aliases]
    close = difflib.get_close_matches(str(model_type).lower(), spellings, n=1, cutoff=0.6)
    hint = f"; did you mean `{canonical_model_type(close[0])}`?" if close else ""
    return f"model_type `{model_type}` is not implemented{hint} (available: {sorted(MODELS)})"


def get_model_class(model_type: str):
    """The model class for a ``model_type`` (Microsoft / CLSR spellings accepted)."""
    name = canonical_model_type(model_type)
    if name not in MODELS:
        raise ValueError(unknown_model_message(model_type))
    entry = MODELS[name]
    return getattr(importlib.import_module(entry.module), entry.cls)
