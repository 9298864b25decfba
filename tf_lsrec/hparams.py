"""Hyper-parameters: Microsoft-compatible YAML layout, typed defaults and validation.

The YAML files have the sections ``data``, ``model``, ``train`` and ``info`` (Microsoft's layout).
As in Microsoft's ``prepare_hparams`` all sections are flattened into one namespace; key names and
defaults follow Microsoft Recommenders (and the official CLSR code for the CLSR keys). Unlike
Microsoft's ``HParams``, every key is declared (once) with its type, so that

* an unknown key is an error that names the key, the file and the nearest valid key,
* a value of the wrong type or out of range is an error naming key, value and expectation,
* keys a model needs (``required_keys``) are checked.

Who declares what: this module declares the keys shared by every model (data, shared model
settings, train, info). Each model class declares its own keys in ``hparams_spec`` (and the keys
it cannot run without in ``required_keys``); the seq2seq self-supervision declares its keys in
``tf_lsrec.models.seq2seq.HPARAMS``. Choice lists come from the code that implements them
(``choices="module:NAME"`` is resolved on first use). All are collected from the one model
registry, ``tf_lsrec.models.MODELS``.

Microsoft keys that this library accepts but ignores are listed in :data:`IGNORED_KEYS`;
setting one to a value other than its default warns (:class:`HParamsWarning`).

Precedence of values: declared default < YAML file < Python keyword arguments < ``--set`` overrides
(``section.key=value`` or ``key=value`` strings, as ``tools/run.py --set`` passes them).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

from tf_lsrec.hparams_checks import check_limits, load_yaml

SECTIONS = ("data", "model", "train", "info")


class HParamsError(ValueError):
    """A hyper-parameter file or override is invalid. The message says where and why."""


class HParamsWarning(UserWarning):
    """A key is set that this library accepts but does not use."""


@dataclasses.dataclass(frozen=True)
class Spec:
    """Declaration of one hyper-parameter."""

    type: Any  # int, float, str, bool, list, or a tuple of these
    default: Any
    section: str
    doc: str = ""
    choices: tuple | str | None = None  # a tuple, or "module:NAME" of the implementing code
    check: Callable[[Any], bool] | None = None
    expect: str = ""  # human description of `check`
    nullable: bool = False


def _pos(x):
    return x > 0


def _nonneg(x):
    return x >= 0


def _prob(x):
    return 0.0 <= x < 1.0


_S: dict[str, Spec] = {}


def _declare(section: str, **specs: Spec) -> None:
    for k, s in specs.items():
        _S[k] = dataclasses.replace(s, section=section)


def S(type, default, doc="", section="", **kw) -> Spec:  # noqa: N802 - short constructor
    """One key's declaration (``section`` is filled in by :func:`model_keys` or the table)."""
    return Spec(type=type, default=default, section=section, doc=doc, **kw)


def model_keys(**specs: Spec) -> dict[str, Spec]:
    """Declarations of ``model`` section keys, for a model class's ``hparams_spec``."""
    return {k: dataclasses.replace(s, section="model") for k, s in specs.items()}


positive = _pos
non_negative = _nonneg


# ---------------------------------------------------------------- data
_declare(
    "data",
    user_vocab=S(str, None, "pickled dict raw user id -> index", nullable=True),
    item_vocab=S(str, None, "pickled dict raw item id -> index", nullable=True),
    cate_vocab=S(str, None, "pickled dict raw category -> index", nullable=True),
    train_file=S(str, None, "8-column training file", nullable=True),
    valid_file=S(str, None, "8-column validation file", nullable=True),
    test_file=S(str, None, "8-column test file", nullable=True),
    dataset=S(
        str,
        "ml-100k",
        "dataset prepared when the files above are not given",
        choices="tf_lsrec.data.prepare:DATASET_CHOICES",
    ),
    data_dir=S(
        str, None, "where prepared files live (default: cache dir / dataset)", nullable=True
    ),
    valid_num_ngs=S(int, 4, "offline negatives per validation positive", check=_pos, expect="> 0"),
    test_num_ngs=S(int, 9, "offline negatives per test positive", check=_pos, expect="> 0"),
    max_history=S(
        int, None, "truncate histories when preparing data (None = Microsoft: all)", nullable=True
    ),
    user_default=S(
        bool,
        False,
        "user vocab with `default_uid` -> 0 (CLSR) instead of the most "
        "frequent user at 0 (Microsoft)",
    ),
    synthetic_interactions=S(
        int, 100_000, "size of the synthetic dataset", check=_pos, expect="> 0"
    ),
    time_unit=S(
        str,
        "s",
        "unit of the raw timestamps: 's' seconds or 'ms' milliseconds",
        choices=("s", "ms"),
    ),
    time_unit_quirk=S(
        bool,
        False,
        "official CLSR code: second timestamps are divided by 86.4 "
        "(thousandths of a day) instead of 86400 (days); on for the CLSR yaml",
    ),
    shuffle_buffer=S(
        int,
        0,
        "training shuffle buffer in lines; 0 = whole file (Microsoft)",
        check=_nonneg,
        expect=">= 0",
    ),
    length_bucketing=S(
        int,
        0,
        "training batches per length-sorting window: the shuffled lines "
        "are sorted by history length within windows of this many batches and "
        "each batch is padded only to its longest history (rounded up to a fifth "
        "of max_seq_length); 0 = off (Microsoft: every batch padded to "
        "max_seq_length). Changes batch composition and the batch-norm "
        "statistics of models with BN over history positions; see "
        "docs/performance.md",
        check=_nonneg,
        expect=">= 0",
    ),
)

