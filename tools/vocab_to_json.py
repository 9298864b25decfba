"""Convert vocab pickles to the JSON vocab form (``{"raw id": index}``).

Examples:
    python tools/vocab_to_json.py user_vocab.pkl item_vocab.pkl category_vocab.pkl
    python tools/vocab_to_json.py --trust old_vocab_with_numpy_ints.pkl

Each ``X.pkl`` becomes ``X.json`` beside it (point ``user_vocab`` / ``item_vocab`` /
``cate_vocab`` in the YAML at the ``.json`` files). Pickles are read with the restricted
unpickler (plain values only) unless ``--trust`` is given: only use it on a file you trust, since
unpickling a hostile file runs code.
"""

# isort: off
import _bootstrap  # noqa: F401  (must come first: sys.path and legacy Keras)

# isort: on

import argparse
import os
import pickle
import sys

import numpy as np

from tf_lsrec.data.safe_pickle import load_plain_pickle, write_vocab_json


def convert(path: str, trust: bool = False) -> str:
    """Write ``path`` with a ``.json`` suffix (replacing ``.pkl`` / ``.pickle``); return it."""
    if trust:
        with open(path, "rb") as f:
            vocab = pickle.load(f)  # noqa: S301 - the user said the file is trusted
    else:
        vocab = load_plain_pickle(path)
    if not isinstance(vocab, dict):
        raise ValueError(f"{path}: expected a dict raw id -> index, found {type(vocab).__name__}")
    for key, value in vocab.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{path}: key {key!r} maps to {value!r}; expected an integer index")
    stem, ext = os.path.splitext(path)
    out = (stem if ext in (".pkl", ".pickle") else path) + ".json"
    write_vocab_json(out, vocab)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("pickles", nargs="+")
    p.add_argument("--trust", action="store_true", help="use plain pickle.load (runs code)")
    args = p.parse_args(argv)
    for path in args.pickles:
        print(convert(path, trust=args.trust))
    return 0


if __name__ == "__main__":
    sys.exit(main())
