"""Raw id strings -> embedding indices, in the graph (docs/reference.md §1.2).

Three ``tf.lookup.StaticHashTable`` (string -> int32) built from the Microsoft vocab pickles.
Unknown ids map to 0, as Microsoft's iterator does. Tables are tracked resources of a
``tf.Module``, so a ``VocabLookup`` attached to a model or a serving module is saved with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import tensorflow as tf

from tf_lsrec.data.safe_pickle import UnsafePickleError, load_vocab_file

UNKNOWN_INDEX = 0
_KINDS = ("user", "item", "cate")


class VocabFileError(ValueError):
    """A vocab pickle is missing or does not hold a ``dict[str, int]``."""


def _check_vocab(vocab: Mapping, what: str) -> tuple[list[str], list[int]]:
    if not isinstance(vocab, Mapping):
        raise VocabFileError(
            f"{what}: expected a dict mapping raw id (str) -> index (int), got {type(vocab).__name__}"
        )
    keys, values = [], []
    for k, v in vocab.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise VocabFileError(
                f"{what}: key {k!r} maps to {v!r}; expected a non-negative integer index"
            )
        keys.append(k if isinstance(k, str) else str(k))
        values.append(v)
    if values and max(values) >= 2**31:
        raise VocabFileError(f"{what}: index {max(values)} does not fit int32")
    return keys, values


def load_vocab(path: str | os.PathLike, kind: str = "vocab") -> dict:
    """Load one pickled vocab dict, with a clear error when the file is missing or wrong."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise VocabFileError(
            f"{kind} vocab file {path} does not exist; expected a pickled dict raw id -> index "
            "(built from the training file, e.g. by tools/prepare_data.py)"
        )
    try:
        vocab = load_vocab_file(path)  # restricted unpickler (no code runs), or JSON
    except UnsafePickleError as e:
        raise VocabFileError(f"{kind} vocab file {e}") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a wrong file
        raise VocabFileError(
            f"{kind} vocab file {path} is not a readable pickle or JSON vocab "
            f"({type(e).__name__}: {e}); expected a pickled dict raw id -> index"
        ) from None
    _check_vocab(vocab, f"{kind} vocab file {path}")
    return vocab


class IndexLookups:
    """``users`` / ``items`` / ``cates``: raw string ids (any shape, or ragged) -> int32 indices
    of the same shape (unknown -> 0), over ``user_table`` / ``item_table`` / ``cate_table``.
    The class using it defines the tables and ``_lookup(table, ids)``."""

    def users(self, ids) -> tf.Tensor:
        """User indices, int32, same shape as ``ids`` (unknown -> 0)."""
        return self._lookup(self.user_table, ids)

    def items(self, ids) -> tf.Tensor:
        """Item indices, int32, same shape as ``ids`` (unknown -> 0)."""
        return self._lookup(self.item_table, ids)

    def cates(self, ids) -> tf.Tensor:
        """Category indices, int32, same shape as ``ids`` (unknown -> 0)."""
        return self._lookup(self.cate_table, ids)


class VocabLookup(IndexLookups, tf.Module):
    """User / item / category lookups: string tensors of any shape (or ragged) -> int32 indices.

    ``sizes`` gives the embedding table sizes, ``max(index) + 1`` for each vocab (so that the
    Amazon category collision of §1.2, where indices run 1..M for M keys, still fits).
    """

    def __init__(
        self,
        user_vocab: Mapping,
        item_vocab: Mapping,
        cate_vocab: Mapping,
        name: str = "vocab_lookup",
    ):
        super().__init__(name=name)
        self._sizes: dict[str, int] = {}
        self._lengths: dict[str, int] = {}
        self._key_sets: dict[str, frozenset] = {}
        tables = {}
        for kind, vocab in zip(_KINDS, (user_vocab, item_vocab, cate_vocab)):
            keys, values = _check_vocab(vocab, f"{kind} vocab")
            self._sizes[kind] = (max(values) + 1) if values else 1
            self._lengths[kind] = len(keys)
            self._key_sets[kind] = frozenset(keys)
            if keys:
                init = tf.lookup.KeyValueTensorInitializer(
                    tf.constant(keys, tf.string), tf.constant(values, tf.int32)
                )
            else:  # an empty table: everything is unknown
                init = tf.lookup.KeyValueTensorInitializer(
                    tf.constant([""], tf.string), tf.constant([UNKNOWN_INDEX], tf.int32)
                )
            tables[kind] = tf.lookup.StaticHashTable(init, default_value=UNKNOWN_INDEX)
        self.user_table = tables["user"]
        self.item_table = tables["item"]
        self.cate_table = tables["cate"]

    @classmethod
    def from_files(
        cls,
        user_path: str | os.PathLike,
        item_path: str | os.PathLike,
        cate_path: str | os.PathLike,
    ) -> VocabLookup:
        """Build from the three Microsoft vocab pickles."""
        return cls(
            load_vocab(user_path, "user"),
            load_vocab(item_path, "item"),
            load_vocab(cate_path, "category"),
        )

    @property
    def sizes(self) -> dict[str, int]:
        """Embedding table sizes: ``dict(user=, item=, cate=)``, each ``max(index) + 1``."""
        return dict(self._sizes)

    @property
    def key_sets(self) -> dict[str, frozenset]:
        """The raw ids of each vocab (for counting unknown ids outside the graph)."""
        return dict(self._key_sets)

    def vocab(self, kind: str) -> dict[str, int]:
        """The ``kind`` (``user`` / ``item`` / ``cate``) vocab as ``raw id -> index``, read back
        from its lookup table (so it is the vocab the model uses, wherever it was loaded from)."""
        if kind not in _KINDS:
            raise ValueError(f"vocab kind {kind!r}; expected one of {list(_KINDS)}")
        if not self._lengths[kind]:
            return {}
        keys, values = getattr(self, f"{kind}_table").export()
        return dict(zip((k.decode() for k in keys.numpy()), values.numpy().tolist()))

    @staticmethod
    def _lookup(table: tf.lookup.StaticHashTable, ids):
        if isinstance(ids, tf.RaggedTensor):
            return tf.ragged.map_flat_values(table.lookup, ids)
        return table.lookup(tf.convert_to_tensor(ids, tf.string))
