"""ml-100k fetch chain: source order, fall-through, corrupt cache, both file layouts."""

import logging
import zipfile

import pytest

from tf_lsrec.data import movielens
from tf_lsrec.data.movielens import (
    SourceError,
    fetch_ml100k,
    load_ml100k_interactions,
    verify_cache,
)

FLAGS = ["0"] * 19


def genre_flags(*names):
    f = list(FLAGS)
    for n in names:
        f[movielens.GENRES.index(n)] = "1"
    return "|".join(f)


U_DATA = "1\t10\t3\t881250949\n2\t20\t4\t881250950\n1\t20\t5\t881250951\n"
U_ITEM = (
    f"10|Toy Story (1995)|01-Jan-1995||http://x|{genre_flags('Animation', 'Comedy')}\n"
    f"20|Heat (1995)|01-Jan-1995||http://y|{genre_flags('Action', 'Crime')}\n"
)
INTER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + U_DATA
ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "10\tToy Story\t1995\tAnimation Comedy\n20\tHeat\t1995\t\n"
)


@pytest.fixture(autouse=True)
def small_dataset(tmp_path, monkeypatch):
    """Pretend ml-100k has 3 ratings / 2 users / 2 items; isolate the cache; no real network."""
    monkeypatch.setenv("TF_LSREC_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TF_LSREC_ML100K", raising=False)
    monkeypatch.setattr(movielens, "N_RATINGS", 3)
    monkeypatch.setattr(movielens, "N_USERS", 2)
    monkeypatch.setattr(movielens, "N_ITEMS", 2)
    hashes = {}
    for name, text in (("ml-100k.inter", INTER), ("ml-100k.item", ITEM)):
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        hashes[name] = movielens.sha256_file(p)
    monkeypatch.setattr(movielens, "RECBOLE_SHA256", hashes)
    calls = []

    def offline(dest, timeout=10.0, url=None):
        calls.append("grouplens")
        raise SourceError("network unreachable (test)")

    def fake_wheel(dest, timeout=300.0):
        calls.append("recbole")
        for name, text in (("ml-100k.inter", INTER), ("ml-100k.item", ITEM)):
            with open(f"{dest}/{name}", "w", encoding="utf-8") as f:
                f.write(text)

    monkeypatch.setattr(movielens, "from_grouplens", offline)
    monkeypatch.setattr(movielens, "from_recbole_wheel", fake_wheel)
    return calls


def grouplens_dir(path):
    path.mkdir()
    (path / "u.data").write_text(U_DATA, encoding="utf-8")
    (path / "u.item").write_text(U_ITEM, encoding="latin-1")
    return path


def test_falls_through_to_recbole_wheel(small_dataset, caplog):
    with caplog.at_level(logging.WARNING, logger="tf_lsrec.data.movielens"):
        df = load_ml100k_interactions()
    assert small_dataset == ["grouplens", "recbole"]
    assert "GroupLens failed: network unreachable (test)" in caplog.text
    assert df.values.tolist() == [
        ["1", "10", "Animation", 881250949],
        ["2", "20", "unknown", 881250950],  # empty genre list -> "unknown"
        ["1", "20", "unknown", 881250951],
    ]
    ok, reason = verify_cache()
    assert ok and "recbole" in reason
    load_ml100k_interactions()  # second call: served from the cache, no source called
    assert small_dataset == ["grouplens", "recbole"]


def test_user_directory_grouplens_layout_first_genre(small_dataset, tmp_path):
    df = load_ml100k_interactions(grouplens_dir(tmp_path / "gl"))
    assert small_dataset == []
    assert df["category"].tolist() == ["Animation", "Action", "Action"]
    assert df["timestamp"].dtype == "int64"
    assert sorted(p.name for p in movielens.ml100k_dir().iterdir()) == [
        "checksums.json", "u.data", "u.item",
    ]  # fmt: skip


def test_user_zip_via_environment(small_dataset, tmp_path, monkeypatch):
    src = grouplens_dir(tmp_path / "gl")
    zpath = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.write(src / "u.data", "ml-100k/u.data")
        z.write(src / "u.item", "ml-100k/u.item")
    monkeypatch.setenv("TF_LSREC_ML100K", str(zpath))
    assert load_ml100k_interactions()["item"].tolist() == ["10", "20", "20"]
    assert small_dataset == []


def test_bad_user_path_falls_through(small_dataset, tmp_path, caplog):
    bad = tmp_path / "empty"
    bad.mkdir()
    with caplog.at_level(logging.WARNING, logger="tf_lsrec.data.movielens"):
        fetch_ml100k(bad)
    assert "expected u.data + u.item (GroupLens) or ml-100k.inter + ml-100k.item" in caplog.text
    assert small_dataset == ["grouplens", "recbole"]


def test_corrupt_cache_is_detected_and_replaced(small_dataset, caplog):
    cache = fetch_ml100k()
    (cache / "ml-100k.inter").write_text(INTER[:-10], encoding="utf-8")  # truncated copy
    ok, reason = verify_cache()
    assert not ok and reason.startswith("ml-100k.inter: SHA-256")
    with caplog.at_level(logging.WARNING, logger="tf_lsrec.data.movielens"):
        fetch_ml100k()
    assert "is unusable (ml-100k.inter: SHA-256" in caplog.text
    assert small_dataset == ["grouplens", "recbole", "grouplens", "recbole"]
    assert verify_cache()[0]
    assert (cache / "ml-100k.inter").read_text(encoding="utf-8") == INTER


def test_wrong_size_download_is_rejected(small_dataset, monkeypatch):
    monkeypatch.setattr(movielens, "N_RATINGS", 4)
    with pytest.raises(RuntimeError) as e:
        fetch_ml100k()
    msg = str(e.value)
    assert "GroupLens: network unreachable (test)" in msg
    assert "3 ratings / 2 users / 2 items, expected 4 / 2 / 2" in msg
    assert "TF_LSREC_ML100K" in msg
    assert not movielens.ml100k_dir().exists()  # nothing half-installed


def test_recbole_file_with_unknown_hash_is_rejected(small_dataset, monkeypatch):
    monkeypatch.setattr(movielens, "RECBOLE_SHA256", {"ml-100k.inter": "0", "ml-100k.item": "0"})
    with pytest.raises(RuntimeError, match="is not the known recbole value"):
        fetch_ml100k()
