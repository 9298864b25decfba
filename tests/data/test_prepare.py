"""prepare_data: given files, prepared datasets with a completion marker, planted dataset."""

import os

import pytest

from tf_lsrec import prepare_hparams
from tf_lsrec.data import prepare as prep
from tf_lsrec.data.paths import DataPaths
from tf_lsrec.data.prepare import make_planted_dataset, prepare_data
from tf_lsrec.data.sequential import read_manifest


def planted_auc(path, n_neg):
    """AUC of a model-free score: share of the candidate's category in the history (+ last 3)."""
    with open(path, encoding="utf-8") as f:
        lines = [x.rstrip("\n").split("\t") for x in f]
    wins = total = 0.0
    for g in range(0, len(lines), n_neg + 1):
        scores = []
        for c in lines[g : g + n_neg + 1]:
            h = c[6].split(",")
            scores.append(h.count(c[3]) / len(h) + h[-3:].count(c[3]) / 3)
        for s in scores[1:]:
            wins += (scores[0] > s) + 0.5 * (scores[0] == s)
            total += 1
    return wins / total


def test_planted_dataset_is_small_and_learnable(tmp_path):
    p = make_planted_dataset(tmp_path)
    assert not p.missing()
    m = read_manifest(tmp_path)
    assert 2000 <= m["lines"]["train"] <= 6000
    assert m["positives"] == {"valid": 300, "test": 300}
    assert planted_auc(p.test_file, 9) > 0.8
    assert (tmp_path / "ground_truth.csv").is_file()
    with open(p.train_file, "rb") as f:
        first = f.read()
    make_planted_dataset(tmp_path / "again")
    with open(tmp_path / "again" / "train_data", "rb") as f:
        assert f.read() == first


def test_synthetic_prepared_once_into_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_LSREC_CACHE", str(tmp_path))
    hp = prepare_hparams(model_type="gru", dataset="synthetic", synthetic_interactions=3000)
    p = prepare_data(hp)
    expected_dir = tmp_path / "prepared" / "synthetic-v4-t9-s42-n3000"
    assert p == DataPaths.in_directory(expected_dir)
    assert read_manifest(expected_dir)["interactions"] == 3000
    stamp = os.stat(p.train_file).st_mtime_ns
    assert prepare_data(hp) == p  # complete: reused
    assert os.stat(p.train_file).st_mtime_ns == stamp
    os.remove(p.item_vocab)  # incomplete: prepared again
    prepare_data(hp)
    assert os.path.isfile(p.item_vocab)
    assert set(p.as_hparams()) == {
        "train_file", "valid_file", "test_file", "user_vocab", "item_vocab", "cate_vocab",
    }  # fmt: skip


def test_data_dir_with_other_settings_is_rebuilt(tmp_path):
    d = tmp_path / "d"
    prepare_data({"dataset": "synthetic", "synthetic_interactions": 2000, "data_dir": str(d)})
    prepare_data(
        {
            "dataset": "synthetic",
            "synthetic_interactions": 2000,
            "data_dir": str(d),
            "test_num_ngs": 5,
        }
    )
    assert read_manifest(d)["test_num_ngs"] == 5


def test_interrupted_preparation_is_not_trusted(tmp_path, monkeypatch):
    d = tmp_path / "d"
    hp = {"dataset": "synthetic", "synthetic_interactions": 2000, "data_dir": str(d)}

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(prep, "atomic_write_text", boom)  # dies before the marker
    with pytest.raises(KeyboardInterrupt):
        prepare_data(hp)
    assert not prep.is_complete(d, prep._settings(hp))


def test_given_files_are_checked_and_vocabs_built(tmp_path):
    src = make_planted_dataset(tmp_path / "src", n_users=40)
    files = {k: getattr(src, k) for k in ("train_file", "valid_file", "test_file")}
    p = prepare_data({**files, "data_dir": str(tmp_path / "v")})
    assert p.train_file == src.train_file
    assert p.item_vocab == str(tmp_path / "v" / "item_vocab.pkl")
    with open(p.item_vocab, "rb") as f, open(src.item_vocab, "rb") as g:
        assert f.read() == g.read()
    with pytest.raises(FileNotFoundError, match="`valid_file` = .*nope does not exist"):
        prepare_data({**files, "valid_file": str(tmp_path / "nope")})
    with pytest.raises(ValueError, match="test_file not set while train_file, valid_file is"):
        prepare_data({**files, "test_file": None})


def test_custom_dataset_without_files_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="dataset 'custom' cannot be prepared automatically"):
        prepare_data({"dataset": "custom", "data_dir": str(tmp_path)})
