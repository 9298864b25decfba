"""YAML hyper-parameters: flattening, precedence, validation messages."""

import glob
import os

import pytest

from tf_lsrec.hparams import HParamsError, parse_override, prepare_hparams
from tf_lsrec.models import canonical_model_type

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(tmp_path, text, name="hp.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BASE = """
data:
    user_vocab: u.pkl
    item_vocab: i.pkl
    cate_vocab: c.pkl
model:
    model_type: sli_rec
    hidden_size: 40
train:
    epochs: 3
    learning_rate: 0.01
info:
    show_step: 7
"""


def test_sections_are_flattened_and_defaults_filled(tmp_path):
    hp = prepare_hparams(write(tmp_path, BASE))
    assert hp.epochs == 3 and hp.learning_rate == 0.01 and hp.show_step == 7
    assert hp.user_vocab == "u.pkl"
    assert hp.batch_size == 400  # declared default
    assert hp.embed_l2 == 0.0
    assert hp.model_type == "sli_rec"


def test_precedence_file_then_kwargs_then_set(tmp_path):
    path = write(tmp_path, BASE)
    assert prepare_hparams(path).epochs == 3
    assert prepare_hparams(path, epochs=5).epochs == 5
    hp = prepare_hparams(path, overrides=["train.epochs=9"], epochs=5)
    assert hp.epochs == 9
    hp = prepare_hparams(path, overrides=["hidden_size=64", "model.layer_sizes=[8, 4]"])
    assert hp.hidden_size == 64 and hp.layer_sizes == [8, 4]


def test_unknown_key_names_file_and_nearest_key(tmp_path):
    path = write(tmp_path, BASE.replace("hidden_size: 40", "hiden_size: 40"))
    with pytest.raises(HParamsError) as e:
        prepare_hparams(path)
    msg = str(e.value)
    assert path in msg and "`hiden_size`" in msg and "did you mean `hidden_size`" in msg


def test_unknown_kwarg_and_set_key():
    with pytest.raises(HParamsError, match="unknown hyper-parameter `epoch`.*`epochs`"):
        prepare_hparams(None, model_type="gru4rec", epoch=3)
    with pytest.raises(HParamsError, match="unknown hyper-parameter `learning_rat`"):
        prepare_hparams(None, model_type="gru4rec", overrides=["train.learning_rat=0.1"])


def test_unknown_section(tmp_path):
    path = write(tmp_path, BASE + "trian:\n    epochs: 2\n")
    with pytest.raises(HParamsError, match="unknown section `trian`.*did you mean `train`"):
        prepare_hparams(path)


def test_wrong_type_names_key_value_and_expectation(tmp_path):
    path = write(tmp_path, BASE.replace("epochs: 3", "epochs: three"))
    with pytest.raises(HParamsError) as e:
        prepare_hparams(path)
    msg = str(e.value)
    assert "`epochs`" in msg and "'three'" in msg and "expected int" in msg and path in msg
    with pytest.raises(HParamsError, match="`layer_sizes`.*expected list"):
        prepare_hparams(None, model_type="gru4rec", layer_sizes=100)


def test_out_of_range_and_choices():
    with pytest.raises(HParamsError, match=r"`learning_rate`.*-0\.1.*out of range; expected > 0"):
        prepare_hparams(None, model_type="gru4rec", learning_rate=-0.1)
    with pytest.raises(HParamsError, match=r"`optimizer`.*'adamw'.*expected one of"):
        prepare_hparams(None, model_type="gru4rec", optimizer="adamw")
    with pytest.raises(HParamsError, match=r"`contrastive_pairs`"):
        prepare_hparams(None, model_type="clsr", contrastive_pairs=[1, 5])


def test_ints_accepted_for_floats_and_01_for_bools():
    hp = prepare_hparams(None, model_type="gru4rec", embed_l2=0, user_dropout=1)
    assert hp.embed_l2 == 0.0 and isinstance(hp.embed_l2, float)
    assert hp.user_dropout is True


def test_missing_model_type_and_required_keys(tmp_path):
    with pytest.raises(HParamsError, match="`model_type`.*must be set"):
        prepare_hparams(write(tmp_path, "train:\n    epochs: 1\n"))
    from tf_lsrec.compat.deeprec.deeprec_utils import prepare_hparams as ms_prepare

    with pytest.raises(HParamsError, match="`user_vocab`.*must be set for model_type `gru4rec`"):
        ms_prepare(None, model_type="GRU4REC")


def test_activation_list_must_cover_longest_mlp():
    with pytest.raises(HParamsError, match="`activation` has 1 entries"):
        prepare_hparams(None, model_type="gru4rec", activation=["relu"])


def test_model_type_aliases():
    assert canonical_model_type("GRU") == "gru4rec"
    assert canonical_model_type("Sli_rec") == "sli_rec"
    assert canonical_model_type("A2SVD") == "a2svd"


def test_parse_override_errors():
    assert parse_override("train.epochs=2") == ("epochs", 2)
    assert parse_override("metrics=['auc']") == ("metrics", ["auc"])
    with pytest.raises(HParamsError, match="expected KEY=VALUE"):
        parse_override("epochs")
    with pytest.raises(HParamsError, match="belongs to section `train`, not `model`"):
        parse_override("model.epochs=2")


def test_resolved_dump_round_trips(tmp_path):
    hp = prepare_hparams(write(tmp_path, BASE), epochs=4)
    out = tmp_path / "resolved.yaml"
    hp.save_yaml(str(out))
    again = prepare_hparams(str(out))
    assert again.values() == hp.values()


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "hparams", "*.yaml"))))
def test_shipped_yamls_are_valid(path):
    hp = prepare_hparams(path)
    assert hp.model_type


def test_unknown_metric_name_is_caught_at_load_time():
    with pytest.raises(HParamsError, match="pairwise_metrics"):
        prepare_hparams(None, model_type="gru4rec", pairwise_metrics=["mean_mrr", "ndgc@2"])


# ---------------------------------------------------------------- who declares what (issue 15)
def test_each_model_declares_its_own_keys_and_required_keys():
    from tf_lsrec.hparams import BASE_REQUIRED_KEYS, declared_keys, required_keys
    from tf_lsrec.models import MODELS, get_model_class

    keys = declared_keys()
    assert len(MODELS) == 15
    for name in MODELS:
        cls = get_model_class(name)
        assert "required_keys" in vars(cls), f"{name} does not list its required keys"
        for key in required_keys(name):
            assert key in keys, (name, key)
        for key, spec in getattr(cls, "hparams_spec", {}).items():
            # model keys; LightGCN's Microsoft `train` keys (decay, top_k) stay in `train`
            assert keys[key] == spec and spec.section in ("model", "train"), (name, key)
    assert required_keys("gru4rec")[: len(BASE_REQUIRED_KEYS)] == BASE_REQUIRED_KEYS
    assert {"L", "n_v", "n_h"} <= set(get_model_class("caser").hparams_spec)
    assert "n_v" not in get_model_class("gru4rec").__dict__.get("hparams_spec", {})


def test_choices_come_from_the_implementing_code():
    from tf_lsrec.hparams import choices_of, declared_keys
    from tf_lsrec.layers.contrastive import TRIPLET_FORMS
    from tf_lsrec.layers.fusion import FUSION_MODES
    from tf_lsrec.layers.initializers import INIT_METHODS
    from tf_lsrec.layers.intentions import KEEP_BY
    from tf_lsrec.models.distribute import STRATEGIES
    from tf_lsrec.models.losses import LOSSES
    from tf_lsrec.models.optimizers import OPTIMIZERS
    from tf_lsrec.models.seq2seq import PAST_ENCODERS

    keys = declared_keys()
    expected = {"fusion": FUSION_MODES, "seq2seq_past_encoder": PAST_ENCODERS,
                "distribute": STRATEGIES, "loss": LOSSES, "optimizer": OPTIMIZERS,
                "init_method": INIT_METHODS, "seq2seq_keep_by": KEEP_BY,
                "triplet_form": TRIPLET_FORMS}  # fmt: skip
    for key, choices in expected.items():
        assert choices_of(keys[key]) == tuple(choices), key


def test_choice_errors_name_the_key_and_suggest():
    with pytest.raises(HParamsError, match=r"`optimizer` \(section `train`\) = 'adamm'.*"
                                           r"did you mean 'adam'"):  # fmt: skip
        prepare_hparams(model_type="gru4rec", optimizer="adamm")
    with pytest.raises(HParamsError, match="`model_type`.*`sli_rc`.*did you mean `sli_rec`"):
        prepare_hparams(model_type="sli_rc")


def test_ignored_microsoft_keys_warn_only_when_set(tmp_path):
    from tf_lsrec.hparams import IGNORED_KEYS, HParamsWarning, declared_keys

    assert {"sample_rate", "cross_l1", "cross_l2", "need_sample", "save_epoch"} <= set(IGNORED_KEYS)
    assert set(IGNORED_KEYS) <= set(declared_keys())
    with pytest.warns(HParamsWarning, match="`need_sample` = False .*ignored"):
        prepare_hparams(model_type="gru4rec", need_sample=False)
    with pytest.warns(HParamsWarning, match="`cross_l2` = 0.5"):
        prepare_hparams(write(tmp_path, "model: {model_type: gru4rec}\ntrain: {cross_l2: 0.5}"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_hparams(model_type="gru4rec", need_sample=True, save_epoch=1)  # the defaults


def test_another_models_key_warns():
    from tf_lsrec.hparams import HParamsWarning

    with pytest.warns(HParamsWarning, match=r"`n_v` = 8 is read by \['caser'\] only"):
        prepare_hparams(model_type="gru4rec", n_v=8)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "hparams", "*.yaml"))))
def test_shipped_yamls_set_no_ignored_or_foreign_key(path):
    import warnings

    import yaml

    from tf_lsrec.hparams import IGNORED_KEYS

    with open(path) as f:
        doc = yaml.safe_load(f)
    written = {k for body in doc.values() for k in (body or {})}
    assert not written & set(IGNORED_KEYS), path
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_hparams(path)


def test_jit_compile_does_not_silently_change_the_seq2seq_loss():
    from tf_lsrec.models.seq2seq import Seq2SeqSelfSupervision

    hp = prepare_hparams(model_type="gru4rec", seq2seq_loss_weight=0.1)
    assert hp.seq2seq_dedupe is True  # the default, as before
    assert Seq2SeqSelfSupervision.from_hparams(hp).dedupe is True
    with pytest.raises(ValueError, match="`jit_compile: true`.*`seq2seq_dedupe: false`"):
        Seq2SeqSelfSupervision.from_hparams(hp.replace(jit_compile=True))
    layer = Seq2SeqSelfSupervision.from_hparams(hp.replace(jit_compile=True, seq2seq_dedupe=False))
    assert layer.dedupe is False


def test_deterministic_needs_a_seed():
    with pytest.raises(HParamsError, match="`deterministic: true`.*needs a `seed`"):
        prepare_hparams(model_type="gru4rec", deterministic=True, seed=None)


def test_data_defaults_are_the_declared_ones():
    from tf_lsrec.data.prepare import _settings
    from tf_lsrec.hparams import default_value

    settings = _settings({})
    for key in ("dataset", "valid_num_ngs", "test_num_ngs", "synthetic_interactions", "seed"):
        assert settings[key] == default_value(key), key
    assert settings == _settings(prepare_hparams(model_type="gru4rec"))
