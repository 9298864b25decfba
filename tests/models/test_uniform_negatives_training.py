"""A model trained on ``train_negatives: uniform`` learns (the sampler's own checks are in
tests/io/test_uniform_negatives.py)."""


def test_gru4rec_learns_with_uniform_negatives(assert_learns):
    model, _ = assert_learns("gru4rec", train_negatives="uniform")
    assert model.data.negative_fallbacks == 0
