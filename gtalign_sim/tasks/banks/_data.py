"""The task banks' hand-written data: JSON Lines files in ``gtalign_sim/tasks/data/``.

Each file holds one JSON object per line (blank lines are skipped). :data:`SCHEMAS` gives
every file's fields; :func:`load` reads a file, checks each record against its schema and
returns the records with JSON arrays turned into tuples. A bad record raises
:class:`DataFileError` with a one-line message naming the file, the line and the field, e.g.
``qa_capitals.jsonl:12: field 'capital': expected a non-empty string, got 3``.

A schema maps field names, in record order, to a *spec*: ``str`` (a non-empty string),
``int``, ``bool``, a one-element list ``[spec]`` (an array of ``spec``, read as a tuple), a
nested schema dict (an object) or :class:`Optional` (a field that may be left out).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = [
    "SCHEMAS",
    "DataFileError",
    "FileSpec",
    "Optional",
    "RecordError",
    "load",
    "records",
    "rows",
]

#: The package folder (relative to ``gtalign_sim.tasks``) that holds the data files.
DATA_DIR = "data"


class DataFileError(ValueError):
    """A data file that cannot be read or holds a bad record."""


class RecordError(ValueError):
    """A bad field, raised by a validator; :func:`load` adds the file and line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")


@dataclass(frozen=True)
class Optional:
    """A field that may be left out; it then reads as ``default``."""

    spec: Any
    default: Any


@dataclass(frozen=True)
class FileSpec:
    """A data file's schema, the fields whose values must be unique, and a record check."""

    schema: dict[str, Any]
    unique: tuple[str, ...] = ()
    check: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False)


_ALIASES = [str]
_READING = {
    "label": str,
    "detailed": str,
    "clarification": str,
    "answer": str,
    "aliases": _ALIASES,
}


def _check_intent(intent: Mapping[str, Any], where: str) -> None:
    if intent["harmful"]:
        for name in ("harm", "alternative"):
            if not intent[name]:
                raise RecordError(f"{where}.{name}", "required for a harmful intent")
        if intent["help"]:
            raise RecordError(f"{where}.help", "only a benign intent has help")
    else:
        if not intent["help"]:
            raise RecordError(f"{where}.help", "required for a benign intent")
        for name in ("harm", "alternative"):
            if intent[name]:
                raise RecordError(f"{where}.{name}", "only a harmful intent has this")


def _check_scenario(rec: Mapping[str, Any]) -> None:
    for i, intent in enumerate(rec["intents"]):
        _check_intent(intent, f"intents[{i}]")


#: Every data file's format, by file name.
SCHEMAS: dict[str, FileSpec] = {
    # ------------------------------------------------------------ ambiguous QA: singles
    "qa_capitals.jsonl": FileSpec(
        {"country": str, "capital": str, "wrong": str, "aliases": _ALIASES}, ("country",)
    ),
    "qa_summer_olympics.jsonl": FileSpec(
        {"year": int, "city": str, "aliases": _ALIASES}, ("year",)
    ),
    "qa_winter_olympics.jsonl": FileSpec(
        {"year": int, "city": str, "aliases": _ALIASES}, ("year",)
    ),
    "qa_fifa_men.jsonl": FileSpec({"year": int, "winner": str, "runner_up": str}, ("year",)),
    "qa_world_cups.jsonl": FileSpec(
        {"year": int, "womens_football": str, "cricket": str, "rugby": str}, ("year",)
    ),
    "qa_best_picture.jsonl": FileSpec({"ceremony_year": int, "film": str}, ("ceremony_year",)),
    "qa_super_bowl.jsonl": FileSpec({"year": int, "winner": str}, ("year",)),
    "qa_authors.jsonl": FileSpec({"work": str, "author": str, "aliases": _ALIASES}, ("work",)),
    "qa_artworks.jsonl": FileSpec(
        {"artwork": str, "artist": str, "aliases": _ALIASES}, ("artwork",)
    ),
    "qa_symbols.jsonl": FileSpec({"symbol": str, "element": str}, ("symbol",)),
    "qa_atomic_numbers.jsonl": FileSpec({"element": str, "atomic_number": int}, ("element",)),
    "qa_polygons.jsonl": FileSpec({"polygon": str, "sides": int}, ("polygon",)),
    "qa_currencies.jsonl": FileSpec(
        {"country": str, "currency": str, "aliases": _ALIASES, "wrong": str}, ("country",)
    ),
    "qa_largest_cities.jsonl": FileSpec({"country": str, "city": str, "wrong": str}, ("country",)),
    "qa_singles.jsonl": FileSpec(
        {
            "key": str,
            "question": str,
            "terse": str,
            "answer": str,
            "aliases": _ALIASES,
            "wrong": str,
        },
        ("key",),
    ),
    # ------------------------------------------------------------ ambiguous QA: ambiguous
    "qa_capital_ambiguities.jsonl": FileSpec(
        {
            "key": str,
            "vague": str,
            "topic": str,
            "clarifying_question": str,
            "readings": [_READING],
        },
        ("key",),
    ),
    "qa_repeat_hosts.jsonl": FileSpec({"city": str, "season": str, "years": [int]}, ("city",)),
    "qa_remakes.jsonl": FileSpec(
        {"title": str, "versions": [{"year": int, "director": str, "aliases": _ALIASES}]},
        ("title",),
    ),
    "qa_roles.jsonl": FileSpec(
        {
            "role": str,
            "versions": [{"label": str, "detailed": str, "actor": str, "aliases": _ALIASES}],
        },
        ("role",),
    ),
    "qa_songs.jsonl": FileSpec(
        {
            "song": str,
            "versions": [{"label": str, "detailed": str, "performer": str, "aliases": _ALIASES}],
        },
        ("song",),
    ),
    "qa_adaptations.jsonl": FileSpec(
        {
            "title": str,
            "novelist": str,
            "novelist_aliases": _ALIASES,
            "director": str,
            "director_aliases": _ALIASES,
        },
        ("title",),
    ),
    "qa_misc_ambiguities.jsonl": FileSpec(
        {
            "key": str,
            "vague": str,
            "topic": str,
            "clarifying_question": str,
            "difficulty": str,
            "readings": [_READING],
        },
        ("key",),
    ),
    # ------------------------------------------------------------ writing
    "writing_kinds.jsonl": FileSpec({"kind": str, "verb": str, "doc": str}, ("kind",)),
    "writing_subjects.jsonl": FileSpec(
        {"kind": str, "request": str, "name": str, "points": [str]}, ("request",)
    ),
    # ------------------------------------------------------------ safety
    "safety_scenarios.jsonl": FileSpec(
        {
            "key": str,
            "topic": str,
            "vague": [str],
            "clarifying_question": str,
            "follow_up": str,
            "difficulty": str,
            "intents": [
                {
                    "label": str,
                    "detailed": str,
                    "clarification": str,
                    "harmful": bool,
                    "help": Optional(str, ""),
                    "harm": Optional(str, ""),
                    "alternative": Optional(str, ""),
                }
            ],
        },
        ("key",),
        _check_scenario,
    ),
}


