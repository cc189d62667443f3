"""The GTAlign row schema: what a raw row must hold, and reading its fields.

:data:`SOURCES`, :data:`SOURCE_FAMILY` and :data:`REQUIRED_FIELDS` name the reference's
columns and values; :func:`validate_row` checks one row (``ValueError`` naming the row
index and the field), :func:`row_task_id` and :func:`row_user_messages` read a valid row.
The private helpers (``_lookup``, ``_err``, …) are shared by the other ``dataset_*``
modules. Re-exported by :mod:`gtalign_sim.tasks.datasets`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_MESSAGES",
    "MAX_TEXT_CHARS",
    "REQUIRED_FIELDS",
    "SOURCES",
    "SOURCE_FAMILY",
    "row_task_id",
    "row_user_messages",
    "validate_row",
]

#: The reference's ``data_source`` values: in-distribution (math-hard, medium, ambig_qa,
#: wildguard) and out-of-domain (minerva, advbench, abg-coqa).
SOURCES: tuple[str, ...] = (
    "math-hard",
    "medium",
    "ambig_qa",
    "wildguard",
    "minerva",
    "advbench",
    "abg-coqa",
)

#: The simulator family each source becomes.
SOURCE_FAMILY: Mapping[str, str] = {
    "math-hard": "math",
    "minerva": "math",
    "medium": "writing",
    "ambig_qa": "ambiguous_qa",
    "abg-coqa": "ambiguous_qa",
    "wildguard": "safety",
    "advbench": "safety",
}

#: Columns every row needs (dotted paths into the struct columns).
REQUIRED_FIELDS: tuple[str, ...] = (
    "prompt",
    "data_source",
    "reward_model.ground_truth",
    "extra_info.single_turn_prompt",
)

#: Longest accepted text field, in characters (reference articles included).
MAX_TEXT_CHARS = 500_000
#: Most messages accepted in ``prompt`` or ``extra_info.chat_history``.
MAX_MESSAGES = 512

_MISSING = object()
_INDEX_TEXT = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


# ====================================================================== row access
def _err(index: int | str, field: str, problem: str) -> ValueError:
    return ValueError(f"row {index}: field {field!r} {problem}")


def _lookup(row: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (nested mappings, or a flat dotted key)."""
    cur: Any = row
    for part in path.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        else:
            cur = _MISSING
            break
    if cur is _MISSING and path in row:
        cur = row[path]
    return cur


