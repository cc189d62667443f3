"""Reading and writing GTAlign rows and tasks: parquet, JSON Lines, Hugging Face ``datasets``.

:func:`read_gtalign_parquet` reads the reference's files (``pyarrow``);
:func:`save_rows_jsonl`/:func:`load_rows_jsonl` round-trip raw rows through JSONL;
:func:`rows_to_hf`/:func:`rows_from_hf` through a ``datasets.Dataset`` and
:func:`tasks_to_hf`/:func:`tasks_from_hf` do the same for built tasks. ``pyarrow`` and
``datasets`` (the ``train`` extra) are imported only inside the functions that need them.
Every row is validated (:func:`~.dataset_rows.validate_row`). Re-exported by
:mod:`gtalign_sim.tasks.datasets`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .base import Task
from .dataset_rows import REQUIRED_FIELDS, _err, validate_row

__all__ = [
    "MAX_LINE_CHARS",
    "load_rows_jsonl",
    "read_gtalign_parquet",
    "rows_from_hf",
    "rows_to_hf",
    "save_rows_jsonl",
    "tasks_from_hf",
    "tasks_to_hf",
]

#: Longest accepted JSONL line, in characters.
MAX_LINE_CHARS = 8_000_000


# ====================================================================== reading rows
def read_gtalign_parquet(path: str | Path, *, max_rows: int | None = None) -> list[dict]:
    """The rows of a GTAlign parquet file as plain dicts (validated, see :func:`validate_row`).

    ``max_rows`` keeps only the first rows. Reading needs ``pyarrow``.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such parquet file")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise ValueError(f"{path}: not a readable parquet file ({exc})") from exc
    _check_schema(pf.schema_arrow, path)
    if max_rows is not None and (
        isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0
    ):
        raise ValueError(f"max_rows must be a non-negative int or None, got {max_rows!r}")
    rows: list[dict] = []
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            if max_rows is not None and len(rows) >= max_rows:
                return rows
            validate_row(row, len(rows))
            rows.append(row)
    return rows


def _check_schema(schema: Any, path: Path) -> None:
    """Fail early (naming the field) when a required column is absent from the file."""
    import pyarrow as pa

    for field in REQUIRED_FIELDS:
        head, _, rest = field.partition(".")
        if head not in schema.names:
            raise ValueError(f"row 0: field {field!r} is missing: {path} has no column {head!r}")
        if rest:
            typ = schema.field(head).type
            if not pa.types.is_struct(typ) or typ.get_field_index(rest) < 0:
                raise ValueError(
                    f"row 0: field {field!r} is missing: column {head!r} of {path} has no "
                    f"sub-field {rest!r}"
                )


# ====================================================================== JSONL
def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars/arrays to Python, tuples to lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())
    return value


