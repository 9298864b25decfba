"""Vocabularies and the item catalogue as SavedModel ``assets/`` text files.

A graph constant holding a vocabulary makes ``saved_model.pb`` (and its load time) grow with the
number of ids; TF Serving and TFX instead ship such tables as asset files that ``tf.lookup``
initializers read when the model is loaded. The export writes::

    assets/user_vocab.txt   assets/item_vocab.txt   assets/cate_vocab.txt   raw id <TAB> index
    assets/catalogue.txt                                                   item <TAB> category

(one line each, UTF-8; the catalogue in ``recommend`` order, its line number is the position).
``tf.saved_model.save`` copies the files into ``assets/`` and the loaded model reads them from
there, so a version directory stays self-contained and relocatable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import tensorflow as tf

from tf_lsrec.io.lookup import UNKNOWN_INDEX, IndexLookups, _check_vocab
from tf_lsrec.serving.catalogue import Catalogue

VOCAB_FILES = {"user": "user_vocab.txt", "item": "item_vocab.txt", "cate": "cate_vocab.txt"}
CATALOGUE_FILE = "catalogue.txt"


def _check_field(value: str, what: str) -> str:
    if "\t" in value or "\n" in value or "\r" in value:
        raise ValueError(
            f"{what} {value!r} contains a tab or a line break, which the assets/ text files "
            "(one `id<TAB>value` line per entry) cannot hold; rename the id in the data"
        )
    return value


def write_vocab_file(path: str, vocab: Mapping, kind: str) -> str:
    """``raw id <TAB> index`` lines of one vocab dict; returns ``path``."""
    keys, values = _check_vocab(vocab, f"{kind} vocab")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for k, v in zip(keys, values):
            f.write(f"{_check_field(k, f'{kind} id')}\t{v}\n")
    return path


def write_catalogue_file(path: str, catalogue: Catalogue) -> str:
    """``item <TAB> category`` lines in catalogue order; returns ``path``."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for item, cate in zip(catalogue.items, catalogue.categories):
            f.write(f"{_check_field(item, 'item id')}\t{_check_field(cate, 'category id')}\n")
    return path


def _table(path: str, key_index: int, key_dtype, value_index: int, value_dtype, default):
    init = tf.lookup.TextFileInitializer(
        tf.saved_model.Asset(path),
        key_dtype=key_dtype,
        key_index=key_index,
        value_dtype=value_dtype,
        value_index=value_index,
        delimiter="\t",
    )
    return tf.lookup.StaticHashTable(init, default_value=default)


class AssetVocabLookup(IndexLookups, tf.Module):
    """The ``VocabLookup`` interface (``users`` / ``items`` / ``cates``: raw string ids of any
    shape or ragged -> int32 indices, unknown -> 0) over vocab asset files."""

    def __init__(self, paths: Mapping[str, str], name: str = "asset_vocab_lookup"):
        super().__init__(name=name)
        tables = {
            kind: _table(
                paths[kind], 0, tf.string, 1, tf.int64, tf.constant(UNKNOWN_INDEX, tf.int64)
            )
            for kind in VOCAB_FILES
        }
        self.user_table = tables["user"]
        self.item_table = tables["item"]
        self.cate_table = tables["cate"]

    @staticmethod
    def _lookup(table, ids):
        def one(x):
            return tf.cast(table.lookup(x), tf.int32)

        if isinstance(ids, tf.RaggedTensor):
            return tf.ragged.map_flat_values(one, ids)
        return one(tf.convert_to_tensor(ids, tf.string))


class AssetCatalogue(tf.Module):
    """The catalogue file as two tables: ``position(items)`` (item id -> line, -1 when absent)
    and ``items_at(positions)`` (line -> item id)."""

    def __init__(self, path: str, name: str = "asset_catalogue"):
        super().__init__(name=name)
        line = tf.lookup.TextFileIndex.LINE_NUMBER
        self.position_table = _table(path, 0, tf.string, line, tf.int64, tf.constant(-1, tf.int64))
        self.item_table = _table(path, line, tf.int64, 0, tf.string, tf.constant("", tf.string))

    def position(self, items: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.position_table.lookup(items), tf.int32)

    def items_at(self, positions: tf.Tensor) -> tf.Tensor:
        return self.item_table.lookup(tf.cast(positions, tf.int64))


def write_assets(directory: str, vocabs: Mapping[str, Mapping], catalogue: Catalogue) -> dict:
    """Write the four asset files into ``directory``; returns ``{"user"|"item"|"cate"|
    "catalogue": path}``."""
    os.makedirs(directory, exist_ok=True)
    paths = {
        kind: write_vocab_file(os.path.join(directory, fname), vocabs[kind], kind)
        for kind, fname in VOCAB_FILES.items()
    }
    paths["catalogue"] = write_catalogue_file(os.path.join(directory, CATALOGUE_FILE), catalogue)
    return paths
