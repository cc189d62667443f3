"""The hand-written fact base of the ambiguous-QA family.

Only facts the authors are confident of are listed; anything that changes often (office
holders, populations, record counts) or is disputed was left out. Ambiguous entries follow
AmbigQA: one vague question with two to four readings (a different event, version, sense or
unit), each with its own answer. Single-answer entries are the unambiguous tasks.

The facts live in ``gtalign_sim/tasks/data/qa_*.jsonl`` (one record per line, fields named
in :data:`._data.SCHEMAS`); each table below is read on first access and cached, as a plain
tuple of tuples in field order (two tables are dicts), which :mod:`.ambiguous_qa` turns
into tasks. A reading is ``(label, detailed question, clarification, answer, extra
aliases)``; the answer itself is always an alias.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from . import _data

# The tables are module attributes served by ``__getattr__`` (PEP 562); the bare
# annotations below document their types without binding a value.

# --------------------------------------------------------------------------- singles
#: (country, capital, plausible wrong answer, extra aliases)
CAPITALS: tuple[tuple[str, str, str, tuple[str, ...]], ...]
#: Summer Games hosts (year, city, extra aliases).
SUMMER_OLYMPICS: tuple[tuple[int, str, tuple[str, ...]], ...]
#: Winter Games hosts (year, city, extra aliases).
WINTER_OLYMPICS: tuple[tuple[int, str, tuple[str, ...]], ...]
#: Men's FIFA World Cup (year, winner, runner-up).
FIFA_MEN: tuple[tuple[int, str, str], ...]
#: Years with a FIFA Women's, a Cricket (ODI) and a Rugby Union World Cup final.
WORLD_CUPS: tuple[tuple[int, str, str, str], ...]
#: Academy Award for Best Picture by ceremony year.
BEST_PICTURE: dict[int, str]
#: Super Bowl winners by the calendar year the game was played.
SUPER_BOWL: dict[int, str]
#: (work, author, extra aliases)
AUTHORS: tuple[tuple[str, str, tuple[str, ...]], ...]
#: (artwork, artist, extra aliases)
ARTWORKS: tuple[tuple[str, str, tuple[str, ...]], ...]
#: (symbol, element) — "Which element has the chemical symbol X?"
SYMBOLS: tuple[tuple[str, str], ...]
#: (element, atomic number)
ATOMIC_NUMBERS: tuple[tuple[str, int], ...]
#: (polygon, number of sides)
POLYGONS: tuple[tuple[str, int], ...]
#: (country, currency, extra aliases, plausible wrong answer)
CURRENCIES: tuple[tuple[str, str, tuple[str, ...], str], ...]
#: (country, largest city, plausible wrong answer)
LARGEST_CITIES: tuple[tuple[str, str, str], ...]
#: Hand-written single-answer questions: (key, question, terse, answer, aliases, wrong).
SINGLES: tuple[tuple[str, str, str, str, tuple[str, ...], str], ...]

# --------------------------------------------------------------------------- ambiguous
_Reading = tuple[str, str, str, str, tuple[str, ...]]
#: Capital questions with a present-day and a historical (or split) reading:
#: (key, vague, topic, cq, readings).
CAPITAL_AMBIGUITIES: tuple[tuple[str, str, str, str, tuple[_Reading, ...]], ...]
#: Cities that hosted the Games more than once: (city, season, years).
REPEAT_HOSTS: tuple[tuple[str, str, tuple[int, ...]], ...]
#: Films remade under the same title: (title, ((year, director, extra aliases), ...)).
REMAKES: tuple[tuple[str, tuple[tuple[int, str, tuple[str, ...]], ...]], ...]
#: Roles played by different actors: (role, ((label, detailed, actor, extra aliases), ...)).
ROLES: tuple[tuple[str, tuple[tuple[str, str, str, tuple[str, ...]], ...]], ...]
#: Songs famous in two versions: (song, ((label, detailed, performer, extra aliases), ...)).
SONGS: tuple[tuple[str, tuple[tuple[str, str, str, tuple[str, ...]], ...]], ...]
#: Books and their films: (title, novelist, novelist aliases, film director, director aliases).
ADAPTATIONS: tuple[tuple[str, str, tuple[str, ...], str, tuple[str, ...]], ...]
#: Hand-written ambiguous questions: (key, vague, topic, cq, difficulty, readings).
MISC_AMBIGUITIES: tuple[tuple[str, str, str, str, str, tuple[_Reading, ...]], ...]

#: The data file of each table.
TABLES: dict[str, str] = {
    "CAPITALS": "qa_capitals.jsonl",
    "SUMMER_OLYMPICS": "qa_summer_olympics.jsonl",
    "WINTER_OLYMPICS": "qa_winter_olympics.jsonl",
    "FIFA_MEN": "qa_fifa_men.jsonl",
    "WORLD_CUPS": "qa_world_cups.jsonl",
    "BEST_PICTURE": "qa_best_picture.jsonl",
    "SUPER_BOWL": "qa_super_bowl.jsonl",
    "AUTHORS": "qa_authors.jsonl",
    "ARTWORKS": "qa_artworks.jsonl",
    "SYMBOLS": "qa_symbols.jsonl",
    "ATOMIC_NUMBERS": "qa_atomic_numbers.jsonl",
    "POLYGONS": "qa_polygons.jsonl",
    "CURRENCIES": "qa_currencies.jsonl",
    "LARGEST_CITIES": "qa_largest_cities.jsonl",
    "SINGLES": "qa_singles.jsonl",
    "CAPITAL_AMBIGUITIES": "qa_capital_ambiguities.jsonl",
    "REPEAT_HOSTS": "qa_repeat_hosts.jsonl",
    "REMAKES": "qa_remakes.jsonl",
    "ROLES": "qa_roles.jsonl",
    "SONGS": "qa_songs.jsonl",
    "ADAPTATIONS": "qa_adaptations.jsonl",
    "MISC_AMBIGUITIES": "qa_misc_ambiguities.jsonl",
}

#: Tables read as ``{first field: second field}`` rather than a tuple of rows.
_DICTS = frozenset({"BEST_PICTURE", "SUPER_BOWL"})

__all__ = ["TABLES", "table", *TABLES]


@cache
def table(name: str) -> Any:
    """The fact table ``name`` (a key of :data:`TABLES`), read from its data file once."""
    if name not in TABLES:
        raise KeyError(f"no QA fact table {name!r}; known: {', '.join(TABLES)}")
    rows = _data.rows(TABLES[name])
    return dict(rows) if name in _DICTS else rows


def __getattr__(name: str) -> Any:
    if name in TABLES:
        return table(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *TABLES])