# ---------------------------------------------------------------- model
_declare(
    "model",
    model_type=S(str, None, "which model to build", nullable=True),
    method=S(str, "classification", choices=("classification", "regression")),
    layer_sizes=S(list, [100, 64], "hidden sizes of the prediction MLP"),
    activation=S(list, ["relu", "relu"], "activation per MLP hidden layer (shared by all MLPs)"),
    user_dropout=S(bool, False, "apply `dropout` in MLPs"),
    dropout=S(list, [0.0, 0.0], "dropout rate per MLP hidden layer"),
    embedding_dropout=S(
        float, 0.0, "dropout on looked-up embeddings (CLSR code)", check=_prob, expect="in [0, 1)"
    ),
    item_embedding_dim=S(int, 32, check=_pos, expect="> 0"),
    cate_embedding_dim=S(int, 8, check=_pos, expect="> 0"),
    user_embedding_dim=S(int, 16, check=_pos, expect="> 0"),
    hidden_size=S(int, 40, "RNN units", check=_pos, expect="> 0"),
    attention_size=S(int, 40, check=_pos, expect="> 0", nullable=True),
    att_fcn_layer_sizes=S(list, [80, 40], "hidden sizes of attention / gate MLPs"),
    enable_BN=S(bool, False, "batch normalisation in MLP hidden layers"),
    max_seq_length=S(int, 50, "history steps kept (the most recent)", check=_pos, expect="> 0"),
    min_seq_length=S(int, 1, "lines with a shorter history are skipped", check=_pos, expect="> 0"),
)

