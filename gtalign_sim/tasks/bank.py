"""Task banks: generate tasks per family, and hold, look up and sample them.

:func:`generate_tasks` draws ``n`` tasks of one family from its generator in
:mod:`.banks`; the output depends only on ``(family, n, seed)``, and a shorter run is a
prefix of a longer one with the same seed. :class:`TaskBank` holds tasks of several
families, with lookup by id, per-family views and seeded sampling.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .base import FAMILIES, Task

__all__ = ["GENERATORS", "TaskBank", "generate_tasks", "max_tasks"]

#: The generator module of each family (imported on first use).
GENERATORS: dict[str, str] = {
    "math": "gtalign_sim.tasks.banks.math_problems",
    "ambiguous_qa": "gtalign_sim.tasks.banks.ambiguous_qa",
    "writing": "gtalign_sim.tasks.banks.writing",
    "safety": "gtalign_sim.tasks.banks.safety",
}

_MISSING = object()


def _module(family: str):
    if family not in GENERATORS:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return importlib.import_module(GENERATORS[family])


def max_tasks(family: str) -> int | None:
    """The most distinct tasks ``family`` can generate (``None``: effectively unbounded)."""
    return getattr(_module(family), "MAX_TASKS", None)


def generate_tasks(family: str, n: int, seed: int) -> list[Task]:
    """``n`` tasks of ``family``, deterministic in ``seed``, with ids ``"<family>-0000"`` on.

    Ids are unique and no two interpretations share a detailed text. ``ValueError`` for an
    unknown family, a negative ``n`` or seed, or more tasks than the family holds.
    """
    module = _module(family)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    return module.generate(int(n), seed)


class TaskBank:
    """An immutable collection of tasks with unique ids.

    Iteration follows insertion order; :meth:`sample` draws uniformly (optionally within a
    family) from a caller-supplied generator.
    """

    def __init__(self, tasks: Iterable[Task]) -> None:
        self._tasks: tuple[Task, ...] = tuple(tasks)
        self._by_id: dict[str, Task] = {}
        for t in self._tasks:
            if not isinstance(t, Task):
                raise TypeError(f"TaskBank holds Task objects, got {type(t).__name__}")
            if t.id in self._by_id:
                raise ValueError(f"duplicate task id {t.id!r}")
            self._by_id[t.id] = t
        self._families: dict[str, tuple[Task, ...]] = {
            f: tuple(t for t in self._tasks if t.family == f) for f in FAMILIES
        }

    @classmethod
    def build(
        cls, families: Sequence[str] = FAMILIES, per_family: int = 200, seed: int = 0
    ) -> TaskBank:
        """``per_family`` generated tasks of each family, all from ``seed``."""
        if isinstance(families, str):
            families = (families,)
        tasks: list[Task] = []
        for family in dict.fromkeys(families):
            tasks.extend(generate_tasks(family, per_family, seed))
        return cls(tasks)

    # ------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._by_id

    def __repr__(self) -> str:
        counts = ", ".join(f"{f}={len(v)}" for f, v in self._families.items() if v)
        return f"TaskBank({len(self)} tasks: {counts})"

    @property
    def families(self) -> tuple[str, ...]:
        """The families present, in :data:`FAMILIES` order."""
        return tuple(f for f, v in self._families.items() if v)

    def get(self, task_id: str, default: object = _MISSING) -> Task:
        """The task with ``task_id``; ``KeyError`` unless a ``default`` is given."""
        task = self._by_id.get(task_id)
        if task is not None:
            return task
        if default is not _MISSING:
            return default  # type: ignore[return-value]
        raise KeyError(f"no task {task_id!r} in this bank ({len(self)} tasks)")

    def by_family(self, family: str) -> tuple[Task, ...]:
        """The tasks of ``family`` (empty if none); ``ValueError`` for an unknown family."""
        if family not in self._families:
            raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
        return self._families[family]

    def sample(self, rng: np.random.Generator, family: str | None = None) -> Task:
        """One task drawn uniformly with ``rng`` (within ``family`` if given)."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        pool = self._tasks if family is None else self.by_family(family)
        if not pool:
            where = "this bank" if family is None else f"family {family!r}"
            raise ValueError(f"cannot sample from {where}: it holds no tasks")
        return pool[int(rng.integers(len(pool)))]

    # ------------------------------------------------------------ persistence
    def to_records(self) -> list[dict]:
        """The tasks as JSON-serialisable dicts (:meth:`Task.to_dict`)."""
        return [t.to_dict() for t in self._tasks]

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> TaskBank:
        """Inverse of :meth:`to_records`."""
        return cls(Task.from_dict(r) for r in records)

    def save_jsonl(self, path: str | Path) -> Path:
        """Write one task per line as JSON; returns the path."""
        path = Path(path)
        with path.open("w", encoding="utf-8") as fh:
            for record in self.to_records():
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def load_jsonl(cls, path: str | Path) -> TaskBank:
        """Read a bank written by :meth:`save_jsonl`."""
        with Path(path).open(encoding="utf-8") as fh:
            return cls.from_records(json.loads(line) for line in fh if line.strip())
