"""Fixtures for serving tests: every model exported once, then queried in a fresh process.

The expected values come from the *training* evaluation pipeline (``model.trainer.collect`` over
8-column lines written for exactly the rows / candidates / catalogue requested), so a serving
score equal to it proves that features and inference mode match training.
"""

from __future__ import annotations

import collections
import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

import tf_lsrec  # noqa: F401  (legacy Keras before TensorFlow)
from tests.models.helpers import tiny_hparams
from tf_lsrec.data.prepare import make_planted_dataset
from tf_lsrec.data.vocab import DEFAULT_CATE, DEFAULT_ITEM
from tf_lsrec.io.lookup import load_vocab
from tf_lsrec.models import MODEL_CLASSES, get_model_class
from tf_lsrec.serving import export

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_NAMES = sorted(MODEL_CLASSES)
MAX_SEQ = 8  # shorter than most planted histories, so truncation is exercised
K = 10
# Per-model settings that make the exported graph take a model's every path: SURGE pools the
# MAX_SEQ steps down to 4.
MODEL_OVERRIDES = {"surge": {"pool_length": 4}}
RETRIEVAL_N = 20  # candidates of retrieve_and_rank (the planted catalogue has > 100 items)


def serving_hparams(model_type: str, paths, tmp_path, **overrides):
    """Tiny hyper-parameters with dropout and batch norm on (inference mode must disable the
    one and use moving statistics for the other)."""
    values = dict(
        user_dropout=True,
        dropout=[0.5, 0.5],
        embedding_dropout=0.3,
        max_seq_length=MAX_SEQ,
        batch_size=64,
        eval_batch_size=64,
        seed=3,
        MODEL_DIR=str(tmp_path / "model"),
        save_model=False,
    )
    values.update(overrides)
    return tiny_hparams(model_type, paths, **values)


def randomize(model, seed: int) -> None:
    """Random weights (untrained models score ~0.5 everywhere, which would hide errors); BN
    moving variances (and SUM's forgetting base) stay positive, the variances far from 1 so
    batch statistics would differ."""
    rng = np.random.default_rng(seed)
    for v in model.variables:
        shape = v.shape.as_list()
        if v.dtype.is_floating:
            values = rng.normal(0.0, 0.4, size=shape)
            if "moving_variance" in v.name or v.name.endswith("user_memory/alpha:0"):
                # SUM's alpha is the base of alpha ** cosine (initialised 0.98): negative
                # gives NaN in any graph
                values = np.abs(values) + 0.3
            v.assign(values.astype(v.dtype.as_numpy_dtype))


