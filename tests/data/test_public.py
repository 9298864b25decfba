"""Public-dataset loaders: fixture files in each published schema -> exact 8-column lines."""

import pickle

import pandas as pd
import pytest

from tests.tool_loader import load_tool
from tf_lsrec.data import public
from tf_lsrec.data.public import DAY, prepare_public
from tf_lsrec.data.sequential import SplitRule, read_manifest

# 2017-11-25 00:00:00 UTC+8
BASE = 1511539200


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def positives(path):
    return [row for row in lines(path) if row[0] == "1"]


def check_negatives(path, n_neg):
    rows = lines(path)
    assert len(rows) % (n_neg + 1) == 0
    for g in range(0, len(rows), n_neg + 1):
        pos, negs = rows[g], rows[g + 1 : g + 1 + n_neg]
        assert pos[0] == "1" and all(r[0] == "0" for r in negs)
        for r in negs:
            assert r[1] == pos[1] and r[4:] == pos[4:] and r[2] != pos[2]


# ------------------------------------------------------------------------------------ Amazon
def write_amazon(tmp_path):
    def review(user, asin, t):
        return repr(
            {"reviewerID": user, "asin": asin, "reviewerName": "n", "helpful": [0, 0],
             "reviewText": "ok, fine", "overall": 5.0, "summary": "s", "unixReviewTime": t,
             "reviewTime": "01 1, 2013"}
        )  # fmt: skip

    reviews = [
        review("A1", "0001", 300),
        review("A2", "0002", 100),
        review("A1", "0002", 100),
        review("A1", "B003", 200),
        review("A1", "0004", 400),
        review("A2", "0001", 200),
        review("A3", "0001", 50),
    ]
    meta = [
        repr({"asin": "0001", "categories": [["Movies & TV", "Movies"]], "title": "t"}),
        repr({"asin": "0002", "categories": [["Movies & TV", "TV"], ["Other"]]}),
        repr({"asin": "B003", "categories": [["Movies & TV"]]}),
    ]  # 0004 has no metadata
    (tmp_path / "reviews.json").write_text("\n".join(reviews) + "\n")
    (tmp_path / "meta.json").write_text("\n".join(meta) + "\n")
    return [tmp_path / "reviews.json", tmp_path / "meta.json"]


def test_amazon_lines(tmp_path):
    files = write_amazon(tmp_path)
    p = prepare_public(
        "amazon", files, tmp_path / "out", sample_rate=1.0, valid_num_ngs=1, test_num_ngs=2
    )
    # A1 by time: 0002@100 TV, B003@200 Movies & TV, 0001@300 Movies, 0004@400 default_cat
    assert lines(p.train_file) == [["1", "A1", "B003", "Movies & TV", "200", "0002", "TV", "100"]]
    assert positives(p.valid_file) == [
        ["1", "A1", "0001", "Movies", "300", "0002,B003", "TV,Movies & TV", "100,200"],
    ]
    assert positives(p.test_file) == [
        ["1", "A1", "0004", "default_cat", "400", "0002,B003,0001", "TV,Movies & TV,Movies",
         "100,200,300"],
        ["1", "A2", "0001", "Movies", "200", "0002", "TV", "100"],
    ]  # fmt: skip
    check_negatives(p.valid_file, 1)
    check_negatives(p.test_file, 2)
    with open(p.user_vocab, "rb") as f:
        assert pickle.load(f) == {"A1": 0}  # Microsoft: no default user
    with open(p.cate_vocab, "rb") as f:
        assert pickle.load(f)["default_cat"] == 0


def test_amazon_item_sampling(tmp_path):
    files = write_amazon(tmp_path)
    df = public.load_amazon(*files, sample_rate=0.5, seed=1)
    assert df["item"].nunique() == 2  # int(4 items * 0.5)
    assert public.load_amazon(*files, sample_rate=0.5, seed=1).equals(df)


