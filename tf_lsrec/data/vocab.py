"""The three vocab pickles (docs/reference.md §1.2): raw id string -> contiguous integer index.

Conventions (counted from the **training file only**):

* each training line counts its user once, its target item and target category once, and every
  history item / history category once per occurrence;
* keys are ranked by count, descending; ties keep first-insertion order (the order in which the
  reference's per-line loop first meets a key: user, target item, target category, then the
  history items / categories left to right);
* items: ``"default_mid"`` -> 0, real items 1, 2, ...; categories: ``"default_cat"`` -> 0, real
  categories 1, 2, ...;
* users: Microsoft Recommenders has no default key (the most frequent user gets 0, and unknown
  users share that row); ``user_default=True`` gives the official CLSR convention
  ``"default_uid"`` -> 0, users from 1.

Deliberate fix of the reference's ``default_cat`` collision (§1.2 QUIRK): when a raw key equals
its kind's default key (``default_cat`` for categories, ``default_mid`` for items,
``default_uid`` when ``user_default``), it keeps the reserved index 0 and is **not** re-ranked.
The reference would give it a rank index >= 1, leaving index 0 unused and index ``len(d)`` out
of range. With the fix, indices are always ``0..len(d)-1`` and ``vocab_size(d) == len(d)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from tf_lsrec.data.safe_pickle import (
    UnsafePickleError,
    is_json_vocab,
    load_vocab_file,
    write_vocab_json,
)
from tf_lsrec.utils.files import atomic_pickle

DEFAULT_USER = "default_uid"
DEFAULT_ITEM = "default_mid"
DEFAULT_CATE = "default_cat"
KINDS = ("user", "item", "category")


def rank_vocab(
    keys: Sequence[str], counts: Sequence[float] | np.ndarray, default_key: str | None
) -> dict[str, int]:
    """Index ``keys`` by count, descending, ties in the given (first-insertion) order.

    Args:
        keys: distinct raw ids in first-insertion order, length ``K``.
        counts: occurrence counts aligned with ``keys``, shape ``[K]``.
        default_key: reserved key mapped to 0 (ranked keys then start at 1), or ``None`` for
            no reserved key (ranked keys start at 0). A raw key equal to ``default_key`` is not
            ranked: it keeps index 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if len(keys) != len(counts):
        raise ValueError(f"rank_vocab: {len(keys)} keys but {len(counts)} counts")
    order = np.argsort(-counts, kind="stable")
    vocab: dict[str, int] = {}
    if default_key is not None:
        vocab[default_key] = 0
    index = len(vocab)
    for i in order.tolist():
        key = keys[i]
        if key == default_key:
            continue
        vocab[key] = index
        index += 1
    return vocab


def _defaults(user_default: bool) -> tuple[str | None, str, str]:
    return (DEFAULT_USER if user_default else None), DEFAULT_ITEM, DEFAULT_CATE


def count_train_file(train_file: str | os.PathLike) -> tuple[dict, dict, dict]:
    """Count users / items / categories of an 8-column training file (insertion-ordered dicts).

    Raises ``ValueError`` naming the file and line for a line without 8 tab-separated columns or
    with item and category histories of different lengths.
    """
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    cates: dict[str, int] = {}
    path = os.fspath(train_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"training file {path} does not exist")
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 8:
                raise ValueError(
                    f"{path}, line {lineno}: expected 8 tab-separated columns "
                    f"(label, user, item, category, timestamp, item history, category history, "
                    f"time history), found {len(cols)}"
                )
            _, user, item, cate, _, item_hist, cate_hist, _ = cols
            users[user] = users.get(user, 0) + 1
            items[item] = items.get(item, 0) + 1
            cates[cate] = cates.get(cate, 0) + 1
            if not item_hist:
                continue
            ih = item_hist.split(",")
            ch = cate_hist.split(",")
            if len(ih) != len(ch):
                raise ValueError(
                    f"{path}, line {lineno}: item history has {len(ih)} entries but category "
                    f"history has {len(ch)}; they must be aligned 1:1"
                )
            for k in ih:
                items[k] = items.get(k, 0) + 1
            for k in ch:
                cates[k] = cates.get(k, 0) + 1
    return users, items, cates


def vocabs_from_counts(
    users: dict[str, int], items: dict[str, int], cates: dict[str, int], user_default: bool = False
) -> tuple[dict, dict, dict]:
    """Rank three insertion-ordered count dicts into (user, item, category) vocabs."""
    du, di, dc = _defaults(user_default)
    return (
        rank_vocab(list(users), list(users.values()), du),
        rank_vocab(list(items), list(items.values()), di),
        rank_vocab(list(cates), list(cates.values()), dc),
    )


def save_vocabs(
    vocabs: tuple[dict, dict, dict],
    user_vocab_path: str | os.PathLike,
    item_vocab_path: str | os.PathLike,
    cate_vocab_path: str | os.PathLike,
) -> None:
    """Pickle the three vocab dicts, each atomically (temporary file + rename); a path ending
    in ``.json`` gets the JSON form instead (``tf_lsrec.data.safe_pickle``)."""
    for vocab, path in zip(vocabs, (user_vocab_path, item_vocab_path, cate_vocab_path)):
        if is_json_vocab(path):
            write_vocab_json(path, vocab)
        else:
            atomic_pickle(path, vocab)


def build_vocabs(
    train_file: str | os.PathLike,
    user_vocab_path: str | os.PathLike,
    item_vocab_path: str | os.PathLike,
    cate_vocab_path: str | os.PathLike,
    user_default: bool = False,
) -> tuple[dict, dict, dict]:
    """Build the (user, item, category) vocabs from ``train_file`` and pickle them atomically.

    Conventions and the ``default_cat`` fix are in the module docstring. Streams the file once
    (one Python step per line and per history token).

    Returns:
        ``(user_vocab, item_vocab, cate_vocab)``, each ``dict[str, int]``.
    """
    vocabs = vocabs_from_counts(*count_train_file(train_file), user_default=user_default)
    save_vocabs(vocabs, user_vocab_path, item_vocab_path, cate_vocab_path)
    return vocabs


def load_vocab(path: str | os.PathLike, kind: str) -> dict:
    """Load one vocab pickle (restricted unpickler: plain values only) or ``*.json`` vocab,
    checking it is a ``dict`` of ``str -> int``.

    Args:
        path: the pickle file.
        kind: ``"user"``, ``"item"`` or ``"category"`` (used in error messages).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{kind} vocab file {path} does not exist")
    try:
        vocab = load_vocab_file(path)  # restricted unpickler (no code runs), or JSON
    except UnsafePickleError as e:
        raise ValueError(f"{kind} vocab file {e}") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure is reported the same way
        raise ValueError(f"{kind} vocab file {path} is not a readable pickle: {e}") from e
    if not isinstance(vocab, dict):
        raise ValueError(
            f"{kind} vocab file {path}: expected a pickled dict raw id -> index, "
            f"found {type(vocab).__name__}"
        )
    for key, value in vocab.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(
                f"{kind} vocab file {path}: key {key!r} maps to {value!r} "
                f"({type(value).__name__}); expected an integer index"
            )
        if value < 0:
            raise ValueError(f"{kind} vocab file {path}: key {key!r} has negative index {value}")
    return vocab


def vocab_size(vocab: dict) -> int:
    """Rows an embedding table needs for ``vocab``: ``max(index) + 1`` (0 for an empty dict)."""
    return int(max(vocab.values())) + 1 if vocab else 0
