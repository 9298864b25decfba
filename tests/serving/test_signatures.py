"""ServingModule in process: the XLA-compiled, chunked variant scores like the plain one (the
split encoders with precomputed attention keys included)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.models import MODEL_CLASSES, get_model_class
from tf_lsrec.serving import ServingModule, build_catalogue

pytestmark = pytest.mark.slow  # two modules traced (~15 s on a shared machine)


# every model exported with XLA by default, and SASRec (a transformer: no RNN loop)
@pytest.mark.parametrize(
    "model_type",
    sorted({"sasrec"} | {m for m in MODEL_CLASSES if get_model_class(m).serving_jit_compile}),
)
def test_jit_compiled_scoring_matches(planted_paths, tmp_path, helpers, model_type):
    hp = helpers.serving_hparams(model_type, planted_paths, tmp_path)
    model = get_model_class(model_type)(hp)
    model._ensure_built()
    helpers.randomize(model, seed=5)
    cat = build_catalogue(hp)
    plain = ServingModule(model, cat, k=5)
    xla = ServingModule(model, cat, k=5, chunk_size=64, jit_compile=True)  # 3 chunks: map_fn
    row = helpers.read_lines(planted_paths.test_file)[0]
    user = {k: tf.constant(v) for k, v in helpers.one_user(row).items()}
    cands = {
        **user,
        "candidate_items": tf.constant(list(cat.items[:20])),
        "candidate_categories": tf.constant(list(cat.categories[:20])),
    }
    a = plain("score_candidates", cands)["scores"].numpy()
    b = xla("score_candidates", cands)["scores"].numpy()
    assert a.shape == (20,) and np.abs(a - b).max() <= 1e-5
    rec = {**user, "exclude_history": tf.constant(False)}
    ra, rb = plain("recommend", rec), xla("recommend", rec)
    assert ra["item_ids"].numpy().tolist() == rb["item_ids"].numpy().tolist()
    assert np.abs(ra["scores"].numpy() - rb["scores"].numpy()).max() <= 1e-5
