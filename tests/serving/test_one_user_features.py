"""The dense one-user feature path of the one-user signatures equals ``build_features`` (the
training pipeline's function) for histories shorter than, equal to and longer than L."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.io.features import build_features
from tf_lsrec.models import get_model_class
from tf_lsrec.serving import ServingModule, build_catalogue


@pytest.fixture(scope="module")
def module(planted_paths, tmp_path_factory):
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location(
        "serving_conftest", os.path.join(os.path.dirname(__file__), "conftest.py")
    )
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    hp = helpers.serving_hparams("gru4rec", planted_paths, tmp_path_factory.mktemp("feat"))
    model = get_model_class("gru4rec")(hp)
    model._ensure_built()
    return ServingModule(model, build_catalogue(hp), k=3, retrieval_size=5)


@pytest.mark.parametrize("n", [0, 1, 5, 8, 13])
def test_dense_features_equal_build_features(module, n):
    items = [f"{i}" for i in range(n)] + (["no_such_item"] if n else [])
    cates = [f"c{i}" for i in range(len(items))]
    rng = np.random.default_rng(n)
    times = np.sort(rng.uniform(0, 1e6, size=len(items)))
    if len(items) > 2:
        times[2] = times[1]  # a zero gap: g() clamps it
    now = 2e6
    got = module._one_user_features(
        tf.constant("u1"),
        tf.constant(now, tf.float64),
        tf.constant(items, tf.string),
        tf.constant(cates, tf.string),
        tf.constant(times, tf.float64),
    )
    raw = {
        "users": tf.constant(["u1"]),
        "items": tf.constant([""]),
        "cates": tf.constant([""]),
        "time": tf.constant([now], tf.float64),
        "item_history": tf.ragged.constant([items], dtype=tf.string),
        "cate_history": tf.ragged.constant([cates], dtype=tf.string),
        "time_history": tf.RaggedTensor.from_row_lengths(
            tf.constant(times, tf.float64), [len(items)]
        ),
    }
    want = build_features(raw, module.lookup, module.max_seq_length, module.divisor)
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert got[k].shape.as_list() == want[k].shape.as_list(), k
        np.testing.assert_array_equal(got[k].numpy(), want[k].numpy(), err_msg=k)
