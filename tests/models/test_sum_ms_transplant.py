"""SUM against Microsoft's own graph, weight for weight.

``ms_sum_transplant_{SUM,SUMV2}.npz`` were written by Microsoft Recommenders 1.2.1 (TF 2.15)
with ``tools/benches/ms_transplant_sum.py --side ms --tiny --cell C --batch-size 10 --max-len 8``
on the planted dataset of ``tests/models/conftest.py`` (``make_planted_dataset(seed=0)``; no
MovieLens data): every variable after a N(0, 0.3) perturbation, the first training batch of its
iterator (histories truncated to 8), the training- and inference-mode logits, the loss parts,
the gradients of the total loss and every variable after one Adam step (BN statistics too). Our
SUM gets the same weights and batch and must reproduce all of them.
"""

import os

import numpy as np
import pytest

from tests.tool_loader import load_tool

HERE = os.path.dirname(os.path.abspath(__file__))


def _tool():
    return load_tool("benches/ms_transplant_sum")


@pytest.mark.parametrize("cell", ["SUM", "SUMV2"])
def test_sum_reproduces_microsofts_graph_with_its_weights(planted, cell):
    with np.load(os.path.join(HERE, f"ms_sum_transplant_{cell}.npz")) as npz:
        res = _tool().compare(npz, os.path.dirname(planted.train_file))
        z = {k: npz[k] for k in npz.files}
    assert res["unmapped_microsoft_variables"] == []
    # logits are O(1) after the perturbation (a slot, gate or BN mistake moves them by >1e-2)
    assert np.abs(z["train/logit"]).max() > 0.1
    assert res["train_logit"] < 1e-5 and res["eval_logit"] < 1e-5, res
    for part in ("data_loss", "regular_loss", "loss"):
        ours, ms = res[part]
        assert ours == pytest.approx(ms, rel=1e-5), (part, ours, ms)
    assert len(res["grad_max_abs_diff"]) == len([k for k in z if k.startswith("grad/")])
    for name, (diff, scale) in res["grad_max_abs_diff"].items():
        assert scale > 0 and diff <= 1e-6 + 1e-5 * scale, (name, diff, scale)
    # one Adam step moves each variable by ~1e-3: a different optimizer, epsilon or BN
    # momentum would leave differences far above float32 rounding
    steps = res["step_max_abs_diff"]
    assert any("moving_variance" in n for n in steps)
    for name, diff in steps.items():
        assert diff < 2e-6, (name, diff)
