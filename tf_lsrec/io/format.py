"""The 8-column sequential line format (Microsoft deeprec; docs/reference.md §1.1).

One instance per line, tab-separated, in this order::

    label  user  item  category  timestamp  item_history  category_history  time_history

``label`` is 1 or 0, ``timestamp`` the target's time (a number), and the three histories are
comma-separated, oldest first, all of the same length. This module is the one place that knows
the field positions and separators; readers and writers (``io/pipeline.py``, ``io/validate.py``,
``io/iterator.py``, ``data/sequential.py``, ``serving/exporter.py``) use its names.
"""

from __future__ import annotations

FIELD_NAMES = (
    "label",
    "user",
    "item",
    "category",
    "timestamp",
    "item history",
    "category history",
    "time history",
)
N_FIELDS = len(FIELD_NAMES)
LABEL, USER, ITEM, CATEGORY, TIMESTAMP, ITEM_HISTORY, CATEGORY_HISTORY, TIME_HISTORY = range(
    N_FIELDS
)
FIELD_INDEX = {name: i for i, name in enumerate(FIELD_NAMES)}
FIELD_SEPARATOR = "\t"
HISTORY_SEPARATOR = ","


class LineFormatError(ValueError):
    """A line does not have the 8 tab-separated fields."""


def split_line(line: str, where: str = "line") -> list[str]:
    """The 8 fields of one line (trailing newline removed); ``where`` names it in the error."""
    fields = line.rstrip("\n").split(FIELD_SEPARATOR)
    if len(fields) != N_FIELDS:
        raise LineFormatError(
            f"{where}: expected {N_FIELDS} tab-separated fields "
            f"({', '.join(FIELD_NAMES)}), got {len(fields)}"
        )
    return fields


def split_history(field: str) -> list[str]:
    """The steps of one history field (an empty field is one empty step, as in the pipeline)."""
    return field.split(HISTORY_SEPARATOR)


def join_line(fields) -> str:
    """One line (with its newline) from the 8 field strings; histories already joined."""
    fields = list(fields)
    if len(fields) != N_FIELDS:
        raise LineFormatError(f"join_line: expected {N_FIELDS} fields, got {len(fields)}")
    return FIELD_SEPARATOR.join(fields) + "\n"
