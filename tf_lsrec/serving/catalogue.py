"""The item catalogue scored by the ``recommend`` signature: every vocab item and its category.

A sequential model scores ``(user history, target item, target category)``, so recommending over
the full catalogue needs the category of each item. Vocab pickles only map ids to indices; the
item -> category relation is read from the training file (targets and histories), the same file
the vocabs were built from. Each item gets its most frequent category (ties: the smallest
category id, so the choice does not depend on batching). Items of the vocab that never appear in
the file (e.g. vocabs built elsewhere) get the unknown category (index 0, as in training) and are
**counted** in ``Catalogue.missing_category``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import tensorflow as tf

from tf_lsrec.data.vocab import DEFAULT_ITEM
from tf_lsrec.io.lookup import load_vocab
from tf_lsrec.io.pipeline import parse_lines

_BATCH_LINES = 4096
_SEP = "\x1f"  # joins item and category ids into one pair key (never inside a tab file field)


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """Raw ids of the recommendable items (vocab order, the reserved ``default_mid`` excluded).

    ``items``: ``C`` item ids; ``categories``: their ``C`` category ids (``""`` = unknown);
    ``missing_category``: how many items had no category in the source (mapped to unknown);
    ``source``: where the item -> category relation came from.
    """

    items: tuple[str, ...]
    categories: tuple[str, ...]
    missing_category: int
    source: str

    def __len__(self) -> int:
        return len(self.items)


def item_category_counts(train_file: str | os.PathLike) -> dict[str, dict[str, int]]:
    """``item -> {category: occurrences}`` over targets and histories of an 8-column file.

    Parsed in batches with the training parser (``tf_lsrec.io.pipeline.parse_lines``).
    """
    path = os.fspath(train_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"training file {path} (hparams `train_file`) does not exist; the recommend "
            "signature needs it for the item -> category map (or pass item_categories=)"
        )
    counts: dict[str, dict[str, int]] = {}
    ds = tf.data.TextLineDataset(path).batch(_BATCH_LINES)
    for lines in ds:
        raw = parse_lines(lines)
        items = tf.concat([raw["items"], raw["item_history"].flat_values], 0)
        cates = tf.concat([raw["cates"], raw["cate_history"].flat_values], 0)
        n_hist_i = raw["item_history"].row_lengths()
        n_hist_c = raw["cate_history"].row_lengths()
        bad = tf.where(tf.not_equal(n_hist_i, n_hist_c))
        if tf.size(bad) > 0:
            raise ValueError(
                f"{path}: a line has {int(tf.gather_nd(n_hist_i, bad[0]))} history items but "
                f"{int(tf.gather_nd(n_hist_c, bad[0]))} history categories (columns 6 and 7 "
                "must have the same number of comma-separated entries)"
            )
        pairs, _, n = tf.unique_with_counts(tf.strings.join([items, cates], separator=_SEP))
        for pair, c in zip(pairs.numpy().tolist(), n.numpy().tolist()):
            item, cate = pair.decode("utf-8").split(_SEP, 1)
            per_item = counts.setdefault(item, {})
            per_item[cate] = per_item.get(cate, 0) + int(c)
    return counts


def _most_frequent(cates: Mapping[str, int]) -> str:
    """The most frequent category; ties go to the smallest id (deterministic)."""
    return min(cates.items(), key=lambda cn: (-cn[1], cn[0]))[0]


def catalogue_from_vocab(
    item_vocab: Mapping[str, int],
    item_categories: Mapping[str, str],
    source: str,
) -> Catalogue:
    """Catalogue of every key of ``item_vocab`` except ``default_mid``, in index order."""
    keys = sorted((k for k in item_vocab if k != DEFAULT_ITEM), key=lambda k: item_vocab[k])
    if not keys:
        raise ValueError(f"item vocab has no item besides {DEFAULT_ITEM!r}; nothing to recommend")
    cates, missing = [], 0
    for k in keys:
        c = item_categories.get(k)
        if c is None:
            missing += 1
            c = ""
        cates.append(c)
    return Catalogue(tuple(keys), tuple(cates), missing, source)


def build_catalogue(
    hparams, item_categories: Mapping[str, str] | None = None, data_paths=None
) -> Catalogue:
    """The catalogue of a model: items of ``item_vocab`` with categories from
    ``item_categories`` when given, else from ``train_file`` (both from ``data_paths`` when
    given, else from ``hparams``)."""
    paths = data_paths.as_hparams() if data_paths is not None else hparams
    if not paths.get("item_vocab"):
        raise ValueError("export needs hparams `item_vocab` (section `data`) for the catalogue")
    vocab = load_vocab(paths.get("item_vocab"), "item")
    if item_categories is not None:
        return catalogue_from_vocab(vocab, item_categories, "item_categories argument")
    train_file = paths.get("train_file")
    if not train_file:
        raise ValueError(
            "export needs hparams `train_file` (section `data`) for the item -> category map "
            "of the recommend signature, or an explicit item_categories= mapping"
        )
    return catalogue_from_file(vocab, train_file)


def catalogue_from_file(item_vocab: Mapping[str, int], train_file: str | os.PathLike) -> Catalogue:
    """Catalogue of ``item_vocab`` (``catalogue_from_vocab``), each item with its most frequent
    category in ``train_file`` (targets and histories)."""
    counts = item_category_counts(train_file)
    mapping = {item: _most_frequent(c) for item, c in counts.items()}
    return catalogue_from_vocab(item_vocab, mapping, os.fspath(train_file))
