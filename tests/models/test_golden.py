"""Golden values: every model's loss parts, gradient norm, logits and scores on a fixed batch with
seeded weights are those recorded in ``golden.json`` (written by ``make_golden.py``).

A refactoring must leave them unchanged; a change of numbers is intended only with a new
``golden.json`` and a reason in the commit message."""

import json
import os

import numpy as np
import pytest

from tests.models.golden import CASES, compute

with open(os.path.join(os.path.dirname(__file__), "golden.json"), encoding="utf-8") as _f:
    GOLDEN = json.load(_f)


def test_every_case_is_recorded():
    assert {case for case, _, _ in CASES} == set(GOLDEN)


@pytest.mark.parametrize("case,model_type,overrides", CASES, ids=[c for c, _, _ in CASES])
def test_golden_values(case, model_type, overrides):
    expected = GOLDEN[case]
    got = compute(model_type, overrides)
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=f"{case}: {key}")
