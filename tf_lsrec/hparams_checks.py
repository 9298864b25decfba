"""Checks of hyper-parameter files beyond one key's type and range (issue 21).

* :func:`load_yaml`: PyYAML's safe loader with YAML 1.2 floats (``1e-3`` is a float, not the
  string PyYAML's YAML 1.1 rule makes of it) and an error for a key written twice in one
  mapping (PyYAML silently keeps the last).
* :func:`check_limits`: values that pass their key's own check but would break or exhaust the
  machine: non-finite floats, flags other than 0/1, MLP sizes that are not positive integers
  (``layer_sizes: [0]`` aborted inside oneDNN), and batch shapes whose tensors could not fit in
  memory (``max_seq_length: 100000000``, ``train_num_ngs: 100000``), refused with the memory
  they would need.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import yaml

# YAML 1.2 core schema float: also `1e-3`, `1E5`, `.5e2` (YAML 1.1 needs a dot and a sign)
_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """Safe loader: YAML 1.2 floats, duplicate keys refused."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:float"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


class DuplicateKeyError(yaml.YAMLError):
    """A mapping holds the same key twice."""


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise DuplicateKeyError(
                f"key `{key}` appears twice (lines {seen[key]} and {line}); YAML keeps only the "
                "last, so one of them would be ignored silently: remove one"
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_yaml(stream) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats and duplicate keys refused (``yaml.YAMLError``)."""
    return yaml.load(stream, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader


# ---------------------------------------------------------------------------------- limits
_POSITIVE_INT_LISTS = ("layer_sizes", "att_fcn_layer_sizes", "ncf_layer_sizes", "dilations")
_FLAGS = ("is_clip_norm",)  # integers used as on/off switches
BYTES_PER_FLOAT = 4


def memory_budget() -> int:
    """Physical memory of this machine in bytes (the ceiling for one batch's tensors)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 64 << 30


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def batch_history_bytes(hp) -> tuple[int, int, int]:
    """``(train_bytes, train_rows, eval_bytes)``: a lower bound on the memory of one batch's
    history embeddings (``rows x max_seq_length x (item + category dims)`` float32), the
    largest tensor every model builds; training rows are ``batch_size x (train_num_ngs + 1)``."""
    width = int(hp.get("item_embedding_dim") or 0) + int(hp.get("cate_embedding_dim") or 0)
    length = int(hp.get("max_seq_length") or 0)
    rows = int(hp.get("batch_size") or 0) * (int(hp.get("train_num_ngs") or 0) + 1)
    eval_rows = int(hp.get("eval_batch_size") or hp.get("batch_size") or 0)
    per_row = length * max(width, 1) * BYTES_PER_FLOAT
    return rows * per_row, rows, eval_rows * per_row


def check_limits(hp, source: str, specs: dict, error=ValueError, budget: int | None = None):
    """Raise ``error`` naming the key (and section) for values no run can use.

    Args:
        hp: the ``HParams``.
        source: the YAML file or ``<kwargs>``, for the message.
        specs: ``{key: Spec}`` (for the section names).
        error: exception class to raise (``HParamsError``).
        budget: memory ceiling in bytes (default: this machine's physical memory).
    """

    def where(key: str) -> str:
        spec = specs.get(key)
        return f"{source}: `{key}`" + (f" (section `{spec.section}`)" if spec else "")

    for key, spec in specs.items():
        value = hp.get(key)
        if spec.type is float and isinstance(value, float) and not math.isfinite(value):
            raise error(f"{where(key)} = {value!r}; expected a finite number")
    for key in _FLAGS:
        value = hp.get(key)
        if value is not None and value not in (0, 1):
            raise error(f"{where(key)} = {value!r}; expected 0 (off) or 1 (on)")
    for key in _POSITIVE_INT_LISTS:
        values = hp.get(key)
        for i, v in enumerate(values or []):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise error(
                    f"{where(key)} = {values!r}: entry {i} is {v!r}; expected positive integers"
                )
    for i, v in enumerate(hp.get("dropout") or []):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise error(f"{where('dropout')} = {hp.get('dropout')!r}: entry {i} is {v!r}; "
                        "expected rates in [0, 1)")  # fmt: skip
    budget = memory_budget() if budget is None else budget
    train_bytes, rows, eval_bytes = batch_history_bytes(hp)
    if train_bytes > budget:
        raise error(
            f"{where('train_num_ngs')} = {hp.get('train_num_ngs')} with `batch_size` = "
            f"{hp.get('batch_size')} and `max_seq_length` = {hp.get('max_seq_length')}: a "
            f"training batch has {rows:,} rows whose history embeddings alone need "
            f"{_gib(train_bytes)} (this machine has {_gib(budget)}); lower train_num_ngs, "
            "batch_size or max_seq_length"
        )
    if eval_bytes > budget:
        raise error(
            f"{where('max_seq_length')} = {hp.get('max_seq_length')}: an evaluation batch of "
            f"{hp.get('eval_batch_size') or hp.get('batch_size')} lines needs "
            f"{_gib(eval_bytes)} for its history embeddings alone (this machine has "
            f"{_gib(budget)}); lower max_seq_length or eval_batch_size"
        )
