"""Hyper-parameters: Microsoft-compatible YAML layout, typed defaults and validation.

The YAML files have the sections ``data``, ``model``, ``train`` and ``info`` (Microsoft's layout).
As in Microsoft's ``prepare_hparams`` all sections are flattened into one namespace; key names and
defaults follow Microsoft Recommenders (and the official CLSR code for the CLSR keys). Unlike
Microsoft's ``HParams``, every key is declared here with its type, so that

* an unknown key is an error that names the key, the file and the nearest valid key,
* a value of the wrong type or out of range is an error naming key, value and expectation,
* keys a model needs (``required_keys``) are checked.

Precedence of values: declared default < YAML file < Python keyword arguments < ``--set`` overrides
(``section.key=value`` or ``key=value`` strings, as ``tools/run.py --set`` passes them).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

SECTIONS = ("data", "model", "train", "info")


class HParamsError(ValueError):
    """A hyper-parameter file or override is invalid. The message says where and why."""


@dataclasses.dataclass(frozen=True)
class Spec:
    """Declaration of one hyper-parameter."""

    type: Any  # int, float, str, bool, list, or a tuple of these
    default: Any
    section: str
    doc: str = ""
    choices: tuple | None = None
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


def S(type, default, doc="", **kw) -> Spec:  # noqa: N802 - short constructor for the table below
    return Spec(type=type, default=default, section="", doc=doc, **kw)


# ---------------------------------------------------------------- data
_declare(
    "data",
    user_vocab=S(str, None, "pickled dict raw user id -> index", nullable=True),
    item_vocab=S(str, None, "pickled dict raw item id -> index", nullable=True),
    cate_vocab=S(str, None, "pickled dict raw category -> index", nullable=True),
    train_file=S(str, None, "8-column training file", nullable=True),
    valid_file=S(str, None, "8-column validation file", nullable=True),
    test_file=S(str, None, "8-column test file", nullable=True),
    dataset=S(str, "ml-100k", "dataset prepared when the files above are not given",
              choices=("ml-100k", "synthetic", "custom")),
    data_dir=S(str, None, "where prepared files live (default: cache dir / dataset)", nullable=True),
    valid_num_ngs=S(int, 4, "offline negatives per validation positive", check=_pos, expect="> 0"),
    test_num_ngs=S(int, 9, "offline negatives per test positive", check=_pos, expect="> 0"),
    sample_rate=S(float, 1.0, "item sampling rate in preprocessing", check=lambda x: 0 < x <= 1,
                  expect="in (0, 1]"),
    max_history=S(int, None, "truncate histories when preparing data (None = Microsoft: all)",
                  nullable=True),
    user_default=S(bool, False, "user vocab with `default_uid` -> 0 (CLSR) instead of the most "
                   "frequent user at 0 (Microsoft)"),
    synthetic_interactions=S(int, 100_000, "size of the synthetic dataset", check=_pos, expect="> 0"),
    time_unit=S(str, "s", "unit of the raw timestamps: 's' seconds or 'ms' milliseconds",
                choices=("s", "ms")),
    time_unit_quirk=S(bool, False, "official CLSR code: second timestamps are divided by 86.4 "
                      "(thousandths of a day) instead of 86400 (days); on for the CLSR yaml"),
    shuffle_buffer=S(int, 0, "training shuffle buffer in lines; 0 = whole file (Microsoft)",
                     check=_nonneg, expect=">= 0"),
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
    embedding_dropout=S(float, 0.0, "dropout on looked-up embeddings (CLSR code)", check=_prob,
                        expect="in [0, 1)"),
    item_embedding_dim=S(int, 32, check=_pos, expect="> 0"),
    cate_embedding_dim=S(int, 8, check=_pos, expect="> 0"),
    user_embedding_dim=S(int, 16, check=_pos, expect="> 0"),
    hidden_size=S(int, 40, "RNN units", check=_pos, expect="> 0"),
    attention_size=S(int, 40, check=_pos, expect="> 0", nullable=True),
    att_fcn_layer_sizes=S(list, [80, 40], "hidden sizes of attention / gate MLPs"),
    enable_BN=S(bool, False, "batch normalisation in MLP hidden layers"),
    max_seq_length=S(int, 50, "history steps kept (the most recent)", check=_pos, expect="> 0"),
    min_seq_length=S(int, 1, "lines with a shorter history are skipped", check=_pos, expect="> 0"),
    # Caser
    T=S(int, 1, "Caser: targets per window (unused, as in Microsoft)", check=_pos, expect="> 0"),
    L=S(int, 3, "Caser: largest horizontal filter height", check=_pos, expect="> 0"),
    n_v=S(int, 128, "Caser: vertical filters", check=_pos, expect="> 0"),
    n_h=S(int, 128, "Caser: horizontal filters per height", check=_pos, expect="> 0"),
    # NCF
    ncf_layer_sizes=S(list, [80, 40], "NCF: MLP tower sizes"),
    # NextItNet
    dilations=S(list, [1, 2, 4, 1, 2, 4]),
    kernel_size=S(int, 3, check=_pos, expect="> 0"),
    # SASRec
    num_blocks=S(int, 2, "SASRec: causal self-attention blocks", check=_pos, expect="> 0"),
    num_heads=S(int, 1, "SASRec: attention heads", check=_pos, expect="> 0"),
    transformer_dropout=S(float, 0.2, "SASRec: dropout of inputs, attention and FFN",
                          check=lambda x: 0 <= x < 1, expect="in [0, 1)"),
    sasrec_scoring=S(str, "dot", "SASRec: <h, e_t> (paper) or the MLP head on [h ; e_t]",
                     choices=("dot", "mlp")),
    # CLSR
    contrastive_loss=S(str, "triplet", "CLSR contrastive form", choices=("bpr", "triplet", "none")),
    contrastive_loss_weight=S(float, 0.1, check=_nonneg, expect=">= 0"),
    contrastive_pairs=S(list, [1, 2, 3, 4], "which of CLSR's four contrastive terms are on"),
    triplet_margin=S(float, 1.0, check=_nonneg, expect=">= 0"),
    triplet_form=S(str, "per_dimension", "per_dimension (official code) or vector (paper)",
                   choices=("per_dimension", "vector")),
    contrastive_length_threshold=S(int, 5, "contrastive terms only for rows longer than this",
                                   check=_nonneg, expect=">= 0"),
    contrastive_recent_k=S(int, 3, "short-term proxy window", check=_pos, expect="> 0"),
    discrepancy_loss_weight=S(float, 0.01, check=_nonneg, expect=">= 0"),
    interest_evolve=S(bool, True, "CLSR short-term query from a GRU over the history"),
    predict_long_short=S(bool, True, "CLSR fusion input includes a GRU summary of the history"),
    manual_alpha=S(bool, False, "fixed fusion weight instead of the gate"),
    manual_alpha_value=S(float, 0.5, check=lambda x: 0 <= x <= 1, expect="in [0, 1]"),
    fusion=S(str, "adaptive", "CLSR fusion", choices=("adaptive", "fixed", "concat")),
    predict_mode=S(str, "both", "use both interests or one", choices=("both", "long", "short")),
    sequential_model=S(str, "time4lstm", choices=("time4lstm", "gru", "lstm")),
    fusion_time_feature=S(str, "last_column", "which time_to_now value enters the fusion gate: "
                          "'last_column' (reference quirk: padding for short histories) or "
                          "'last_event'", choices=("last_column", "last_event")),
    mask_long_attention=S(bool, False, "SLi-Rec/A2SVD: mask padding in the long-term attention "
                          "(reference does not)"),
    # SLSRec
    session_gap=S(float, 90.0, "SLSRec: new session when the gap is >= this", check=_pos,
                  expect="> 0"),
    session_gap_unit=S(str, "minutes", choices=("seconds", "minutes", "hours", "days")),
    max_sessions=S(int, 10, check=_pos, expect="> 0"),
    max_session_length=S(int, 20, check=_pos, expect="> 0"),
    use_category_mask=S(bool, True),
    use_long_term=S(bool, True),
    use_short_term=S(bool, True),
    # disentangled self-supervision
    seq2seq_loss_weight=S(float, 0.0, check=_nonneg, expect=">= 0"),
    num_intentions=S(int, 4, check=_pos, expect="> 0"),
    intention_keep_ratio=S(float, 0.5, check=lambda x: 0 < x <= 1, expect="in (0, 1]"),
    seq2seq_future_length=S(int, 8, "seq2seq SSL: at most this many last history steps are the "
                            "'future' (and at most half the history)", check=_pos, expect="> 0"),
    seq2seq_temperature=S(float, 0.1, "seq2seq SSL: InfoNCE temperature", check=_pos,
                          expect="> 0"),
    seq2seq_keep_by=S(str, "similarity", "seq2seq SSL: which intentions count as reliable",
                      choices=("similarity", "weight")),
    seq2seq_past_encoder=S(str, "gru", "seq2seq SSL: what encodes the past sub-sequence: the "
                           "layer's own GRU, or the model's causal per-step states (GRU4Rec, "
                           "DIEN, SASRec)", choices=("gru", "states")),
)

# ---------------------------------------------------------------- train
_declare(
    "train",
    init_method=S(str, "tnormal", choices=("tnormal", "uniform", "normal", "xavier_normal",
                                           "xavier_uniform", "he_normal", "he_uniform")),
    init_value=S(float, 0.01, check=_pos, expect="> 0"),
    embed_l2=S(float, 0.0, check=_nonneg, expect=">= 0"),
    embed_l1=S(float, 0.0, check=_nonneg, expect=">= 0"),
    layer_l2=S(float, 0.0, check=_nonneg, expect=">= 0"),
    layer_l1=S(float, 0.0, check=_nonneg, expect=">= 0"),
    cross_l2=S(float, 0.0, check=_nonneg, expect=">= 0"),
    cross_l1=S(float, 0.0, check=_nonneg, expect=">= 0"),
    learning_rate=S(float, 0.001, check=_pos, expect="> 0"),
    loss=S(str, "softmax", choices=("softmax", "cross_entropy_loss", "log_loss", "square_loss")),
    optimizer=S(str, "adam", choices=("adam", "adadelta", "adagrad", "sgd", "gd", "ftrl",
                                      "padagrad", "pgd", "rmsprop", "lazyadam")),
    epochs=S(int, 10, check=_pos, expect="> 0"),
    batch_size=S(int, 400, "instances per training batch; lines per evaluation batch",
                 check=_pos, expect="> 0"),
    eval_batch_size=S(int, None, "lines per evaluation batch (default batch_size)", nullable=True),
    EARLY_STOP=S(int, 100, "patience in epochs (0 = off)", check=_nonneg, expect=">= 0"),
    need_sample=S(bool, True),
    train_num_ngs=S(int, 4, "in-batch negatives per training instance", check=_pos, expect="> 0"),
    is_clip_norm=S(int, 0, "clip each gradient tensor to max_grad_norm"),
    max_grad_norm=S(float, 2.0, check=_pos, expect="> 0"),
    seed=S(int, 42, "seed for initialisers, shuffling and negatives", nullable=True),
    jit_compile=S(bool, False, "XLA-compile the train step"),
    share_history=S((str, bool), "auto",
                    "encode each line's history once for its 1+K training rows (and once per "
                    "1+N evaluation group): auto = unless the history path has active dropout "
                    "(which would share masks across a group), true = always, false = never",
                    choices=("auto", True, False)),
    distribute=S(str, "default", "tf.distribute strategy",
                 choices=("default", "mirrored", "multi_worker_mirrored")),
    eval_metric=S(str, "group_auc", "validation metric for early stopping (higher is better)"),
)

# ---------------------------------------------------------------- info
_declare(
    "info",
    show_step=S(int, 100, check=_pos, expect="> 0"),
    save_model=S(bool, True),
    save_epoch=S(int, 1, check=_pos, expect="> 0"),
    metrics=S(list, ["auc", "logloss"]),
    pairwise_metrics=S(list, ["mean_mrr", "ndcg@2;4;6", "group_auc"]),
    weighted_metrics=S(list, [], "CLSR's per-user weighted metrics, e.g. ['wauc']"),
    write_tfevents=S(bool, False),
    MODEL_DIR=S(str, None, "checkpoint directory", nullable=True),
    SUMMARIES_DIR=S(str, None, "TensorBoard directory", nullable=True),
    load_saved_model=S(str, None, nullable=True),
    run_dir=S(str, None, "where tools/run.py writes results (default runs/<model>-<time>)",
              nullable=True),
    name=S(str, None, "experiment name", nullable=True),
)

# Per-model required keys, as Microsoft's check_nn_config (docs/reference.md §3.1).
_BASE_REQUIRED = ("item_embedding_dim", "cate_embedding_dim", "max_seq_length", "loss", "method",
                  "user_vocab", "item_vocab", "cate_vocab")
MODEL_ALIASES = {
    "gru4rec": ("gru", "gru4rec"),
    "caser": ("caser",),
    "a2svd": ("asvd", "a2svd"),
    "sli_rec": ("slirec", "sli_rec"),
    "clsr": ("clsr",),
    "slsrec": ("slsrec",),
    "nextitnet": ("nextitnet", "next_it_net"),
    "din": ("din",),
    "dien": ("dien",),
    "ncf": ("ncf",),
    "sasrec": ("sasrec",),
}
REQUIRED_KEYS = {
    "gru4rec": _BASE_REQUIRED + ("hidden_size",),
    "caser": _BASE_REQUIRED + ("user_embedding_dim", "T", "L", "n_v", "n_h", "min_seq_length"),
    "a2svd": _BASE_REQUIRED,
    "sli_rec": _BASE_REQUIRED + ("attention_size", "hidden_size", "att_fcn_layer_sizes"),
    "clsr": _BASE_REQUIRED + ("attention_size", "hidden_size", "att_fcn_layer_sizes",
                              "discrepancy_loss_weight", "contrastive_loss_weight",
                              "is_clip_norm", "contrastive_length_threshold"),
    "nextitnet": _BASE_REQUIRED + ("user_embedding_dim", "dilations", "kernel_size",
                                   "min_seq_length"),
}
# Keys whose value is filled in by the data preparation step when not given.
_PREPARED_KEYS = ("user_vocab", "item_vocab", "cate_vocab")


def canonical_model_type(model_type: str) -> str:
    """Map Microsoft / CLSR spellings (``GRU4REC``, ``Sli_rec``, ``asvd`` ...) to our model name."""
    low = str(model_type).lower()
    for canon, aliases in MODEL_ALIASES.items():
        if low in aliases:
            return canon
    return low


def declared_keys() -> dict[str, Spec]:
    """All declared hyper-parameters, by name."""
    return dict(_S)


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
            sections[_S[key].section][key] = value
        return yaml.safe_dump(sections, sort_keys=False, default_flow_style=None)

    def save_yaml(self, path: str) -> None:
        """Atomically write the resolved hyper-parameters."""
        from tf_lsrec.utils.files import atomic_write_text

        atomic_write_text(path, self.to_yaml())


def _unknown_key_message(key: str, source: str) -> str:
    close = difflib.get_close_matches(key, list(_S), n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"{source}: unknown hyper-parameter `{key}`{hint}"


def _type_name(t) -> str:
    if isinstance(t, tuple):
        return " or ".join(x.__name__ for x in t)
    return t.__name__


def _validate(key: str, value: Any, source: str) -> Any:
    if key not in _S:
        raise HParamsError(_unknown_key_message(key, source))
    spec = _S[key]
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
    if spec.choices is not None and value not in spec.choices:
        raise HParamsError(f"{where} = {value!r}; expected one of {list(spec.choices)}")
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
        if key in _S and _S[key].section != section:
            raise HParamsError(
                f"--set {text!r}: `{key}` belongs to section `{_S[key].section}`, not `{section}`"
            )
    try:
        value = yaml.safe_load(raw)
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
    values = {k: s.default for k, s in _S.items()}
    source = "<defaults>"
    if yaml_file is not None:
        source = str(yaml_file)
        with open(yaml_file, encoding="utf-8") as f:
            try:
                doc = yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise HParamsError(f"{source}: not valid YAML: {e}") from None
        for key, value in _flatten_yaml(doc, source).items():
            values[key] = _validate(key, value, source)
    for key, value in kwargs.items():
        values[key] = _validate(key, value, "keyword argument")
    for text in overrides:
        key, value = parse_override(text)
        values[key] = _validate(key, value, f"--set {text!r}")
    if values.get("model_type") is None:
        raise HParamsError(f"{source}: `model_type` (section `model`) must be set")
    values["model_type"] = canonical_model_type(values["model_type"])
    hp = HParams(values, source)
    _check_consistency(hp, source)
    if check_required:
        check_required_keys(hp)
    return hp


def check_required_keys(hp: HParams) -> None:
    """Raise if a key the model type needs is unset (Microsoft's ``check_nn_config``)."""
    for key in REQUIRED_KEYS.get(hp.model_type, ()):
        if hp.get(key) is None:
            raise HParamsError(
                f"{hp._source}: `{key}` (section `{_S[key].section}`) must be set for "
                f"model_type `{hp.model_type}`"
            )


def _check_consistency(hp: HParams, source: str) -> None:
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

    for key in ("metrics", "pairwise_metrics", "weighted_metrics"):
        try:
            check_metric_specs(hp.get(key) or [], key)
        except ValueError as e:
            raise HParamsError(f"{source}: {e}") from None
    bad = [p for p in hp.contrastive_pairs if p not in (1, 2, 3, 4)]
    if bad:
        raise HParamsError(f"{source}: `contrastive_pairs` = {hp.contrastive_pairs}; entries must "
                           "be among 1, 2, 3, 4")
