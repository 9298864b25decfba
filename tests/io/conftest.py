"""Tiny hand-written sequential files and vocabs for the input-layer tests."""

from __future__ import annotations

import pickle

import pytest

from tf_lsrec import prepare_hparams

USERS = {"u1": 0, "u2": 1, "u3": 2}  # Microsoft: no default user key
ITEMS = {"default_mid": 0, **{f"i{k}": k for k in range(1, 10)}}
CATES = {"default_cat": 0, "c1": 1, "c2": 2, "c3": 3}
DAY = 86_400


def cate_of(item: str) -> str:
    """Category of item ``i<k>`` in these tests: ``c<(k % 3) + 1>``."""
    digits = item[1:]
    return f"c{int(digits) % 3 + 1}" if digits.isdigit() else "c9"  # c9: not in the vocab


def line(label, user, item, t, hist, times, cate=None, hist_cates=None) -> str:
    cate = cate_of(item) if cate is None else cate
    hist_cates = [cate_of(x) for x in hist] if hist_cates is None else hist_cates
    return "\t".join(
        [
            str(label),
            user,
            item,
            cate,
            str(t),
            ",".join(hist),
            ",".join(hist_cates),
            ",".join(str(x) for x in times),
        ]  # fmt: skip
    )


@pytest.fixture
def vocab_files(tmp_path):
    paths = {}
    for name, vocab in (("user", USERS), ("item", ITEMS), ("cate", CATES)):
        paths[name] = str(tmp_path / f"{name}_vocab.pkl")
        with open(paths[name], "wb") as f:
            pickle.dump(vocab, f)
    return paths


@pytest.fixture
def make_hparams(vocab_files):
    def make(**kw):
        values = dict(
            model_type="sli_rec",
            user_vocab=vocab_files["user"],
            item_vocab=vocab_files["item"],
            cate_vocab=vocab_files["cate"],
            max_seq_length=4,
            batch_size=5,
            train_num_ngs=3,
            seed=7,
        )
        values.update(kw)
        return prepare_hparams(**values)

    return make


@pytest.fixture
def write(tmp_path):
    def write_file(name: str, lines: list[str], end: str = "\n") -> str:
        path = tmp_path / name
        path.write_text("".join(x + end for x in lines), encoding="utf-8")
        return str(path)

    return write_file


@pytest.fixture
def h():
    """Helpers: ``h.line(...)``, ``h.cate_of(item)``, the vocabs and ``h.DAY``."""
    import types

    return types.SimpleNamespace(
        line=line, cate_of=cate_of, USERS=USERS, ITEMS=ITEMS, CATES=CATES, DAY=DAY
    )
