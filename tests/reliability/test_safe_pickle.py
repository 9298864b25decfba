"""Vocab pickles are read without running code; JSON vocabs are an alternative (issue 21)."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from tf_lsrec.data.safe_pickle import (
    UnsafePickleError,
    load_plain_pickle,
    load_vocab_file,
    write_vocab_json,
)
from tf_lsrec.data.vocab import build_vocabs
from tf_lsrec.data.vocab import load_vocab as data_load_vocab
from tf_lsrec.io.lookup import VocabFileError, VocabLookup
from tf_lsrec.io.lookup import load_vocab as io_load_vocab

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "tools")


class _Payload:
    """Unpickling this object creates a marker file (stands in for ``os.system``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _hostile(tmp_path, vocab_is_dict=True):
    marker = tmp_path / "pwned"
    payload = {"default_mid": 0, "a": _Payload(marker)} if vocab_is_dict else _Payload(marker)
    path = tmp_path / "item_vocab.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    return path, marker


@pytest.mark.parametrize("loader", [io_load_vocab, data_load_vocab])
@pytest.mark.parametrize("as_dict", [True, False])
def test_reduce_payload_is_refused_and_never_runs(tmp_path, loader, as_dict):
    path, marker = _hostile(tmp_path, as_dict)
    with pytest.raises(ValueError) as e:
        loader(path, "item")
    assert str(path) in str(e.value)
    assert "builtins.open" in str(e.value) or "io.open" in str(e.value)
    assert not marker.exists()


def test_plain_pickles_of_every_protocol_load(tmp_path):
    vocab = {"default_mid": 0, "b": 1, "é": 2, "x" * 300: 3}
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"v{protocol}.pkl"
        path.write_bytes(pickle.dumps(vocab, protocol=protocol))
        assert io_load_vocab(path, "item") == vocab
    # nested plain values (lists, tuples, floats, None, bool) are admitted by the unpickler
    path = tmp_path / "plain.pkl"
    obj = {"a": [1, 2.5, None, True, ("t", b"b")]}
    path.write_bytes(pickle.dumps(obj, protocol=4))
    assert load_plain_pickle(path) == obj


def test_numpy_integers_are_refused_with_a_hint(tmp_path):
    path = tmp_path / "np.pkl"
    path.write_bytes(pickle.dumps({"a": np.int64(1)}))
    with pytest.raises(UnsafePickleError, match="numpy") as e:
        load_plain_pickle(path)
    assert "vocab_to_json" in str(e.value)


def test_json_vocab_round_trip_and_lookup(tmp_path):
    vocab = {"default_mid": 0, "b": 2, "a": 1}
    write_vocab_json(tmp_path / "item.json", vocab)
    assert json.loads((tmp_path / "item.json").read_text()) == vocab
    assert load_vocab_file(tmp_path / "item.json") == vocab
    assert io_load_vocab(tmp_path / "item.json", "item") == vocab
    write_vocab_json(tmp_path / "user.json", {"u": 0})
    write_vocab_json(tmp_path / "cate.json", {"default_cat": 0, "c": 1})
    lookup = VocabLookup.from_files(
        tmp_path / "user.json", tmp_path / "item.json", tmp_path / "cate.json"
    )
    assert lookup.sizes["item"] == 3


def test_bad_json_vocab_names_the_file(tmp_path):
    path = tmp_path / "item.json"
    path.write_text('{"a": "one"}')
    with pytest.raises(VocabFileError, match="item.json"):
        io_load_vocab(path, "item")
    path.write_text("{not json")
    with pytest.raises(VocabFileError, match="item.json"):
        io_load_vocab(path, "item")


def test_build_vocabs_writes_json_for_json_paths(tmp_path):
    train = tmp_path / "train"
    train.write_text("1\tu1\tb\tx\t5\ta\ty\t1\n")
    vocabs = build_vocabs(train, tmp_path / "u.json", tmp_path / "i.json", tmp_path / "c.pkl")
    assert json.loads((tmp_path / "i.json").read_text()) == vocabs[1]
    assert io_load_vocab(tmp_path / "c.pkl", "category") == vocabs[2]


def test_vocab_to_json_tool(tmp_path):
    path = tmp_path / "item_vocab.pkl"
    path.write_bytes(pickle.dumps({"default_mid": 0, "a": 1}))
    (tmp_path / "h").mkdir()
    hostile, marker = _hostile(tmp_path / "h")
    tool = os.path.join(TOOLS, "vocab_to_json.py")
    out = subprocess.run([sys.executable, tool, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "item_vocab.json").read_text()) == {"default_mid": 0, "a": 1}
    out = subprocess.run([sys.executable, tool, str(hostile)], capture_output=True, text=True)
    assert out.returncode != 0 and str(hostile) in out.stderr
    assert not marker.exists()
