"""Bad inputs of issue 21: each ends in an error naming file, line and field, before training."""

import numpy as np
import pytest

from tf_lsrec.io.iterator import SequentialIterator
from tf_lsrec.io.pipeline import SequentialData
from tf_lsrec.io.validate import TIME_LIMIT, SequentialFormatError, validate_file

GOOD = "1\tu1\ti1\tc2\t500\ti2,i3\tc3,c1\t100,200"
NEG = "0" + GOOD[1:]


def _err(path, **kw):
    with pytest.raises(SequentialFormatError) as info:
        validate_file(path, **kw)
    return info.value


@pytest.mark.parametrize("label", ["2", "-1", " 1", "1 ", "+1", "01", "1.0", "true"])
def test_labels_other_than_0_or_1(write, label):
    path = write("bad.txt", [GOOD, label + GOOD[1:]])
    e = _err(path)
    assert (e.path, e.line, e.field) == (path, 2, "label")
    assert repr(label) in str(e) and "exactly 1 or 0" in str(e)


def test_regression_labels_are_numbers(write):
    path = write("reg.txt", ["3.5" + GOOD[1:], "-1" + GOOD[1:]])
    assert validate_file(path, labels="numeric").lines == 2
    e = _err(write("reg2.txt", [GOOD, "abc" + GOOD[1:]]), labels="numeric")
    assert e.line == 2 and e.field == "label"


def test_training_file_holds_positives_only(write):
    path = write("train.txt", [GOOD, GOOD, NEG])
    e = _err(path, group_size=1)
    assert (e.line, e.field) == (3, "label") and "positives only" in str(e)
    assert validate_file(path).positives == 2  # without a role any 0/1 mix is fine


def test_eval_groups_positive_first(write):
    ok = [GOOD, NEG, NEG] * 2
    assert validate_file(write("ok.txt", ok), group_size=3).positives == 2
    e = _err(write("swapped.txt", [NEG, GOOD, NEG]), group_size=3)
    assert (e.line, e.field) == (1, "label") and "positive, first line of its group" in str(e)
    e = _err(write("two.txt", [GOOD, NEG, GOOD]), group_size=3)
    assert e.line == 3 and "negative 2 of its group" in str(e) and "num_ngs = 2" in str(e)
    e = _err(write("short.txt", [GOOD, NEG, NEG, GOOD, NEG]), group_size=3)
    assert e.line == 5 and "not a multiple of the group size 3" in str(e)


def test_utf8_bom(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + (GOOD + "\n").encode())
    e = _err(path)
    assert e.line == 1 and "byte-order mark" in str(e)


def test_file_cut_inside_the_last_timestamp(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_text(GOOD + "\n" + GOOD + "\n" + GOOD[:-1])  # "100,20": still numbers
    e = _err(path)
    assert e.line == 3 and "truncated" in str(e)


@pytest.mark.parametrize("stamp", ["1.7e308", "1e19", "-5", str(TIME_LIMIT * 10)])
def test_timestamps_out_of_range(write, stamp):
    path = write("t.txt", [GOOD, GOOD.replace("\t500\t", f"\t{stamp}\t")])
    e = _err(path)
    assert (e.line, e.field) == (2, "timestamp") and "expected a timestamp in [0" in str(e)
    path = write("h.txt", [GOOD, GOOD.replace("100,200", f"100,{stamp}")])
    e = _err(path)
    assert (e.line, e.field) == (2, "time history") and stamp in str(e)


def test_pipeline_checks_train_and_eval_roles(write, make_hparams, h):
    lines = [h.line(1, "u1", f"i{k % 9 + 1}", 10 * h.DAY + k, ["i1", "i2"], [0, h.DAY])
             for k in range(10)]  # fmt: skip
    lines[7] = "0" + lines[7][1:]
    path = write("t.txt", lines)
    data = SequentialData(make_hparams())
    with pytest.raises(SequentialFormatError, match=r"t.txt:8: field 0 \(label\)"):
        data.train_dataset(path)
    with pytest.raises(SequentialFormatError, match=r"t.txt:2: field 0 \(label\)"):
        data.file_stats(path, group_size=5)
    assert data.file_stats(path).lines == 10  # prediction: any labels


def test_microsoft_iterator_names_file_and_line(write, make_hparams, h):
    hp = make_hparams()
    it = SequentialIterator(hp)
    bad = [h.line(1, "u1", "i1", 500, ["i2"], [100])] * 5 + ["1\tu1\ti1\tc2\t500\ti2"]
    path = write("ms.txt", bad)
    with pytest.raises(SequentialFormatError, match=r"ms.txt:6: has 6 tab-separated fields"):
        list(it.load_data_from_file(path))
    path = write("ms_neg.txt", [h.line(1, "u1", "i1", 500, ["i2"], [100])] * 5 + [NEG])
    assert len(list(it.load_data_from_file(path))) == 2  # evaluation: labels from the file
    with pytest.raises(SequentialFormatError, match=r"ms_neg.txt:6: field 0 \(label\)"):
        list(it.load_data_from_file(path, batch_num_ngs=2))
    out = list(it.load_data_from_file(write("ok.txt", [GOOD] * 5), batch_num_ngs=2))
    assert np.asarray(out[0]["labels"]).sum() == 5
