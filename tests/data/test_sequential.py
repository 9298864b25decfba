"""Sequential-file writer: line counts, exact content, negatives, determinism, atomicity."""

import os
import pickle

import numpy as np
import pandas as pd
import pytest

from tf_lsrec.data import sequential
from tf_lsrec.data.sequential import draw_negatives, read_manifest, write_sequential_files
from tf_lsrec.data.vocab import build_vocabs


def table(rows):
    return pd.DataFrame(rows, columns=["user", "item", "category", "timestamp"])


# u1 has 4 interactions (given out of time order), u2 has 2, u3 has 1, u4 has 3.
TINY = table(
    [
        ("u1", "a", "x", 30),
        ("u2", "b", "y", 10),
        ("u1", "c", "x", 10),
        ("u3", "d", "y", 5),
        ("u1", "e", "z", 20),
        ("u2", "f", "z", 20),
        ("u1", "a", "x", 40),
        ("u4", "g", "y", 1),
        ("u4", "h", "y", 2),
        ("u4", "b", "y", 3),
    ]
)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def test_exact_train_file_and_positive_lines(tmp_path):
    p = write_sequential_files(TINY, tmp_path, valid_num_ngs=1, test_num_ngs=1, seed=0)
    # u1 by time: c@10, e@20, a@30, a@40 -> train line for e only; valid a@30; test a@40.
    with open(p.train_file, encoding="utf-8") as f:
        assert f.read() == "1\tu1\te\tz\t20\tc\tx\t10\n"
    valid = read_lines(p.valid_file)
    test = read_lines(p.test_file)
    assert [v for v in valid if v[0] == "1"] == [
        ["1", "u1", "a", "x", "30", "c,e", "x,z", "10,20"],
        ["1", "u4", "h", "y", "2", "g", "y", "1"],
    ]
    assert [v for v in test if v[0] == "1"] == [
        ["1", "u1", "a", "x", "40", "c,e,a", "x,z,x", "10,20,30"],
        ["1", "u2", "f", "z", "20", "b", "y", "10"],
        ["1", "u4", "b", "y", "3", "g,h", "y,y", "1,2"],
    ]


def test_negative_lines_copy_the_positive(tmp_path):
    p = write_sequential_files(TINY, tmp_path, valid_num_ngs=2, test_num_ngs=3, seed=3)
    item_cat = {"a": "x", "b": "y", "c": "x", "d": "y", "e": "z", "f": "z", "g": "y", "h": "y"}
    for path, n in ((p.valid_file, 2), (p.test_file, 3)):
        lines = read_lines(path)
        assert len(lines) % (n + 1) == 0
        for g in range(0, len(lines), n + 1):
            pos, negs = lines[g], lines[g + 1 : g + n + 1]
            assert pos[0] == "1"
            items = [x[2] for x in negs]
            assert len(set(items)) == n and pos[2] not in items
            for x in negs:
                assert x[0] == "0"
                assert x[1] == pos[1] and x[4:] == pos[4:]
                assert x[3] == item_cat[x[2]]


def test_line_counts_m_minus_3_rule(tmp_path):
    lengths = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 7}
    rows = [(u, f"i{k}", "c", k) for u, m in lengths.items() for k in range(m)]
    rows += [("z", f"i{k}", "c", k) for k in range(10)]  # enough distinct items for negatives
    p = write_sequential_files(table(rows), tmp_path, valid_num_ngs=4, test_num_ngs=9)
    train = read_lines(p.train_file)
    valid = read_lines(p.valid_file)
    test = read_lines(p.test_file)
    per_user = {u: sum(1 for x in train if x[1] == u) for u in [*lengths, "z"]}
    assert per_user == {"a": 0, "b": 0, "c": 0, "d": 1, "e": 4, "z": 7}
    assert [x[1] for x in valid if x[0] == "1"] == ["c", "d", "e", "z"]
    assert [x[1] for x in test if x[0] == "1"] == ["b", "c", "d", "e", "z"]
    assert len(valid) == 4 * 5 and len(test) == 5 * 10
    m = read_manifest(tmp_path)
    assert m["users_without_lines"] == 1 and m["users_test_only"] == 1
    assert m["lines"] == {"train": 12, "valid": 20, "test": 50}


