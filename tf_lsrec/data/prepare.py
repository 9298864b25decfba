"""Turn hyper-parameters into ready data files: ``prepare_data(hparams) -> DataPaths``.

* ``train_file`` / ``valid_file`` / ``test_file`` given: they are used as they are (each must
  exist); missing vocab paths are built from the training file into ``data_dir`` (or the
  training file's directory).
* otherwise ``dataset`` (``"ml-100k"`` or ``"synthetic"``) is prepared into ``data_dir`` or
  ``cache_dir()/prepared/<dataset>-v<valid_num_ngs>-t<test_num_ngs>-s<seed>[-n<size>][-h<max>]``,
  unless that directory already holds a complete preparation with the same settings (the marker
  file ``_COMPLETE``, written last and atomically, records them).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from tf_lsrec.data.paths import DataPaths
from tf_lsrec.data.prepared_set import prepared_directory
from tf_lsrec.data.sequential import write_sequential_files
from tf_lsrec.data.synthetic import SyntheticConfig, generate_interactions
from tf_lsrec.data.vocab import build_vocabs
from tf_lsrec.hparams import default_value
from tf_lsrec.utils.files import atomic_write_text, cache_dir

log = logging.getLogger(__name__)

MARKER_NAME = "_COMPLETE"
DEFAULT_DATA_SEED = default_value("seed")
"""The data seed when the ``seed`` hyper-parameter is ``None`` (unseeded training)."""
DATASETS = ("ml-100k", "synthetic")
DATASET_CHOICES = (*DATASETS, "custom")
"""Values of the ``dataset`` hyper-parameter: a dataset prepared here, or ``custom`` (your files)."""


def _get(hparams: Any, key: str, default: Any = None) -> Any:
    """``hparams[key]`` (an ``HParams`` or a mapping); a missing key is its declared default."""
    if default is None:
        default = default_value(key)
    if isinstance(hparams, Mapping):
        return hparams.get(key, default)
    getter = getattr(hparams, "get", None)
    if callable(getter):
        return getter(key, default)
    return getattr(hparams, key, default)


def _settings(hparams: Any) -> dict[str, Any]:
    seed = _get(hparams, "seed")
    return {
        "dataset": _get(hparams, "dataset"),
        "valid_num_ngs": int(_get(hparams, "valid_num_ngs")),
        "test_num_ngs": int(_get(hparams, "test_num_ngs")),
        "seed": DEFAULT_DATA_SEED if seed is None else int(seed),
        "max_history": _get(hparams, "max_history"),
        "user_default": bool(_get(hparams, "user_default")),
        "synthetic_interactions": int(_get(hparams, "synthetic_interactions")),
    }


def default_data_dir(settings: Mapping[str, Any]) -> str:
    """``cache_dir()/prepared/<dataset>-v<V>-t<T>-s<seed>[-n<size>][-h<max_history>][-udef]``."""
    name = (
        f"{settings['dataset']}-v{settings['valid_num_ngs']}-t{settings['test_num_ngs']}"
        f"-s{settings['seed']}"
    )
    if settings["dataset"] == "synthetic":
        name += f"-n{settings['synthetic_interactions']}"
    if settings.get("max_history") is not None:
        name += f"-h{settings['max_history']}"
    if settings.get("user_default"):
        name += "-udef"
    return os.path.join(str(cache_dir()), "prepared", name)


def is_complete(data_dir: str | os.PathLike, settings: Mapping[str, Any]) -> bool:
    """True when ``data_dir`` has the marker for exactly ``settings`` and all six files."""
    marker = os.path.join(os.fspath(data_dir), MARKER_NAME)
    if not os.path.isfile(marker):
        return False
    try:
        with open(marker, encoding="utf-8") as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        return False
    if recorded != dict(settings):
        return False
    return not DataPaths.in_directory(data_dir).missing()


def _interactions_for(settings: Mapping[str, Any]):
    if settings["dataset"] == "ml-100k":
        from tf_lsrec.data.movielens import load_ml100k_interactions

        return load_ml100k_interactions()
    if settings["dataset"] == "synthetic":
        n = settings["synthetic_interactions"]
        cfg = SyntheticConfig()
        # enough users that the expected size reaches n, then cut to exactly n rows
        n_users = max(1, int(n / cfg.mean_length * 1.2) + 10)
        inter, _ = generate_interactions(n_users, seed=settings["seed"], config=cfg)
        return inter.iloc[:n].reset_index(drop=True)
    raise ValueError(
        f"dataset {settings['dataset']!r} cannot be prepared automatically (expected one of "
        f"{DATASETS}); for 'custom' data set train_file, valid_file and test_file (e.g. made with "
        f"tools/prepare_data.py --input ...)"
    )


def prepare_dataset(
    settings: Mapping[str, Any], data_dir: str | os.PathLike | None = None, progress: bool = False
) -> DataPaths:
    """Prepare ``settings['dataset']`` into ``data_dir`` unless already complete there."""
    settings = dict(settings)
    out = os.fspath(data_dir) if data_dir else default_data_dir(settings)
    paths = DataPaths.in_directory(out)
    if is_complete(out, settings):
        log.info("using prepared data in %s", out)
        return paths
    marker = os.path.join(out, MARKER_NAME)
    if os.path.exists(marker):
        os.remove(marker)  # stale: other settings or missing files; re-prepare
    interactions = _interactions_for(settings)
    with prepared_directory(out) as tmp:  # the whole set appears in one rename
        write_sequential_files(
            interactions,
            tmp,
            valid_num_ngs=settings["valid_num_ngs"],
            test_num_ngs=settings["test_num_ngs"],
            seed=settings["seed"],
            max_history=settings["max_history"],
            user_default=settings["user_default"],
            progress=progress,
        )
        atomic_write_text(
            os.path.join(tmp, MARKER_NAME), json.dumps(settings, indent=2, sort_keys=True) + "\n"
        )
    return paths


def prepare_data(hparams: Any, progress: bool = False) -> DataPaths:
    """Return the data paths for ``hparams``, preparing the dataset when needed.

    ``hparams``: an ``HParams`` (or a mapping) with the ``data`` keys ``train_file``,
    ``valid_file``, ``test_file``, ``user_vocab``, ``item_vocab``, ``cate_vocab``, ``dataset``,
    ``data_dir``, ``valid_num_ngs``, ``test_num_ngs``, ``synthetic_interactions`` and ``seed``
    (``None`` -> 42); optional ``max_history`` and ``user_default``.
    """
    files = {k: _get(hparams, k) for k in ("train_file", "valid_file", "test_file")}
    vocabs = {k: _get(hparams, k) for k in ("user_vocab", "item_vocab", "cate_vocab")}
    if any(v is not None for v in files.values()):
        unset = [k for k, v in files.items() if v is None]
        if unset:
            raise ValueError(
                f"data: {', '.join(unset)} not set while "
                f"{', '.join(k for k in files if k not in unset)} is; give all three data files "
                f"or none (to prepare `dataset`)"
            )
        for key, path in {**files, **{k: v for k, v in vocabs.items() if v}}.items():
            if not os.path.isfile(path):
                raise FileNotFoundError(f"data: `{key}` = {path} does not exist")
        if any(v is None for v in vocabs.values()):
            vdir = _get(hparams, "data_dir") or os.path.dirname(
                os.path.abspath(files["train_file"])
            )
            std = DataPaths.in_directory(vdir)
            targets = {
                "user_vocab": vocabs["user_vocab"] or std.user_vocab,
                "item_vocab": vocabs["item_vocab"] or std.item_vocab,
                "cate_vocab": vocabs["cate_vocab"] or std.cate_vocab,
            }
            built = [k for k, v in vocabs.items() if v is None]
            log.info("building %s from %s into %s", built, files["train_file"], vdir)
            # build all three from the training file, then keep the user's own pickles
            tmp = {k: (targets[k] if k in built else targets[k] + ".unused") for k in targets}
            build_vocabs(
                files["train_file"],
                tmp["user_vocab"],
                tmp["item_vocab"],
                tmp["cate_vocab"],
                user_default=bool(_get(hparams, "user_default")),
            )
            for k in targets:
                if k not in built:
                    os.remove(tmp[k])
            vocabs = targets
        return DataPaths(**files, **vocabs)
    if any(v is not None for v in vocabs.values()):
        log.warning(
            "vocab paths are given without data files; they are replaced by the prepared ones"
        )
    return prepare_dataset(_settings(hparams), _get(hparams, "data_dir"), progress=progress)


def make_planted_dataset(
    out_dir: str | os.PathLike,
    n_users: int = 300,
    seed: int = 0,
    n_items: int = 200,
    n_categories: int = 16,
    mean_length: float = 14.0,
    p_long: float = 0.7,
    p_short: float = 0.25,
    valid_num_ngs: int = 4,
    test_num_ngs: int = 9,
    max_history: int | None = None,
) -> DataPaths:
    """A small planted synthetic dataset for tests (about ``n_users * (mean_length-3)`` train
    lines: ~3,300 by default), written into ``out_dir``.

    Each next item is from the user's long-term category with probability ``p_long`` and from the
    current session's category with probability ``p_short``, so a sequential model separates
    positives from popularity-sampled negatives (AUC well above 0.75) after a few seconds of
    training (a category-frequency heuristic alone reaches ~0.85 on the defaults). The
    ground truth is written to ``out_dir/ground_truth.csv`` (row-aligned with
    ``out_dir/interactions.csv``).
    """
    inter, truth = generate_interactions(
        n_users,
        seed=seed,
        n_items=n_items,
        n_categories=n_categories,
        mean_length=mean_length,
        p_long=p_long,
        p_short=p_short,
        min_length=4,
        max_length=int(mean_length * 4),
    )
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)
    paths = write_sequential_files(
        inter,
        out,
        valid_num_ngs=valid_num_ngs,
        test_num_ngs=test_num_ngs,
        seed=seed,
        max_history=max_history,
    )
    atomic_write_text(os.path.join(out, "interactions.csv"), inter.to_csv(index=False))
    atomic_write_text(os.path.join(out, "ground_truth.csv"), truth.to_csv(index=False))
    return paths
