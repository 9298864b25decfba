import pickle

import pytest
import tensorflow as tf

from tf_lsrec.io.lookup import VocabFileError, VocabLookup


def _lookup():
    return VocabLookup({"u1": 0, "u2": 1}, {"default_mid": 0, "a": 1, "b": 2}, {"x": 1, "y": 2})


def test_dense_and_ragged_lookup_unknown_is_zero():
    lk = _lookup()
    assert lk.users(tf.constant(["u2", "u9", "u1"])).numpy().tolist() == [1, 0, 0]
    assert lk.items(tf.constant([["b", "a"], ["?", "b"]])).numpy().tolist() == [[2, 1], [0, 2]]
    rt = lk.cates(tf.ragged.constant([["y"], ["x", "nope", "y"]]))
    assert isinstance(rt, tf.RaggedTensor)
    assert rt.to_list() == [[2], [1, 0, 2]]
    assert lk.items(tf.constant(["a"])).dtype == tf.int32


def test_sizes_are_max_index_plus_one():
    # Amazon category collision (§1.2): 2 keys using indices 1..2 -> table of 3 rows
    lk = VocabLookup({"u": 0}, {"a": 5}, {"default_cat": 1, "c": 2})
    assert lk.sizes == {"user": 1, "item": 6, "cate": 3}


def test_from_files_errors_name_the_file(tmp_path):
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps({"a": 0}))
    missing = tmp_path / "nope.pkl"
    with pytest.raises(VocabFileError, match=r"item vocab file .*nope\.pkl does not exist"):
        VocabLookup.from_files(good, missing, good)
    as_list = tmp_path / "list.pkl"
    as_list.write_bytes(pickle.dumps(["a", "b"]))
    with pytest.raises(VocabFileError, match=r"category vocab file .*list\.pkl: expected a dict"):
        VocabLookup.from_files(good, good, as_list)
    text = tmp_path / "text.pkl"
    text.write_text("not a pickle")
    with pytest.raises(VocabFileError, match=r"user vocab file .*text\.pkl is not a readable"):
        VocabLookup.from_files(text, good, good)
    bad_value = tmp_path / "bad.pkl"
    bad_value.write_bytes(pickle.dumps({"a": "1"}))
    with pytest.raises(VocabFileError, match=r"key 'a' maps to '1'; expected a non-negative"):
        VocabLookup.from_files(good, bad_value, good)


def test_saved_model_round_trip(tmp_path):
    class Scorer(tf.Module):
        def __init__(self):
            super().__init__()
            self.lookup = _lookup()

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, ids):
            return self.lookup.items(ids)

    tf.saved_model.save(Scorer(), str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    assert loaded(tf.constant(["b", "zz", "a"])).numpy().tolist() == [2, 0, 1]


def test_vocab_reads_each_mapping_back_from_its_table():
    lookup = VocabLookup({"u1": 0}, {"default_mid": 0, "i1": 1, "i7": 7}, {})
    assert lookup.vocab("item") == {"default_mid": 0, "i1": 1, "i7": 7}
    assert lookup.vocab("user") == {"u1": 0} and lookup.vocab("cate") == {}
    with pytest.raises(ValueError, match="vocab kind 'items'"):
        lookup.vocab("items")
