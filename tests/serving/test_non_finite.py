"""Serving refuses NaN / Inf / out-of-range timestamps with INVALID_ARGUMENT (issue 21)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models import get_model_class
from tf_lsrec.serving.catalogue import build_catalogue
from tf_lsrec.serving.signatures import ServingModule

from .conftest import one_user, padded, read_lines, serving_hparams  # noqa: TID252


@pytest.fixture(scope="module")
def module(planted_paths, tmp_path_factory):
    hp = serving_hparams("gru4rec", planted_paths, tmp_path_factory.mktemp("nonfinite"))
    model = get_model_class("gru4rec")(hp)
    model._ensure_built()
    return ServingModule(model, build_catalogue(hp), k=5)


@pytest.fixture(scope="module")
def row(planted_paths):
    return read_lines(planted_paths.test_file)[0]


def _call(module, signature, inputs):
    return module(signature, {k: tf.constant(v) for k, v in inputs.items()})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300, -1.0])
@pytest.mark.parametrize("where", ["time", "time_history"])
def test_every_signature_refuses_bad_times(module, row, bad, where):
    user = one_user(row)
    if where == "time":
        user["time"] = np.array(bad)
    else:
        user["time_history"] = user["time_history"].copy()
        user["time_history"][-1] = bad
    rows = padded([row, row])
    if where == "time":
        rows["time"][1] = bad
    else:
        rows["time_history"][1, 0] = bad
    requests = [
        ("serving_default", rows),
        ("recommend", {**user, "exclude_history": np.array(False)}),
        (
            "score_candidates",
            {
                **user,
                "candidate_items": np.array([row[2]], object),
                "candidate_categories": np.array([row[3]], object),
            },
        ),
    ]
    for signature, inputs in requests:
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"`{where}` must hold finite"):
            _call(module, signature, inputs)


def test_padding_beyond_history_length_is_not_checked(module, row):
    rows = padded([row, row])
    rows["time_history"] = np.pad(rows["time_history"], [(0, 0), (0, 2)], constant_values=np.nan)
    rows["item_history"] = np.pad(rows["item_history"], [(0, 0), (0, 2)], constant_values="")
    rows["category_history"] = np.pad(rows["category_history"], [(0, 0), (0, 2)],
                                      constant_values="")  # fmt: skip
    out = _call(module, "serving_default", rows)["probability"].numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, _call(module, "serving_default", padded([row, row]))[
        "probability"].numpy(), rtol=1e-6)  # fmt: skip
