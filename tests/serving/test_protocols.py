"""Every request of the ``served`` fixture sent the ways TF Serving receives it: a
``PredictRequest`` proto, a REST ``inputs`` body and (``serving_default``) REST ``instances``
rows, all against the export loaded in a fresh process (``fresh_process.py``,
``tfs_protocol.py``). Each must answer what the direct signature call answers."""

from __future__ import annotations

import re

import numpy as np
import pytest

ANSWERED = ["rows", "unknown", "candidates", "recommend_all", "recommend_new"]
REFUSED = {
    "err_history_length": r"item_history and category_history must have the same length",
    "err_history_shape": r"`category_history` must have the same \[B, N\] shape",
    "err_empty": r"empty batch|non-empty list",
    "err_no_candidates": r"empty batch: no `candidate_items`",
    "err_length_over_width": r"`history_length` exceeds the padded history width N",
    "err_dtype": r"expected to be a double tensor but is a int64 tensor",
}


def transports(res: dict) -> list[str]:
    return [t for t in ("proto", "rest_inputs", "rest_instances") if t in res]


def test_every_signature_is_exercised(served):
    signatures = {
        "rows": "serving_default",
        "candidates": "score_candidates",
        "recommend_all": "recommend",
    }
    for name in signatures:
        assert {"proto", "rest_inputs"} <= set(served.results[name]), "tensorflow-serving-api?"
    assert "rest_instances" in served.results["rows"]


@pytest.mark.parametrize("name", ANSWERED)
def test_protos_and_json_answer_like_the_signature(served, name):
    res = served.results[name]
    want = res["outputs"]
    for t in transports(res):
        assert "outputs" in res[t], f"{t}: {res[t].get('error')}"
        got = res[t]["outputs"]
        assert sorted(got) == sorted(want), t
        for k, v in want.items():
            assert got[k].shape == v.shape, (t, k)
            if v.dtype == object:
                assert got[k].tolist() == v.tolist(), (t, k)
            else:  # float32 through JSON numbers and TensorProtos: exact
                np.testing.assert_array_equal(got[k].astype(v.dtype), v, err_msg=f"{t} {k}")


@pytest.mark.parametrize("name, pattern", sorted(REFUSED.items()))
def test_bad_requests_are_refused_over_every_transport(served, name, pattern):
    res = served.results[name]
    for t in transports(res):
        if name == "err_dtype" and t.startswith("rest"):
            # JSON numbers carry no dtype: TF Serving converts them to the signature's float64
            assert "outputs" in res[t], res[t].get("error")
            continue
        if name == "err_empty" and t == "rest_inputs":
            # `[]` cannot say it is an empty [0, N] matrix: refused, on the shape
            assert "error" in res[t], f"{name} over {t} was accepted"
            continue
        assert "error" in res[t], f"{name} over {t} was accepted"
        assert re.search(pattern, res[t]["error"], re.S), (t, res[t]["error"][:2000])
