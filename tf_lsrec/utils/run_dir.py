"""Reusing a run directory safely (issue 21).

``tools/run.py`` writes ``hparams.yaml`` into the run directory and ``fit`` resumes from
``MODEL_DIR/last``. Rerunning in the same directory with different hyper-parameters used to
overwrite ``hparams.yaml`` and then fail on the checkpoint's shapes, losing the record of the
first run. :func:`check_rerun` refuses such a rerun before anything is written.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

# keys that may change between a run and its resumption (more epochs, other logging or
# evaluation settings); any other difference makes the checkpoint a different model or data
RESUME_SAFE_KEYS = frozenset({
    "epochs", "EARLY_STOP", "show_step", "save_model", "save_epoch", "write_tfevents",
    "tfevents_steps", "SUMMARIES_DIR", "MODEL_DIR", "run_dir", "eval_batch_size", "metrics", "pairwise_metrics",
    "weighted_metrics", "eval_metric", "load_saved_model", "checkpoint_steps",
})  # fmt: skip


def _flat(doc: Any) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for body in (doc or {}).values():
        if isinstance(body, dict):
            flat.update(body)
    return flat


def has_checkpoint(model_dir: str | None) -> bool:
    """Whether ``model_dir/last`` holds a ``fit`` checkpoint to resume from."""
    return bool(model_dir) and os.path.isfile(os.path.join(model_dir, "last", "checkpoint"))


def check_rerun(run_dir: str, hparams) -> None:
    """Raise ``ValueError`` when ``run_dir`` holds a checkpointed run whose ``hparams.yaml``
    differs from ``hparams`` in a key outside :data:`RESUME_SAFE_KEYS`. Nothing is written."""
    path = os.path.join(run_dir, "hparams.yaml")
    if not os.path.isfile(path) or not has_checkpoint(hparams.get("MODEL_DIR")):
        return
    with open(path, encoding="utf-8") as f:
        old = _flat(yaml.safe_load(f))
    new = hparams.values()
    changed = sorted(
        k for k in set(old) | set(new)
        if k not in RESUME_SAFE_KEYS and old.get(k) != new.get(k)
    )  # fmt: skip
    if changed:
        diff = "; ".join(f"`{k}`: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:8])
        more = f" (+{len(changed) - 8} more)" if len(changed) > 8 else ""
        raise ValueError(
            f"run dir {run_dir} holds a run with a checkpoint ({hparams.get('MODEL_DIR')}/last) "
            f"and different hyper-parameters: {diff}{more}. Nothing was written. To start "
            f"fresh use another --run-dir (or delete {run_dir}); to resume, rerun with the "
            "hyper-parameters of its hparams.yaml"
        )
