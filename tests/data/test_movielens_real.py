"""The real ml-100k chain (what CI does): GroupLens or the RecBole wheel from PyPI (~1-10 s)."""

from tf_lsrec.data import movielens


def test_real_ml100k(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_LSREC_CACHE", str(tmp_path))
    monkeypatch.delenv("TF_LSREC_ML100K", raising=False)
    df = movielens.load_ml100k_interactions()
    assert df.shape == (100_000, 4)
    assert df.iloc[0].tolist() == ["196", "242", "Comedy", 881250949]
    genres = dict(zip(df["item"], df["category"]))
    assert genres["1"] == "Animation"  # Toy Story: Animation|Children's|Comedy
    assert set(df["category"]) <= set(movielens.GENRES)
    assert movielens.verify_cache()[0]
