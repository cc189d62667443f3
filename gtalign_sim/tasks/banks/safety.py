"""Requests that are benign, mildly harmful, or could be either (dual use).

Fifty scenarios in the spirit of WildGuard, all mild and non-operational: the desired
behaviour is to help a benign intent and to decline a harmful one while offering a safe
alternative. Nothing here is an instruction for harm — a helpful answer to a dual-use
request is rendered with the generic marker
:data:`~gtalign_sim.tasks.lexicon.COMPLIANCE_MARKER` instead of real steps, followed by
safe, benign-context advice.

A dual-use scenario gives three kinds of task: the ambiguous one (its vague request with
all intents) and, as unambiguous tasks, each intent on its own with its detailed request as
the phrasing. Repeated scenarios get a short lead-in ("Quick question: ") so that detailed
texts stay unique.

The scenarios live in ``gtalign_sim/tasks/data/safety_scenarios.jsonl``, one per line (see
:func:`load_scenarios`), and are read on first use.

``judge_data``: ``scenario``, ``dual_use`` (the scenario has a harmful intent),
``harmful``/``help``/``harm``/``alternative`` {intent id: …}.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..base import Interpretation, Task
from . import _data
from ._common import UNAMBIGUOUS_SHARE, family_rng, priors, shuffled, slug, task_id

__all__ = ["MAX_TASKS", "SCENARIOS", "generate", "load_scenarios"]

FAMILY = "safety"


@dataclass(frozen=True)
class Intent:
    """One purpose behind a request: benign (with help) or harmful (with an alternative)."""

    label: str
    detailed: str
    clarification: str
    harmful: bool
    help: str = ""  # benign: safe, helpful advice
    harm: str = ""  # harmful: what is declined ("getting into someone else's shed")
    alternative: str = ""  # harmful: the safe alternative offered instead


@dataclass(frozen=True)
class Scenario:
    """A request with its intents."""

    key: str
    topic: str
    vague: tuple[str, ...]
    clarifying_question: str
    follow_up: str
    difficulty: str
    intents: tuple[Intent, ...]

    @property
    def dual_use(self) -> bool:
        return any(i.harmful for i in self.intents)


#: The data file of the scenarios.
DATA_FILE = "safety_scenarios.jsonl"


def load_scenarios(path: str | Path | None = None) -> tuple[Scenario, ...]:
    """The scenarios of :data:`DATA_FILE` (or of the file at ``path``), checked.

    Raises :class:`~._data.DataFileError` naming the file, line and field of a bad record.
    """
    return tuple(
        Scenario(**{**rec, "intents": tuple(Intent(**i) for i in rec["intents"])})
        for rec in _data.load(DATA_FILE, path)
    )


@cache
def _scenarios() -> tuple[Scenario, ...]:
    return load_scenarios()


# SCENARIOS and MAX_TASKS are served by ``__getattr__`` (PEP 562), so that the data file is
# read on first use, not on import.
#: The scenarios, in file order.
SCENARIOS: tuple[Scenario, ...]
#: The most tasks a bank is guaranteed to hold (every scenario in every lead-in; single-intent
#: tasks of dual-use scenarios come on top of that when they fit).
MAX_TASKS: int

#: Lead-ins that keep texts unique when a scenario is reused (index 0: none).
_LEADS: tuple[str, ...] = (
    "",
    "Quick question: ",
    "Hi! ",
    "Sorry if this is a silly question, but ",
    "I need some advice. ",
    "Hey, ",
    "Can you help? ",
    "Hello. ",
)


@cache
def _units() -> tuple[tuple[Scenario, tuple[int, ...]], ...]:
    """(scenario, intent indices) per task shape: all intents, then each intent alone."""
    units = []
    for s in _scenarios():
        units.append((s, tuple(range(len(s.intents)))))
        if len(s.intents) > 1:
            units.extend((s, (i,)) for i in range(len(s.intents)))
    return tuple(units)


def _max_tasks() -> int:
    return len(_LEADS) * len(_scenarios())


def __getattr__(name: str) -> Any:
    if name == "SCENARIOS":
        return _scenarios()
    if name == "MAX_TASKS":
        return _max_tasks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "MAX_TASKS", "SCENARIOS"])


def _lead(lead: str, text: str) -> str:
    if not lead:
        return text
    if lead.endswith("but "):
        return lead + text[:1].lower() + text[1:]
    return lead + text


def _task(index: int, s: Scenario, picked: tuple[int, ...], lead: str, prior_values) -> Task:
    interps, harmful, help_, harm, alt = [], {}, {}, {}, {}
    for i, p in zip(picked, prior_values, strict=True):
        it = s.intents[i]
        iid = ("harmful-" if it.harmful else "benign-") + slug(it.label)
        interps.append(
            Interpretation(
                id=iid,
                label=it.label,
                detailed=_lead(lead, it.detailed),
                clarification=it.clarification,
                answer=(
                    f"Decline {it.harm}, and offer a safe alternative: {it.alternative}"
                    if it.harmful
                    else f"Help: {it.help}"
                ),
                prior=p,
                harmful=it.harmful,
            )
        )
        harmful[iid] = it.harmful
        help_[iid], harm[iid], alt[iid] = it.help, it.harm, it.alternative
    if len(picked) == 1 and len(s.intents) > 1:
        vague = (interps[0].detailed,)
        difficulty = "easy"
    else:
        vague = tuple(_lead(lead, v) for v in s.vague)
        difficulty = s.difficulty
    return Task(
        id=task_id(FAMILY, index),
        family=FAMILY,
        topic=s.topic,
        vague=vague,
        interpretations=tuple(interps),
        clarifying_question=s.clarifying_question,
        follow_up_question=s.follow_up,
        difficulty=difficulty,
        judge_data={
            "scenario": s.key,
            "dual_use": s.dual_use,
            "harmful": harmful,
            "help": help_,
            "harm": harm,
            "alternative": alt,
        },
    )


def _benign_first(rng, k: int, harmful_flags: list[bool]) -> list[float]:
    """Priors with benign intents more likely on average (most people ask innocently)."""
    p = priors(rng, k)
    if k > 1 and any(harmful_flags) and not all(harmful_flags):
        p = sorted(p, reverse=True)
        benign = [i for i, h in enumerate(harmful_flags) if not h]
        order = benign + [i for i in range(k) if i not in benign]
        out = [0.0] * k
        for rank, i in enumerate(order):
            out[i] = p[rank]
        p = out
    return p


def generate(n: int, seed: int) -> list[Task]:
    """``n`` safety tasks, deterministic in ``seed`` (a prefix of a longer run's output).

    Raises ``ValueError`` when ``n`` exceeds :data:`MAX_TASKS`.
    """
    most = _max_tasks()
    if n > most:
        raise ValueError(f"safety holds at most {most} distinct tasks, asked for {n}")
    rng = family_rng(FAMILY, seed)
    multi = [u for u in _units() if len(u[1]) > 1]
    single = [u for u in _units() if len(u[1]) == 1]
    queues = {True: shuffled(rng, single), False: shuffled(rng, multi)}
    tasks: list[Task] = []
    seen: set[str] = set()
    tries = 0
    while len(tasks) < n:
        tries += 1
        if tries > 50 * (n + 10):  # pragma: no cover - n ≤ MAX_TASKS always fits
            raise RuntimeError(f"could not draw {n} distinct safety tasks")
        want_single = bool(rng.random() < UNAMBIGUOUS_SHARE)
        if not queues[want_single]:
            queues[want_single] = shuffled(rng, single if want_single else multi)
        s, picked = queues[want_single].pop()
        for lead in _LEADS:
            texts = [_lead(lead, s.intents[i].detailed) for i in picked]
            if not any(t in seen for t in texts):
                break
        else:
            continue  # every lead-in of this unit is used; draw another
        seen.update(texts)
        flags = [s.intents[i].harmful for i in picked]
        tasks.append(_task(len(tasks), s, picked, lead, _benign_first(rng, len(picked), flags)))
    return tasks
