"""Vocab building (docs/reference.md §1.2 conventions, default_cat fix) and loading."""

import pickle

import pytest

from tf_lsrec.data.vocab import (
    build_vocabs,
    load_vocab,
    rank_vocab,
    vocab_size,
)


def write_train(path, lines):
    path.write_text("".join("\t".join(cols) + "\n" for cols in lines), encoding="utf-8")
    return path


# counts: users u2:2 u1:1 ; items: b 1+1+1=3 ... computed by hand below
LINES = [
    ["1", "u1", "b", "x", "5", "a", "y", "1"],
    ["1", "u2", "c", "x", "6", "a,b", "y,x", "1,2"],
    ["1", "u2", "d", "z", "7", "b,c", "x,x", "2,3"],
]


def test_counts_order_and_indices(tmp_path):
    train = write_train(tmp_path / "train", LINES)
    users, items, cates = build_vocabs(train, tmp_path / "u", tmp_path / "i", tmp_path / "c")
    # users: u2 (2) before u1 (1); Microsoft convention: no default, most frequent -> 0
    assert users == {"u2": 0, "u1": 1}
    # items: b=3 (target 1 + history 2), a=2, c=2, d=1; tie a/c -> first inserted (a) first
    assert list(items.items()) == [("default_mid", 0), ("b", 1), ("a", 2), ("c", 3), ("d", 4)]
    # categories: x=5, y=2, z=1
    assert list(cates.items()) == [("default_cat", 0), ("x", 1), ("y", 2), ("z", 3)]
    for path, expected in (
        (tmp_path / "u", users),
        (tmp_path / "i", items),
        (tmp_path / "c", cates),
    ):
        with open(path, "rb") as f:
            assert pickle.load(f) == expected


def test_first_insertion_is_target_before_history(tmp_path):
    # the line's target item q is met before its history item p: equal counts -> q first
    train = write_train(tmp_path / "train", [["1", "u", "q", "k", "2", "p", "k", "1"]])
    _, items, _ = build_vocabs(train, tmp_path / "u", tmp_path / "i", tmp_path / "c")
    assert items == {"default_mid": 0, "q": 1, "p": 2}


def test_user_default_clsr_convention(tmp_path):
    train = write_train(tmp_path / "train", LINES)
    users, _, _ = build_vocabs(
        train, tmp_path / "u", tmp_path / "i", tmp_path / "c", user_default=True
    )
    assert users == {"default_uid": 0, "u2": 1, "u1": 2}


def test_literal_default_cat_keeps_index_zero(tmp_path):
    # the reference re-ranks a literal "default_cat" (leaving index 0 unused and index len(d)
    # out of range); the port keeps it at 0 so indices are 0..len-1
    lines = [
        ["1", "u", "i1", "default_cat", "2", "i0", "default_cat", "1"],
        ["1", "u", "i2", "x", "3", "i0,i1", "default_cat,default_cat", "1,2"],
    ]
    train = write_train(tmp_path / "train", lines)
    _, items, cates = build_vocabs(train, tmp_path / "u", tmp_path / "i", tmp_path / "c")
    assert cates == {"default_cat": 0, "x": 1}
    assert sorted(cates.values()) == list(range(len(cates)))
    assert vocab_size(cates) == len(cates) == 2
    # i0 and i1 both count 2; i1 (line 1 target) was inserted before i0 (line 1 history)
    assert items == {"default_mid": 0, "i1": 1, "i0": 2, "i2": 3}


def test_rank_vocab_stable_ties_and_default():
    assert rank_vocab(["a", "b", "c"], [1, 2, 1], None) == {"b": 0, "a": 1, "c": 2}
    assert rank_vocab(["a", "D", "c"], [1, 9, 1], "D") == {"D": 0, "a": 1, "c": 2}


def test_vocab_size_is_max_index_plus_one():
    assert vocab_size({"a": 0, "b": 5}) == 6
    assert vocab_size({}) == 0


def test_bad_train_file_errors(tmp_path):
    bad = tmp_path / "train"
    bad.write_text("1\tu\ti\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"train, line 1: expected 8 tab-separated columns .* found 3"
    ):
        build_vocabs(bad, tmp_path / "u", tmp_path / "i", tmp_path / "c")
    bad.write_text("1\tu\ti\tc\t1\ta,b\tx\t1,2\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match="line 1: item history has 2 entries but category history has 1"
    ):
        build_vocabs(bad, tmp_path / "u", tmp_path / "i", tmp_path / "c")
    with pytest.raises(FileNotFoundError, match="training file .*nope does not exist"):
        build_vocabs(tmp_path / "nope", tmp_path / "u", tmp_path / "i", tmp_path / "c")
    assert not (tmp_path / "u").exists()


def test_load_vocab_checks(tmp_path):
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps({"a": 0, "b": 1}))
    assert load_vocab(good, "item") == {"a": 0, "b": 1}
    with pytest.raises(FileNotFoundError, match="item vocab file .*missing.pkl does not exist"):
        load_vocab(tmp_path / "missing.pkl", "item")
    lst = tmp_path / "list.pkl"
    lst.write_bytes(pickle.dumps(["a"]))
    with pytest.raises(
        ValueError, match="user vocab file .*list.pkl: expected a pickled dict .* found list"
    ):
        load_vocab(lst, "user")
    flt = tmp_path / "float.pkl"
    flt.write_bytes(pickle.dumps({"a": 0, "b": 1.5}))
    with pytest.raises(
        ValueError, match=r"key 'b' maps to 1.5 \(float\); expected an integer index"
    ):
        load_vocab(flt, "category")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="is not a readable pickle"):
        load_vocab(junk, "item")
