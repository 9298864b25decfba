"""Vocab files without code execution: a restricted unpickler and a JSON alternative.

Microsoft's vocab files are pickles, and ``pickle.load`` runs whatever a ``__reduce__`` payload
names (``os.system``, ...). :func:`load_plain_pickle` reads them through an unpickler that admits
only the plain values a vocab holds (dict, list, tuple, str, bytes, int, float, bool, None) and
refuses every global (class or function reference) with an error naming the file. Pickles of
plain values contain no globals, so every vocab the reference or this library writes loads
unchanged. NumPy integers (``numpy.int64`` keys or values) are a global and are refused too; the
error says to convert the file (``tools/vocab_to_json.py``).

:func:`load_vocab_file` reads either format: ``*.json`` files (an object ``{"raw id": index}``)
with ``json``, anything else with the restricted unpickler. :func:`write_vocab_json` writes the
JSON form atomically.
"""

from __future__ import annotations

import io
import json
import os
import pickle

from tf_lsrec.utils.files import atomic_write_text

__all__ = [
    "UnsafePickleError",
    "load_plain_pickle",
    "load_vocab_file",
    "is_json_vocab",
    "write_vocab_json",
]


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a class or function (a global); loading it could run code."""


class _PlainUnpickler(pickle.Unpickler):
    """Unpickler whose ``find_class`` refuses everything: only plain built-in values load.

    Dicts, lists, tuples, sets, str, bytes, int, float, bool and None have their own opcodes and
    never go through ``find_class``; anything else (including ``__reduce__`` payloads and
    persistent ids) does, and is refused.
    """

    def __init__(self, file, path: str):
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str):
        raise UnsafePickleError(
            f"{self._path}: the pickle references {module}.{name}; a vocab pickle may hold only "
            "plain values (dict, str, int, float), and loading a class or function could run "
            "code, so the file is refused. If you trust it, convert it to JSON "
            "(tools/vocab_to_json.py) after checking its contents"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"{self._path}: the pickle uses persistent id {pid!r}; a vocab pickle may hold only "
            "plain values (dict, str, int, float)"
        )


def load_plain_pickle(path: str | os.PathLike):
    """Unpickle ``path`` admitting only plain built-in values.

    Raises:
        UnsafePickleError: the pickle references a class or function (the message names the
            file and the global).
        pickle.UnpicklingError, EOFError, ...: the file is not a valid pickle.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    return _PlainUnpickler(io.BytesIO(data), path).load()


def is_json_vocab(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a JSON vocab (by its ``.json`` suffix)."""
    return os.fspath(path).lower().endswith(".json")


def load_vocab_file(path: str | os.PathLike):
    """Read a vocab file: JSON for ``*.json``, the restricted unpickler otherwise.

    Returns whatever the file holds; the caller checks it is a ``dict[str, int]``.
    """
    path = os.fspath(path)
    if is_json_vocab(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return load_plain_pickle(path)


def write_vocab_json(path: str | os.PathLike, vocab: dict) -> None:
    """Write ``vocab`` (raw id -> index) as a JSON object, atomically, keys in index order."""
    ordered = dict(sorted(((str(k), int(v)) for k, v in vocab.items()), key=lambda kv: kv[1]))
    atomic_write_text(path, json.dumps(ordered, ensure_ascii=False, indent=0) + "\n")
