"""Microsoft's BPR sampler (tf_lsrec/io/graph_sampler.py): the distribution, not just shapes."""

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.data.graph import InteractionGraph
from tf_lsrec.io.graph_sampler import BPRSampler, bpr_rows

# 4 users (user 3 has no edge), items 0..6 (0 = default item, never drawn)
GRAPH = InteractionGraph.from_pairs([0, 0, 0, 1, 2, 2], [1, 3, 6, 6, 2, 5], n_users=4, n_items=7)


def _draw(batch_size, n):
    s = BPRSampler(GRAPH)
    sample = tf.function(lambda seed: s.sample(batch_size, seed))
    out = [sample(tf.constant([5, i], tf.int64)) for i in range(n)]
    return [np.concatenate([o[j].numpy() for o in out]) for j in range(3)]


def test_positives_are_edges_and_negatives_are_uniform_over_the_complement():
    users, pos, neg = _draw(16, 400)
    seen = GRAPH.seen()
    assert set(users) == {0, 1, 2}  # only users with edges
    assert all((u, p) in seen for u, p in zip(users, pos))
    for u in (0, 1, 2):
        complement = [i for i in range(1, 7) if (u, i) not in seen]
        drawn = neg[users == u]
        assert set(drawn) == set(complement), (u, set(drawn))
        freq = np.bincount(drawn, minlength=7)[complement] / drawn.size
        np.testing.assert_allclose(freq, 1 / len(complement), atol=0.05)
        mine = [i for i in range(7) if (u, i) in seen]
        pfreq = np.bincount(pos[users == u], minlength=7)[mine] / drawn.size
        np.testing.assert_allclose(pfreq, 1 / len(mine), atol=0.05)
    np.testing.assert_allclose(np.bincount(users) / users.size, 1 / 3, atol=0.03)


def test_users_without_replacement_when_enough():
    users, _, _ = _draw(3, 20)
    for b in range(20):
        assert sorted(users[3 * b : 3 * b + 3]) == [0, 1, 2]


def test_a_user_with_every_item_is_an_error():
    g = InteractionGraph.from_pairs([0, 0], [1, 2], n_users=1, n_items=3)
    with pytest.raises(ValueError, match="interacted with every item"):
        BPRSampler(g)


def test_rows_follow_the_batch_contract():
    b = bpr_rows(tf.constant([4, 7]), tf.constant([1, 2]), tf.constant([3, 5]), 6)
    assert b["users"].numpy().tolist() == [4, 4, 7, 7]
    assert b["items"].numpy().tolist() == [1, 3, 2, 5]
    assert b["labels"].numpy().ravel().tolist() == [1, 0, 1, 0]
    assert b["item_history"].shape == (4, 6) and b["sample_weight"].shape == (4,)
