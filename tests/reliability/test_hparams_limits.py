"""YAML and hyper-parameter cases of issue 21: each refused naming the key, or read correctly."""

import pytest

from tf_lsrec.hparams import HParamsError, declared_keys, prepare_hparams
from tf_lsrec.hparams_checks import check_limits, load_yaml


def _yaml(tmp_path, body: str):
    path = tmp_path / "h.yaml"
    path.write_text("model:\n  model_type: gru4rec\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, value", [("1e-3", 1e-3), ("1E-4", 1e-4), ("2e2", 200.0),
                                         ("0.5", 0.5), (".5e1", 5.0), ("1.0e-3", 1e-3)])  # fmt: skip
def test_yaml_12_floats(tmp_path, text, value):
    hp = prepare_hparams(_yaml(tmp_path, f"train:\n  learning_rate: {text}\n"))
    assert hp.learning_rate == value
    assert prepare_hparams(model_type="gru4rec", overrides=[f"train.learning_rate={text}"]
                           ).learning_rate == value  # fmt: skip


def test_yaml_keeps_ints_strings_and_bools():
    doc = load_yaml("a: 10\nb: 1_000\nc: e5\nd: True\ne: '1e-3'\nf: 1e\n")
    assert doc == {"a": 10, "b": 1000, "c": "e5", "d": True, "e": "1e-3", "f": "1e"}


def test_duplicate_keys_are_refused(tmp_path):
    path = _yaml(tmp_path, "train:\n  epochs: 3\n  batch_size: 8\n  epochs: 5\n")
    with pytest.raises(HParamsError, match=r"h.yaml.*`epochs` appears twice \(lines 4 and 6\)"):
        prepare_hparams(path)
    with pytest.raises(HParamsError, match="`train` appears twice"):
        prepare_hparams(_yaml(tmp_path, "train:\n  epochs: 3\ntrain:\n  epochs: 5\n"))


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan", "1e400"])
def test_non_finite_learning_rate(tmp_path, text):
    with pytest.raises(HParamsError, match=r"`learning_rate` \(section `train`\)"):
        prepare_hparams(_yaml(tmp_path, f"train:\n  learning_rate: {text}\n"))


@pytest.mark.parametrize("value", [-3, 2])
def test_clip_norm_flag_is_0_or_1(value):
    with pytest.raises(HParamsError, match=r"`is_clip_norm`.*expected 0 \(off\) or 1 \(on\)"):
        prepare_hparams(model_type="gru4rec", is_clip_norm=value)


@pytest.mark.parametrize("sizes", [[0], [-8], ["a"], [16, 2.5], [True]])
@pytest.mark.parametrize("key", ["layer_sizes", "att_fcn_layer_sizes"])
def test_mlp_sizes_are_positive_integers(key, sizes):
    with pytest.raises(HParamsError, match=rf"`{key}` \(section `model`\).*entry"):
        prepare_hparams(model_type="gru4rec", **{key: sizes})


def test_dropout_rates():
    with pytest.raises(HParamsError, match=r"`dropout`.*entry 1 is 1.5"):
        prepare_hparams(model_type="gru4rec", dropout=[0.1, 1.5])


def test_memory_exhausting_shapes_are_refused_with_the_need():
    with pytest.raises(HParamsError, match=r"`train_num_ngs`.*need [0-9.]+ GiB"):
        prepare_hparams(model_type="gru4rec", train_num_ngs=100_000, batch_size=400)
    with pytest.raises(HParamsError, match=r"`max_seq_length`.*need|`train_num_ngs`.*need"):
        prepare_hparams(model_type="gru4rec", max_seq_length=100_000_000)
    # the check uses the given budget: 1 MiB refuses the defaults, which need a few MiB
    hp = prepare_hparams(model_type="gru4rec")
    with pytest.raises(ValueError, match="this machine has 0.0 GiB"):
        check_limits(hp, "x", declared_keys(), budget=1 << 20)
    check_limits(hp, "x", declared_keys())
