"""Interactions schema validation and CSV/TSV readers."""

import os

import pandas as pd
import pytest

from tf_lsrec.data.interactions import COLUMNS, read_interactions, validate_interactions


def test_csv_keeps_ids_as_strings(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("uid,iid,cat,ts,extra\n007,0042,5,100,z\n8,9,5,101.0,z\n", encoding="utf-8")
    df = read_interactions(path, "uid", "iid", "cat", "ts")
    assert list(df.columns) == list(COLUMNS)
    assert df["user"].tolist() == ["007", "8"] and df["item"].tolist() == ["0042", "9"]
    assert df["timestamp"].dtype == "int64" and df["timestamp"].tolist() == [100, 101]


def test_headerless_tsv_by_position(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n", encoding="utf-8")
    df = read_interactions(path, 0, 1, 2, 3, sep="\t")
    assert df.values.tolist() == [["196", "242", "3", 881250949], ["186", "302", "3", 891717742]]


def test_errors_name_file_line_and_column(tmp_path):
    path = tmp_path / "log.tsv"
    path.write_text(
        "user\titem\tcategory\ttimestamp\nu\ti\tc\t1\nu\ti\tc\tsoon\n", encoding="utf-8"
    )
    with pytest.raises(
        ValueError, match=r"log.tsv, line 3, column 'timestamp': 'soon' is not an integer"
    ):
        read_interactions(path)
    path.write_text("user\titem\tcategory\ttimestamp\nu\t\tc\t1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"log.tsv, line 2, column 'item': missing value"):
        read_interactions(path)
    path.write_text("user\titem\tcategory\ttimestamp\nu\ti\tc\t1.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2, column 'timestamp': '1.5' is not an integer"):
        read_interactions(path)
    with pytest.raises(ValueError, match=r"column\(s\) \['when'\] not found|cannot read columns"):
        read_interactions(path, time_col="when")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_interactions(tmp_path.joinpath("x.log").write_text("a") and tmp_path / "x.log")
    with pytest.raises(FileNotFoundError, match="interactions file .*nope.csv does not exist"):
        read_interactions(tmp_path / "nope.csv")


def test_validate_frame_errors():
    df = pd.DataFrame(
        {"user": ["u", "v"], "item": ["i", "j\tk"], "category": ["c", "c"], "timestamp": [1, 2]}
    )
    with pytest.raises(ValueError, match=r"<DataFrame>, row 1, column 'item': invalid id 'j\\tk'"):
        validate_interactions(df)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['timestamp'\]"):
        validate_interactions(df.drop(columns="timestamp"))


@pytest.mark.parametrize("stamp", ["1e19", "18446744073709551616", "1e16", "-3"])
def test_timestamps_outside_the_sane_range_are_refused(tmp_path, stamp):
    # 1e19 used to become int64 min and move the row to the start of the user's history
    path = tmp_path / "log.csv"
    path.write_text(f"user,item,category,timestamp\nu,i,c,5\nu,j,c,{stamp}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"log.csv, line 3, column 'timestamp'.*outside \[0"):
        read_interactions(path)


def test_a_row_with_an_extra_field_is_an_error(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("user,item,category,timestamp\nu,i,c,5\nu,j,c,6,oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"log.csv, line 3: 5 fields; expected 4 like the header"):
        read_interactions(path)
    tsv = tmp_path / "log.tsv"
    tsv.write_text("u\ti\tc\t5\nu\tj\tc\t6\textra\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"log.tsv, line 2: 5 fields; expected 4 like the first"):
        read_interactions(tsv, 0, 1, 2, 3)


def test_prepare_data_input_refuses_huge_timestamps(tmp_path):
    import subprocess
    import sys

    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "prepare_data.py")
    path = tmp_path / "log.csv"
    path.write_text("user,item,category,timestamp\nu,i,c,5\nu,j,c,1e19\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, tool, "--input", str(path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode != 0 and "line 3, column 'timestamp'" in out.stderr
    assert not (tmp_path / "out").exists()