def _as_list(value: Any) -> Any:
    """Lists stay lists; numpy arrays (rows from pandas) become lists; anything else as is."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    return value


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu":  # numpy int
        return int(value)
    return None


def _check_text(index: int, field: str, value: Any, *, allow_empty: bool = False) -> str:
    if value is _MISSING or value is None:
        raise _err(index, field, "is missing")
    if not isinstance(value, str):
        raise _err(index, field, f"must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise _err(index, field, "is empty")
    if len(value) > MAX_TEXT_CHARS:
        raise _err(index, field, f"is too long ({len(value)} > {MAX_TEXT_CHARS} characters)")
    return value


def _check_messages(index: int, field: str, value: Any) -> list[dict[str, str]]:
    value = _as_list(value)
    if not isinstance(value, list):
        raise _err(index, field, f"must be a list of {{role, content}}, got {type(value).__name__}")
    if len(value) > MAX_MESSAGES:
        raise _err(index, field, f"has too many messages ({len(value)} > {MAX_MESSAGES})")
    out = []
    for k, msg in enumerate(value):
        where = f"{field}[{k}]"
        if not isinstance(msg, Mapping):
            raise _err(index, where, f"must be a {{role, content}} mapping, got {msg!r:.60}")
        role = msg.get("role")
        if not isinstance(role, str) or not role.strip():
            raise _err(index, f"{where}.role", f"must be a non-empty string, got {role!r:.60}")
        content = _check_text(index, f"{where}.content", msg.get("content"), allow_empty=True)
        out.append({"role": role, "content": content})
    return out


def validate_row(row: Any, index: int) -> None:
    """Check one raw row; ``ValueError`` naming ``index`` and the field when it is unusable.

    Required: :data:`REQUIRED_FIELDS` (``prompt`` a non-empty list of ``{role, content}``,
    ``data_source`` one of :data:`SOURCES`, non-empty ground truth — ``advbench`` may leave
    it empty — and single-turn prompt). Optional: ``extra_info.chat_history`` (messages),
    ``extra_info.index`` (a non-negative int or a short ``[A-Za-z0-9_.-]`` string),
    ``turn_id`` and ``conv_id`` (ints). Texts are at most :data:`MAX_TEXT_CHARS` long.
    """
    if not isinstance(row, Mapping):
        raise ValueError(f"row {index}: expected a mapping (dict), got {type(row).__name__}")
    prompt = _check_messages(index, "prompt", _missing_check(row, index, "prompt"))
    if not prompt:
        raise _err(index, "prompt", "is an empty list")
    source = _missing_check(row, index, "data_source")
    if source not in SOURCES:
        raise _err(index, "data_source", f"is {source!r:.60}; allowed: {list(SOURCES)}")
    _check_text(
        index,
        "reward_model.ground_truth",
        _lookup(row, "reward_model.ground_truth"),
        allow_empty=source == "advbench",
    )
    _check_text(
        index, "extra_info.single_turn_prompt", _lookup(row, "extra_info.single_turn_prompt")
    )
    history = _lookup(row, "extra_info.chat_history")
    if history is not _MISSING and history is not None:
        _check_messages(index, "extra_info.chat_history", history)
    for field in ("turn_id", "conv_id"):
        value = _lookup(row, field)
        if value is not _MISSING and value is not None and _as_int(value) is None:
            raise _err(index, field, f"must be an integer, got {value!r:.60}")
    _row_index(row, index)


def _missing_check(row: Mapping[str, Any], index: int, field: str) -> Any:
    value = _lookup(row, field)
    if value is _MISSING or value is None:
        raise _err(index, field, "is missing")
    return value


def _row_index(row: Mapping[str, Any], index: int) -> str:
    value = _lookup(row, "extra_info.index")
    if value is _MISSING or value is None:
        return str(index)
    as_int = _as_int(value)
    if as_int is not None:
        if as_int < 0:
            raise _err(index, "extra_info.index", f"must be >= 0, got {as_int}")
        return str(as_int)
    if isinstance(value, str) and _INDEX_TEXT.fullmatch(value):
        return value
    raise _err(
        index,
        "extra_info.index",
        f"must be a non-negative integer or a short [A-Za-z0-9_.-] string, got {value!r:.60}",
    )


def row_task_id(row: Mapping[str, Any], index: int) -> str:
    """The id of the task built from ``row``: ``"<data_source>-<extra_info.index>"``
    (``index``, the row's position, when the row has no ``extra_info.index``)."""
    validate_row(row, index)
    return f"{_row_source(row)}-{_row_index(row, index)}"


def _row_source(row: Mapping[str, Any]) -> str:
    """The row's ``data_source`` (unvalidated)."""
    return _lookup(row, "data_source")


def row_user_messages(row: Mapping[str, Any], index: int = 0) -> list[str]:
    """The user turns of the row's conversation, in order.

    The non-empty ``user`` messages of ``extra_info.chat_history``; without any, the
    single-turn prompt alone.
    """
    validate_row(row, index)
    history = _lookup(row, "extra_info.chat_history")
    msgs: list[str] = []
    if history is not _MISSING and history is not None:
        msgs = [
            m["content"]
            for m in _check_messages(index, "extra_info.chat_history", history)
            if m["role"].strip().lower() == "user" and m["content"].strip()
        ]
    return msgs or [_lookup(row, "extra_info.single_turn_prompt")]