# ------------------------------------------------------------------------------------ Taobao
def write_taobao(tmp_path):
    d = DAY
    rows = [
        ("u1", "i1", "c1", "pv", BASE + d + 50),  # first (u1, i1) in file order: kept
        ("u1", "i2", "c1", "pv", BASE + 20),
        ("u1", "i1", "c1", "pv", BASE + 10),  # repeated (u1, i1): dropped
        ("u2", "i1", "c1", "pv", BASE + 30),
        ("u1", "i9", "c1", "buy", BASE + 40),  # not a page view
        ("u1", "i8", "c1", "pv", BASE + d),  # i8 has two categories
        ("u2", "i8", "c2", "pv", BASE + d),
        ("u1", "i6", "c3", "pv", BASE - 10),  # before the window
        ("u1", "i5", "c3", "pv", BASE + 9 * d + 100),  # after the window
        ("u3", "i7", "c3", "pv", BASE + d),  # i7 has one row -> u3 then has one row
        ("u3", "i1", "c1", "pv", BASE + 2 * d),
        ("u2", "i2", "c1", "pv", BASE + 6 * d + 1),
        ("u1", "i3", "c2", "pv", BASE + 7 * d + 5),
        ("u1", "i4", "c2", "pv", BASE + 8 * d + 5),
        ("u2", "i3", "c2", "pv", BASE + 8 * d + 7),
        ("u2", "i4", "c2", "pv", BASE + 8 * d + 9),
    ]
    path = tmp_path / "UserBehavior.csv"
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_taobao_filters(tmp_path):
    df = public.load_taobao(write_taobao(tmp_path), user_fraction=1.0, min_count=2)
    assert sorted(map(tuple, df.to_numpy().tolist())) == sorted(
        [
            ("u1", "i1", "c1", BASE + DAY + 50),
            ("u1", "i2", "c1", BASE + 20),
            ("u2", "i1", "c1", BASE + 30),
            ("u2", "i2", "c1", BASE + 6 * DAY + 1),
            ("u1", "i3", "c2", BASE + 7 * DAY + 5),
            ("u1", "i4", "c2", BASE + 8 * DAY + 5),
            ("u2", "i3", "c2", BASE + 8 * DAY + 7),
            ("u2", "i4", "c2", BASE + 8 * DAY + 9),
        ]
    )


def test_taobao_lines_time_split(tmp_path):
    spec = public.DATASETS["taobao"]
    assert (spec.split.window, spec.split.keep_eval, spec.test_num_ngs) == (DAY, 0.15, 99)
    p = prepare_public(
        "taobao", [write_taobao(tmp_path)], tmp_path / "out", valid_num_ngs=1, test_num_ngs=1,
        split=SplitRule("time", window=DAY), user_fraction=1.0, min_count=2,
    )  # fmt: skip
    t = {k: str(BASE + v) for k, v in
         {"20": 20, "d50": DAY + 50, "30": 30, "6d1": 6 * DAY + 1, "7d5": 7 * DAY + 5,
          "8d5": 8 * DAY + 5, "8d7": 8 * DAY + 7, "8d9": 8 * DAY + 9}.items()}  # fmt: skip
    # T = 8d9: test ts >= 7d9, valid 6d9 <= ts < 7d9
    assert lines(p.train_file) == [
        ["1", "u1", "i1", "c1", t["d50"], "i2", "c1", t["20"]],
        ["1", "u2", "i2", "c1", t["6d1"], "i1", "c1", t["30"]],
    ]
    assert positives(p.valid_file) == [
        ["1", "u1", "i3", "c2", t["7d5"], "i2,i1", "c1,c1", f"{t['20']},{t['d50']}"],
    ]
    assert [r[1:3] + r[5:6] for r in positives(p.test_file)] == [
        ["u1", "i4", "i2,i1,i3"],
        ["u2", "i3", "i1,i2"],
        ["u2", "i4", "i1,i2,i3"],
    ]
    with open(p.user_vocab, "rb") as f:
        assert pickle.load(f) == {"default_uid": 0, "u1": 1, "u2": 2}
    assert read_manifest(tmp_path / "out")["split"]["test_start"] == BASE + 7 * DAY + 9


def test_taobao_user_sampling_is_seeded(tmp_path):
    rows = [(f"u{k}", f"i{j}", "c", "pv", BASE + j) for k in range(400) for j in range(3)]
    path = tmp_path / "ub.csv"
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    a = public.load_taobao(path, user_fraction=0.25, seed=1, min_count=1)
    b = public.load_taobao(path, user_fraction=0.25, seed=1, min_count=1)
    assert a.equals(b) and 60 < a["user"].nunique() < 140
    assert (a.groupby("user").size() == 3).all()