# ---------------------------------------------------------------- train
_declare(
    "train",
    init_method=S(str, "tnormal", choices="tf_lsrec.layers.initializers:INIT_METHODS"),
    init_value=S(float, 0.01, check=_pos, expect="> 0"),
    embed_l2=S(float, 0.0, check=_nonneg, expect=">= 0"),
    embed_l1=S(float, 0.0, check=_nonneg, expect=">= 0"),
    layer_l2=S(float, 0.0, check=_nonneg, expect=">= 0"),
    layer_l1=S(float, 0.0, check=_nonneg, expect=">= 0"),
    learning_rate=S(float, 0.001, check=_pos, expect="> 0"),
    loss=S(str, "softmax", choices="tf_lsrec.models.losses:LOSSES"),
    optimizer=S(str, "adam", choices="tf_lsrec.models.optimizers:OPTIMIZERS"),
    epochs=S(int, 10, check=_pos, expect="> 0"),
    batch_size=S(
        int,
        400,
        "instances per training batch; lines per evaluation batch",
        check=_pos,
        expect="> 0",
    ),
    eval_batch_size=S(int, None, "lines per evaluation batch (default batch_size)", nullable=True),
    EARLY_STOP=S(int, 100, "patience in epochs (0 = off)", check=_nonneg, expect=">= 0"),
    train_num_ngs=S(int, 4, "negatives per training instance", check=_pos, expect="> 0"),
    train_negatives=S(
        str,
        "in_batch",
        "where training negatives come from: in_batch = other instances' targets in the "
        "batch (Microsoft's; as popular as the targets), uniform = items of the item vocab "
        "drawn uniformly (never the target); NextItNet and BERT4Rec draw their per-position "
        "negatives in-batch either way, LightGCN always samples uniformly",
        choices=("in_batch", "uniform"),
    ),
    is_clip_norm=S(int, 0, "clip each gradient tensor to max_grad_norm"),
    max_grad_norm=S(float, 2.0, check=_pos, expect="> 0"),
    seed=S(int, 42, "seed for initialisers, shuffling and negatives", nullable=True),
    deterministic=S(
        bool,
        False,
        "two runs with the same seed are bit-identical on CPU, on the same CPU type with the "
        "same number of TensorFlow threads (one per usable core unless TF_NUM_INTRAOP_THREADS "
        "is set) (TensorFlow op determinism: slower; some GPU ops refuse to run); needs seed",
    ),
    jit_compile=S(bool, False, "XLA-compile the train step"),
    precision=S(
        str,
        "float32",
        "Keras dtype policy of the model's layers: float32 (exact), "
        "mixed_bfloat16 (bf16 compute, float32 variables; AMX on CPU) or mixed_float16 "
        "(GPU); see tf_lsrec.models.precision",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
    ),  # fmt: skip
    share_history=S(
        (str, bool),
        "auto",
        "encode each line's history once for its 1+K training rows (and once per "
        "1+N evaluation group): auto = unless the history path has active dropout "
        "(which would share masks across a group), true = always, false = never",
        choices=("auto", True, False),
    ),
    distribute=S(
        str, "default", "tf.distribute strategy", choices="tf_lsrec.models.distribute:STRATEGIES"
    ),
    eval_metric=S(str, "group_auc", "validation metric for early stopping (higher is better)"),
)

# ---------------------------------------------------------------- info
_declare(
    "info",
    show_step=S(int, 100, check=_pos, expect="> 0"),
    save_model=S(bool, True),
    checkpoint_steps=S(
        int,
        0,
        "also checkpoint MODEL_DIR/last every N training steps, with the "
        "position in the epoch (0 = at epoch ends only)",
        check=_nonneg,
        expect=">= 0",
    ),
    metrics=S(list, ["auc", "logloss"]),
    pairwise_metrics=S(list, ["mean_mrr", "ndcg@2;4;6", "group_auc"]),
    weighted_metrics=S(list, [], "CLSR's per-user weighted metrics, e.g. ['wauc']"),
    full_ranking_metrics=S(
        list,
        [],
        "ranking metrics of each positive line's target against "
        "the item catalogue, e.g. ['hit@10', 'ndcg@10', 'mrr'] (keys "
        "full_hit@10, ...; tf_lsrec.models.ranking_eval); [] = off",
    ),
    full_ranking_exclude_history=S(
        bool,
        True,
        "leave the line's history items out of the ranking (the target itself always competes)",
    ),
    full_ranking_negatives=S(
        int,
        0,
        "0 = rank against the whole catalogue; N > 0 = against N "
        "uniformly sampled catalogue negatives (CLSR's protocol: 99; keys "
        "neg99_hit@10, ...)",
        check=_nonneg,
        expect=">= 0",
    ),
    full_ranking_chunk_size=S(
        int,
        4096,
        "(user, item) pairs scored per model call in the ranking evaluation (bounds its memory)",
        check=_pos,
        expect="> 0",
    ),
    write_tfevents=S(
        bool,
        True,
        "TensorBoard scalars in SUMMARIES_DIR (True as in Microsoft's "
        "yamls; nothing is written while SUMMARIES_DIR is unset)",
    ),
    tfevents_steps=S(
        int,
        0,
        "also write the training loss parts to TensorBoard every N steps (0 = per epoch only)",
        check=_nonneg,
        expect=">= 0",
    ),
    MODEL_DIR=S(str, None, "checkpoint directory", nullable=True),
    SUMMARIES_DIR=S(str, None, "TensorBoard directory", nullable=True),
    load_saved_model=S(str, None, nullable=True),
    run_dir=S(
        str, None, "where tools/run.py writes results (default runs/<model>-<time>)", nullable=True
    ),
    name=S(str, None, "experiment name", nullable=True),
)

