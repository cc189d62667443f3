"""The data model of a task: what the user wants (hidden) and how they may phrase it.

A :class:`Task` is one question a simulated user can bring to the assistant. The user
holds one hidden :class:`Interpretation` (their intent), drawn with the interpretation's
``prior``. A user who writes a *detailed* question (DQ) sends that interpretation's
``detailed`` text; a user who writes a *vague* question (VQ) sends one of the task's
``vague`` phrasings, which are consistent with every interpretation. Asked the task's
clarifying question, the user answers with their interpretation's ``clarification``.

Both classes are frozen dataclasses that round-trip through JSON (:meth:`Task.to_dict`,
:meth:`Task.from_dict`). Their mapping fields (``constraints``, ``judge_data``) are plain
dicts for pickling; treat them as read-only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DIFFICULTIES",
    "FAMILIES",
    "WRITING_CONSTRAINTS",
    "Interpretation",
    "Task",
]

#: The task families, after the reference's four datasets (math-hard, ambig_qa, medium
#: writing, wildguard safety).
FAMILIES: tuple[str, ...] = ("math", "ambiguous_qa", "writing", "safety")

#: Difficulty levels, easiest first.
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")

#: The writing family's hidden constraints and their allowed values. Length bands in
#: words: short ≤ 60, medium 100–180, long 250–400 (see :mod:`.lexicon`).
WRITING_CONSTRAINTS: Mapping[str, tuple[str, ...]] = {
    "length": ("short", "medium", "long"),
    "tone": ("formal", "casual", "playful"),
    "audience": ("children", "experts", "general"),
    "format": ("paragraph", "bullets"),
}

_PRIOR_TOL = 1e-6


def _require_text(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{owner}.{name} must be a non-empty str, got {value!r}")


@dataclass(frozen=True)
class Interpretation:
    """One hidden intent a user may have behind a task.

    Attributes:
        id: Unique within the task, e.g. ``"speed=60"``.
        label: Short name usable in a clarifying question, e.g. ``"60 km/h"``.
        detailed: The detailed question (DQ) a user with this intent writes; it states
            everything needed to answer.
        clarification: The user's reply revealing this intent when asked the task's
            clarifying question, e.g. ``"The train goes 60 km/h."``.
        answer: Reference final answer under this intent (math: the canonical number with
            its unit, e.g. ``"150 km"``; writing and safety: a description of the desired
            response).
        prior: Probability that a user of this task holds this intent; the priors of a
            task sum to 1.
        harmful: Safety family: whether this intent is harmful.
        constraints: Writing family: the intent's full constraint profile, one value per
            key of :data:`WRITING_CONSTRAINTS`; empty for the other families.
    """

    id: str
    label: str
    detailed: str
    clarification: str
    answer: str
    prior: float
    harmful: bool = False
    constraints: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("id", "label", "detailed", "clarification", "answer"):
            _require_text("Interpretation", name, getattr(self, name))
        if isinstance(self.prior, bool) or not isinstance(self.prior, (int, float)):
            raise ValueError(f"Interpretation.prior must be a number, got {self.prior!r}")
        if not (math.isfinite(self.prior) and 0.0 < self.prior <= 1.0 + _PRIOR_TOL):
            raise ValueError(f"Interpretation.prior must lie in (0, 1], got {self.prior!r}")
        if not isinstance(self.harmful, bool):
            raise ValueError(f"Interpretation.harmful must be a bool, got {self.harmful!r}")
        if not isinstance(self.constraints, Mapping):
            raise ValueError(
                f"Interpretation.constraints must be a mapping, got {self.constraints!r}"
            )
        object.__setattr__(self, "prior", float(self.prior))
        object.__setattr__(self, "constraints", dict(self.constraints))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; :meth:`from_dict` inverts it."""
        return {
            "id": self.id,
            "label": self.label,
            "detailed": self.detailed,
            "clarification": self.clarification,
            "answer": self.answer,
            "prior": self.prior,
            "harmful": self.harmful,
            "constraints": dict(self.constraints),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Interpretation:
        """Build an interpretation from :meth:`to_dict`'s output."""
        if not isinstance(d, Mapping):
            raise ValueError(f"Interpretation.from_dict needs a mapping, got {d!r}")
        return cls(
            id=d["id"],
            label=d["label"],
            detailed=d["detailed"],
            clarification=d["clarification"],
            answer=d["answer"],
            prior=d["prior"],
            harmful=d.get("harmful", False),
            constraints=d.get("constraints", {}),
        )


@dataclass(frozen=True)
class Task:
    """One question a simulated user can bring, with its hidden interpretations.

    Attributes:
        id: Stable, unique identifier, e.g. ``"math-0042"``.
        family: One of :data:`FAMILIES`.
        topic: Short human-readable topic, e.g. ``"train distance"``.
        vague: One to three vague phrasings (VQ), each consistent with every
            interpretation.
        interpretations: One (unambiguous task) to four hidden intents.
        clarifying_question: What a good assistant asks to resolve the ambiguity (for an
            unambiguous task a sensible but unneeded question).
        follow_up_question: A short follow-up an answer-plus-question (AQ) can end with.
        difficulty: One of :data:`DIFFICULTIES`.
        judge_data: Whatever the family's judge (and the renderer) needs; JSON-serialisable.
    """

    id: str
    family: str
    topic: str
    vague: tuple[str, ...]
    interpretations: tuple[Interpretation, ...]
    clarifying_question: str
    follow_up_question: str
    difficulty: str
    judge_data: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("id", "topic", "clarifying_question", "follow_up_question"):
            _require_text("Task", name, getattr(self, name))
        if self.family not in FAMILIES:
            raise ValueError(f"Task.family must be one of {FAMILIES}, got {self.family!r}")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(
                f"Task.difficulty must be one of {DIFFICULTIES}, got {self.difficulty!r}"
            )
        vague = (self.vague,) if isinstance(self.vague, str) else tuple(self.vague)
        if not 1 <= len(vague) <= 3:
            raise ValueError(f"Task.vague must hold 1 to 3 phrasings, got {len(vague)}")
        for v in vague:
            _require_text("Task", "vague", v)
        object.__setattr__(self, "vague", vague)
        interps = tuple(self.interpretations)
        if not 1 <= len(interps) <= 4:
            raise ValueError(
                f"Task.interpretations must hold 1 to 4 interpretations, got {len(interps)}"
            )
        if not all(isinstance(i, Interpretation) for i in interps):
            raise ValueError("Task.interpretations must hold Interpretation objects")
        ids = [i.id for i in interps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Task.interpretations ids must be unique, got {ids}")
        total = math.fsum(i.prior for i in interps)
        if abs(total - 1.0) > _PRIOR_TOL:
            raise ValueError(f"Task.interpretations priors must sum to 1, got {total!r}")
        if self.family == "writing":
            for i in interps:
                _check_profile(i)
        object.__setattr__(self, "interpretations", interps)
        if not isinstance(self.judge_data, Mapping):
            raise ValueError(f"Task.judge_data must be a mapping, got {self.judge_data!r}")
        object.__setattr__(self, "judge_data", dict(self.judge_data))

    # ------------------------------------------------------------------ queries
    @property
    def ambiguous(self) -> bool:
        """Whether the vague phrasing leaves more than one intent open."""
        return len(self.interpretations) > 1

    @property
    def reference_answer(self) -> str:
        """The answer of the most likely interpretation."""
        return self.most_likely().answer

    @property
    def ids(self) -> tuple[str, ...]:
        """The interpretation ids, in order."""
        return tuple(i.id for i in self.interpretations)

    def most_likely(self) -> Interpretation:
        """The interpretation with the highest prior (the first one on ties)."""
        best = self.interpretations[0]
        for i in self.interpretations[1:]:
            if i.prior > best.prior:
                best = i
        return best

    def interpretation(self, id: str) -> Interpretation:
        """The interpretation with this id; ``ValueError`` listing the ids if unknown."""
        for i in self.interpretations:
            if i.id == id:
                return i
        raise ValueError(f"task {self.id!r} has no interpretation {id!r}; ids: {list(self.ids)}")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; :meth:`from_dict` inverts it."""
        return {
            "id": self.id,
            "family": self.family,
            "topic": self.topic,
            "vague": list(self.vague),
            "interpretations": [i.to_dict() for i in self.interpretations],
            "clarifying_question": self.clarifying_question,
            "follow_up_question": self.follow_up_question,
            "difficulty": self.difficulty,
            "judge_data": dict(self.judge_data),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Task:
        """Build a task from :meth:`to_dict`'s output (validated as on construction)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"Task.from_dict needs a mapping, got {d!r}")
        return cls(
            id=d["id"],
            family=d["family"],
            topic=d["topic"],
            vague=tuple(d["vague"]),
            interpretations=tuple(Interpretation.from_dict(i) for i in d["interpretations"]),
            clarifying_question=d["clarifying_question"],
            follow_up_question=d["follow_up_question"],
            difficulty=d["difficulty"],
            judge_data=d.get("judge_data", {}),
        )


def _check_profile(interp: Interpretation) -> None:
    c = interp.constraints
    if set(c) != set(WRITING_CONSTRAINTS):
        raise ValueError(
            f"Interpretation.constraints of writing intent {interp.id!r} must have exactly "
            f"the keys {sorted(WRITING_CONSTRAINTS)}, got {sorted(c)}"
        )
    for key, allowed in WRITING_CONSTRAINTS.items():
        if c[key] not in allowed:
            raise ValueError(
                f"Interpretation.constraints[{key!r}] of writing intent {interp.id!r} must be "
                f"one of {allowed}, got {c[key]!r}"
            )