# ----------------------------------------------------------------------------------- KuaiRec
def test_kuairec_lines(tmp_path):
    cols = "user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio\n"
    rows = [
        (1, 10, 1, 1, "t", 20200705, 1593878400.5, 2.5),
        (1, 11, 1, 1, "t", 20200705, 1593878401.0, 3.0),
        (1, 12, 1, 1, "t", 20200705, 1593878402.0, 0.5),  # not an effective view
        (1, 10, 1, 1, "t", 20200705, 1593878403.0, 9.0),  # repeated (1, 10)
        (2, 10, 1, 1, "t", 20200705, 1593878404.0, 2.0),
        (2, 12, 1, 1, "t", 20200705, 1593878405.0, 0.1),
        (2, 11, 1, 1, "t", 20200705, "", 4.0),  # no timestamp
        (3, 11, 1, 1, "t", 20200705, 1593878406.0, 2.2),
        (3, 13, 1, 1, "t", 20200705, 1593878407.0, 2.2),  # item 13 has one row
    ]
    (tmp_path / "big_matrix.csv").write_text(
        cols + "".join(",".join(map(str, r)) + "\n" for r in rows)
    )
    (tmp_path / "item_categories.csv").write_text(
        'video_id,feat\n10,"[8]"\n11,"[27, 9]"\n12,"[3]"\n13,"[1]"\n'
    )
    df = public.load_kuairec(
        tmp_path / "big_matrix.csv", tmp_path / "item_categories.csv", min_count=2
    )
    # items >= 2 rows: 10, 11, 12; users >= 2 effective views: 1 only; then effective rows
    assert df.to_numpy().tolist() == [
        ["1", "10", "8", 1593878400500],
        ["1", "11", "27", 1593878401000],
    ]
    spec = public.DATASETS["kuairec"]
    assert spec.split.window == 12 * 3600 * 1000 and spec.split.keep_train == 0.05


def test_kuairec_accepts_clsr_columns(tmp_path):
    text = "user_id,photo_id,photo_kmeans_cluster_id,time_ms,effective_view\n"
    text += "7,1,5,100,1\n7,2,6,200,1\n7,3,6,300,0\n"
    (tmp_path / "ks.csv").write_text(text)
    df = public.load_kuairec(tmp_path / "ks.csv", min_count=1)
    assert df.to_numpy().tolist() == [["7", "1", "5", 100], ["7", "2", "6", 200]]


# ------------------------------------------------------------------------------------- Tmall
def test_tmall_lines(tmp_path):
    head = "user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n"
    rows = [
        (1, 100, 7, 9, 9, 1110, 0),
        (1, 101, 7, 9, 9, 1110, 2),  # same day: file order kept
        (1, 102, 8, 9, 9, 1111, 3),
        (1, 100, 7, 9, 9, 1111, 1),  # repeated (1, 100)
        (2, 100, 7, 9, 9, 1109, 0),
        (2, 102, 8, 9, 9, 1111, 0),
    ]
    (tmp_path / "user_log_format1.csv").write_text(
        head + "".join(",".join(map(str, r)) + "\n" for r in rows)
    )
    p = prepare_public(
        "tmall", [tmp_path / "user_log_format1.csv"], tmp_path / "out", min_count=1,
        valid_num_ngs=1, test_num_ngs=1,
    )  # fmt: skip
    day = {mmdd: str(int(pd.Timestamp(f"2014-{mmdd[:2]}-{mmdd[2:]}", tz="Asia/Shanghai").timestamp()))
           for mmdd in ("1109", "1110", "1111")}  # fmt: skip
    # T = Nov 11: test = Nov 11, valid = Nov 10
    assert lines(p.train_file) == []
    assert positives(p.valid_file) == [
        ["1", "1", "101", "7", day["1110"], "100", "7", day["1110"]],
    ]
    assert positives(p.test_file) == [
        ["1", "1", "102", "8", day["1111"], "100,101", "7,7", f"{day['1110']},{day['1110']}"],
        ["1", "2", "102", "8", day["1111"], "100", "7", day["1109"]],
    ]


TMALL_HEAD = "user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n"


@pytest.mark.parametrize(
    "row, expected",
    [
        (
            "1,100,7,9,9,1110,0\n2,x1,7,9,9,1110,0",
            "line 3, column 'item_id': 'x1' is not an integer",
        ),
        ("1,100,7,9,9,1110,0\n2,101,,9,9,1110,0", "line 3, column 'cat_id': '' is not an integer"),
        ("1,100,7,9,9,1340,0", "time_stamp 1340 is not MMDD"),
    ],
)
def test_tmall_bad_cells_name_line_and_column(tmp_path, row, expected):
    path = tmp_path / "user_log_format1.csv"
    path.write_text(TMALL_HEAD + row + "\n")
    with pytest.raises(ValueError, match=expected):
        public.load_tmall(path, min_count=1)


def test_tmall_missing_column(tmp_path):
    path = tmp_path / "user_log_format1.csv"
    path.write_text("user_id,item_id,time_stamp,action_type\n1,100,1110,0\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['cat_id'\]"):
        public.load_tmall(path, min_count=1)


