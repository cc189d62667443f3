"""Episode records as compact per-assistant columns, and matching them across assistants.

The shared base of :mod:`~gtalign_sim.eval.metrics` and :mod:`~gtalign_sim.eval.pareto`:
field access on a record (missing or non-finite values become NaN), :class:`Columns`
(one assistant's episodes, column by column), :func:`group_records` and the episode
matching of common random numbers (:func:`matched_rows`): two records of different
assistants with the same ``episode`` index share task, user profile and randomness; when
an assistant has several records with the same ``episode``, the key is ``(seed, episode)``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core.record import EpisodeRecord
from .stats import finite_values

__all__ = [
    "ASSISTANT_ORDER",
    "STRATEGIES",
    "UNKNOWN",
    "Columns",
    "assistant_order",
    "finite_mean",
    "fraction",
    "group_records",
    "keyed_rows",
    "matched_rows",
]

STRATEGIES: tuple[str, ...] = ("DQ", "VQ")
"""User question strategies: detailed and vague."""

ASSISTANT_ORDER: tuple[str, ...] = (
    "oracle",
    "gtalign",
    "linear_welfare",
    "user_only",
    "selfish_llm",
    "always_da",
    "always_cq",
    "always_aq",
    "random",
)
"""Display order of the built-in assistants; other names follow in order of appearance."""

UNKNOWN = "unknown"
_NAN = float("nan")


def assistant_order(names: Iterable[str]) -> list[str]:
    """Distinct names in display order: :data:`ASSISTANT_ORDER` first, then as they appear."""
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    known = [n for n in ASSISTANT_ORDER if n in seen]
    return known + [n for n in seen if n not in ASSISTANT_ORDER]


def finite_mean(values: Iterable[Any]) -> float | None:
    """Mean of the finite entries, ``None`` when there are none."""
    x = finite_values(values)
    return float(x.mean()) if x.size else None


def fraction(k: int, n: int) -> float | None:
    """``k / n``, ``None`` when ``n == 0``."""
    return k / n if n else None


# --------------------------------------------------------------------------- record access


def _num(x: Any) -> float | None:
    """``x`` as a finite float, else ``None``."""
    if x is None or isinstance(x, str):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _value(rec: EpisodeRecord, raw: Mapping[str, Any], metric: str) -> float | None:
    """Field ``metric`` of a record; ``tokens`` means the assistant's visible tokens, and
    ``user_tokens`` / ``assistant_chars`` / ``total_chars`` are derived from the record."""
    if metric == "tokens":
        return _num(rec.assistant_tokens)
    if metric == "user_tokens":
        return _num(rec.user_tokens)
    if metric == "turns":
        return _num(rec.turns)
    if metric == "assistant_chars":
        return _num(rec.chars("assistant"))
    if metric == "total_chars":
        return _num(rec.chars())
    return _num(raw.get(metric))


def _intern(s: str | None, table: dict[str, str]) -> str | None:
    return None if s is None else table.setdefault(s, s)


# --------------------------------------------------------------------------- columns


class Columns:
    """What the metrics need of one assistant's episodes, column by column.

    Floats live in ``array('d')`` (NaN where a value is missing: every statistic drops
    missing and non-finite values alike) and labels are interned strings, so a record
    costs ~150 bytes here however long its transcript and decisions are.
    """

    __slots__ = ("episode", "family", "mode", "pricing", "seed", "stop", "strategy", "values")

    def __init__(self, metrics: Sequence[str]) -> None:
        self.values: dict[str, array[float]] = {m: array("d") for m in metrics}
        self.episode: list[Any] = []
        self.seed: list[Any] = []
        self.family: list[str] = []
        self.pricing: list[str] = []
        self.strategy: list[str | None] = []
        self.mode: list[str | None] = []
        self.stop: list[str] = []

    def __len__(self) -> int:
        return len(self.episode)

    def append(self, r: Mapping[str, Any], strings: dict[str, str]) -> None:
        """Add one record's values and labels (labels interned through ``strings``); the
        record is read as an :class:`~gtalign_sim.core.record.EpisodeRecord`."""
        rec = r if isinstance(r, EpisodeRecord) else EpisodeRecord.from_dict(r)
        raw = rec.to_dict() if isinstance(r, EpisodeRecord) else r
        for m, col in self.values.items():
            v = _value(rec, raw, m)
            col.append(_NAN if v is None else v)
        self.episode.append(rec.extra.get("episode"))
        self.seed.append(rec.extra.get("seed"))
        self.family.append(_intern(rec.family or UNKNOWN, strings))  # type: ignore[arg-type]
        self.pricing.append(_intern(rec.pricing or UNKNOWN, strings))  # type: ignore[arg-type]
        self.strategy.append(rec.strategy if rec.strategy in STRATEGIES else None)
        self.mode.append(_intern(rec.first_mode, strings))
        self.stop.append(_intern(str(rec.stop_reason), strings))  # type: ignore[arg-type]

    def column(self, metric: str, rows: Iterable[int] | None = None) -> list[float]:
        col = self.values[metric]
        return list(col) if rows is None else [col[i] for i in rows]

    def points(self, rows: Sequence[int | None]) -> np.ndarray:
        """``(len(rows), 2)`` array of (user_welfare, llm_welfare); NaN rows for ``None``."""
        u, l = self.values["user_welfare"], self.values["llm_welfare"]
        vals = [(_NAN, _NAN) if i is None else (u[i], l[i]) for i in rows]
        return np.array(vals, dtype=float).reshape(-1, 2)

    def permute(self, order: Sequence[int]) -> None:
        for m, col in self.values.items():
            self.values[m] = array("d", (col[i] for i in order))
        for name in ("episode", "seed", "family", "pricing", "strategy", "mode", "stop"):
            col = getattr(self, name)
            setattr(self, name, [col[i] for i in order])

    def sort_by_episode(self) -> None:
        """Order rows by ``(episode, seed)``; rows without an int episode keep their order
        after the keyed ones."""
        self.permute(sorted(range(len(self)), key=self._episode_order))

    def _episode_order(self, i: int) -> tuple[Any, ...]:
        ep, seed = self.episode[i], self.seed[i]
        if isinstance(ep, int) and not isinstance(ep, bool):
            return (0, ep, seed if isinstance(seed, int) else -1)
        return (1, 0, 0)


def group_records(
    records: Iterable[Mapping[str, Any]], metrics: Sequence[str]
) -> dict[str, Columns]:
    """Columns ``metrics`` of every assistant's episodes, in display order. Failed
    episodes (``failure`` set) are skipped; a record without ``assistant`` raises."""
    groups: dict[str, Columns] = {}
    strings: dict[str, str] = {}
    for n, r in enumerate(records):
        if "assistant" not in r:
            raise ValueError(f"record {n} has no 'assistant' key")
        if r.get("failure"):
            continue
        name = str(r["assistant"])
        if name not in groups:
            groups[name] = Columns(metrics)
        groups[name].append(r, strings)
    return {a: groups[a] for a in assistant_order(groups)}


# --------------------------------------------------------------------------- matching


def keyed_rows(c: Columns, name: str, with_seed: bool = False) -> dict[Any, int]:
    """Rows of one assistant by match key: ``episode``, or ``(seed, episode)`` when
    episodes repeat (or ``with_seed``). Records without ``episode`` get keys that match
    nothing."""
    eps = c.episode
    if not with_seed and all(e is not None for e in eps) and len(set(eps)) == len(eps):
        return {e: i for i, e in enumerate(eps)}
    keyed: dict[Any, int] = {}
    for i, e in enumerate(eps):
        key = (c.seed[i], e) if e is not None else ("#", i)
        if key in keyed:
            raise ValueError(
                f"assistant {name!r} has two records for episode key {key}; "
                "cannot match episodes across assistants"
            )
        keyed[key] = i
    return keyed


def matched_rows(
    groups: Mapping[str, Columns], names: Sequence[str], outer: bool = False
) -> tuple[list[Any], list[dict[Any, int]]]:
    """Episode keys shared by all ``names`` (all keys seen if ``outer``) and, per name, its
    rows by key."""
    keyed = [keyed_rows(groups[n], n) for n in names]
    # keys of mixed styles (int vs tuple) never match: fall back to (seed, episode) for all
    if len({type(next(iter(k), None)) for k in keyed if k}) > 1:
        keyed = [keyed_rows(groups[n], n, with_seed=True) for n in names]
    keys = set(keyed[0]) if keyed else set()
    for k in keyed[1:]:
        keys = keys | set(k) if outer else keys & set(k)
    return sorted(keys, key=repr), keyed