# ---------------------------------------------------------------- accepted but ignored
# Microsoft keys this library reads from a YAML (so that Microsoft's files load unchanged) but does
# not use. Setting one to a value other than its default warns; none is in our own yamls.
IGNORED_KEYS: dict[str, str] = {
    "sample_rate": "Microsoft's preprocessing option; prepare your data with the sampling applied",
    "cross_l1": "Microsoft's xDeepFM CIN regulariser; no sequential model has that layer",
    "cross_l2": "Microsoft's xDeepFM CIN regulariser; no sequential model has that layer",
    "need_sample": "Microsoft's iterator switch; training always draws in-batch negatives",
    "save_epoch": "checkpoints are written every epoch (and the best one kept)",
    "T": "Caser's number of targets per window; unused by Microsoft's Caser too",
}
_declare(
    "data",
    sample_rate=S(
        float, 1.0, "ignored (IGNORED_KEYS)", check=lambda x: 0 < x <= 1, expect="in (0, 1]"
    ),
)
_declare("model", T=S(int, 1, "ignored (IGNORED_KEYS)", check=_pos, expect="> 0"))
_declare(
    "train",
    cross_l2=S(float, 0.0, "ignored (IGNORED_KEYS)", check=_nonneg, expect=">= 0"),
    cross_l1=S(float, 0.0, "ignored (IGNORED_KEYS)", check=_nonneg, expect=">= 0"),
    need_sample=S(bool, True, "ignored (IGNORED_KEYS)"),
)
_declare("info", save_epoch=S(int, 1, "ignored (IGNORED_KEYS)", check=_pos, expect="> 0"))

# Keys every model needs (Microsoft's check_nn_config); a model class adds its own in
# `required_keys`.
BASE_REQUIRED_KEYS = (
    "item_embedding_dim",
    "cate_embedding_dim",
    "max_seq_length",
    "loss",
    "method",
    "user_vocab",
    "item_vocab",
    "cate_vocab",
)
DATA_PATH_KEYS = ("train_file", "valid_file", "test_file", "user_vocab", "item_vocab", "cate_vocab")
# Modules (besides the model classes) that declare keys in a module-level `HPARAMS` dict.
_KEY_MODULES = ("tf_lsrec.models.seq2seq",)


@functools.cache
def _collected() -> tuple[dict[str, Spec], dict[str, frozenset[str]]]:
    """All declarations: this module's table, the `_KEY_MODULES` and every registered model
    class's ``hparams_spec``; and, per model-owned key, the models that read it."""
    from tf_lsrec.models import MODELS, get_model_class

    specs = dict(_S)
    owners: dict[str, set[str]] = {}

    def add(key: str, spec: Spec, owner: str) -> None:
        if key in specs and specs[key] != spec:
            raise RuntimeError(f"hyper-parameter `{key}` is declared twice, differently ({owner})")
        specs[key] = spec

    for module in _KEY_MODULES:
        for key, spec in importlib.import_module(module).HPARAMS.items():
            add(key, spec, module)
    for name in MODELS:
        for key, spec in getattr(get_model_class(name), "hparams_spec", {}).items():
            add(key, spec, name)
            owners.setdefault(key, set()).add(name)
    return specs, {k: frozenset(v) for k, v in owners.items()}


def _specs() -> dict[str, Spec]:
    return _collected()[0]


def choices_of(spec: Spec) -> tuple | None:
    """``spec.choices``, with ``"module:NAME"`` resolved to the implementing code's list."""
    if isinstance(spec.choices, str):
        module, name = spec.choices.split(":")
        return tuple(getattr(importlib.import_module(module), name))
    return spec.choices


def required_keys(model_type: str) -> tuple[str, ...]:
    """The keys ``model_type`` cannot run without: the common ones and its class's own."""
    from tf_lsrec.models import get_model_class

    own = getattr(get_model_class(model_type), "required_keys", ())
    return BASE_REQUIRED_KEYS + tuple(k for k in own if k not in BASE_REQUIRED_KEYS)


def default_value(key: str) -> Any:
    """The declared default of ``key`` (a copy for lists)."""
    value = (_S[key] if key in _S else _specs()[key]).default
    return list(value) if isinstance(value, list) else value


def declared_keys() -> dict[str, Spec]:
    """All declared hyper-parameters, by name."""
    return dict(_specs())