def test_tmall_filters_on_integers_then_writes_string_ids(tmp_path):
    """Actions outside ``actions`` are dropped before the repeat rule; ids come back as the
    file's decimal text and every row keeps its day."""
    rows = ["5,100,7,0,0,1110,2", "5,100,7,0,0,1111,0", "5,101,8,0,0,1111,0", "6,100,7,0,0,1109,0"]
    path = tmp_path / "user_log_format1.csv"
    path.write_text(TMALL_HEAD + "\n".join(rows) + "\n")
    df = public.load_tmall(path, actions=(0,), min_count=1)
    day = {d: int(pd.Timestamp(f"2014-11-{d}", tz="Asia/Shanghai").timestamp()) for d in (9, 11)}
    assert df.to_numpy().tolist() == [
        ["5", "100", "7", day[11]],
        ["5", "101", "8", day[11]],
        ["6", "100", "7", day[9]],
    ]


# --------------------------------------------------------------------------------- Cosmetics
def test_cosmetics_lines(tmp_path):
    head = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
    rows = [
        ("2020-01-01 00:00:10 UTC", "view", 5, 1487, "", "runail", 2.6, 42, "s1"),
        ("2020-01-01 00:00:20 UTC", "cart", 6, 1488, "", "", 1.0, 42, "s1"),
        ("2020-01-01 00:00:30 UTC", "remove_from_cart", 7, 1488, "", "", 1.0, 42, "s1"),
        ("2020-01-03 00:00:00 UTC", "purchase", 7, 1488, "", "", 1.0, 42, "s2"),
        ("2020-01-01 00:00:05 UTC", "view", 6, 1488, "", "", 1.0, 43, "s3"),
    ]
    path = tmp_path / "2020-Jan.csv"
    path.write_text(head + "".join(",".join(map(str, r)) + "\n" for r in rows))
    p = prepare_public(
        "cosmetics", [path], tmp_path / "out", min_count=1, valid_num_ngs=1, test_num_ngs=1,
        split=SplitRule(),
    )  # fmt: skip
    t0 = 1577836800  # 2020-01-01 00:00:00 UTC
    assert positives(p.valid_file) == [
        ["1", "42", "6", "1488", str(t0 + 20), "5", "1487", str(t0 + 10)],
    ]
    assert positives(p.test_file) == [
        ["1", "42", "7", "1488", str(t0 + 2 * DAY), "5,6", "1487,1488", f"{t0 + 10},{t0 + 20}"],
    ]


def test_kcore_is_one_pass_each():
    df = pd.DataFrame(
        {"user": ["a", "a", "b", "b", "c"], "item": ["x", "y", "x", "y", "x"],
         "category": "c", "timestamp": range(5)}
    )  # fmt: skip
    out = public.kcore_once(df, item_min=3, user_min=1)
    assert out["item"].tolist() == ["x", "x", "x"]
    assert public.kcore_once(df, item_min=3, user_min=2).empty


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="UserBehavior.csv"):
        prepare_public("taobao", [tmp_path / "nope.csv"], tmp_path / "o")
    (tmp_path / "k.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="KuaiRec schema"):
        public.load_kuairec(tmp_path / "k.csv")
    with pytest.raises(ValueError, match="unknown public dataset"):
        prepare_public("netflix", [], tmp_path / "o")


def test_prepare_data_cli_public_dataset(tmp_path):
    tool = load_tool("prepare_data")
    # Taobao-shaped log that survives the default filters: 150 users x 12 of 120 items
    rows = [
        (f"u{k}", f"i{(k * 12 + j) % 120}", f"c{(k * 12 + j) % 120 % 7}", "pv",
         BASE + j * 60_000 + k)
        for k in range(150) for j in range(12)
    ]  # fmt: skip
    raw = tmp_path / "UserBehavior.csv"
    raw.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    out = tmp_path / "out"
    assert tool.main(["--dataset", "taobao", "--raw", str(raw), "--out", str(out),
                      "--user-fraction", "1.0"]) == 0  # fmt: skip
    m = read_manifest(out)
    assert m["interactions"] == 1800 and m["test_num_ngs"] == 99
    assert m["split"]["keep_eval"] == 0.15 and m["lines"]["train"] > 0
    check_negatives(out / "test_data", 99)


def test_prepare_data_cli_duckdb_engine(tmp_path):
    pytest.importorskip("duckdb")
    tool = load_tool("prepare_data")
    from tf_lsrec.data.synthetic import generate_interactions

    inter, _ = generate_interactions(50, seed=0, n_items=40, n_categories=4)
    log = tmp_path / "log.parquet"
    inter.rename(columns={"user": "uid"}).to_parquet(log, index=False)
    out = tmp_path / "out"
    assert tool.main(["--input", str(log), "--engine", "duckdb", "--user-col", "uid",
                      "--out", str(out)]) == 0  # fmt: skip
    assert read_manifest(out)["interactions"] == len(inter)