def test_ties_in_time_keep_input_order(tmp_path):
    rows = [("u", "p", "c", 5), ("u", "q", "c", 5), ("u", "r", "c", 1)]
    rows += [("v", f"n{k}", "c", k) for k in range(6)]
    p = write_sequential_files(table(rows), tmp_path, valid_num_ngs=1, test_num_ngs=1)
    test = [x for x in read_lines(p.test_file) if x[0] == "1" and x[1] == "u"]
    assert test == [["1", "u", "q", "c", "5", "r,p", "c,c", "1,5"]]


def naive_lines(df, max_history=None):
    """Reference oracle: the per-line Python loop of §1.3 (positives only)."""
    order = {}
    for r in df.itertuples(index=False):
        order.setdefault(r.user, []).append((r.item, r.category, int(r.timestamp)))
    out = {"train": [], "valid": [], "test": []}
    for user, evs in order.items():
        evs = sorted(evs, key=lambda e: e[2])  # stable
        m = len(evs)
        for i in range(1, m):
            split = "train" if i < m - 2 else ("valid" if i == m - 2 else "test")
            hist = evs[:i] if max_history is None else evs[max(0, i - max_history) : i]
            it, ca, ts = evs[i]
            out[split].append(
                "\t".join(
                    [
                        "1",
                        user,
                        it,
                        ca,
                        str(ts),
                        ",".join(h[0] for h in hist),
                        ",".join(h[1] for h in hist),
                        ",".join(str(h[2]) for h in hist),
                    ]
                )  # fmt: skip
            )
    return out


@pytest.mark.parametrize("max_history", [None, 1, 3])
def test_matches_naive_oracle_across_chunks(tmp_path, max_history):
    rng = np.random.default_rng(7)
    n = 800
    df = pd.DataFrame(
        {
            "user": [f"u{k}" for k in rng.integers(0, 40, n)],
            "item": [f"i{k}" for k in rng.zipf(1.5, n) % 50],
            "category": [f"c{k}" for k in rng.integers(0, 6, n)],
            "timestamp": rng.integers(0, 30, n),
        }
    )
    expected = naive_lines(df, max_history)
    # tiny chunks force many user chunks and many write pieces
    p = write_sequential_files(
        df, tmp_path, max_history=max_history, chunk_rows=37, chunk_bytes=300
    )
    with open(p.train_file, encoding="utf-8") as f:
        assert f.read().splitlines() == expected["train"]
    for split, path in (("valid", p.valid_file), ("test", p.test_file)):
        with open(path, encoding="utf-8") as f:
            pos = [x for x in f.read().splitlines() if x.startswith("1\t")]
        assert pos == expected[split]
    # the vectorised vocabs equal the ones counted from the written train file
    built = build_vocabs(p.train_file, tmp_path / "u", tmp_path / "i", tmp_path / "c")
    for got, path in zip(built, (p.user_vocab, p.item_vocab, p.cate_vocab)):
        with open(path, "rb") as f:
            written = pickle.load(f)
        assert list(written.items()) == list(got.items())


def test_max_history_truncates_to_last_steps(tmp_path):
    rows = [("u", f"i{k}", "c", k) for k in range(6)]
    p = write_sequential_files(
        table(rows), tmp_path, valid_num_ngs=2, test_num_ngs=2, max_history=2
    )
    test = read_lines(p.test_file)[0]
    assert test[5:] == ["i3,i4", "c,c", "3,4"]
    train = read_lines(p.train_file)
    assert [x[5] for x in train] == ["i0", "i0,i1", "i1,i2"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame(
        {
            "user": [f"u{k}" for k in rng.integers(0, 30, n)],
            "item": [f"i{k}" for k in rng.integers(0, 80, n)],
            "category": [f"c{k}" for k in rng.integers(0, 5, n)],
            "timestamp": rng.integers(0, 10**6, n),
        }
    )

    def files(d, seed, **kw):
        p = write_sequential_files(df, tmp_path / d, seed=seed, **kw)
        out = []
        for path in (p.train_file, p.valid_file, p.test_file):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    a = files("a", 5)
    assert files("b", 5) == a
    assert files("c", 5, chunk_rows=10, chunk_bytes=100) == a  # chunking does not matter
    other = files("d", 6)
    assert other[0] == a[0] and other[1] != a[1] and other[2] != a[2]


def test_failure_mid_write_leaves_no_file(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = sequential._gather

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        return real(*args)

    monkeypatch.setattr(sequential, "_gather", failing)
    with pytest.raises(OSError, match="disk full"):
        write_sequential_files(TINY, tmp_path, valid_num_ngs=1, test_num_ngs=1)
    assert os.listdir(tmp_path) == []


def test_draw_negatives_rejects_positive_and_repeats():
    rng = np.random.default_rng(0)
    pool = np.array([0] * 50 + [1, 2, 3, 4, 5])  # item 0 dominates the pool
    positives = np.array([0, 1, 0, 5] * 25)
    neg = draw_negatives(rng, pool, positives, 4)
    assert neg.shape == (100, 4)
    for p, row in zip(positives, neg):
        assert p not in row and len(set(row.tolist())) == 4
        assert set(row.tolist()) <= set(range(6))


def test_draw_negatives_is_popularity_proportional():
    rng = np.random.default_rng(0)
    pool = np.array([1] * 60 + [2] * 30 + [3] * 10)
    neg = draw_negatives(rng, pool, np.full(20000, 9), 1)
    freq = np.bincount(neg.ravel(), minlength=4)[1:] / 20000
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.015)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="only 3 distinct items; 9 distinct negatives"):
        write_sequential_files(table([("u", k, "c", 1) for k in "abc"]), tmp_path)
    with pytest.raises(ValueError, match="max_history must be >= 1"):
        write_sequential_files(TINY, tmp_path, max_history=0)
    with pytest.raises(ValueError, match="valid_num_ngs must be >= 1"):
        write_sequential_files(TINY, tmp_path, valid_num_ngs=0)
    with pytest.raises(ValueError, match="missing column"):
        write_sequential_files(TINY.drop(columns="category"), tmp_path)
    with pytest.raises(ValueError, match=r"row 2, column 'item': invalid id 'a,b'"):
        write_sequential_files(
            table([("u", "x", "c", 1), ("u", "y", "c", 2), ("u", "a,b", "c", 3)]), tmp_path
        )


