"""What ``data.length_bucketing`` (a training batch padded only to its longest history) does to
each model: the models that mask every history position compute the same loss, gradients and
scores on the trimmed batch; SLi-Rec and A2SVD do not, because their long-term attention gives
weight to padded positions, as Microsoft's does; CLSR's fusion gate reads ``time_to_now`` of the
last *column* (the official code's choice, ``fusion_time_feature: last_column``), which changes
for the histories as long as the trimmed width; Caser refuses the setting."""

import numpy as np
import pytest

from tests.models.golden import CASES, build_model, golden_batch
from tests.models.test_shared_history import _no_history_dropout, _parts_and_grads
from tf_lsrec.io.pipeline import _RANK2

LENGTHS = (9, 7, 3, 10)  # all shorter than MAX_LEN = 12: columns 10 and 11 are padding
WIDTH = 10
EXACT = ["gru4rec", "clsr_concat", "clsr_short_only", "slsrec", "slsrec_no_long", "din", "dien", "ncf", "nextitnet_last", "sasrec", "sum",
         "sum_v2", "gru4rec_seq2seq"]  # fmt: skip
PADDING_ATTENDED = ["sli_rec", "a2svd"]
LAST_EVENT = {"fusion_time_feature": "last_event"}


def _case(case):
    return next((m, o) for c, m, o in CASES if c == case)


def _batches():
    full = golden_batch(lengths=LENGTHS)
    return full, {k: (v[:, :WIDTH] if k in _RANK2 else v) for k, v in full.items()}


def _model(case, **extra):
    model_type, overrides = _case(case)
    overrides = {**overrides, **extra}
    # no dropout (two passes would draw different masks) and no batch norm: its batch
    # statistics pool the padded positions too (Microsoft's behaviour), so they depend on the
    # width in training
    return build_model(
        model_type, {**_no_history_dropout(model_type, overrides), "enable_BN": False}
    )


@pytest.mark.parametrize(
    "case, extra",
    [(c, {}) for c in EXACT]
    + [(c, LAST_EVENT) for c in ("clsr", "clsr_bpr", "clsr_gru_plain", "clsr_discrepancy")],
)
def test_trimmed_batch_equals_full_width(case, extra):
    model = _model(case, **extra)
    full, trimmed = _batches()
    a = model.forward(full, training=False)["logits"].numpy()
    b = model.forward(trimmed, training=False)["logits"].numpy()
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg="logits")
    parts, grads = _parts_and_grads(model, full, None)
    t_parts, t_grads = _parts_and_grads(model, trimmed, None)
    for k in parts:
        np.testing.assert_allclose(t_parts[k], parts[k], rtol=1e-4, atol=1e-6, err_msg=k)
    scale = max(float(np.abs(g).max()) for g in grads.values())
    for name, g in grads.items():
        np.testing.assert_allclose(t_grads[name], g, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("case", PADDING_ATTENDED)
def test_unmasked_long_term_attention_sees_the_width(case):
    model = _model(case)
    full, trimmed = _batches()
    a = model.forward(full, training=False)["logits"].numpy()
    b = model.forward(trimmed, training=False)["logits"].numpy()
    assert np.abs(a - b).max() > 1e-3


def test_caser_refuses_length_bucketing():
    model_type, overrides = _case("caser")
    with pytest.raises(ValueError, match="length_bucketing.*caser needs every batch"):
        build_model(model_type, {**overrides, "length_bucketing": 4})


def test_clsr_last_column_gate_changes_only_for_histories_as_long_as_the_width():
    model = _model("clsr")
    full, trimmed = _batches()
    a = model.forward(full, training=False)["logits"].numpy()[:, 0]
    b = model.forward(trimmed, training=False)["logits"].numpy()[:, 0]
    at_width = np.repeat(np.array(LENGTHS) == WIDTH, len(a) // len(LENGTHS))
    np.testing.assert_allclose(b[~at_width], a[~at_width], rtol=1e-5, atol=1e-6)
    assert np.abs(b[at_width] - a[at_width]).max() > 1e-5  # tau: 0 (padding) -> the real value


def test_gru4rec_learns_with_length_bucketing(assert_learns):
    """fit through the trainer's traced step with batches of several widths, same bar as
    without bucketing."""
    assert_learns("gru4rec", length_bucketing=4)
