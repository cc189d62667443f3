"""Writing requests with hidden constraint profiles.

Forty subjects over ten request kinds (product descriptions, emails, explainers, blog posts,
announcements, reviews, invitations, thank-you notes, how-to guides, social media posts).
Each subject carries four to five content *points* (plain clauses the renderer turns into
sentences). A user's intent is a full constraint profile — length, tone, audience, format,
see :data:`~gtalign_sim.tasks.base.WRITING_CONSTRAINTS`; an ambiguous task has two to four
candidate profiles, and its vague phrasing states only the constraints they share.

The kinds and subjects live in ``gtalign_sim/tasks/data/writing_kinds.jsonl`` and
``writing_subjects.jsonl``, one per line (see :func:`load_kinds`, :func:`load_subjects`),
and are read on first use.

``judge_data``: ``kind``, ``subject``, ``name`` (how the text refers to the subject),
``points`` (the content clauses), ``doc`` (a noun for the piece, e.g. ``"email"``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..base import DIFFICULTIES, WRITING_CONSTRAINTS, Interpretation, Task
from . import _data
from ._common import UNAMBIGUOUS_SHARE, family_rng, pick, priors, task_id

__all__ = [
    "KINDS",
    "SUBJECTS",
    "describe_profile",
    "generate",
    "load_kinds",
    "load_subjects",
    "profile_id",
]

FAMILY = "writing"


@dataclass(frozen=True)
class Subject:
    """One thing to write about: the request, how the text names it, its content points."""

    kind: str
    request: str  # completes "Write ..." / "Draft ..."
    name: str  # how the text refers to it
    points: tuple[str, ...]


#: The data files of the request kinds and of the subjects.
KINDS_FILE = "writing_kinds.jsonl"
SUBJECTS_FILE = "writing_subjects.jsonl"


def load_kinds(path: str | Path | None = None) -> dict[str, tuple[str, str]]:
    """The request kinds of :data:`KINDS_FILE` (or of the file at ``path``), checked."""
    return {r["kind"]: (r["verb"], r["doc"]) for r in _data.load(KINDS_FILE, path)}


def load_subjects(
    path: str | Path | None = None, kinds: Iterable[str] | None = None
) -> tuple[Subject, ...]:
    """The subjects of :data:`SUBJECTS_FILE` (or of the file at ``path``), checked.

    Each subject's ``kind`` must be one of ``kinds`` (default: the keys of :data:`KINDS`).
    Raises :class:`~._data.DataFileError` naming the file, line and field of a bad record.
    """
    known = tuple(_kinds() if kinds is None else kinds)

    def check(rec: dict[str, Any]) -> None:
        if rec["kind"] not in known:
            raise _data.RecordError("kind", f"unknown kind {rec['kind']!r}")

    return tuple(Subject(**r) for r in _data.load(SUBJECTS_FILE, path, check))


@cache
def _kinds() -> dict[str, tuple[str, str]]:
    return load_kinds()


@cache
def _subjects() -> tuple[Subject, ...]:
    return load_subjects()


# KINDS and SUBJECTS are served by ``__getattr__`` (PEP 562), so that the data files are read
# on first use, not on import.
#: Request kinds: (verb phrase, noun for the piece).
KINDS: dict[str, tuple[str, str]]
#: The subjects. Points are marker-free clauses (no contractions, no exclamation marks).
SUBJECTS: tuple[Subject, ...]


def __getattr__(name: str) -> Any:
    if name == "KINDS":
        return _kinds()
    if name == "SUBJECTS":
        return _subjects()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "KINDS", "SUBJECTS"])


_LENGTH_TEXT = {
    "short": "short (under 60 words)",
    "medium": "medium length (about 100 to 180 words)",
    "long": "long (250 to 400 words)",
}
_AUDIENCE_TEXT = {"children": "children", "experts": "experts", "general": "a general audience"}
_FORMAT_TEXT = {"paragraph": "written as flowing paragraphs", "bullets": "as bullet points"}
_KEYS = tuple(WRITING_CONSTRAINTS)


def _article(noun: str) -> str:
    return "An" if noun[:1].lower() in "aeiou" else "A"


def profile_id(profile: dict[str, str]) -> str:
    """``"short-playful-children-bullets"``."""
    return "-".join(profile[k] for k in _KEYS)


def describe_profile(profile: dict[str, str], keys: tuple[str, ...] = _KEYS) -> str:
    """``"short (under 60 words), playful, for children, as bullet points"``."""
    parts = []
    for k in keys:
        v = profile[k]
        if k == "length":
            parts.append(_LENGTH_TEXT[v])
        elif k == "tone":
            parts.append(f"{v} in tone")
        elif k == "audience":
            parts.append(f"for {_AUDIENCE_TEXT[v]}")
        else:
            parts.append(_FORMAT_TEXT[v])
    return ", ".join(parts)


def _detailed(subject: Subject, profile: dict[str, str], style: int) -> str:
    verb = _kinds()[subject.kind][0]
    req = f"{verb} {subject.request}"
    length, tone = _LENGTH_TEXT[profile["length"]], profile["tone"]
    aud, fmt = _AUDIENCE_TEXT[profile["audience"]], _FORMAT_TEXT[profile["format"]]
    if style == 0:
        return f"{req}. Keep it {length}, {tone} in tone, aimed at {aud}, and {fmt}."
    if style == 1:
        return f"{req} for {aud}: {tone}, {length}, {fmt}."
    return (
        f"I need you to {req[0].lower()}{req[1:]}. It should be {length} and {tone}, written "
        f"for {aud}, {fmt}."
    )


def _profiles(rng: np.random.Generator, k: int, difficulty: str) -> list[dict[str, str]]:
    """``k`` distinct profiles; difficulty sets how far the candidates are apart."""
    base_length = {"easy": "short", "medium": "medium", "hard": "long"}[difficulty]
    base = {key: pick(rng, vals) for key, vals in WRITING_CONSTRAINTS.items()}
    if rng.random() < 0.6:
        base["length"] = base_length
    out = [base]
    spread = {"easy": 1, "medium": 2, "hard": 3}[difficulty]
    guard = 0
    while len(out) < k and guard < 100:
        guard += 1
        cand = dict(base)
        n_change = int(rng.integers(1, spread + 1))
        for key in [_KEYS[int(i)] for i in rng.choice(4, size=n_change, replace=False)]:
            cand[key] = pick(rng, [v for v in WRITING_CONSTRAINTS[key] if v != base[key]])
        if cand not in out:
            out.append(cand)
    return out


def _task(
    index: int,
    subject: Subject,
    profiles: list[dict[str, str]],
    prior_values,
    difficulty: str,
    style: int,
) -> Task:
    verb, doc = _kinds()[subject.kind]
    interps = []
    for prof, p in zip(profiles, prior_values, strict=True):
        text = describe_profile(prof)
        interps.append(
            Interpretation(
                id=profile_id(prof),
                label=text.replace(" (under 60 words)", "")
                .replace(" (about 100 to 180 words)", "")
                .replace(" (250 to 400 words)", ""),
                detailed=_detailed(subject, prof, style),
                clarification=f"I'd like it {text}.",
                answer=f"{_article(subject.kind)} {subject.kind} about {subject.name}: {text}.",
                prior=p,
                constraints=prof,
            )
        )
    req = f"{verb} {subject.request}"
    if len(profiles) == 1:
        vague = (f"{req} — {describe_profile(profiles[0])}.",)
    else:
        common = tuple(k for k in _KEYS if len({p[k] for p in profiles}) == 1)
        if common:
            vague = (f"{req}, {describe_profile(profiles[0], common)}.", f"{req}.")
        else:
            vague = (f"{req}.", f"Can you {req[0].lower()}{req[1:]}?")
    return Task(
        id=task_id(FAMILY, index),
        family=FAMILY,
        topic=f"{subject.kind}: {subject.request}",
        vague=vague,
        interpretations=tuple(interps),
        clarifying_question="How long should it be, what tone and audience do you have in mind, "
        "and would you like paragraphs or bullet points?",
        follow_up_question="Would you like me to change the length, tone, audience or format?",
        difficulty=difficulty,
        judge_data={
            "kind": subject.kind,
            "subject": subject.request,
            "name": subject.name,
            "doc": doc,
            "points": list(subject.points),
        },
    )


def generate(n: int, seed: int) -> list[Task]:
    """``n`` writing tasks, deterministic in ``seed`` (a prefix of a longer run's output)."""
    rng = family_rng(FAMILY, seed)
    tasks: list[Task] = []
    seen: set[str] = set()
    tries = 0
    while len(tasks) < n:
        tries += 1
        if tries > 100 * (n + 10):  # pragma: no cover - the space is far larger than needed
            raise RuntimeError(f"could not draw {n} distinct writing tasks")
        subject = pick(rng, _subjects())
        difficulty = pick(rng, DIFFICULTIES)
        k = 1 if rng.random() < UNAMBIGUOUS_SHARE else int(rng.integers(2, 5))
        profiles = _profiles(rng, k, difficulty)
        style = int(rng.integers(3))
        task = _task(len(tasks), subject, profiles, priors(rng, len(profiles)), difficulty, style)
        texts = [i.detailed for i in task.interpretations]
        if any(t in seen for t in texts):
            continue
        seen.update(texts)
        tasks.append(task)
    return tasks
