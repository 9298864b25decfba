"""Golden-value cases: every model (and the variants that change its graph) on one hand-built
batch with seeded weights. ``make_golden.py`` writes ``golden.json`` from these; ``test_golden.py``
checks that refactoring leaves every number unchanged."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tests.models import helpers
from tf_lsrec.io.lookup import VocabLookup
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.models import get_model_class

USERS, ITEMS, CATES = 12, 40, 6
GROUPS, NUM_NGS, MAX_LEN = 4, 4, 12
SLSREC = dict(session_gap=90.0, session_gap_unit="minutes", max_sessions=4, max_session_length=6)
SEQ2SEQ = dict(seq2seq_loss_weight=0.5, seq2seq_future_length=4)

# (case id, model_type, overrides)
CASES = [
    ("sli_rec", "sli_rec", {}),
    ("sli_rec_last_event", "sli_rec", {"fusion_time_feature": "last_event"}),
    ("gru4rec", "gru4rec", {}),
    ("clsr", "clsr", {}),
    ("clsr_bpr", "clsr", {"contrastive_loss": "bpr"}),
    ("clsr_concat", "clsr", {"fusion": "concat"}),
    ("clsr_manual_alpha", "clsr", {"manual_alpha": True, "manual_alpha_value": 0.3}),
    ("clsr_short_only", "clsr", {"predict_mode": "short", "contrastive_loss": "none"}),
    (
        "clsr_gru_plain",
        "clsr",
        {"sequential_model": "gru", "interest_evolve": False, "predict_long_short": False},
    ),
    ("clsr_discrepancy", "clsr", {"discrepancy_loss_weight": 0.05}),
    ("slsrec", "slsrec", {**SLSREC, "contrastive_loss_weight": 0.1}),
    ("slsrec_no_long", "slsrec", {**SLSREC, "use_long_term": False}),
    ("a2svd", "a2svd", {}),
    ("caser", "caser", {"L": 3, "n_v": 2, "n_h": 2}),
    ("din", "din", {}),
    ("dien", "dien", {}),
    ("ncf", "ncf", {}),
    ("nextitnet", "nextitnet", {}),
    ("nextitnet_last", "nextitnet", {"nextitnet_train_positions": "last"}),
    ("sasrec", "sasrec", {}),
    ("sasrec_mlp", "sasrec", {"sasrec_scoring": "mlp"}),
    ("surge", "surge", {"pool_length": 5}),
    ("bert4rec", "bert4rec", {}),
    ("sum", "sum", {"slots": 4}),
    ("sum_v2", "sum", {"slots": 3, "cell": "SUMV2"}),
    ("gru4rec_seq2seq", "gru4rec", SEQ2SEQ),
    ("gru4rec_seq2seq_states", "gru4rec", {**SEQ2SEQ, "seq2seq_past_encoder": "states"}),
    ("sli_rec_seq2seq", "sli_rec", SEQ2SEQ),
]


def golden_hparams(model_type: str, **overrides):
    return helpers.tiny_hparams(
        model_type,
        item_embedding_dim=8,
        cate_embedding_dim=4,
        user_embedding_dim=12,
        hidden_size=12,
        attention_size=12,
        att_fcn_layer_sizes=[8, 4],
        layer_sizes=[16, 8],
        max_seq_length=MAX_LEN,
        batch_size=GROUPS,
        train_num_ngs=NUM_NGS,
        init_value=0.3,
        embed_l2=1e-3,
        layer_l2=1e-3,
        seed=11,
        MODEL_DIR=None,
        **overrides,
    )


def golden_lookup() -> VocabLookup:
    def vocab(prefix, n):
        return {f"{prefix}{i}": i for i in range(n)}

    return VocabLookup(vocab("u", USERS), vocab("i", ITEMS), vocab("c", CATES))


def golden_batch(seed: int = 0, lengths=(MAX_LEN, 7, 3, 10)) -> dict[str, tf.Tensor]:
    """A training batch of ``GROUPS`` groups (positive first, ``NUM_NGS`` negatives), histories of
    mixed lengths (one per group, ``lengths``), timestamps in seconds spanning several
    sessions."""
    rng = np.random.default_rng(seed)
    rows, L = GROUPS * (NUM_NGS + 1), MAX_LEN
    mask = helpers.length_mask(np.repeat(list(lengths), NUM_NGS + 1), L)
    gaps = rng.choice([30.0, 600.0, 20000.0], size=(GROUPS, L))
    t_hist = np.repeat(1e9 + np.cumsum(gaps, axis=1), NUM_NGS + 1, axis=0) * mask
    last = t_hist.max(axis=1)
    t = last + 100.0
    item_h = np.repeat(rng.integers(1, ITEMS, size=(GROUPS, L)), NUM_NGS + 1, 0) * mask
    cate_h = np.repeat(rng.integers(1, CATES, size=(GROUPS, L)), NUM_NGS + 1, 0) * mask
    first = t_hist[:, :1]
    prev = np.concatenate([t_hist[:, :1], t_hist[:, :-1]], axis=1)
    unit = 3600.0
    return {
        "labels": tf.constant(np.tile([1.0] + [0.0] * NUM_NGS, GROUPS)[:, None], tf.float32),
        "users": tf.constant(np.repeat(rng.integers(1, USERS, GROUPS), NUM_NGS + 1), tf.int32),
        "items": tf.constant(rng.integers(1, ITEMS, size=rows), tf.int32),
        "cates": tf.constant(rng.integers(1, CATES, size=rows), tf.int32),
        "item_history": tf.constant(item_h, tf.int32),
        "item_cate_history": tf.constant(cate_h, tf.int32),
        "mask": tf.constant(mask),
        "time": tf.constant(t, tf.float64),
        "time_history": tf.constant(t_hist, tf.float64),
        "time_diff": tf.constant(((t_hist - prev) / unit * mask).astype(np.float32)),
        "time_from_first_action": tf.constant(((t_hist - first) / unit * mask).astype(np.float32)),
        "time_to_now": tf.constant(((t[:, None] - t_hist) / unit * mask).astype(np.float32)),
        "sample_weight": tf.ones([rows], tf.float32),
    }


def build_model(model_type: str, overrides: dict):
    hp = golden_hparams(model_type, **overrides)
    data = SequentialData(hp, lookup=golden_lookup())
    return get_model_class(model_type)(hp, data=data)


def compute(model_type: str, overrides: dict) -> dict[str, list[float] | float]:
    """Loss parts (training=True), the gradient norm of the total loss and the scores
    (training=False) of a freshly built, seeded model on :func:`golden_batch`."""
    model = build_model(model_type, overrides)
    batch = golden_batch()
    logits = model(batch, training=False).numpy().ravel()
    scores = model.predict_scores(batch, training=False).numpy().ravel()
    with tf.GradientTape() as tape:
        parts = model.compute_loss_parts(batch, training=True)
    variables = model.trainable_variables
    grads = [g for g in tape.gradient(parts["total_loss"], variables) if g is not None]
    grads = [tf.convert_to_tensor(g) for g in grads]
    out: dict = {k: float(v) for k, v in parts.items()}
    out["grad_norm"] = float(tf.linalg.global_norm(grads))
    out["logits"] = [float(x) for x in logits]
    out["scores"] = [float(x) for x in scores]
    return out
