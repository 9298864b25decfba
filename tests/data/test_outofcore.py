"""Out-of-core preparation (DuckDB) gives byte-identical files to the in-memory writer."""

import filecmp

import pandas as pd
import pytest

from tf_lsrec.data.sequential import SplitRule, write_sequential_files
from tf_lsrec.data.synthetic import generate_interactions

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from tf_lsrec.data.outofcore import prepare_out_of_core  # noqa: E402

FILES = (
    "train_data",
    "valid_data",
    "test_data",
    "user_vocab.pkl",
    "item_vocab.pkl",
    "category_vocab.pkl",
    "manifest.json",
)


@pytest.fixture(scope="module")
def shuffled():
    inter, _ = generate_interactions(400, seed=3, n_items=120, n_categories=8)
    return inter.sample(frac=1.0, random_state=0).reset_index(drop=True)


def assert_same(a, b):
    for name in FILES:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"max_history": 5, "user_default": True},
        {"split": SplitRule("time", window=3 * 86400, keep_train=0.6, keep_eval=0.2)},
    ],
    ids=["last_two", "max_history", "time_split_sampled"],
)
def test_equals_in_memory_path(tmp_path, shuffled, kw):
    write_sequential_files(shuffled, tmp_path / "mem", seed=7, **kw)
    # small chunks: users straddle the Parquet batches
    prepare_out_of_core(shuffled, tmp_path / "ooc", seed=7, chunk_rows=500, **kw)
    assert_same(tmp_path / "mem", tmp_path / "ooc")
    assert not [p for p in (tmp_path / "ooc").iterdir() if p.name.startswith(".ooc")]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_reads_files_with_own_column_names(tmp_path, shuffled, fmt):
    df = shuffled.rename(
        columns={"user": "uid", "item": "iid", "category": "cat", "timestamp": "t"}
    )
    path = tmp_path / f"log.{fmt}"
    if fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, sep="," if fmt == "csv" else "\t")
    cols = {"user": "uid", "item": "iid", "category": "cat", "timestamp": "t"}
    prepare_out_of_core(path, tmp_path / "ooc", seed=1, columns=cols)
    write_sequential_files(shuffled, tmp_path / "mem", seed=1)
    assert_same(tmp_path / "mem", tmp_path / "ooc")


def test_ids_stay_text(tmp_path):
    rows = [("007", f"0{i}", "01", i) for i in range(12)] + [
        ("7", "0", "1", 1),
        ("7", "00", "1", 2),
    ]
    df = pd.DataFrame(rows, columns=["user", "item", "category", "timestamp"])
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    prepare_out_of_core(path, tmp_path / "ooc", valid_num_ngs=1, test_num_ngs=1)
    write_sequential_files(df, tmp_path / "mem", valid_num_ngs=1, test_num_ngs=1)
    assert_same(tmp_path / "mem", tmp_path / "ooc")
    assert "007\t01\t01" in (tmp_path / "ooc" / "train_data").read_text()


def test_bad_rows_are_named(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("user,item,category,timestamp\nu1,a,x,1\nu1,b,x,2.5\n")
    with pytest.raises(ValueError, match=r"line 3, column 'timestamp': '2.5'"):
        prepare_out_of_core(path, tmp_path / "o")
    path.write_text('user,item,category,timestamp\nu1,a,x,1\nu1,"b,c",x,2\n')
    with pytest.raises(ValueError, match=r"line 3, column 'item': invalid id 'b,c'"):
        prepare_out_of_core(path, tmp_path / "o")
    with pytest.raises(ValueError, match="cannot read columns"):
        prepare_out_of_core(path, tmp_path / "o", columns={"user": "uid"})
