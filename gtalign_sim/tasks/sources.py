"""Where a run's tasks come from: the config's ``tasks`` node (the Hydra group ``tasks=``).

``tasks.source``:

* ``generated`` (default) — the built-in banks (:meth:`TaskBank.build`: ``per_family``
  tasks of each family from ``seed``; ``env.tasks_per_family`` / ``env.task_seed``);
* ``gtalign`` — rows of the GTAlign reference data, a ``.parquet`` split (needs
  ``pyarrow``) or a ``.jsonl`` file of rows (:func:`~.datasets.load_gtalign_tasks`);
* ``tasks_jsonl`` — tasks saved with :meth:`TaskBank.to_records`, one JSON object a line;
* ``hf`` — a Hugging Face dataset saved to disk (``datasets.load_from_disk``) or a local
  dataset script/folder with ``split``, holding GTAlign rows (``format: rows``) or tasks
  (``format: tasks``, as :func:`~.datasets.tasks_to_hf` writes them).

``max_rows`` keeps the first rows; ``drop_unjudgeable`` (default true) drops tasks the
rule judge cannot score (non-numeric math answers). Every problem is a one-line
``ValueError`` naming the ``tasks.`` field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .bank import TaskBank

__all__ = ["TASK_SOURCES", "TASK_SPEC_KEYS", "check_task_spec", "load_task_bank"]

TASK_SOURCES: tuple[str, ...] = ("generated", "gtalign", "tasks_jsonl", "hf")
TASK_SPEC_KEYS: tuple[str, ...] = (
    "source",
    "path",
    "split",
    "format",
    "max_rows",
    "drop_unjudgeable",
)


def check_task_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tasks`` node checked (keys, source, path, types) and completed with defaults."""
    unknown = sorted(set(spec) - set(TASK_SPEC_KEYS))
    if unknown:
        raise ValueError(f"tasks: unknown keys {unknown}; allowed: {list(TASK_SPEC_KEYS)}")
    out = {
        "source": "generated",
        "path": None,
        "split": None,
        "format": "rows",
        "max_rows": None,
        "drop_unjudgeable": True,
        **spec,
    }
    if out["source"] not in TASK_SOURCES:
        raise ValueError(f"tasks.source {out['source']!r} invalid; valid choices: {TASK_SOURCES}")
    if out["format"] not in ("rows", "tasks"):
        raise ValueError(f"tasks.format {out['format']!r} invalid; valid choices: rows, tasks")
    rows = out["max_rows"]
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise ValueError(f"tasks.max_rows must be null or an integer >= 1, got {rows!r}")
    if not isinstance(out["drop_unjudgeable"], bool):
        raise ValueError(
            f"tasks.drop_unjudgeable must be true or false, got {out['drop_unjudgeable']!r}"
        )
    if out["source"] != "generated":
        if not out["path"]:
            raise ValueError(f"tasks.path is required with tasks.source={out['source']}")
        path = Path(str(out["path"])).expanduser()
        if not path.exists():
            raise ValueError(f"tasks.path {str(path)!r}: no such file or directory")
        out["path"] = str(path)
    return out


def load_task_bank(
    spec: Mapping[str, Any], families: Sequence[str], per_family: int, seed: int
) -> TaskBank:
    """The run's :class:`TaskBank` from a checked ``tasks`` spec (:func:`check_task_spec`).

    For a loaded source every family of ``families`` must be present in the data
    (``ValueError`` listing the families it holds otherwise); tasks of other families are
    kept out.
    """
    spec = check_task_spec(spec)
    source = spec["source"]
    if source == "generated":
        return TaskBank.build(families=families, per_family=per_family, seed=seed)
    tasks = list(_load(spec))
    if spec["max_rows"] is not None:
        tasks = tasks[: spec["max_rows"]]
    held = sorted({t.family for t in tasks})
    missing = [f for f in families if f not in held]
    if missing:
        raise ValueError(
            f"tasks.path {spec['path']!r} holds no tasks of families {missing} (it holds "
            f"{held}); choose families={held}"
        )
    return TaskBank(t for t in tasks if t.family in families)


def _load(spec: Mapping[str, Any]) -> list[Any]:
    from .base import Task
    from .datasets import load_gtalign_tasks, rows_from_hf, rows_to_tasks, tasks_from_hf

    path, source, drop = Path(spec["path"]), spec["source"], spec["drop_unjudgeable"]
    if source == "gtalign":
        return list(load_gtalign_tasks(path, drop_unjudgeable=drop))
    if source == "tasks_jsonl":
        out = []
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if not line.strip():
                    continue
                try:
                    out.append(Task.from_dict(json.loads(line)))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"tasks.path {str(path)!r}: line {i + 1}: {exc}") from exc
        return out
    try:
        import datasets
    except ImportError as exc:
        raise ValueError(
            "tasks.source=hf needs Hugging Face datasets: pip install 'gtalign-sim[train]'"
        ) from exc
    if path.is_dir() and any((path / f).exists() for f in ("dataset_dict.json", "state.json")):
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            if spec["split"] not in ds:
                raise ValueError(f"tasks.split {spec['split']!r} invalid; choices: {list(ds)}")
            ds = ds[spec["split"]]
    else:
        ds = datasets.load_dataset(str(path), split=spec["split"] or "train")
    if spec["format"] == "tasks":
        return tasks_from_hf(ds)
    return rows_to_tasks(rows_from_hf(ds), drop_unjudgeable=drop)