class HParams:
    """Flat, validated hyper-parameters with attribute access (``hparams.batch_size``).

    Mirrors Microsoft's ``HParams``: every key is an attribute. ``values()`` returns a dict;
    ``to_yaml()`` writes the resolved values back in the sectioned layout.
    """

    def __init__(self, values: Mapping[str, Any], source: str = "<kwargs>"):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_source", source)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(_unknown_key_message(key, self._source)) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self.update(**{key: value})

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __repr__(self) -> str:
        return f"HParams({self._values!r})"

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def update(self, **overrides: Any) -> HParams:
        """Set keys in place (validated); returns self."""
        for key, value in overrides.items():
            self._values[key] = _validate(key, value, "<update>")
        return self

    def replace(self, **overrides: Any) -> HParams:
        """A validated copy with some keys changed."""
        new = HParams(self._values, self._source)
        return new.update(**overrides)

    def to_yaml(self) -> str:
        sections: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        for key, value in self._values.items():
            sections[_specs()[key].section][key] = value
        return yaml.safe_dump(sections, sort_keys=False, default_flow_style=None)

    def save_yaml(self, path: str) -> None:
        """Atomically write the resolved hyper-parameters."""
        from tf_lsrec.utils.files import atomic_write_text

        atomic_write_text(path, self.to_yaml())


def _unknown_key_message(key: str, source: str) -> str:
    close = difflib.get_close_matches(key, list(_specs()), n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"{source}: unknown hyper-parameter `{key}`{hint}"


def _type_name(t) -> str:
    if isinstance(t, tuple):
        return " or ".join(x.__name__ for x in t)
    return t.__name__


def _validate(key: str, value: Any, source: str) -> Any:
    specs = _specs()
    if key not in specs:
        raise HParamsError(_unknown_key_message(key, source))
    spec = specs[key]
    where = f"{source}: `{key}` (section `{spec.section}`)"
    if value is None:
        if spec.nullable:
            return None
        raise HParamsError(f"{where} must be set; expected {_type_name(spec.type)}")
    t = spec.type
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)  # Microsoft rejects `0` for floats; accepting it is harmless.
    elif t is bool and isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        value = bool(value)  # Microsoft yamls write True/False, CLSR scripts pass 0/1.
    elif t is int and isinstance(value, bool):
        value = int(value)
    if t is list and isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, t) or (t is int and isinstance(value, bool)):
        raise HParamsError(
            f"{where} = {value!r} has type {type(value).__name__}; expected {_type_name(t)}"
        )
    choices = choices_of(spec)
    if choices is not None and value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise HParamsError(f"{where} = {value!r}; expected one of {list(choices)}{hint}")
    if spec.check is not None and not spec.check(value):
        raise HParamsError(f"{where} = {value!r} is out of range; expected {spec.expect}")
    return value