def test_global_time_split(tmp_path):
    # T = 90, window 10: test = ts >= 80, valid = 70 <= ts < 80, train earlier (reference §1.4)
    rows = [("u1", f"a{t}", "x", t) for t in (0, 10, 50, 80, 90)]
    rows += [("u2", "b75", "y", 75), ("u2", "b85", "y", 85), ("u3", "c60", "z", 60)]
    rows += [("u3", "c72", "z", 72)]
    rule = sequential.SplitRule("time", window=10)
    p = write_sequential_files(
        table(rows), tmp_path, valid_num_ngs=1, test_num_ngs=1, user_default=True, split=rule
    )
    assert read_lines(p.train_file) == [
        ["1", "u1", "a10", "x", "10", "a0", "x", "0"],
        ["1", "u1", "a50", "x", "50", "a0,a10", "x,x", "0,10"],
    ]
    assert [v[1:5] for v in read_lines(p.valid_file) if v[0] == "1"] == [["u3", "c72", "z", "72"]]
    test = [v for v in read_lines(p.test_file) if v[0] == "1"]
    assert [v[1:3] + v[5:6] for v in test] == [
        ["u1", "a80", "a0,a10,a50"],
        ["u1", "a90", "a0,a10,a50,a80"],
        ["u2", "b85", "b75"],
    ]
    m = read_manifest(tmp_path)
    assert m["split"]["valid_start"] == 70 and m["split"]["test_start"] == 80
    with open(p.user_vocab, "rb") as f:
        assert pickle.load(f) == {"default_uid": 0, "u1": 1}


def test_sampled_lines_and_vectorised_vocab_match_the_train_file(tmp_path):
    from tf_lsrec.data.synthetic import generate_interactions

    inter, _ = generate_interactions(200, seed=0, n_items=80, n_categories=6)
    rule = sequential.SplitRule("time", window=5 * 86400, keep_train=0.5, keep_eval=0.15)
    p = write_sequential_files(inter, tmp_path / "a", seed=1, max_history=6, split=rule)
    m = read_manifest(tmp_path / "a")
    full = read_manifest(
        write_sequential_files(
            inter,
            tmp_path / "b",
            seed=1,
            max_history=6,
            split=sequential.SplitRule("time", window=5 * 86400),
        ).train_file.rsplit("/", 1)[0]
    )
    assert 0.4 < m["lines"]["train"] / full["lines"]["train"] < 0.6
    assert 0.08 < m["positives"]["test"] / full["positives"]["test"] < 0.22
    rebuilt = build_vocabs(p.train_file, tmp_path / "u.pkl", tmp_path / "i.pkl", tmp_path / "c.pkl")
    for got, path in zip(rebuilt, (p.user_vocab, p.item_vocab, p.cate_vocab)):
        with open(path, "rb") as f:
            assert pickle.load(f) == got
