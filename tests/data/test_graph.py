"""The interaction graph of an 8-column training file (tf_lsrec/data/graph.py)."""

import numpy as np
import pytest

from tf_lsrec.data.graph import InteractionGraph, normalized_adjacency, read_graph
from tf_lsrec.io.lookup import VocabLookup

LOOKUP = dict(
    user_vocab={"a": 0, "b": 1},
    item_vocab={"default_mid": 0, "x": 1, "y": 2, "z": 3},
    cate_vocab={"default_cat": 0, "c": 1},
)


def _write(path, lines):
    path.write_text("".join("\t".join(f) + "\n" for f in lines))
    return path


def test_edges_are_targets_and_histories_of_positive_lines(tmp_path):
    f = _write(tmp_path / "train", [
        ["1", "a", "y", "c", "2", "x", "c", "1"],  # a: y (target) and x (history)
        ["1", "a", "z", "c", "3", "x,y", "c,c", "1,2"],  # a: z, x, y again (deduplicated)
        ["0", "b", "x", "c", "3", "y", "c", "1"],  # a negative line: no edge
        ["1", "b", "y", "c", "4", "q", "c", "1"],  # q unknown -> index 0: no edge
    ])  # fmt: skip
    g = read_graph(f, VocabLookup(**LOOKUP))
    assert (g.n_users, g.n_items) == (2, 4)
    assert g.seen() == {(0, 1), (0, 2), (0, 3), (1, 2)}
    assert g.users.tolist() == [0, 0, 0, 1] and g.items.tolist() == [1, 2, 3, 2]
    np.testing.assert_array_equal(g.offsets(), [0, 3, 4])


def test_malformed_line_names_file_and_line(tmp_path):
    f = _write(tmp_path / "train", [["1", "a", "y", "c", "2", "x", "c", "1"], ["1", "a"]])
    with pytest.raises(ValueError, match=r"train, line 2: expected 8"):
        read_graph(f, VocabLookup(**LOOKUP))


def test_out_of_range_index_is_rejected():
    with pytest.raises(ValueError, match=r"item index outside \[0, 3\)"):
        InteractionGraph.from_pairs([0], [3], n_users=1, n_items=3)


def test_adjacency_is_symmetric_sorted_and_isolated_nodes_stay_zero():
    g = InteractionGraph.from_pairs([0, 0, 2], [1, 2, 2], n_users=4, n_items=3)  # user 3 alone
    indices, values, n = normalized_adjacency(g)
    assert n == 7
    dense = np.zeros([n, n])
    dense[indices[:, 0], indices[:, 1]] = values
    np.testing.assert_allclose(dense, dense.T)
    assert not dense[3].any() and not dense[4].any()  # user 3 and item 0: no edges
    # u0 (deg 2) - i2 (node 6, deg 2): 1/2; u2 (deg 1) - i2: 1/sqrt(2)
    assert dense[0, 6] == pytest.approx(0.5) and dense[2, 6] == pytest.approx(2**-0.5)
    order = np.lexsort((indices[:, 1], indices[:, 0]))
    np.testing.assert_array_equal(order, np.arange(len(order)))