def _flatten_yaml(doc: Any, source: str) -> dict[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise HParamsError(f"{source}: expected a mapping with sections {list(SECTIONS)}")
    flat: dict[str, Any] = {}
    for section, body in doc.items():
        if section not in SECTIONS:
            close = difflib.get_close_matches(str(section), SECTIONS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise HParamsError(
                f"{source}: unknown section `{section}`; expected one of {list(SECTIONS)}{hint}"
            )
        if body is None:
            continue
        if not isinstance(body, dict):
            raise HParamsError(f"{source}: section `{section}` must be a mapping of key: value")
        for key, value in body.items():
            # Microsoft flattens sections and ignores where a key was written; so do we.
            flat[key] = value
    return flat


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``--set`` override: ``train.epochs=2`` or ``epochs=2`` (value read as YAML)."""
    if "=" not in text:
        raise HParamsError(f"--set {text!r}: expected KEY=VALUE, e.g. train.epochs=2")
    key, raw = text.split("=", 1)
    key = key.strip()
    if "." in key:
        section, key = key.split(".", 1)
        if section not in SECTIONS:
            raise HParamsError(
                f"--set {text!r}: unknown section `{section}`; expected one of {list(SECTIONS)}"
            )
        specs = _specs()
        if key in specs and specs[key].section != section:
            raise HParamsError(
                f"--set {text!r}: `{key}` belongs to section `{specs[key].section}`, not "
                f"`{section}`"
            )
    try:
        value = load_yaml(raw)
    except yaml.YAMLError as e:
        raise HParamsError(f"--set {text!r}: value is not valid YAML ({e})") from None
    return key, value


def prepare_hparams(
    yaml_file: str | os.PathLike | None = None,
    overrides: Iterable[str] = (),
    check_required: bool = False,
    **kwargs: Any,
) -> HParams:
    """Build validated hyper-parameters, as Microsoft's ``prepare_hparams(yaml_file, **kwargs)``.

    Args:
        yaml_file: a YAML file with sections ``data / model / train / info``.
        overrides: ``--set`` strings (``section.key=value``), applied after ``kwargs``.
        check_required: also require the keys the model type needs (vocab paths etc.); off by
            default because ``tools/run.py`` fills data paths after preparing the data.
        **kwargs: values that override the file.

    Raises:
        FileNotFoundError: the YAML file does not exist.
        HParamsError: unknown key, wrong type, out-of-range or missing value.
    """
    values = {k: default_value(k) for k in _specs()}
    source = "<defaults>"
    if yaml_file is not None:
        source = str(yaml_file)
        with open(yaml_file, encoding="utf-8") as f:
            try:
                doc = load_yaml(f)
            except yaml.YAMLError as e:
                raise HParamsError(f"{source}: not valid YAML: {e}") from None
        for key, value in _flatten_yaml(doc, source).items():
            values[key] = _validate(key, value, source)
    for key, value in kwargs.items():
        values[key] = _validate(key, value, "keyword argument")
    for text in overrides:
        key, value = parse_override(text)
        values[key] = _validate(key, value, f"--set {text!r}")
    from tf_lsrec.models import MODELS, canonical_model_type, unknown_model_message

    if values.get("model_type") is None:
        raise HParamsError(
            f"{source}: `model_type` (section `model`) must be set; expected one of "
            f"{sorted(MODELS)}"
        )
    values["model_type"] = canonical_model_type(values["model_type"])
    if values["model_type"] not in MODELS:
        raise HParamsError(
            f"{source}: `model_type` (section `model`): "
            + unknown_model_message(values["model_type"])
        )
    hp = HParams(values, source)
    _check_consistency(hp, source)
    check_limits(hp, source, _S, HParamsError)
    _warn_unused(hp, source)
    if check_required:
        check_required_keys(hp)
    return hp


def _warn_unused(hp: HParams, source: str) -> None:
    """Warn for ignored Microsoft keys and other models' keys set to a non-default value."""
    owners = _collected()[1]
    for key, value in hp.values().items():
        if value == default_value(key):
            continue
        if key in IGNORED_KEYS:
            warnings.warn(
                f"{source}: `{key}` = {value!r} is accepted for Microsoft compatibility but "
                f"ignored: {IGNORED_KEYS[key]}",
                HParamsWarning,
                stacklevel=3,
            )
        elif key in owners and hp.model_type not in owners[key]:
            warnings.warn(
                f"{source}: `{key}` = {value!r} is read by {sorted(owners[key])} only; "
                f"model_type `{hp.model_type}` ignores it",
                HParamsWarning,
                stacklevel=3,
            )


def check_required_keys(hp: HParams, data_paths: Any = None) -> None:
    """Raise if a key the model type needs is unset (Microsoft's ``check_nn_config``).

    ``data_paths``: the prepared ``DataPaths`` (``tools/run.py``); the data file and vocab keys
    are then taken as given by it instead of by ``hp``.
    """
    for key in required_keys(hp.model_type):
        if data_paths is not None and key in DATA_PATH_KEYS:
            continue
        if hp.get(key) is None:
            raise HParamsError(
                f"{hp._source}: `{key}` (section `{_specs()[key].section}`) must be set for "
                f"model_type `{hp.model_type}`"
            )


def _check_consistency(hp: HParams, source: str) -> None:
    if hp.deterministic and hp.seed is None:
        raise HParamsError(
            f"{source}: `deterministic: true` (section `train`) needs a `seed` (section `train`); "
            "got null"
        )
    longest = max(len(hp.layer_sizes), len(hp.att_fcn_layer_sizes))
    if len(hp.activation) < longest:
        raise HParamsError(
            f"{source}: `activation` has {len(hp.activation)} entries but the longest MLP "
            f"(`layer_sizes` / `att_fcn_layer_sizes`) has {longest} layers; give one per layer"
        )
    if hp.user_dropout and len(hp.dropout) < longest:
        raise HParamsError(
            f"{source}: `dropout` has {len(hp.dropout)} entries but the longest MLP has "
            f"{longest} layers; give one rate per layer"
        )
    from tf_lsrec.evaluation.spec import check_metric_specs

    for key in ("metrics", "pairwise_metrics", "weighted_metrics", "full_ranking_metrics"):
        try:
            check_metric_specs(hp.get(key) or [], key)
        except ValueError as e:
            raise HParamsError(f"{source}: {e}") from None