def save_rows_jsonl(rows: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Write raw rows as JSON Lines (one object per line, UTF-8); returns the path.

    Rows are validated first (``ValueError`` naming the row and field).
    """
    path = Path(path)
    lines = []
    for i, row in enumerate(rows):
        validate_row(row, i)
        try:
            lines.append(json.dumps(_plain(row), ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"row {i}: cannot be written as JSON ({exc})") from exc
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    return path


def load_rows_jsonl(path: str | Path, *, validate: bool = True) -> list[dict]:
    """Read rows written by :func:`save_rows_jsonl` (blank lines skipped).

    A line that is not a JSON object, too long (:data:`MAX_LINE_CHARS`) or (with
    ``validate``) not a valid row raises ``ValueError`` with its line number.
    """
    path = Path(path)
    rows: list[dict] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if len(line) > MAX_LINE_CHARS:
                raise ValueError(f"{path} line {lineno}: longer than {MAX_LINE_CHARS} characters")
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {lineno}: invalid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(
                    f"{path} line {lineno}: expected a JSON object, got {type(row).__name__}"
                )
            if validate:
                try:
                    validate_row(row, len(rows))
                except ValueError as exc:
                    raise ValueError(f"{path} line {lineno}: {exc}") from exc
            rows.append(row)
    return rows


# ====================================================================== Hugging Face
_TASK_COLUMNS = (
    "id",
    "family",
    "topic",
    "difficulty",
    "vague",
    "clarifying_question",
    "follow_up_question",
    "interpretations",
    "judge_data",
)
_JSON_COLUMNS = ("interpretations", "judge_data")


def _hf():
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Hugging Face `datasets` is needed here: pip install 'gtalign-sim[train]'"
        ) from exc
    return datasets


def tasks_to_hf(tasks: Iterable[Task]):
    """A ``datasets.Dataset`` with one row per task.

    Columns: ``id``, ``family``, ``topic``, ``difficulty``, ``clarifying_question``,
    ``follow_up_question`` (strings), ``vague`` (list of strings), and ``interpretations``
    and ``judge_data`` as JSON strings (their nested shapes differ between tasks).
    """
    datasets = _hf()
    cols: dict[str, list[Any]] = {c: [] for c in _TASK_COLUMNS}
    for i, task in enumerate(tasks):
        if not isinstance(task, Task):
            raise ValueError(f"row {i}: expected a Task, got {type(task).__name__}")
        d = task.to_dict()
        for c in _TASK_COLUMNS:
            cols[c].append(json.dumps(d[c], ensure_ascii=False) if c in _JSON_COLUMNS else d[c])
    string = datasets.Value("string")
    list_of = getattr(datasets, "List", None) or datasets.Sequence
    features = datasets.Features(
        {c: (list_of(string) if c == "vague" else string) for c in _TASK_COLUMNS}
    )
    return datasets.Dataset.from_dict(cols, features=features)


def tasks_from_hf(ds: Iterable[Mapping[str, Any]]) -> list[Task]:
    """The tasks of a dataset made by :func:`tasks_to_hf` (``ValueError`` naming the row)."""
    out: list[Task] = []
    for i, rec in enumerate(ds):
        if not isinstance(rec, Mapping):
            raise ValueError(f"row {i}: expected a mapping, got {type(rec).__name__}")
        d = dict(rec)
        for c in _TASK_COLUMNS:
            if c not in d:
                raise _err(i, c, "is missing")
        for c in _JSON_COLUMNS:
            if isinstance(d[c], str):
                if len(d[c]) > MAX_LINE_CHARS:
                    raise _err(i, c, "is too long")
                try:
                    d[c] = json.loads(d[c])
                except json.JSONDecodeError as exc:
                    raise _err(i, c, f"is not valid JSON ({exc.msg})") from exc
        try:
            out.append(Task.from_dict(d))
        except KeyError as exc:
            raise _err(i, f"interpretations/{exc.args[0]}", "is missing") from exc
        except (TypeError, ValueError) as exc:  # the message names the Task/Interpretation field
            raise ValueError(f"row {i}: invalid task: {exc}") from exc
    return out


def rows_to_hf(rows: Iterable[Mapping[str, Any]]):
    """A ``datasets.Dataset`` of raw GTAlign rows (validated first; nested structs kept)."""
    datasets = _hf()
    plain = []
    for i, row in enumerate(rows):
        validate_row(row, i)
        plain.append(_plain(row))
    # columns: the union of the rows' keys in first-seen order (a row without one gets null)
    keys = list(dict.fromkeys(k for row in plain for k in row))
    if not keys:
        keys = list(dict.fromkeys(f.split(".")[0] for f in REQUIRED_FIELDS))
    cols = {k: [row.get(k) for row in plain] for k in keys}
    try:
        return datasets.Dataset.from_dict(cols)
    except Exception as exc:  # arrow type clashes between rows
        raise ValueError(f"rows do not share one schema: {exc}") from exc


def rows_from_hf(ds: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The raw rows of a dataset made by :func:`rows_to_hf` (or loaded from the reference's
    parquet with ``datasets``), as plain, validated dicts."""
    rows: list[dict] = []
    for i, rec in enumerate(ds):
        if not isinstance(rec, Mapping):
            raise ValueError(f"row {i}: expected a mapping, got {type(rec).__name__}")
        row = _plain(dict(rec))
        validate_row(row, i)
        rows.append(row)
    return rows