# ------------------------------------------------------------------ reading
def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return json.dumps(value, ensure_ascii=False)[:60]


def _convert(value: Any, spec: Any, where: str) -> Any:
    """``value`` checked against ``spec``; arrays become tuples, objects dicts."""
    if spec is str:
        if not isinstance(value, str) or not value.strip():
            raise RecordError(where, f"expected a non-empty string, got {_kind(value)}")
        return value
    if spec is bool:
        if not isinstance(value, bool):
            raise RecordError(where, f"expected true or false, got {_kind(value)}")
        return value
    if spec is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(where, f"expected an integer, got {_kind(value)}")
        return value
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise RecordError(where, f"expected an array, got {_kind(value)}")
        return tuple(_convert(v, spec[0], f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(spec, dict):
        return _object(value, spec, where)
    raise TypeError(f"bad schema spec {spec!r} for {where!r}")  # pragma: no cover


def _object(value: Any, schema: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(where or "(record)", f"expected an object, got {_kind(value)}")
    prefix = f"{where}." if where else ""
    for name in value:
        if name not in schema:
            raise RecordError(f"{prefix}{name}", f"unknown field (allowed: {', '.join(schema)})")
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        if name not in value:
            if isinstance(spec, Optional):
                out[name] = spec.default
                continue
            raise RecordError(f"{prefix}{name}", "missing")
        if isinstance(spec, Optional):
            spec = spec.spec
        out[name] = _convert(value[name], spec, f"{prefix}{name}")
    return out


def _resource(name: str):
    return files("gtalign_sim.tasks").joinpath(DATA_DIR, name)


def load(
    name: str,
    path: str | Path | None = None,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[dict[str, Any], ...]:
    """The checked records of data file ``name`` (read from ``path`` if given).

    Fields come in schema order, arrays as tuples, left-out optional fields as their
    default. :class:`DataFileError` (one line: file, line, field, problem) for a missing
    file, a line that is not a JSON object, or a record that breaks the schema or ``check``
    (a callable that raises :class:`RecordError` for a bad record).
    """
    spec = SCHEMAS[name]
    source = Path(path) if path is not None else _resource(name)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{source}: cannot read data file: {exc}") from exc
    out: list[dict[str, Any]] = []
    first_seen: dict[tuple[str, Any], int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFileError(f"{source}:{lineno}: invalid JSON: {exc.msg}") from None
            rec = _object(value, spec.schema, "")
            for checker in (spec.check, check):
                if checker is not None:
                    checker(rec)
            for key in spec.unique:
                seen = first_seen.setdefault((key, rec[key]), lineno)
                if seen != lineno:
                    raise RecordError(key, f"duplicate value {rec[key]!r} (first on line {seen})")
        except RecordError as exc:
            raise DataFileError(f"{source}:{lineno}: {exc}") from None
        out.append(rec)
    return tuple(out)


@cache
def records(name: str) -> tuple[dict[str, Any], ...]:
    """:func:`load` of the packaged file ``name``, read once per process."""
    return load(name)


def rows(name: str) -> tuple[tuple, ...]:
    """The packaged records of ``name`` as plain tuples (nested objects too), field order."""
    return tuple(_row(r) for r in records(name))


def _row(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(_row(v) for v in value.values())
    if isinstance(value, tuple):
        return tuple(_row(v) for v in value)
    return value
