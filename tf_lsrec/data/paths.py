"""Where a prepared dataset lives: the three 8-column files and the three vocab pickles."""

from __future__ import annotations

import dataclasses
import os

TRAIN_NAME = "train_data"
VALID_NAME = "valid_data"
TEST_NAME = "test_data"
USER_VOCAB_NAME = "user_vocab.pkl"
ITEM_VOCAB_NAME = "item_vocab.pkl"
CATE_VOCAB_NAME = "category_vocab.pkl"


@dataclasses.dataclass(frozen=True)
class DataPaths:
    """Paths of a prepared dataset (Microsoft deeprec layout).

    ``as_hparams()`` gives the same paths under the YAML ``data`` keys, ready to pass as
    keyword overrides to ``prepare_hparams``.
    """

    train_file: str
    valid_file: str
    test_file: str
    user_vocab: str
    item_vocab: str
    cate_vocab: str

    @classmethod
    def in_directory(cls, directory: str | os.PathLike) -> DataPaths:
        """The standard file names inside ``directory`` (files need not exist yet)."""
        d = os.fspath(directory)
        return cls(
            train_file=os.path.join(d, TRAIN_NAME),
            valid_file=os.path.join(d, VALID_NAME),
            test_file=os.path.join(d, TEST_NAME),
            user_vocab=os.path.join(d, USER_VOCAB_NAME),
            item_vocab=os.path.join(d, ITEM_VOCAB_NAME),
            cate_vocab=os.path.join(d, CATE_VOCAB_NAME),
        )

    def as_hparams(self) -> dict[str, str]:
        """``{"train_file": ..., "valid_file": ..., "test_file": ..., "user_vocab": ...,
        "item_vocab": ..., "cate_vocab": ...}``."""
        return dataclasses.asdict(self)

    def missing(self) -> list[str]:
        """Names of the fields whose file does not exist."""
        return [k for k, v in dataclasses.asdict(self).items() if not os.path.isfile(v)]
