"""The episode record: what the environment emits for every episode and ``eval`` reads.

:class:`EpisodeRecord` is the one shape of an episode. The environment builds it at the
end of an episode (``env.record``; ``env.episode`` is its :meth:`~EpisodeRecord.to_dict`),
the runner adds its keys (assistant, episode index, seed, the arm's forced settings,
the assistant's decisions) as :attr:`~EpisodeRecord.extra`, and the metrics read the
derived quantities through its properties (:attr:`~EpisodeRecord.assistant_tokens`,
:attr:`~EpisodeRecord.first_mode`, :attr:`~EpisodeRecord.pricing`, ...) instead of
guessing at dict shapes. A failed episode has every outcome field ``None`` and a
``failure`` (stage, reason, detail).

:meth:`EpisodeRecord.from_dict` reads a stored line back. It is lenient about *missing*
fields (partial records, e.g. a reduced ``keep=`` record or a hand-made one, get
``None``) but strict about *shapes*: ``tokens`` must be a mapping of counts, ``transcript``
a list of turns; anything else is a ``ValueError`` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["OUTCOME_FIELDS", "RECORD_FIELDS", "EpisodeRecord", "TokenCounts"]


@dataclass(frozen=True)
class TokenCounts:
    """Tokens of an episode: visible ``assistant``/``user`` tokens of the transcript and
    the provider's billed ``prompt``/``completion`` tokens (hidden reasoning included)."""

    assistant: int | None = None
    user: int | None = None
    billed_prompt: int | None = None
    billed_completion: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Any) -> TokenCounts:
        """From a mapping of counts (``None`` gives all ``None``); ``ValueError`` otherwise."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise ValueError(f"record field 'tokens' must be a mapping of counts, got {d!r}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: _count(v, f"tokens.{k}") for k, v in d.items() if k in names})


def _count(v: Any, name: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"record field {name!r} must be a non-negative count, got {v!r}")
    return int(v)


@dataclass
class EpisodeRecord:
    """One episode of the clarification game (see ``docs/model.md`` for each quantity).

    Welfare is reported as gains over the disagreement point (``user_welfare``,
    ``llm_welfare``, ``mutual_welfare`` = √(U⁺·L⁺)) and as levels on [0, 1]; the terms
    and the final ledger explain them. ``extra`` holds the keys the runner adds.
    """

    task_id: str | None = None
    family: str | None = None
    difficulty: str | None = None
    ambiguous: bool | None = None
    profile: dict[str, Any] | None = None
    strategy: str | None = None
    actions: list[int] | None = None
    modes: list[str] | None = None
    verbosities: list[str] | None = None
    transcript: list[dict[str, Any]] | None = None
    turns: int | None = None
    tokens: TokenCounts = field(default_factory=TokenCounts)
    answer_quality: float | None = None
    answer_quality_llm: float | None = None
    user_welfare: float | None = None
    llm_welfare: float | None = None
    mutual_welfare: float | None = None
    user_level: float | None = None
    llm_level: float | None = None
    aggregate: float | None = None
    aggregator: str | None = None
    user_terms: dict[str, float] | None = None
    llm_terms: dict[str, float] | None = None
    ledger: dict[str, float] | None = None
    stop_reason: str | None = None
    format_score: float | None = None
    wrong_answers: int | None = None
    failure: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ conversion
    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict: the fields in :data:`RECORD_FIELDS` order, then
        :attr:`extra` (the runner's keys)."""
        out = {name: getattr(self, name) for name in RECORD_FIELDS}
        out["tokens"] = self.tokens.to_dict()
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EpisodeRecord:
        """A stored record (missing fields ``None``; unknown keys kept in :attr:`extra`)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"an episode record must be a mapping, got {type(d).__name__}")
        known = {k: v for k, v in d.items() if k in _FIELD_SET}
        transcript = known.get("transcript")
        if transcript is not None and not isinstance(transcript, list):
            raise ValueError(f"record field 'transcript' must be a list, got {transcript!r}")
        known["tokens"] = TokenCounts.from_dict(known.get("tokens"))
        extra = {k: v for k, v in d.items() if k not in _FIELD_SET}
        return cls(**known, extra=extra)

    # ------------------------------------------------------------ derived
    @property
    def failed(self) -> bool:
        """Whether the episode failed (its outcome fields are ``None``)."""
        return self.failure is not None

    @property
    def assistant_tokens(self) -> int | None:
        """Visible tokens the assistant wrote."""
        return self.tokens.assistant

    @property
    def user_tokens(self) -> int | None:
        """Visible tokens the user wrote."""
        return self.tokens.user

    def chars(self, role: str | None = None) -> int | None:
        """Characters of the transcript's turns by ``role`` (all turns for ``None``)."""
        if not self.transcript:
            return None
        return sum(
            len(str(t.get("text") or "")) for t in self.transcript if role in (None, t.get("role"))
        )

    @property
    def first_mode(self) -> str | None:
        """The assistant's first response mode (DA, CQ or AQ)."""
        return str(self.modes[0]) if self.modes and self.modes[0] is not None else None

    @property
    def pricing(self) -> str | None:
        """The user's pricing plan."""
        plan = (self.profile or {}).get("pricing")
        if isinstance(plan, Mapping):  # a pricing config {"name": ..., ...}
            plan = plan.get("name")
        return str(plan) if plan else None


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(EpisodeRecord) if f.name != "extra")
"""The record's keys, in order."""

_FIELD_SET = frozenset(RECORD_FIELDS)

OUTCOME_FIELDS: tuple[str, ...] = (
    "answer_quality",
    "answer_quality_llm",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "user_level",
    "llm_level",
    "aggregate",
    "user_terms",
    "llm_terms",
    "ledger",
    "format_score",
    "wrong_answers",
)
"""The outcome fields: all ``None`` in a failed episode's record."""
