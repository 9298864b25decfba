"""Randomised property tests (seeded; hypothesis is not in the environment) of the line parser
and validator, the time features and session segmentation."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tf_lsrec.io.features import time_features
from tf_lsrec.io.pipeline import parse_lines
from tf_lsrec.io.validate import SequentialFormatError, validate_file
from tf_lsrec.layers.session import SessionSegmentation

CASES = 40
ALPHABET = list("abcXYZ019_-é中")


def _id(rng):
    return "".join(rng.choice(ALPHABET, size=rng.integers(1, 8)))


def _line(rng, label="1"):
    n = int(rng.integers(1, 8))
    times = np.sort(rng.integers(0, 10**12, size=n + 1))
    return "\t".join([
        label, _id(rng), _id(rng), _id(rng), str(times[-1]),
        ",".join(_id(rng) for _ in range(n)), ",".join(_id(rng) for _ in range(n)),
        ",".join(str(t) for t in times[:-1]),
    ])  # fmt: skip


CORRUPTIONS = {
    "label": lambda c, rng: c.__setitem__(0, str(rng.choice(["2", "-1", " 1", "x", "1.0"]))),
    "timestamp": lambda c, rng: c.__setitem__(4, str(rng.choice(["x", "nan", "1e19", "-5"]))),
    "time history": lambda c, rng: c.__setitem__(7, ",".join([*c[7].split(",")[:-1], "abc"])),
    "category history": lambda c, rng: c.__setitem__(6, c[6] + ",extra"),
}


@pytest.mark.parametrize("seed", range(4))
def test_valid_files_pass_and_one_corruption_is_located(tmp_path, seed):
    rng = np.random.default_rng(seed)
    for case in range(CASES // 4):
        lines = [_line(rng, str(rng.integers(0, 2))) for _ in range(int(rng.integers(1, 30)))]
        path = tmp_path / f"ok{case}.txt"
        path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        assert validate_file(path).lines == len(lines)
        bad = int(rng.integers(0, len(lines)))
        field = str(rng.choice(list(CORRUPTIONS)))
        cols = lines[bad].split("\t")
        CORRUPTIONS[field](cols, rng)
        lines[bad] = "\t".join(cols)
        path = tmp_path / f"bad{case}.txt"
        path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        with pytest.raises(SequentialFormatError) as e:
            validate_file(path)
        assert e.value.line == bad + 1 and e.value.field == field, str(e.value)


def test_graph_parser_agrees_with_python_split():
    rng = np.random.default_rng(7)
    lines = [_line(rng, str(rng.integers(0, 2))) for _ in range(CASES)]
    got = parse_lines(tf.constant(lines))
    for i, line in enumerate(lines):
        c = line.split("\t")
        assert got["labels"][i].numpy() == float(c[0])
        assert got["users"][i].numpy().decode() == c[1]
        assert got["time"][i].numpy() == float(c[4])
        assert [x.decode() for x in got["item_history"][i].numpy()] == c[5].split(",")
        assert got["time_history"][i].numpy().tolist() == [float(t) for t in c[7].split(",")]


def _g(x):
    return math.log(max(x, 0.5))


@pytest.mark.parametrize("divisor", [86_400.0, 86.4, 86_400_000.0])
def test_time_features_match_the_definition_and_are_finite(divisor):
    rng = np.random.default_rng(int(divisor))
    rows = [np.sort(rng.integers(0, 10**13, size=rng.integers(1, 12))).astype(float)
            for _ in range(CASES)]  # fmt: skip
    now = np.array([r[-1] + rng.integers(0, 10**9) for r in rows])
    out = time_features(tf.ragged.constant(rows, dtype=tf.float64), tf.constant(now), divisor)
    for i, r in enumerate(rows):
        nxt = list(r[1:]) + [now[i]]
        want = {
            "time_diff": [_g((b - a) / divisor) for a, b in zip(r, nxt)],
            "time_from_first_action": [_g((b - r[0]) / divisor) for b in nxt],
            "time_to_now": [_g((now[i] - a) / divisor) for a in r],
        }
        for name, values in want.items():
            got = out[name][i].numpy()
            assert np.isfinite(got).all() and (got >= math.log(0.5) - 1e-12).all()
            np.testing.assert_allclose(got, values, rtol=1e-12, err_msg=name)


def test_session_segmentation_matches_a_python_oracle():
    rng = np.random.default_rng(11)
    gap, length = 100.0, 12
    seg = SessionSegmentation(gap_seconds=gap, max_sessions=3, max_session_length=4)
    for _ in range(CASES // 4):
        n = rng.integers(0, length + 1, size=8)
        times = np.zeros((8, length))
        mask = np.zeros((8, length))
        for b, k in enumerate(n):
            times[b, :k] = np.cumsum(rng.choice([1.0, 50.0, 100.0, 500.0], size=k))
            mask[b, :k] = 1
        out = seg(tf.constant(times), tf.constant(mask))
        for b, k in enumerate(n):
            ids, cur = [], -1
            for j in range(k):
                if j == 0 or times[b, j] - times[b, j - 1] >= gap:
                    cur += 1
                ids.append(cur)
            assert out["num_sessions"][b].numpy() == (cur + 1)
            assert out["position_session"][b].numpy().tolist() == ids + [-1] * (length - k)
            assert out["current_positions"][b].numpy().sum() == ids.count(cur) if k else True
