"""The item catalogue as model inputs: vocab indices of its items and their categories.

Full-catalogue ranking (``tf_lsrec.models.ranking_eval``) scores every catalogue item;
``train_negatives: uniform`` (``tf_lsrec.io.pipeline``) draws training negatives from it. The
catalogue's raw ids come from ``tf_lsrec.serving.catalogue``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class CatalogueIndex:
    """A catalogue as model inputs.

    ``items``/``cates``: int32 ``[n]`` vocab indices in catalogue order; ``position``: int64
    ``[item vocab size]``, the catalogue position of each item index (-1: not in it).
    """

    items: np.ndarray
    cates: np.ndarray
    position: np.ndarray

    def __len__(self) -> int:
        return int(self.items.shape[0])

    @classmethod
    def from_indices(cls, items, cates, item_vocab_size: int) -> CatalogueIndex:
        items = np.asarray(items, np.int32).reshape(-1)
        cates = np.asarray(cates, np.int32).reshape(-1)
        if items.shape != cates.shape or items.size == 0:
            raise ValueError(
                f"catalogue: {items.size} items and {cates.size} categories; "
                "expected the same positive number"
            )
        if len(np.unique(items)) != items.size:
            raise ValueError("catalogue: an item index appears twice")
        if items.min() < 0 or items.max() >= item_vocab_size:
            raise ValueError(f"catalogue: item indices outside [0, {item_vocab_size})")
        position = np.full(item_vocab_size, -1, np.int64)
        position[items] = np.arange(items.size)
        return cls(items, cates, position)

    @classmethod
    def from_catalogue(cls, catalogue, lookup, item_vocab_size: int) -> CatalogueIndex:
        """From a ``tf_lsrec.serving.catalogue.Catalogue`` (raw ids) and a ``VocabLookup``."""
        items = lookup.items(tf.constant(list(catalogue.items), tf.string)).numpy()
        cates = lookup.cates(tf.constant(list(catalogue.categories), tf.string)).numpy()
        return cls.from_indices(items, cates, item_vocab_size)
