"""Factual questions with several readings, AmbigQA style, from :mod:`.qa_facts`.

An ambiguous entry is one vague question ("When did London host the Summer Olympics?")
with two to four readings, each a fully specified question with its own short answer; a
single-answer entry is an unambiguous task whose vague phrasing is merely terser. Entries
come from small tables (capitals, Olympic hosts, World Cups, Best Picture and Super Bowl
winners by ceremony year vs. season, films remade under one title, roles played by several
actors, songs famous in two versions, novels and their films, units, …) and hand-written
questions.

Beyond the number of distinct entries a bank reuses an entry with a different *phrasing
variant* (a short lead-in such as "Quick question:") so that ids and detailed texts stay
unique; :data:`MAX_TASKS` is the most a bank can hold.

``judge_data``: ``aliases`` {intent id: normalised answer phrases}, ``answers`` {intent id:
answer}, ``distractors`` (plausible wrong answers), ``entry`` (the entry key).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from ..base import Interpretation, Task
from ..lexicon import normalize
from . import qa_facts as facts
from ._common import UNAMBIGUOUS_SHARE, family_rng, priors, shuffled, slug, task_id

__all__ = ["AMBIGUOUS_ENTRIES", "MAX_TASKS", "SINGLE_ENTRIES", "generate"]

FAMILY = "ambiguous_qa"


@dataclass(frozen=True)
class Reading:
    """One reading of a question."""

    label: str
    detailed: str
    clarification: str
    answer: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """A question with its readings (one reading: a single-answer question)."""

    key: str
    topic: str
    vague: tuple[str, ...]
    readings: tuple[Reading, ...]
    clarifying_question: str
    follow_up: str
    difficulty: str
    distractors: tuple[str, ...] = ()


def _aliases(answer: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    out: list[str] = []
    for a in (answer, *extra):
        n = normalize(a).strip()
        for form in (n, n.removeprefix("the "), n.removeprefix("about ")):
            if form and form not in out:
                out.append(form)
    return tuple(out)


def _reading(label, detailed, clarification, answer, extra=()) -> Reading:
    return Reading(label, detailed, clarification, answer, _aliases(answer, tuple(extra)))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _single(key, topic, question, terse, answer, extra, wrong, difficulty="easy") -> Entry:
    return Entry(
        key=key,
        topic=topic,
        vague=(terse,),
        readings=(
            _reading(
                topic,
                question,
                f"Yes, just that: {question[:1].lower()}{question[1:]}",
                answer,
                extra,
            ),
        ),
        clarifying_question=f"Just to be sure, you're asking about {topic}, right?",
        follow_up="Was that the fact you were after, or did you mean something related?",
        difficulty=difficulty,
        distractors=(wrong,) if isinstance(wrong, str) else tuple(wrong),
    )


def _or_list(labels: list[str]) -> str:
    if len(labels) == 2:
        return f"{labels[0]} or {labels[1]}"
    return ", ".join(labels[:-1]) + f" or {labels[-1]}"


def _ambiguous(key, topic, vague, cq, readings, difficulty=None) -> Entry:
    readings = tuple(readings)
    if difficulty is None:
        difficulty = "medium" if len(readings) == 2 else "hard"
    labels = [r.label for r in readings]
    return Entry(
        key=key,
        topic=topic,
        vague=(vague,) if isinstance(vague, str) else tuple(vague),
        readings=readings,
        clarifying_question=cq,
        follow_up=f"Did you mean {_or_list(labels)}?",
        difficulty=difficulty,
    )


_US = ("united states", "usa", "u s", "u s a")


def _country_aliases(name: str) -> tuple[str, ...]:
    return _US if name == "the United States" else ()


# ------------------------------------------------------------------ singles
def _singles() -> list[Entry]:
    out: list[Entry] = []
    for country, capital, wrong, extra in facts.CAPITALS:
        out.append(
            _single(
                f"capital-{slug(country)}",
                f"the capital of {country}",
                f"What is the capital of {country}?",
                f"Capital of {country}?",
                capital,
                extra,
                wrong,
            )
        )
    summer = {y: (c, a) for y, c, a in facts.SUMMER_OLYMPICS}
    winter = {y: (c, a) for y, c, a in facts.WINTER_OLYMPICS}
    years = sorted(set(summer) | set(winter))
    for i, year in enumerate(years):
        if year in summer and year in winter:
            continue
        season, (city, extra) = (
            ("Summer", summer[year]) if year in summer else ("Winter", winter[year])
        )
        near = [summer.get(y, winter.get(y))[0] for y in years[max(0, i - 2) : i + 3] if y != year]
        wrong = [c for c in near if c != city][:2]
        out.append(
            _single(
                f"olympics-{year}",
                f"the {year} Olympic host city",
                f"Which city hosted the {year} {season} Olympics?",
                f"Where were the Olympics held in {year}?",
                city,
                extra,
                wrong,
            )
        )
    for year, winner, runner_up in facts.FIFA_MEN:
        out.append(
            _single(
                f"fifa-{year}",
                f"the {year} FIFA World Cup",
                f"Which country won the {year} FIFA World Cup?",
                f"{year} FIFA World Cup winner?",
                winner,
                _country_aliases(winner),
                runner_up,
            )
        )
    authors = [a for _, a, _ in facts.AUTHORS]
    for i, (work, author, extra) in enumerate(facts.AUTHORS):
        wrong = next(a for a in authors[i + 1 :] + authors if a != author)
        out.append(
            _single(
                f"author-{slug(work)}",
                f"the author of '{work}'",
                f"Who wrote '{work}'?",
                f"'{work}' — author?",
                author,
                extra,
                wrong,
            )
        )
    artists = [a for _, a, _ in facts.ARTWORKS]
    for i, (art, artist, extra) in enumerate(facts.ARTWORKS):
        wrong = next(a for a in artists[i + 1 :] + artists if a != artist)
        out.append(
            _single(
                f"art-{slug(art)}",
                f"the artist of {art}",
                f"Who painted {art}?",
                f"{_cap(art)} — who painted it?",
                artist,
                extra,
                wrong,
            )
        )
    elements = [e for _, e in facts.SYMBOLS]
    for i, (sym, element) in enumerate(facts.SYMBOLS):
        wrong = elements[(i + 1) % len(elements)]
        out.append(
            _single(
                f"symbol-{sym.lower()}",
                f"the element with symbol {sym}",
                f"Which chemical element has the symbol {sym}?",
                f"Element with symbol {sym}?",
                element,
                (),
                wrong,
                "medium",
            )
        )
    for element, z in facts.ATOMIC_NUMBERS:
        out.append(
            _single(
                f"atomic-{element}",
                f"the atomic number of {element}",
                f"What is the atomic number of {element}?",
                f"Atomic number of {element}?",
                str(z),
                (),
                str(z + 1),
                "medium",
            )
        )
    for polygon, sides in facts.POLYGONS:
        out.append(
            _single(
                f"sides-{polygon}",
                f"the sides of a {polygon}",
                f"How many sides does a {polygon} have?",
                f"Sides of a {polygon}?",
                str(sides),
                (),
                str(sides + 1),
            )
        )
    for country, currency, extra, wrong in facts.CURRENCIES:
        out.append(
            _single(
                f"currency-{slug(country)}",
                f"the currency of {country}",
                f"What is the official currency of {country}?",
                f"Currency of {country}?",
                currency,
                extra,
                wrong,
            )
        )
    for country, city, wrong in facts.LARGEST_CITIES:
        out.append(
            _single(
                f"largest-city-{slug(country)}",
                f"the largest city of {country}",
                f"What is the most populous city in {country}?",
                f"Biggest city in {country}?",
                city,
                (),
                wrong,
            )
        )
    for key, question, terse, answer, extra, wrong in facts.SINGLES:
        topic = terse.rstrip("?").lower()
        out.append(
            _single(
                key,
                topic,
                question,
                terse,
                answer,
                extra,
                wrong,
                "easy" if len(answer) < 14 else "medium",
            )
        )
    return out


# ------------------------------------------------------------------ ambiguous
def _ambiguities() -> list[Entry]:
    out: list[Entry] = []
    for key, vague, topic, cq, readings in facts.CAPITAL_AMBIGUITIES:
        out.append(_ambiguous(key, topic, vague, cq, [_reading(*r) for r in readings]))
    summer = {y: (c, a) for y, c, a in facts.SUMMER_OLYMPICS}
    winter = {y: (c, a) for y, c, a in facts.WINTER_OLYMPICS}
    for year in sorted(set(summer) & set(winter)):
        readings = [
            _reading(
                f"the {season} Games",
                f"Which city hosted the {year} {season} Olympics?",
                f"I mean the {season} Games.",
                table[year][0],
                table[year][1],
            )
            for season, table in (("Summer", summer), ("Winter", winter))
        ]
        out.append(
            _ambiguous(
                f"olympics-{year}",
                f"the {year} Olympics",
                (
                    f"Where were the Olympics held in {year}?",
                    f"Which city had the {year} Olympics?",
                ),
                f"Do you mean the {year} Summer Games or the {year} Winter Games?",
                readings,
            )
        )
    ordinals = ("first", "second", "third")
    for city, season, years in facts.REPEAT_HOSTS:
        readings = [
            _reading(
                f"the {ordinals[i]} time",
                f"In what year did {city} host the {season} Olympics for the {ordinals[i]} time?",
                f"I mean the {ordinals[i]} time.",
                str(y),
            )
            for i, y in enumerate(years)
        ]
        out.append(
            _ambiguous(
                f"hosted-{slug(city)}",
                f"{city}'s Olympic Games",
                (
                    f"When did {city} host the {season} Olympics?",
                    f"What year were the {season} Olympics in {city}?",
                ),
                f"{city} has hosted the {season} Games {len(years)} times — do you mean the "
                f"{_or_list([o + ' time' for o in ordinals[: len(years)]])}?",
                readings,
            )
        )
    for year, women, cricket, rugby in facts.WORLD_CUPS:
        readings = [
            _reading(
                "the FIFA Women's World Cup",
                f"Which country won the {year} FIFA Women's World Cup?",
                "The women's football World Cup.",
                women,
                _country_aliases(women),
            ),
            _reading(
                "the Cricket World Cup",
                f"Which country won the {year} Cricket World Cup?",
                "The cricket one.",
                cricket,
            ),
            _reading(
                "the Rugby World Cup",
                f"Which country won the {year} Rugby World Cup?",
                "Rugby union.",
                rugby,
            ),
        ]
        out.append(
            _ambiguous(
                f"world-cup-{year}",
                f"the {year} World Cups",
                (f"Who won the World Cup in {year}?", f"Which team won the {year} World Cup?"),
                f"Which {year} World Cup do you mean: the FIFA Women's World Cup, the Cricket "
                "World "
                "Cup or the Rugby World Cup?",
                readings,
            )
        )
    for year in sorted(facts.BEST_PICTURE):
        if year + 1 not in facts.BEST_PICTURE:
            continue
        readings = [
            _reading(
                f"the ceremony held in {year}",
                f"Which film won Best Picture at the Academy Awards ceremony held in {year}?",
                f"I mean the ceremony that took place in {year}.",
                facts.BEST_PICTURE[year],
            ),
            _reading(
                f"films released in {year}",
                f"Which film released in {year} went on to win the Academy Award for Best Picture?",
                f"I mean the best film of {year}, honoured the following spring.",
                facts.BEST_PICTURE[year + 1],
            ),
        ]
        out.append(
            _ambiguous(
                f"best-picture-{year}",
                f"Best Picture {year}",
                (
                    f"Which film won Best Picture in {year}?",
                    f"What won the Oscar for Best Picture in {year}?",
                ),
                f"Do you mean the Oscars ceremony held in {year}, or the award for films released "
                f"in {year}?",
                readings,
            )
        )
    for year in sorted(facts.SUPER_BOWL):
        nxt = facts.SUPER_BOWL.get(year + 1)
        if nxt is None or nxt == facts.SUPER_BOWL[year]:
            continue
        readings = [
            _reading(
                f"the game played in {year}",
                f"Which team won the Super Bowl played in February {year}?",
                f"The game that was played in {year}.",
                facts.SUPER_BOWL[year],
            ),
            _reading(
                f"the {year} season",
                f"Which team won the Super Bowl that decided the {year} NFL season?",
                f"The champion of the {year} season.",
                nxt,
            ),
        ]
        out.append(
            _ambiguous(
                f"super-bowl-{year}",
                f"Super Bowl {year}",
                (f"Who won the Super Bowl in {year}?", f"Which team won the {year} Super Bowl?"),
                f"Do you mean the Super Bowl played in {year}, or the one for the {year} season?",
                readings,
            )
        )
    for title, versions in facts.REMAKES:
        readings = [
            _reading(
                f"the {y} film",
                f"Who directed the {y} film '{title}'?",
                f"I mean the {y} version.",
                director,
                extra,
            )
            for y, director, extra in versions
        ]
        out.append(
            _ambiguous(
                f"directed-{slug(title)}",
                f"the director of '{title}'",
                (f"Who directed '{title}'?", f"Who was the director of '{title}'?"),
                f"Which '{title}' do you mean: "
                f"{_or_list([f'the {y} film' for y, _, _ in versions])}?",
                readings,
            )
        )
    for role, versions in facts.ROLES:
        readings = [
            _reading(label, detailed, f"I mean {label}.", actor, extra)
            for label, detailed, actor, extra in versions
        ]
        out.append(
            _ambiguous(
                f"played-{slug(role)}",
                f"actors who played {role}",
                (f"Who played {role}?", f"Which actor played {role}?"),
                f"Which portrayal of {role} do you mean: {_or_list([v[0] for v in versions])}?",
                readings,
            )
        )
    for song, versions in facts.SONGS:
        readings = [
            _reading(label, detailed, f"I mean {label}.", singer, extra)
            for label, detailed, singer, extra in versions
        ]
        out.append(
            _ambiguous(
                f"sang-{slug(song)}",
                f"who sang '{song}'",
                (f"Who sang '{song}'?", f"Who is the singer of '{song}'?"),
                f"Do you mean {_or_list([v[0] for v in versions])} of '{song}'?",
                readings,
            )
        )
    for title, novelist, n_alias, director, d_alias in facts.ADAPTATIONS:
        readings = [
            _reading(
                "the novel",
                f"Who wrote the novel '{title}'?",
                "I mean the book.",
                novelist,
                n_alias,
            ),
            _reading(
                "the film",
                f"Who directed the film adaptation of '{title}'?",
                "I mean the film.",
                director,
                d_alias,
            ),
        ]
        out.append(
            _ambiguous(
                f"created-{slug(title)}",
                f"the makers of '{title}'",
                (f"Who created '{title}'?", f"Who is behind '{title}'?"),
                f"Do you mean the novel '{title}' or its film adaptation?",
                readings,
            )
        )
    for key, vague, topic, cq, difficulty, readings in facts.MISC_AMBIGUITIES:
        out.append(_ambiguous(key, topic, vague, cq, [_reading(*r) for r in readings], difficulty))
    return out


def _check(entries: list[Entry]) -> None:
    """Fail loudly on a fact-table slip: clashing aliases, duplicate texts or keys."""
    keys: set[str] = set()
    texts: set[str] = set()
    for e in entries:
        if e.key in keys:
            raise ValueError(f"duplicate QA entry key {e.key!r}")
        keys.add(e.key)
        for r in e.readings:
            if r.detailed in texts:
                raise ValueError(f"duplicate QA question {r.detailed!r}")
            texts.add(r.detailed)
        wrongs = [normalize(x) for x in e.distractors]
        for i, r in enumerate(e.readings):
            others = [normalize(o.answer) for j, o in enumerate(e.readings) if j != i] + wrongs
            # an answer names its own reading's label, so no label may hold another's answer
            others += [normalize(o.label) for j, o in enumerate(e.readings) if j != i]
            for alias in r.aliases:
                if any(f" {alias} " in o for o in others):
                    raise ValueError(f"alias {alias!r} of {e.key!r} matches another answer")


@cache
def _entries() -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:
    """(single-answer entries, ambiguous entries), built from the fact tables once."""
    singles, multis = tuple(_singles()), tuple(_ambiguities())
    _check([*singles, *multis])
    return singles, multis


# SINGLE_ENTRIES, AMBIGUOUS_ENTRIES and MAX_TASKS are served by ``__getattr__`` (PEP 562),
# so that the fact files are read on first use, not on import.
#: The single-answer (unambiguous) entries.
SINGLE_ENTRIES: tuple[Entry, ...]
#: The ambiguous entries (two to four readings each).
AMBIGUOUS_ENTRIES: tuple[Entry, ...]
#: The most tasks one bank can hold (every entry in every phrasing variant).
MAX_TASKS: int

#: Lead-ins that make a reused entry's texts distinct (variant 0 has none).
_VARIANTS: tuple[str, ...] = (
    "",
    "Quick question: ",
    "I was wondering: ",
    "Trivia check: ",
    "Settle a debate for me: ",
    "For a quiz I'm writing: ",
    "Out of curiosity: ",
    "Something I've always wanted to know: ",
)


def _max_tasks() -> int:
    singles, multis = _entries()
    return len(_VARIANTS) * (len(singles) + len(multis))


def __getattr__(name: str) -> Any:
    if name == "SINGLE_ENTRIES":
        return _entries()[0]
    if name == "AMBIGUOUS_ENTRIES":
        return _entries()[1]
    if name == "MAX_TASKS":
        return _max_tasks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "AMBIGUOUS_ENTRIES", "MAX_TASKS", "SINGLE_ENTRIES"])


def _task(index: int, entry: Entry, variant: int, prior_values: list[float]) -> Task:
    lead = _VARIANTS[variant]
    interps, aliases, answers = [], {}, {}
    for r, p in zip(entry.readings, prior_values, strict=True):
        iid = slug(r.label)
        interps.append(
            Interpretation(
                id=iid,
                label=r.label,
                detailed=lead + r.detailed,
                clarification=r.clarification,
                answer=r.answer,
                prior=p,
            )
        )
        aliases[iid] = list(r.aliases)
        answers[iid] = r.answer
    return Task(
        id=task_id(FAMILY, index),
        family=FAMILY,
        topic=entry.topic,
        vague=tuple(lead + v for v in entry.vague),
        interpretations=tuple(interps),
        clarifying_question=entry.clarifying_question,
        follow_up_question=entry.follow_up,
        difficulty=entry.difficulty,
        judge_data={
            "entry": entry.key,
            "variant": variant,
            "aliases": aliases,
            "answers": answers,
            "distractors": list(entry.distractors),
        },
    )


class _Stream:
    """Entries of one stratum in shuffled cycles; each new cycle uses the next variant."""

    def __init__(self, entries: tuple[Entry, ...], rng: np.random.Generator) -> None:
        self.entries, self.rng = entries, rng
        self.cycle, self.order = 0, shuffled(rng, entries)

    def left(self) -> bool:
        return self.cycle < len(_VARIANTS)

    def next(self) -> tuple[Entry, int]:
        if not self.order:
            self.cycle += 1
            self.order = shuffled(self.rng, self.entries)
        return self.order.pop(), self.cycle


def generate(n: int, seed: int) -> list[Task]:
    """``n`` ambiguous-QA tasks, deterministic in ``seed`` (a prefix of a longer run's output).

    Raises ``ValueError`` when ``n`` exceeds :data:`MAX_TASKS`.
    """
    most = _max_tasks()
    if n > most:
        raise ValueError(f"ambiguous_qa holds at most {most} distinct tasks, asked for {n}")
    rng = family_rng(FAMILY, seed)
    single_entries, ambiguous_entries = _entries()
    singles = _Stream(single_entries, np.random.default_rng(rng.integers(2**63)))
    multis = _Stream(ambiguous_entries, np.random.default_rng(rng.integers(2**63)))
    tasks: list[Task] = []
    while len(tasks) < n:
        want_single = rng.random() < UNAMBIGUOUS_SHARE
        stream = singles if want_single else multis
        entry, variant = stream.next()
        if variant >= len(_VARIANTS):  # this stratum is used up: take the other one
            stream = multis if want_single else singles
            entry, variant = stream.next()
        tasks.append(_task(len(tasks), entry, variant, priors(rng, len(entry.readings))))
    return tasks