def read_lines(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def to_line(user, item, cate, time, hist_i, hist_c, hist_t) -> str:
    return "\t".join(
        [
            "0",
            user,
            item,
            cate,
            repr(float(time)),
            ",".join(hist_i),
            ",".join(hist_c),
            ",".join(repr(float(t)) for t in hist_t),
        ]
    )


def reference_scores(model, lines: list[str], path: str) -> np.ndarray:
    """Scores of 8-column ``lines`` through the training evaluation pipeline."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return model.trainer.collect(path, min_seq_length=1)["scores"].astype(np.float64)


def padded(rows: list[list[str]]) -> dict[str, np.ndarray]:
    """``serving_default`` inputs for 8-column rows (histories right-padded)."""
    hist = [(r[5].split(","), r[6].split(","), [float(t) for t in r[7].split(",")]) for r in rows]
    n = max(len(h[0]) for h in hist)
    return {
        "user": np.array([r[1] for r in rows], object),
        "item": np.array([r[2] for r in rows], object),
        "category": np.array([r[3] for r in rows], object),
        "time": np.array([float(r[4]) for r in rows], np.float64),
        "item_history": np.array([h[0] + [""] * (n - len(h[0])) for h in hist], object),
        "category_history": np.array([h[1] + ["pad"] * (n - len(h[1])) for h in hist], object),
        "time_history": np.array([h[2] + [0.0] * (n - len(h[2])) for h in hist], np.float64),
        "history_length": np.array([len(h[0]) for h in hist], np.int32),
    }


def one_user(row: list[str]) -> dict[str, np.ndarray]:
    return {
        "user": np.array(row[1], object),
        "time": np.array(float(row[4])),
        "item_history": np.array(row[5].split(","), object),
        "category_history": np.array(row[6].split(","), object),
        "time_history": np.array([float(t) for t in row[7].split(",")]),
    }


def expected_catalogue(paths) -> tuple[list[str], list[str]]:
    """Oracle: vocab items (index order, ``default_mid`` out) and their most frequent category
    in the train file (ties: smallest id), counted with plain Python."""
    counts: dict[str, collections.Counter] = {}
    for r in read_lines(paths.train_file):
        for i, c in zip([r[2], *r[5].split(",")], [r[3], *r[6].split(",")]):
            counts.setdefault(i, collections.Counter())[c] += 1
    vocab = load_vocab(paths.item_vocab, "item")
    items = sorted((k for k in vocab if k != DEFAULT_ITEM), key=vocab.get)
    return items, [min(counts[i].items(), key=lambda cn: (-cn[1], cn[0]))[0] for i in items]


def run_fresh(export_dir: str, requests: list, tmp_path) -> dict:
    """Load ``export_dir`` in a new Python process and run ``requests`` there."""
    req, res = str(tmp_path / "requests.pkl"), str(tmp_path / "results.pkl")
    with open(req, "wb") as f:
        pickle.dump({"export_dir": export_dir, "requests": requests}, f)
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "fresh_process.py"), req, res],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(res, "rb") as f:
        return pickle.load(f)


@pytest.fixture(scope="session")
def planted_paths(tmp_path_factory):
    return make_planted_dataset(str(tmp_path_factory.mktemp("serving_data")), n_users=40, seed=0)


@pytest.fixture(
    scope="session",
    params=[pytest.param(m, marks=() if m == "gru4rec" else pytest.mark.slow) for m in MODEL_NAMES],
)
def served(request, planted_paths, tmp_path_factory):
    """One model per parameter: exported, queried in a fresh process, with expected values."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"serve_{name}")
    hp = serving_hparams(name, planted_paths, tmp, **MODEL_OVERRIDES.get(name, {}))
    model = get_model_class(name)(hp)
    model._ensure_built()
    randomize(model, seed=11)
    base = str(tmp / "exports")
    version_dir = export(model, base, retrieval_size=RETRIEVAL_N)

    test_rows = read_lines(planted_paths.test_file)[::7]
    row0 = test_rows[0]
    user_vocab = load_vocab(planted_paths.user_vocab, "user")
    user_zero = next(k for k, v in user_vocab.items() if v == 0)
    cat_items, cat_cates = expected_catalogue(planted_paths)
    hist_i, hist_c = row0[5].split(","), row0[6].split(",")
    hist_t = [float(t) for t in row0[7].split(",")]

    # unknown ids: row A uses ids absent from every vocab, row B the ids holding index 0
    unknown = [row0[:], row0[:]]
    unknown[0][1:4] = ["nobody", "no_such_item", "no_such_cate"]
    unknown[0][5] = ",".join(["no_such_item", *hist_i[1:]])
    unknown[1][1:4] = [user_zero, DEFAULT_ITEM, DEFAULT_CATE]
    unknown[1][5] = ",".join([DEFAULT_ITEM, *hist_i[1:]])

    cand_items = [*cat_items[:30], "no_such_item"]
    cand_cates = [*cat_cates[:30], "no_such_cate"]
    rows_in = padded(test_rows)
    short = {k: v for k, v in one_user(row0).items()}
    short["category_history"] = short["category_history"][:-1]
    bad_shape = dict(rows_in, category_history=rows_in["category_history"][:, :-1])
    empty = {k: v[:0] for k, v in rows_in.items()}
    too_long = dict(rows_in, history_length=rows_in["history_length"] + 1000)
    wrong_dtype = dict(rows_in, time=rows_in["time"].astype(np.int64))
    requests = [
        ("rows", "serving_default", rows_in),
        ("unknown", "serving_default", padded(unknown)),
        (
            "candidates",
            "score_candidates",
            {
                **one_user(row0),
                "candidate_items": np.array(cand_items, object),
                "candidate_categories": np.array(cand_cates, object),
            },
        ),
        (
            "err_history_length",
            "score_candidates",
            {
                **short,
                "candidate_items": np.array(cand_items, object),
                "candidate_categories": np.array(cand_cates, object),
            },
        ),
        ("err_history_shape", "serving_default", bad_shape),
        ("err_empty", "serving_default", empty),
        (
            "err_no_candidates",
            "score_candidates",
            {
                **one_user(row0),
                "candidate_items": np.array([], object),
                "candidate_categories": np.array([], object),
            },
        ),
        ("err_length_over_width", "serving_default", too_long),
        ("err_dtype", "serving_default", wrong_dtype),
    ]

    def ref(lines, tag):
        return reference_scores(model, lines, str(tmp / f"{tag}.txt"))

    def catalogue_lines(row):
        hist = (row[5].split(","), row[6].split(","), [float(t) for t in row[7].split(",")])
        return [to_line(row[1], i, c, row[4], *hist) for i, c in zip(cat_items, cat_cates)]

    # recommend for a user whose unfiltered top-K holds a history item, so that the
    # exclusion check is not vacuous
    users = list({r[1]: r for r in test_rows}.values())[:10]
    scores = ref([x for r in users for x in catalogue_lines(r)], "catalogues").reshape(
        len(users), len(cat_items)
    )
    rec_row = rec_scores = None
    for r, s in zip(users, scores):
        top = {cat_items[i] for i in np.argsort(-s, kind="stable")[:K]}
        if top & set(r[5].split(",")):
            rec_row, rec_scores = r, s
            break
    assert rec_row is not None, "no test user has a history item in its top-K"
    requests += [
        ("recommend_all", "recommend", {**one_user(rec_row), "exclude_history": np.array(False)}),
        ("recommend_new", "recommend", {**one_user(rec_row), "exclude_history": np.array(True)}),
        ("rank", "rank_candidates", requests[2][2]),
        (
            "retrieve_all",
            "retrieve_and_rank",
            {**one_user(rec_row), "exclude_history": np.array(False)},
        ),
        (
            "retrieve_new",
            "retrieve_and_rank",
            {**one_user(rec_row), "exclude_history": np.array(True)},
        ),
    ]
    results = run_fresh(version_dir, requests, tmp)

    expected = {
        "rows": ref(["\t".join(r) for r in test_rows], "rows"),
        "unknown": ref(["\t".join(r) for r in unknown], "unknown"),
        "candidates": ref(
            [
                to_line(row0[1], i, c, row0[4], hist_i, hist_c, hist_t)
                for i, c in zip(cand_items, cand_cates)
            ],
            "candidates",
        ),
        "catalogue": rec_scores,
    }
    return types.SimpleNamespace(
        name=name,
        model=model,
        hparams=hp,
        base=base,
        version_dir=version_dir,
        rec_row=rec_row,
        catalogue=(cat_items, cat_cates),
        results=results,
        expected=expected,
        tmp=tmp,
    )


@pytest.fixture
def helpers():
    """This module (``serving_hparams``, ``randomize``, ``one_user``, ...) for test files, which
    cannot import a conftest under ``--import-mode=importlib``."""
    return sys.modules[__name__]
