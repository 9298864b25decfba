"""The split encoder (``encode_history`` once, ``score_targets`` per candidate) scores exactly
what the whole model scores on tiled rows, for every model and the variants that change which
tensors the encoding holds."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models import MODEL_CLASSES, get_model_class

SLSREC = dict(session_gap=90.0, session_gap_unit="minutes", max_sessions=4, max_session_length=6)
CASES = [
    ("gru4rec", {}),
    ("sli_rec", {}),
    ("sli_rec", {"fusion_time_feature": "last_event"}),
    ("a2svd", {}),
    ("caser", {"L": 3, "n_v": 2, "n_h": 2}),
    ("clsr", {}),
    ("clsr", {"fusion": "concat"}),
    ("clsr", {"manual_alpha": True, "manual_alpha_value": 0.3}),
    ("clsr", {"predict_mode": "short", "contrastive_loss": "none"}),
    ("clsr", {"sequential_model": "gru", "interest_evolve": False, "predict_long_short": False}),
    ("slsrec", SLSREC),
    ("slsrec", {**SLSREC, "use_long_term": False}),
    ("slsrec", {**SLSREC, "use_short_term": False}),
    ("dien", {}),
    ("nextitnet", {}),
    ("sasrec", {}),
    ("sasrec", {"sasrec_scoring": "mlp"}),
    ("surge", {}),
    ("surge", {"pool_length": 4}),
    ("bert4rec", {}),
    ("din", {}),
    ("ncf", {}),
    ("lightgcn", {}),
    ("sum", {"slots": 4}),
    ("sum", {"slots": 3, "cell": "SUMV2"}),
    ("sum", {"slots": 1}),
]


def _user_and_candidates(model, hp):
    """The first test line's features as one row ``[1, ...]`` and the next lines' targets."""
    batch = next(iter(model.data.eval_dataset(hp.test_file)))
    user = {k: v[:1] for k, v in batch.items()}
    return user, batch["items"][:7], batch["cates"][:7]


@pytest.mark.parametrize("model_type,overrides", CASES, ids=lambda c: str(c))
def test_split_scores_equal_tiled_rows(make_hparams, model_type, overrides):
    hp = make_hparams(model_type, MODEL_DIR=None, save_model=False, **overrides)
    model = get_model_class(model_type)(hp)
    user, items, cates = _user_and_candidates(model, hp)
    n = int(items.shape[0])
    tiled = {k: tf.repeat(v, n, axis=0) for k, v in user.items()}
    tiled["items"], tiled["cates"] = items, cates
    expected = model.predict_scores(tiled, training=False).numpy().ravel()

    got = model.score_user_targets(user, items, cates).numpy()

    assert got.shape == (n,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.ptp(got) > 0, "candidates should not all get the same score"


def test_every_model_is_covered():
    assert {name for name, _ in CASES} == set(MODEL_CLASSES)


def test_encode_history_cannot_read_the_target(make_hparams):
    """The split contract is enforced: an encoder that reads the target fails when traced."""
    from tf_lsrec.models.gru4rec import GRU4RecModel

    class Leaky(GRU4RecModel):
        def encode_history(self, batch, emb, training):
            return {"state": emb["target"]}

    hp = make_hparams("gru4rec", MODEL_DIR=None, save_model=False)
    model = Leaky(hp)
    user, items, cates = _user_and_candidates(model, hp)
    with pytest.raises(KeyError, match="target"):
        model.score_user_targets(user, items, cates)
