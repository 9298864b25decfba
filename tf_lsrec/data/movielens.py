"""MovieLens-100k: obtain it into ``cache_dir()/ml-100k/`` and read it as interactions.

The data is never shipped with the library (its licence forbids redistribution). Sources, tried in
order; each failure is logged with its reason and the next source is tried:

1. a path the user gives (argument ``path`` or environment ``TF_LSREC_ML100K``): a directory
   holding ``u.data`` + ``u.item`` (GroupLens layout) or ``ml-100k.inter`` + ``ml-100k.item``
   (RecBole layout), or the GroupLens ``ml-100k.zip``; copied into the cache;
2. the cache itself, if it verifies (see below);
3. the GroupLens archive ``ML100K_URL`` (short timeout);
4. the RecBole wheel from PyPI (``pip download recbole==1.2.1 --no-deps``, not installed), whose
   ``recbole/dataset_example/ml-100k/ml-100k.inter`` / ``.item`` are extracted.

Verification: every obtained copy is parsed and must hold exactly 100,000 ratings of 943 users on
1,682 items, each rated item with a genre line; the SHA-256 of each cached file is recorded in
``checksums.json`` (written last) and re-checked on every use, so a corrupt or partial cache is
detected and replaced. RecBole files must in addition match the SHA-256 hard-coded below (computed
from the recbole 1.2.1 wheel). GroupLens files are verified by the format / count checks and the
recorded checksum only (their published archive could not be hashed when this was written).
Every fetch goes to a temporary directory that replaces the cache only once complete.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tf_lsrec.data.interactions import validate_interactions
from tf_lsrec.utils.files import atomic_write_text, cache_dir

log = logging.getLogger(__name__)

ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
PATH_ENV = "TF_LSREC_ML100K"
RECBOLE_VERSION = "1.2.1"
RECBOLE_MEMBER = "recbole/dataset_example/ml-100k/"
RECBOLE_SHA256 = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
}
FORMATS = {"grouplens": ("u.data", "u.item"), "recbole": ("ml-100k.inter", "ml-100k.item")}
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
N_RATINGS, N_USERS, N_ITEMS = 100_000, 943, 1682
CHECKSUMS_NAME = "checksums.json"


class SourceError(RuntimeError):
    """One source could not provide ml-100k (the message says why)."""


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ml100k_dir() -> Path:
    """``cache_dir()/ml-100k``."""
    return cache_dir() / "ml-100k"


# ------------------------------------------------------------------ parsing
def _detect_format(directory: str | os.PathLike) -> str:
    for fmt, names in FORMATS.items():
        if all(os.path.isfile(os.path.join(directory, n)) for n in names):
            return fmt
    raise SourceError(
        f"{directory}: expected u.data + u.item (GroupLens) or ml-100k.inter + ml-100k.item "
        f"(RecBole); found {sorted(os.listdir(directory)) if os.path.isdir(directory) else 'no directory'}"
    )


def _read_grouplens(directory: str) -> tuple[pd.DataFrame, dict[str, str]]:
    data = os.path.join(directory, "u.data")
    ratings = pd.read_csv(
        data, sep="\t", header=None, names=["user", "item", "rating", "timestamp"],
        dtype={"user": str, "item": str}, quoting=csv.QUOTE_NONE,
    )  # fmt: skip
    item_path = os.path.join(directory, "u.item")
    genres: dict[str, str] = {}
    with open(item_path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            cols = line.split("|")
            if len(cols) != 5 + len(GENRES):
                raise SourceError(
                    f"{item_path}, line {lineno}: expected {5 + len(GENRES)} '|'-separated fields "
                    f"(id, title, dates, URL, {len(GENRES)} genre flags), found {len(cols)}"
                )
            flags = cols[5:]
            first = next((g for g, v in zip(GENRES, flags) if v.strip() == "1"), "unknown")
            genres[cols[0]] = first
    return ratings, genres


def _read_recbole(directory: str) -> tuple[pd.DataFrame, dict[str, str]]:
    inter_path = os.path.join(directory, "ml-100k.inter")
    raw = pd.read_csv(inter_path, sep="\t", dtype=str, quoting=csv.QUOTE_NONE)
    expected = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
    if list(raw.columns) != expected:
        raise SourceError(f"{inter_path}: header {list(raw.columns)}, expected {expected}")
    ratings = raw.set_axis(["user", "item", "rating", "timestamp"], axis=1)
    item_path = os.path.join(directory, "ml-100k.item")
    items = pd.read_csv(
        item_path, sep="\t", dtype=str, quoting=csv.QUOTE_NONE, keep_default_na=False
    )
    for col in ("item_id:token", "class:token_seq"):
        if col not in items.columns:
            raise SourceError(f"{item_path}: column {col!r} missing (found {list(items.columns)})")
    first = items["class:token_seq"].str.split(" ").str[0].replace("", "unknown")
    return ratings, dict(zip(items["item_id:token"], first))


def _parse(directory: str) -> pd.DataFrame:
    fmt = _detect_format(directory)
    reader = _read_grouplens if fmt == "grouplens" else _read_recbole
    try:
        ratings, genres = reader(directory)
    except SourceError:
        raise
    except Exception as e:  # noqa: BLE001 - any parse failure means this copy is unusable
        raise SourceError(f"{directory} ({fmt} layout): cannot parse: {e}") from e
    missing = sorted(set(ratings["item"]) - set(genres))
    if missing:
        raise SourceError(
            f"{directory}: {len(missing)} rated item(s) have no genre line, e.g. {missing[:5]}"
        )
    df = pd.DataFrame(
        {
            "user": ratings["user"],
            "item": ratings["item"],
            "category": ratings["item"].map(genres),
            "timestamp": ratings["timestamp"],
        }
    )
    df = validate_interactions(
        df, source=os.path.join(directory, FORMATS[fmt][0]), header_lines=int(fmt == "recbole")
    )
    counts = (len(df), df["user"].nunique(), df["item"].nunique())
    if counts != (N_RATINGS, N_USERS, N_ITEMS):
        raise SourceError(
            f"{directory}: {counts[0]} ratings / {counts[1]} users / {counts[2]} items, expected "
            f"{N_RATINGS} / {N_USERS} / {N_ITEMS} (partial or different data)"
        )
    return df


# ------------------------------------------------------------------ cache
def verify_cache(directory: str | os.PathLike | None = None) -> tuple[bool, str]:
    """``(ok, reason)`` for the cached copy: recorded (and, for RecBole, known) SHA-256 match."""
    d = Path(directory) if directory is not None else ml100k_dir()
    record = d / CHECKSUMS_NAME
    if not record.is_file():
        return False, "absent" if not d.exists() or not any(d.iterdir()) else "no checksums.json"
    try:
        info = json.loads(record.read_text(encoding="utf-8"))
        fmt, files = info["format"], info["files"]
    except (ValueError, KeyError, TypeError) as e:
        return False, f"unreadable {CHECKSUMS_NAME}: {e}"
    if fmt not in FORMATS or set(files) != set(FORMATS[fmt]):
        return False, f"{CHECKSUMS_NAME} lists {sorted(files)} for format {fmt!r}"
    for name, digest in files.items():
        path = d / name
        if not path.is_file():
            return False, f"{name} missing"
        actual = sha256_file(path)
        if actual != digest:
            return False, f"{name}: SHA-256 {actual} != recorded {digest}"
        if fmt == "recbole" and actual != RECBOLE_SHA256[name]:
            return False, f"{name}: SHA-256 {actual} != known recbole {RECBOLE_VERSION} value"
    return True, f"{fmt} copy from {info.get('source', '?')}"


def _install(fill: Callable[[str], None], source: str, cache: Path) -> None:
    """Run ``fill(tmp_dir)``, check the result, and swap it in as ``cache``."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".ml-100k.", suffix=".tmp", dir=cache.parent)
    try:
        fill(tmp)
        fmt = _detect_format(tmp)
        if fmt == "recbole":
            for name in FORMATS[fmt]:
                digest = sha256_file(os.path.join(tmp, name))
                if digest != RECBOLE_SHA256[name]:
                    raise SourceError(f"{name}: SHA-256 {digest} is not the known recbole value")
        _parse(tmp)  # format and counts
        record = {
            "format": fmt,
            "source": source,
            "files": {n: sha256_file(os.path.join(tmp, n)) for n in FORMATS[fmt]},
        }
        atomic_write_text(os.path.join(tmp, CHECKSUMS_NAME), json.dumps(record, indent=2) + "\n")
        if cache.exists():
            shutil.rmtree(cache)
        os.rename(tmp, cache)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _extract_zip(zip_path: str, dest: str) -> None:
    try:
        with zipfile.ZipFile(zip_path) as z:
            names = z.namelist()
            for want in FORMATS["grouplens"]:
                member = next((n for n in names if n.split("/")[-1] == want), None)
                if member is None:
                    raise SourceError(f"{zip_path}: no {want} inside ({len(names)} members)")
                with z.open(member) as src, open(os.path.join(dest, want), "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as e:
        raise SourceError(f"{zip_path}: not a valid zip file ({e})") from e


# ------------------------------------------------------------------ sources
def from_user_path(path: str, dest: str) -> None:
    """Copy a user-given directory (either layout) or GroupLens zip into ``dest``."""
    if os.path.isdir(path):
        fmt = _detect_format(path)
        for name in FORMATS[fmt]:
            shutil.copyfile(os.path.join(path, name), os.path.join(dest, name))
    elif os.path.isfile(path):
        _extract_zip(path, dest)
    else:
        raise SourceError(f"{path} does not exist")


def from_grouplens(dest: str, timeout: float = 10.0, url: str = ML100K_URL) -> None:
    """Download the GroupLens archive (``timeout`` seconds per network operation)."""
    zip_path = os.path.join(dest, "ml-100k.zip.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(zip_path, "wb") as f:
            shutil.copyfileobj(r, f)
    except Exception as e:  # noqa: BLE001 - network errors come in many types
        raise SourceError(f"download of {url} failed: {type(e).__name__}: {e}") from e
    _extract_zip(zip_path, dest)
    os.remove(zip_path)


def from_recbole_wheel(dest: str, timeout: float = 300.0) -> None:
    """``pip download recbole==1.2.1`` (no install) and extract the two ml-100k files."""
    with tempfile.TemporaryDirectory() as wheel_dir:
        cmd = [
            sys.executable, "-m", "pip", "download", f"recbole=={RECBOLE_VERSION}", "--no-deps",
            "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d", wheel_dir,
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SourceError(f"pip download recbole failed: {e}") from e
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise SourceError(f"pip download recbole exited {proc.returncode}: {' | '.join(tail)}")
        wheels = [f for f in os.listdir(wheel_dir) if f.endswith(".whl")]
        if len(wheels) != 1:
            raise SourceError(f"pip download recbole produced {wheels}, expected one wheel")
        wheel = os.path.join(wheel_dir, wheels[0])
        try:
            with zipfile.ZipFile(wheel) as z:
                for name in FORMATS["recbole"]:
                    with z.open(RECBOLE_MEMBER + name) as src:
                        with open(os.path.join(dest, name), "wb") as dst:
                            shutil.copyfileobj(src, dst)
        except (KeyError, zipfile.BadZipFile) as e:
            raise SourceError(f"{wheels[0]}: cannot extract {RECBOLE_MEMBER}: {e}") from e


def fetch_ml100k(path: str | os.PathLike | None = None, timeout: float = 10.0) -> Path:
    """Make sure a verified ml-100k copy is in ``ml100k_dir()`` and return that directory.

    Args:
        path: directory or zip to use first (default: ``$TF_LSREC_ML100K`` when set).
        timeout: seconds allowed to the GroupLens download's network operations.
    """
    cache = ml100k_dir()
    failures: list[str] = []
    user = os.fspath(path) if path is not None else os.environ.get(PATH_ENV)
    if user:
        try:
            _install(lambda d: from_user_path(user, d), f"user path {user}", cache)
            return cache
        except SourceError as e:
            failures.append(f"user path: {e}")
            log.warning("ml-100k: user path %s unusable: %s", user, e)
    ok, reason = verify_cache(cache)
    if ok:
        log.info("ml-100k: using cache %s (%s)", cache, reason)
        return cache
    if reason != "absent":
        log.warning("ml-100k: cache %s is unusable (%s); replacing it", cache, reason)
        failures.append(f"cache: {reason}")
    sources: list[tuple[str, Callable[[str], None]]] = [
        ("GroupLens", lambda d: from_grouplens(d, timeout=timeout)),
        (f"PyPI recbole=={RECBOLE_VERSION} wheel", from_recbole_wheel),
    ]
    for name, fill in sources:
        try:
            _install(fill, name, cache)
            log.info("ml-100k: obtained from %s into %s", name, cache)
            return cache
        except SourceError as e:
            failures.append(f"{name}: {e}")
            log.warning("ml-100k: %s failed: %s", name, e)
    raise RuntimeError(
        "could not obtain MovieLens-100k; tried: "
        + "; ".join(failures)
        + f". Download ml-100k.zip from {ML100K_URL} and set {PATH_ENV}=<path to the zip or its "
        f"unpacked directory>."
    )


def load_ml100k_interactions(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """ml-100k as an interactions table ``[100000, 4]``.

    Columns: ``user``, ``item`` (MovieLens ids as strings), ``category`` (the movie's first genre
    name in GroupLens genre order, e.g. ``"Animation"`` for Toy Story; ``"unknown"`` when none),
    ``timestamp`` (Unix seconds, int64). Rows in file order.
    """
    return _parse(os.fspath(fetch_ml100k(path)))
