import pytest

from tf_lsrec.io.validate import SequentialFormatError, validate_file

GOOD = "1\tu1\ti1\tc2\t500\ti2,i3\tc3,c1\t100,200"


def _err(write, lines, **kw):
    path = write("bad.txt", lines)
    with pytest.raises(SequentialFormatError) as info:
        validate_file(path, **kw)
    return path, info.value


def test_counts_lines_positives_lengths_and_unknown_ids(write, h):
    lines = [
        GOOD,
        "0\tu1\ti9\tc1\t500\ti2,i3\tc3,c1\t100,200",
        "1\tnew_user\tnew_item\tc1\t900\ti1,i4,zz\tc2,c2,c9\t1,2,3",
    ]
    stats = validate_file(write("ok.txt", lines), (h.USERS, h.ITEMS, h.CATES))
    assert stats.lines == 3 and stats.positives == 2
    assert stats.history_length_counts.tolist() == [0, 0, 2, 1]
    assert stats.lines_shorter_than(3) == 2 and stats.max_history_length == 3
    assert stats.unknown == {
        "users": 1, "items": 1, "cates": 0, "history_items": 1, "history_cates": 1,
    }  # fmt: skip


def test_too_few_and_too_many_fields(write):
    path, e = _err(write, [GOOD, "1\tu1\ti1\tc2\t500\ti2"])
    assert e.line == 2 and "has 6 tab-separated fields; expected 8" in str(e)
    assert str(e).startswith(f"{path}:2:")
    _, e = _err(write, [GOOD, GOOD, GOOD + "\textra"])
    assert e.line == 3 and "has 9 tab-separated fields; expected 8" in str(e)


def test_blank_line(write):
    _, e = _err(write, [GOOD, ""])
    assert e.line == 2 and "has 1 tab-separated fields" in str(e)


def test_non_integer_label(write):
    _, e = _err(write, [GOOD, GOOD.replace("1", "1.5", 1)])
    assert e.line == 2 and e.field == "label"
    assert "field 0 (label) = '1.5'; expected an integer" in str(e)


def test_non_numeric_timestamp(write):
    _, e = _err(write, [GOOD.replace("\t500\t", "\tnoon\t")])
    assert e.line == 1 and e.field == "timestamp" and "'noon'; expected a number" in str(e)


def test_unequal_history_lengths(write):
    _, e = _err(write, [GOOD, GOOD, "1\tu1\ti1\tc2\t500\ti2,i3,i4\tc3,c1\t100,200,300"])
    assert e.line == 3
    assert "3 items, 2 categories, 3 timestamps; expected equal lengths" in str(e)


def test_empty_history(write):
    _, e = _err(write, ["1\tu1\ti1\tc2\t500\t\t\t"])
    assert e.line == 1 and e.field == "item history"
    assert "is empty; expected at least one history step" in str(e)


def test_bad_time_history_entry(write):
    _, e = _err(write, [GOOD, "1\tu1\ti1\tc2\t500\ti2,i3\tc3,c1\t100,x"])
    assert e.line == 2 and e.field == "time history" and "entry 'x'; expected" in str(e)


def test_empty_file_and_missing_file(write, tmp_path):
    _, e = _err(write, [])
    assert "file is empty" in str(e)
    with pytest.raises(FileNotFoundError, match="nothere.txt does not exist"):
        validate_file(tmp_path / "nothere.txt")


def test_max_errors_lists_several_and_chunks_keep_line_numbers(write):
    lines = [GOOD] * 5 + [GOOD.replace("\t500\t", "\tx\t")] + [GOOD] * 3 + ["1\tu1"]
    _, e = _err(write, lines, max_errors=3, chunk_lines=4)
    assert e.line == 6 and "line 10: has 2 tab-separated fields" in str(e)
