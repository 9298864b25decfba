"""Item -> category map of the recommend catalogue, from a hand-written training file."""

from __future__ import annotations

import pickle

import pytest

from tf_lsrec.hparams import prepare_hparams
from tf_lsrec.serving.catalogue import build_catalogue, item_category_counts

LINES = [
    # label user item cate time  hist items  hist cates  hist times
    "1\tu1\ti1\tcA\t10\ti2,i3\tcB,cC\t1,2",
    "0\tu1\ti2\tcC\t10\ti2,i3\tcB,cC\t1,2",
    "1\tu2\ti3\tcC\t20\ti2\tcB\t5",
]


def write(tmp_path, lines, items):
    train = tmp_path / "train_data"
    train.write_text("\n".join(lines) + "\n")
    paths = {}
    for kind, vocab in [
        ("user", {"u1": 0, "u2": 1}),
        ("item", items),
        ("cate", {"default_cat": 0, "cA": 1, "cB": 2, "cC": 3}),
    ]:
        p = tmp_path / f"{kind}.pkl"
        p.write_bytes(pickle.dumps(vocab))
        paths[f"{kind}_vocab"] = str(p)
    return prepare_hparams(None, model_type="gru4rec", train_file=str(train), **paths)


def test_counts_cover_targets_and_histories(tmp_path):
    hp = write(tmp_path, LINES, {"default_mid": 0, "i1": 1, "i2": 2, "i3": 3})
    counts = item_category_counts(hp.train_file)
    # i2: cB x3 in histories, cC x1 as a target; i3: cC x2 in histories + x1 as a target
    assert counts == {"i1": {"cA": 1}, "i2": {"cB": 3, "cC": 1}, "i3": {"cC": 3}}


def test_catalogue_in_vocab_order_without_default_and_counts_missing(tmp_path):
    hp = write(tmp_path, LINES, {"default_mid": 0, "i3": 1, "i1": 2, "i9": 3, "i2": 4})
    cat = build_catalogue(hp)
    assert cat.items == ("i3", "i1", "i9", "i2")
    assert cat.categories == ("cC", "cA", "", "cB")  # i9 is in no line: unknown, counted
    assert cat.missing_category == 1


def test_explicit_mapping_and_tie_rule(tmp_path):
    hp = write(tmp_path, ["1\tu1\ti1\tcB\t10\ti1\tcA\t1"], {"default_mid": 0, "i1": 1})
    assert build_catalogue(hp).categories == ("cA",)  # tie 1-1: the smallest id wins
    assert build_catalogue(hp, {"i1": "cZ"}).categories == ("cZ",)


def test_clear_errors(tmp_path):
    hp = write(tmp_path, ["1\tu1\ti1\tcA\t10\ti1,i2\tcA\t1,2"], {"default_mid": 0, "i1": 1})
    with pytest.raises(ValueError, match="2 history items but 1 history categories"):
        build_catalogue(hp)
    hp.update(train_file=str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="train_file"):
        build_catalogue(hp)
