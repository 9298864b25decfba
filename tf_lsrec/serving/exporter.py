"""``export(model, export_dir)``: a versioned TF Serving SavedModel, written atomically.

Layout (TF Serving's file-system source watches ``<export_dir>/<model_name>/`` and loads the
highest integer version directory)::

    <export_dir>/<model_name>/<version>/
        saved_model.pb  fingerprint.pb  variables/
        assets/{user,item,cate}_vocab.txt  assets/catalogue.txt   read by tf.lookup at load
        assets.extra/tf_serving_warmup_requests   real requests replayed on load
        assets.extra/tf_lsrec_export.json         what was exported (model, catalogue, inputs)

The version directory is first written as a hidden temporary sibling (``.<version>.*.tmp``,
not an integer, so TF Serving ignores it) and renamed into place when complete: a crash leaves
no partial version.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from tf_lsrec.io import format as fmt
from tf_lsrec.serving.catalogue import Catalogue, build_catalogue
from tf_lsrec.serving.signatures import SIGNATURE_INPUTS, ServingModule
from tf_lsrec.serving.warmup import WARMUP_DIR, WarmupRequest, request, write_warmup_file
from tf_lsrec.utils.files import atomic_directory

log = logging.getLogger(__name__)

EXPORT_INFO = "tf_lsrec_export.json"
_VERSION = re.compile(r"^[0-9]+$")


def next_version(model_dir: str | os.PathLike) -> int:
    """1 + the highest integer version directory in ``model_dir`` (1 when there is none)."""
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        return 1
    versions = [
        int(n)
        for n in os.listdir(model_dir)
        if _VERSION.match(n) and os.path.isdir(os.path.join(model_dir, n))
    ]
    return max(versions, default=0) + 1


def _sample_rows(train_file: str | None, n: int) -> list[list[str]]:
    """Up to ``n`` lines of the 8-column training file, split into fields."""
    if not train_file or not os.path.isfile(train_file):
        return []
    rows = []
    with open(train_file, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(fmt.FIELD_SEPARATOR)
            if len(fields) == fmt.N_FIELDS and fields[fmt.ITEM_HISTORY]:
                rows.append(fields)
            if len(rows) == n:
                break
    return rows


def warmup_requests(
    model_name: str, catalogue: Catalogue, max_seq_length: int, train_file: str | None = None
) -> list[WarmupRequest]:
    """Requests for each signature: rows of the training file when readable, else a user
    whose history is the first catalogue items (one day apart)."""
    rows = _sample_rows(train_file, 3)
    users, items, cates, times, histories = [], [], [], [], []
    for r in rows:
        users.append(r[fmt.USER])
        items.append(r[fmt.ITEM])
        cates.append(r[fmt.CATEGORY])
        times.append(float(r[fmt.TIMESTAMP]))
        histories.append(
            (
                fmt.split_history(r[fmt.ITEM_HISTORY]),
                fmt.split_history(r[fmt.CATEGORY_HISTORY]),
                [float(t) for t in fmt.split_history(r[fmt.TIME_HISTORY])],
            )
        )
    if not rows:
        n = min(max_seq_length, len(catalogue))
        users, items, cates = [""], [catalogue.items[-1]], [catalogue.categories[-1]]
        times = [86_400.0 * (n + 1)]
        histories = [
            (
                list(catalogue.items[:n]),
                list(catalogue.categories[:n]),
                [86_400.0 * (j + 1) for j in range(n)],
            )
        ]
    width = max(len(h[0]) for h in histories)

    def pad(values, fill):
        return values + [fill] * (width - len(values))

    predict = {
        "user": np.array(users, object),
        "item": np.array(items, object),
        "category": np.array(cates, object),
        "time": np.array(times, np.float64),
        "item_history": np.array([pad(h[0], "") for h in histories], object),
        "category_history": np.array([pad(h[1], "") for h in histories], object),
        "time_history": np.array([pad(h[2], 0.0) for h in histories], np.float64),
        "history_length": np.array([len(h[0]) for h in histories], np.int32),
    }
    one = {
        "user": np.array(users[0], object),
        "time": np.array(times[0], np.float64),
        "item_history": np.array(histories[0][0], object),
        "category_history": np.array(histories[0][1], object),
        "time_history": np.array(histories[0][2], np.float64),
    }
    c = min(100, len(catalogue))
    candidates = {
        **one,
        "candidate_items": np.array(catalogue.items[:c], object),
        "candidate_categories": np.array(catalogue.categories[:c], object),
    }
    return [
        request(model_name, "serving_default", predict),
        request(model_name, "score_candidates", candidates),
        request(model_name, "recommend", {**one, "exclude_history": np.array(True)}),
        request(model_name, "recommend", {**one, "exclude_history": np.array(False)}),
        request(model_name, "rank_candidates", candidates),
        request(model_name, "retrieve_and_rank", {**one, "exclude_history": np.array(True)}),
    ]


def _describe_inputs() -> dict[str, dict[str, dict[str, object]]]:
    return {
        sig: {
            name: {"dtype": spec.dtype.name, "shape": spec.shape.as_list()}
            for name, spec in specs.items()
        }
        for sig, specs in SIGNATURE_INPUTS.items()
    }


def export(
    model,
    export_dir: str | os.PathLike,
    version: int | None = None,
    *,
    k: int = 10,
    item_categories: Mapping[str, str] | None = None,
    chunk_size: int = 4096,
    warmup: bool = True,
    jit_compile: bool | None = None,
    data_paths=None,
    retrieval_size: int = 200,
) -> str:
    """Export a ``SequentialModel`` for TF Serving; returns the version directory.

    Args:
        model: any ``SequentialModel`` (its ``data.lookup`` vocab tables are embedded).
        export_dir: base directory; the model goes to ``<export_dir>/<model_type>/<version>/``.
        version: integer version; default the next one after the existing versions. An existing
            version is never overwritten (``FileExistsError``).
        k: number of items returned by the ``recommend`` signature.
        item_categories: raw item id -> raw category id for the ``recommend`` catalogue;
            default read from ``hparams.train_file`` (see ``tf_lsrec.serving.catalogue``).
        chunk_size: catalogue rows per model call inside ``recommend``.
        warmup: write ``assets.extra/tf_serving_warmup_requests``.
        retrieval_size: candidates retrieved by the ``retrieve_and_rank`` signature before the
            model ranks them (``tf_lsrec.serving.retrieval``; at most the catalogue size).
        jit_compile: XLA-compile the model part of each signature (faster on CPU; the server
            must support XLA, as ``tensorflow_model_server`` does, with
            ``--xla_cpu_compilation_enabled=true``). ``None`` (default): the model class's
            ``serving_jit_compile``, true where XLA was measured faster and equal
            (docs/serving.md, Latency).
        data_paths: the ``DataPaths`` the model was trained on (``tools/run.py``); default the
            ``item_vocab`` / ``train_file`` hyper-parameters.

    Signatures (inputs in docs/serving.md): ``serving_default`` (rows -> ``probability``),
    ``score_candidates`` (one user x candidates -> ``scores``), ``rank_candidates`` (the same ->
    the best ``item_ids`` and ``scores``), ``recommend`` (one user -> top-``k`` ``item_ids`` and
    ``scores`` of the whole catalogue), ``retrieve_and_rank`` (the same over ``retrieval_size``
    retrieved candidates).
    """
    hp = model.hparams
    model._ensure_built()
    if jit_compile is None:
        jit_compile = bool(type(model).serving_jit_compile)
    name = hp.model_type
    model_dir = os.path.join(os.fspath(export_dir), name)
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"export version = {version!r}; expected a non-negative integer")
    catalogue = build_catalogue(hp, item_categories, data_paths)
    if catalogue.missing_category:
        log.warning(
            "%d of %d catalogue items have no category in %s; they are scored with the "
            "unknown category (index 0)",
            catalogue.missing_category,
            len(catalogue),
            catalogue.source,
        )
    final = os.path.join(model_dir, str(version))
    with (
        tempfile.TemporaryDirectory(prefix="tf_lsrec_assets_") as assets,
        atomic_directory(final) as tmp,
    ):
        module = ServingModule(
            model,
            catalogue,
            k=k,
            chunk_size=chunk_size,
            jit_compile=jit_compile,
            asset_dir=assets,
            retrieval_size=retrieval_size,
        )
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        if warmup:
            write_warmup_file(
                tmp, warmup_requests(name, catalogue, module.max_seq_length, hp.get("train_file"))
            )
        info = {
            "model_type": name,
            "version": version,
            "signatures": _describe_inputs(),
            "recommend_k": k,
            "retrieval_size": module.retrieval.size,
            "jit_compile": jit_compile,
            "catalogue_size": len(catalogue),
            "catalogue_missing_category": catalogue.missing_category,
            "catalogue_source": catalogue.source,
            "max_seq_length": module.max_seq_length,
            "time_divisor": module.divisor,
            "tensorflow": tf.__version__,
            "hparams": hp.values(),
        }
        os.makedirs(os.path.join(tmp, WARMUP_DIR), exist_ok=True)
        with open(os.path.join(tmp, WARMUP_DIR, EXPORT_INFO), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=1, default=str)
    log.info("exported %s version %d to %s", name, version, final)
    return final
