"""Math word problems with exact answers, from sixteen templates.

Each template draws a problem whose *hidden quantity* (a speed, a price, a rate, …) the
vague phrasing omits; the interpretations are two to four candidate values of it, each
with its own exact answer (:class:`fractions.Fraction` arithmetic, numbers picked so the
answers are clean). An unambiguous task has one candidate and a terse but complete vague
phrasing. Difficulty adds steps: easy problems take one step, medium two, hard three or
a classic trap (average speed, successive discounts, a drain working against two pipes).

Every solution also records a *plausible wrong* answer — an off-by-a-step slip or a
skipped step — that the renderer uses for flawed answers.

``judge_data``: ``template``, ``quantity``, ``unit`` (``"$"`` for money, ``"%"``, or a word
unit), ``answers`` {intent id: canonical number}, ``hidden`` {intent id: the omitted
value}, ``solutions`` {intent id: {``steps``, ``wrong``, ``wrong_steps``}}.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..base import DIFFICULTIES, Interpretation, Task
from ..lexicon import parse_numbers
from ._common import UNAMBIGUOUS_SHARE, family_rng, fmt_money, fmt_num, pick, priors, task_id

__all__ = ["TEMPLATES", "generate"]

F = Fraction
FAMILY = "math"
NAMES = ("Maya", "Leo", "Priya", "Tom", "Amara", "Jonas", "Sofia", "Kenji", "Lena", "Omar")


@dataclass(frozen=True)
class _Solution:
    value: Fraction
    steps: tuple[str, ...]
    wrong: Fraction
    wrong_steps: tuple[str, ...]


@dataclass(frozen=True)
class _Problem:
    """A drawn problem; the callables take the hidden value."""

    template: str
    topic: str
    quantity: str  # id key, e.g. "speed"
    unit: str  # answer unit: "$", "%" or a word such as "km"
    candidates: tuple[Fraction, ...]
    label: Callable[[Fraction], str]  # a noun phrase naming the hidden value: "a speed of 60 km/h"
    detailed: Callable[[Fraction], str]
    terse: Callable[[Fraction], str]
    vague: tuple[str, ...]
    clarification: Callable[[Fraction], str]
    clarifying_question: str
    follow_up: str
    solve: Callable[[Fraction], _Solution | None]


def fmt_answer(value: Fraction, unit: str) -> str:
    """``$12.50``, ``37.5%`` or ``150 km``."""
    if unit == "$":
        return fmt_money(value)
    if unit == "%":
        return f"{fmt_num(value)}%"
    return f"{fmt_num(value)} {unit}"


def _clean(x: Fraction, places: int = 2) -> bool:
    return x > 0 and (x * 10**places).denominator == 1


def _r2(x: Fraction) -> Fraction:
    """Round half up to two decimals (for wrong answers that need not be clean)."""
    return F(math.floor(x * 100 + F(1, 2)), 100)


def _fr(values: Sequence[str | int]) -> tuple[Fraction, ...]:
    return tuple(F(v) for v in values)


def _sol(value, steps, wrong, wrong_steps) -> _Solution | None:
    if not _clean(value) or wrong == value or wrong <= 0:
        return None
    return _Solution(F(value), tuple(steps), F(wrong), tuple(wrong_steps))


n_ = fmt_num
m_ = fmt_money


def _l(x: Fraction) -> str:
    return f"{n_(x)} litre" + ("" if x == 1 else "s")


#: Noun phrases naming a hidden value, per template ("a speed of 60 km/h"); the averages
#: template names its three quantities itself.
_LABELS: dict[str, Callable[[Fraction], str]] = {
    "distance": lambda v: f"a speed of {n_(v)} km/h",
    "unit_price": lambda v: f"a price of {m_(v)} per kg",
    "discount": lambda v: f"a {n_(v)}% discount",
    "garden": lambda v: f"a width of {n_(v)} m",
    "ages": lambda v: f"an age gap of {n_(v)} years",
    "work": lambda v: f"{n_(v)} hours for the second pipe alone",
    "mixture": lambda v: f"a second juice of {n_(v)}% strength",
    "interest": lambda v: f"an interest rate of {n_(v)}% a year",
    "recipe": lambda v: f"{n_(v)} servings",
    "currency": lambda v: f"a rate of {n_(v)} dollars per euro",
    "fuel": lambda v: f"a consumption of {n_(v)} litres per 100 km",
    "wages": lambda v: f"a wage of {m_(v)} an hour",
    "percent": lambda v: f"a class of {n_(v)} students",
    "paint": lambda v: f"a wall height of {n_(v)} m",
    "travel_time": lambda v: f"a distance of {n_(v)} km",
}


# ---------------------------------------------------------------- 1 distance
_VEHICLES = (
    ("train", ("60", "70", "80", "90", "100", "120", "140", "150")),
    ("car", ("50", "60", "70", "80", "90", "100", "110")),
    ("coach", ("45", "50", "55", "60", "65", "70", "75")),
    ("cyclist", ("12", "14", "15", "16", "18", "20", "24", "25")),
    ("ferry", ("20", "24", "25", "30", "32", "36", "40")),
)


def _distance(rng: np.random.Generator, difficulty: str) -> _Problem:
    vehicle, speeds = pick(rng, _VEHICLES)
    cands = _fr(speeds)

    def spd(s):
        return f"{n_(s)} km/h"

    cq = f"How fast is the {vehicle} going?"
    fu = f"Did I assume the right speed for the {vehicle}?"
    if difficulty == "easy":
        t = F(pick(rng, ("2", "3", "4", "5", "1.5", "2.5", "3.5")))

        def solve(s):
            d = s * t
            return _sol(
                d,
                [f"Distance = speed × time = {spd(s)} × {n_(t)} h = {n_(d)} km."],
                s * (t + 1),
                [f"Distance = {spd(s)} × {n_(t + 1)} h = {n_(s * (t + 1))} km."],
            )

        return _Problem(
            "distance",
            f"{vehicle} distance",
            "speed",
            "km",
            cands,
            _LABELS["distance"],
            lambda s: (
                f"A {vehicle} travels at a steady {spd(s)} for {n_(t)} hours. "
                "How far does it travel?"
            ),
            lambda s: f"{vehicle.capitalize()} at {spd(s)} for {n_(t)} h: how far?",
            (
                f"A {vehicle} travels for {n_(t)} hours. How far does it go?",
                f"How far does a {vehicle} get in {n_(t)} hours?",
            ),
            lambda s: f"The {vehicle} goes at {spd(s)}.",
            cq,
            fu,
            solve,
        )
    if difficulty == "medium":
        mins = F(pick(rng, ("20", "30", "40", "45", "50", "75", "90")))

        def solve(s):
            d = s * mins / 60
            return _sol(
                d,
                [
                    f"{n_(mins)} minutes = {n_(mins)}/60 h = {n_(mins / 60)} h.",
                    f"Distance = {spd(s)} × {n_(mins / 60)} h = {n_(d)} km.",
                ],
                s * mins / 100,
                [f"Distance = {spd(s)} × {n_(mins / 100)} h = {n_(s * mins / 100)} km."],
            )

        return _Problem(
            "distance",
            f"{vehicle} distance",
            "speed",
            "km",
            cands,
            _LABELS["distance"],
            lambda s: (
                f"A {vehicle} moves at a constant {spd(s)}. "
                f"How many kilometres does it cover in {n_(mins)} minutes?"
            ),
            lambda s: f"{spd(s)} for {n_(mins)} minutes: how many km?",
            (
                f"How many kilometres does a {vehicle} cover in {n_(mins)} minutes?",
                f"A {vehicle} sets off and keeps going for {n_(mins)} minutes. How far is that?",
            ),
            lambda s: f"It moves at a constant {spd(s)}.",
            cq,
            fu,
            solve,
        )
    t1 = F(pick(rng, ("1", "2", "3")))
    t2 = t1 + F(pick(rng, ("1", "2")))
    s2 = pick(rng, cands)
    cands = tuple(c for c in cands if c != s2)

    def solve(s):
        total = s * t1 + s2 * t2
        avg = total / (t1 + t2)
        return _sol(
            avg,
            [
                f"First leg: {spd(s)} × {n_(t1)} h = {n_(s * t1)} km.",
                f"Second leg: {spd(s2)} × {n_(t2)} h = {n_(s2 * t2)} km.",
                f"Average speed = {n_(total)} km / {n_(t1 + t2)} h = {n_(avg)} km/h.",
            ],
            (s + s2) / 2,
            [f"Average speed = ({spd(s)} + {spd(s2)}) / 2 = {n_((s + s2) / 2)} km/h."],
        )

    return _Problem(
        "distance",
        f"{vehicle} average speed",
        "speed",
        "km/h",
        cands,
        _LABELS["distance"],
        lambda s: (
            f"A {vehicle} travels at {spd(s)} for {n_(t1)} hours and then at {spd(s2)} "
            f"for {n_(t2)} hours. What is its average speed for the whole trip?"
        ),
        lambda s: f"{n_(t1)} h at {spd(s)}, then {n_(t2)} h at {spd(s2)}: average speed?",
        (
            f"A {vehicle} travels for {n_(t1)} hours, then {n_(t2)} hours at {spd(s2)}. "
            "What's its average speed?",
        ),
        lambda s: f"For the first {n_(t1)} hours it goes {spd(s)}.",
        f"How fast does the {vehicle} go during the first {n_(t1)} hours?",
        f"Did I assume the right speed for the first part of the {vehicle}'s trip?",
        solve,
    )


# ---------------------------------------------------------------- 2 unit price
_GOODS = (
    ("apples", ("2.5", "3", "3.2", "3.5", "4", "4.5")),
    ("tomatoes", ("2", "2.4", "2.8", "3", "3.6", "4")),
    ("cherries", ("6", "7.5", "8", "9", "10", "12")),
    ("cheese", ("12", "14", "15", "16", "18", "20")),
    ("coffee beans", ("18", "20", "22", "24", "25", "30")),
    ("rice", ("1.5", "1.8", "2", "2.2", "2.5", "3")),
)


def _unit_price(rng: np.random.Generator, difficulty: str) -> _Problem:
    item, prices = pick(rng, _GOODS)
    name = pick(rng, NAMES)
    cands = _fr(prices)
    q = F(pick(rng, ("2", "3", "4", "5", "1.5", "2.5")))

    def per(p):
        return f"{m_(p)} per kg"

    cq = f"How much do the {item} cost per kilogram?"
    fu = f"Is {item} at that price per kilogram what you had in mind?"
    if difficulty == "easy":

        def solve(p):
            return _sol(
                p * q,
                [f"Cost = {n_(q)} kg × {per(p)} = {m_(p * q)}."],
                p * (q + 1),
                [f"Cost = {n_(q + 1)} kg × {per(p)} = {m_(p * (q + 1))}."],
            )

        return _Problem(
            "unit_price",
            f"price of {item}",
            "price",
            "$",
            cands,
            _LABELS["unit_price"],
            lambda p: f"{name} buys {n_(q)} kg of {item} at {per(p)}. How much does {name} pay?",
            lambda p: f"{n_(q)} kg of {item} at {per(p)}: total cost?",
            (f"{name} buys {n_(q)} kg of {item}. How much does that cost?",),
            lambda p: f"The {item} are {per(p)}.",
            cq,
            fu,
            solve,
        )
    if difficulty == "medium":
        note = F(pick(rng, ("50", "100")))

        def solve(p):
            cost = p * q
            if cost >= note:
                return None
            return _sol(
                note - cost,
                [
                    f"Cost = {n_(q)} kg × {per(p)} = {m_(cost)}.",
                    f"Change = {m_(note)} − {m_(cost)} = {m_(note - cost)}.",
                ],
                cost,
                [f"Cost = {n_(q)} kg × {per(p)} = {m_(cost)}, so that is what comes back."],
            )

        return _Problem(
            "unit_price",
            f"change when buying {item}",
            "price",
            "$",
            cands,
            _LABELS["unit_price"],
            lambda p: (
                f"{name} buys {n_(q)} kg of {item} at {per(p)} and pays with a "
                f"{m_(note)} note. How much change does {name} get?"
            ),
            lambda p: f"{n_(q)} kg of {item} at {per(p)}, paid with {m_(note)}: change?",
            (
                f"{name} buys {n_(q)} kg of {item} and pays with a {m_(note)} note. "
                "How much change comes back?",
            ),
            lambda p: f"They cost {per(p)}.",
            cq,
            fu,
            solve,
        )
    other, other_prices = pick(rng, [g for g in _GOODS if g[0] != item])
    p2 = F(pick(rng, other_prices))
    q2 = F(pick(rng, ("1", "2", "3")))
    cands = tuple(c for c in cands if c != p2)

    def solve(p):
        sub = p * q + p2 * q2
        total = sub * F(9, 10)
        return _sol(
            total,
            [
                f"{item.capitalize()}: {n_(q)} kg × {per(p)} = {m_(p * q)}.",
                f"{other.capitalize()}: {n_(q2)} kg × {per(p2)} = {m_(p2 * q2)}.",
                f"Total before discount = {m_(sub)}; with 10% off: {m_(sub)} × 0.9 = {m_(total)}.",
            ],
            sub,
            [f"Total = {m_(p * q)} + {m_(p2 * q2)} = {m_(sub)}."],
        )

    return _Problem(
        "unit_price",
        f"shopping bill with {item}",
        "price",
        "$",
        cands,
        _LABELS["unit_price"],
        lambda p: (
            f"{name} buys {n_(q)} kg of {item} at {per(p)} and {n_(q2)} kg of {other} at "
            f"{per(p2)}, and gets 10% off the whole bill. What does {name} pay?"
        ),
        lambda p: (
            f"{n_(q)} kg {item} at {per(p)} + {n_(q2)} kg {other} at {per(p2)}, 10% off: total?"
        ),
        (
            f"{name} buys {n_(q)} kg of {item} and {n_(q2)} kg of {other} at {per(p2)}, "
            "with 10% off the bill. What's the total?",
        ),
        lambda p: f"The {item} cost {per(p)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 3 discount
_ITEMS = ("jacket", "pair of boots", "backpack", "desk lamp", "bicycle helmet", "blender")


def _discount(rng: np.random.Generator, difficulty: str) -> _Problem:
    item = pick(rng, _ITEMS)
    price = F(int(rng.integers(2, 11)) * 20)
    cands = _fr(("10", "15", "20", "25", "30", "35", "40", "50"))

    def pct(d):
        return f"{n_(d)}%"

    cq = f"How big is the discount on the {item}?"
    fu = "Did I use the right discount?"
    if difficulty == "easy":

        def solve(d):
            sale = price * (100 - d) / 100
            return _sol(
                sale,
                [
                    f"Discount = {pct(d)} of {m_(price)} = {m_(price * d / 100)}.",
                    f"Sale price = {m_(price)} − {m_(price * d / 100)} = {m_(sale)}.",
                ],
                price * d / 100,
                [f"Discount = {pct(d)} of {m_(price)} = {m_(price * d / 100)}."],
            )

        return _Problem(
            "discount",
            f"{item} sale price",
            "discount",
            "$",
            cands,
            _LABELS["discount"],
            lambda d: (
                f"A {item} normally costs {m_(price)} and is on sale at {pct(d)} off. "
                "What is the sale price?"
            ),
            lambda d: f"{item.capitalize()}, {m_(price)}, {pct(d)} off: sale price?",
            (
                f"A {item} normally costs {m_(price)} but it's on sale. What's the sale price?",
                f"What does a {m_(price)} {item} cost in the sale?",
            ),
            lambda d: f"It's {pct(d)} off.",
            cq,
            fu,
            solve,
        )
    if difficulty == "medium":
        tax = F(pick(rng, ("5", "8", "10")))

        def solve(d):
            sale = price * (100 - d) / 100
            final = sale * (100 + tax) / 100
            return _sol(
                final,
                [
                    f"Sale price = {m_(price)} × (1 − {n_(d / 100)}) = {m_(sale)}.",
                    f"With {n_(tax)}% sales tax: {m_(sale)} × {n_(1 + tax / 100)} = {m_(final)}.",
                ],
                sale,
                [f"Sale price = {m_(price)} × (1 − {n_(d / 100)}) = {m_(sale)}."],
            )

        return _Problem(
            "discount",
            f"{item} price with tax",
            "discount",
            "$",
            cands,
            _LABELS["discount"],
            lambda d: (
                f"A {m_(price)} {item} is discounted by {pct(d)}, and then {n_(tax)}% sales "
                "tax is added to the discounted price. What is the final price?"
            ),
            lambda d: f"{m_(price)} {item}, {pct(d)} off, then {n_(tax)}% tax: final price?",
            (
                f"A {m_(price)} {item} is discounted, then {n_(tax)}% sales tax is added. "
                "What do I pay?",
            ),
            lambda d: f"The discount is {pct(d)}.",
            cq,
            fu,
            solve,
        )
    extra = F(pick(rng, ("10", "20")))
    cands = tuple(c for c in cands if c != extra)

    def solve(d):
        sale = price * (100 - d) / 100
        final = sale * (100 - extra) / 100
        naive = price * (100 - d - extra) / 100
        return _sol(
            final,
            [
                f"After {pct(d)} off: {m_(price)} × {n_(1 - d / 100)} = {m_(sale)}.",
                f"After a further {n_(extra)}% off: {m_(sale)} × {n_(1 - extra / 100)} "
                f"= {m_(final)}.",
                "The two discounts multiply; they do not add.",
            ],
            naive,
            [
                f"Total discount = {pct(d)} + {n_(extra)}% = {pct(d + extra)}.",
                f"Price = {m_(price)} × {n_(1 - (d + extra) / 100)} = {m_(naive)}.",
            ],
        )

    return _Problem(
        "discount",
        f"{item} with two discounts",
        "discount",
        "$",
        cands,
        _LABELS["discount"],
        lambda d: (
            f"A {m_(price)} {item} is marked {pct(d)} off, and at the till I get a further "
            f"{n_(extra)}% off the reduced price. What do I pay?"
        ),
        lambda d: f"{m_(price)} {item}: {pct(d)} off, then another {n_(extra)}% off. Price?",
        (
            f"A {m_(price)} {item} is on sale, and I get another {n_(extra)}% off at the till. "
            "What do I pay?",
        ),
        lambda d: f"The sale discount is {pct(d)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 4 garden area
def _garden(rng: np.random.Generator, difficulty: str) -> _Problem:
    length = F(int(rng.integers(8, 31)))
    cands = tuple(F(w) for w in range(3, 21) if w != length)
    shape = pick(rng, ("garden", "yard", "vegetable plot", "lawn"))

    def wid(w):
        return f"{n_(w)} m wide"

    cq = f"How wide is the {shape}?"
    fu = f"Did I get the width of the {shape} right?"
    if difficulty == "easy":

        def solve(w):
            a = length * w
            return _sol(
                a,
                [f"Area = length × width = {n_(length)} m × {n_(w)} m = {n_(a)} m²."],
                2 * (length + w),
                [f"2 × ({n_(length)} + {n_(w)}) = {n_(2 * (length + w))} m²."],
            )

        return _Problem(
            "garden",
            f"{shape} area",
            "width",
            "m²",
            cands,
            _LABELS["garden"],
            lambda w: (
                f"A rectangular {shape} is {n_(length)} m long and {n_(w)} m wide. "
                "What is its area in square metres?"
            ),
            lambda w: f"{n_(length)} m by {n_(w)} m {shape}: area?",
            (f"A rectangular {shape} is {n_(length)} m long. What is its area?",),
            lambda w: f"It's {wid(w)}.",
            cq,
            fu,
            solve,
        )
    if difficulty == "medium":

        def solve(w):
            p = 2 * (length + w)
            return _sol(
                p,
                [f"Perimeter = 2 × ({n_(length)} m + {n_(w)} m) = {n_(p)} m."],
                length + w,
                [f"Perimeter = {n_(length)} m + {n_(w)} m = {n_(length + w)} m."],
            )

        return _Problem(
            "garden",
            f"fencing a {shape}",
            "width",
            "m",
            cands,
            _LABELS["garden"],
            lambda w: (
                f"How many metres of fence go all the way around a rectangular {shape} "
                f"that is {n_(length)} m long and {n_(w)} m wide?"
            ),
            lambda w: f"Fence around a {n_(length)} m × {n_(w)} m {shape}: how many metres?",
            (f"How much fencing do I need around my {n_(length)} m long {shape}?",),
            lambda w: f"The {shape} is {wid(w)}.",
            cq,
            fu,
            solve,
        )
    cost = F(pick(rng, ("4", "5", "6", "8", "12")))
    side = F(pick(rng, ("2", "3", "4")))
    cands = tuple(c for c in cands if c > side and c != cost)

    def solve(w):
        area = length * w - side * side
        return _sol(
            area * cost,
            [
                f"Garden area = {n_(length)} × {n_(w)} = {n_(length * w)} m².",
                f"Minus the patio: {n_(length * w)} − {n_(side)}² = {n_(area)} m².",
                f"Cost = {n_(area)} m² × {m_(cost)} = {m_(area * cost)}.",
            ],
            length * w * cost,
            [f"Cost = {n_(length * w)} m² × {m_(cost)} = {m_(length * w * cost)}."],
        )

    return _Problem(
        "garden",
        f"turfing a {shape}",
        "width",
        "$",
        cands,
        _LABELS["garden"],
        lambda w: (
            f"A rectangular {shape} is {n_(length)} m long and {n_(w)} m wide, with a square "
            f"patio {n_(side)} m on each side in it. Turf costs {m_(cost)} per square metre. What "
            "does it cost to turf everything except the patio?"
        ),
        lambda w: (
            f"{n_(length)} × {n_(w)} m {shape} minus a {n_(side)} m square patio, turf at "
            f"{m_(cost)}/m²: cost?"
        ),
        (
            f"My {shape} is {n_(length)} m long with a {n_(side)} m square patio, and turf is "
            f"{m_(cost)} per square metre. What will turfing it cost?",
        ),
        lambda w: f"It's {wid(w)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 5 ages
def _ages(rng: np.random.Generator, difficulty: str) -> _Problem:
    older, younger = (str(x) for x in rng.choice(NAMES, size=2, replace=False))
    b = F(int(rng.integers(4, 16)))
    y = F(int(rng.integers(3, 11)))
    cands = tuple(F(d) for d in range(2, 10) if F(d) not in (b, y))

    def gap(d):
        return f"{n_(d)} years older"

    cq = f"How much older is {older} than {younger}?"
    fu = f"Did I get the age gap between {older} and {younger} right?"
    if difficulty == "easy":

        def solve(d):
            return _sol(
                b + d + y,
                [
                    f"{older} is now {n_(b)} + {n_(d)} = {n_(b + d)}.",
                    f"In {n_(y)} years: {n_(b + d)} + {n_(y)} = {n_(b + d + y)}.",
                ],
                b + d,
                [f"{older} is {n_(b)} + {n_(d)} = {n_(b + d)}."],
            )

        def detailed(d):
            return (
                f"{older} is {gap(d)} than {younger}, who is {n_(b)}. How old will {older} "
                f"be in {n_(y)} years?"
            )

        vague = (
            f"{older} is older than {younger}, who is {n_(b)}. How old will {older} be in "
            f"{n_(y)} years?",
        )

        def terse(d):
            return (
                f"{younger} is {n_(b)}, {older} is {n_(d)} years older. {older} in {n_(y)} years?"
            )

        topic = "age in a few years"
    elif difficulty == "medium":

        def solve(d):
            now = b + d
            return _sol(
                2 * now + y,
                [
                    f"{older} is now {n_(b)} + {n_(d)} = {n_(now)}.",
                    f"Their mother is 2 × {n_(now)} = {n_(2 * now)} now.",
                    f"In {n_(y)} years she will be {n_(2 * now + y)}.",
                ],
                2 * (now + y),
                [
                    f"In {n_(y)} years {older} is {n_(now + y)}, so the mother is "
                    f"2 × {n_(now + y)} = {n_(2 * (now + y))}."
                ],
            )

        def detailed(d):
            return (
                f"{older} is {gap(d)} than {younger}, who is {n_(b)}. Their mother is "
                f"twice {older}'s current age. How old will the mother be in {n_(y)} years?"
            )

        vague = (
            f"{younger} is {n_(b)} and {older} is a bit older. Their mother is twice "
            f"{older}'s age. How old will she be in {n_(y)} years?",
        )

        def terse(d):
            return (
                f"{younger} {n_(b)}, {older} {n_(d)} years older, mother twice {older}'s age now. "
                f"Mother in {n_(y)} years?"
            )

        topic = "mother's age"
    else:

        def solve(d):
            total = 2 * b + d + 2 * y
            return _sol(
                total,
                [
                    f"{older} is now {n_(b + d)}.",
                    f"In {n_(y)} years: {younger} {n_(b + y)}, {older} {n_(b + d + y)}.",
                    f"Sum = {n_(b + y)} + {n_(b + d + y)} = {n_(total)}.",
                ],
                total - y,
                [f"Sum now = {n_(2 * b + d)}; adding {n_(y)} years gives {n_(total - y)}."],
            )

        def detailed(d):
            return (
                f"{older} is {gap(d)} than {younger}, who is {n_(b)}. What will the sum "
                f"of their ages be in {n_(y)} years?"
            )

        vague = (
            f"{older} is older than {younger}, who is {n_(b)}. What will their ages add up to "
            f"in {n_(y)} years?",
        )

        def terse(d):
            return f"{younger} {n_(b)}, {older} {n_(d)} years older: sum of ages in {n_(y)} years?"

        topic = "sum of ages"
    return _Problem(
        "ages",
        topic,
        "gap",
        "years",
        cands,
        _LABELS["ages"],
        detailed,
        terse,
        vague,
        lambda d: f"{older} is {gap(d)} than {younger}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 6 work rates
def _work(rng: np.random.Generator, difficulty: str) -> _Problem:
    a = F(pick(rng, ("3", "4", "5", "6", "8", "10", "12", "15", "20")))
    cands = tuple(F(x) for x in range(2, 41) if F(x) != a)

    def hrs(x):
        return f"{n_(x)} hours"

    cq = "How long does the second pipe take to fill the tank on its own?"
    fu = "Is that the right filling time for the second pipe?"
    if difficulty in ("easy", "medium"):
        half = difficulty == "medium"

        def solve(x):
            together = a * x / (a + x)
            value = together / 2 if half else together
            steps = [
                f"Rates: 1/{n_(a)} + 1/{n_(x)} of the tank per hour.",
                f"Together: {n_(a)} × {n_(x)} / ({n_(a)} + {n_(x)}) = {n_(together)} hours "
                "for a full tank.",
            ]
            if half:
                steps.append(f"Half a tank takes {n_(together)} / 2 = {n_(value)} hours.")
                return _sol(value, steps, together, steps[:2])
            return _sol(
                value,
                steps,
                (a + x) / 2,
                [f"Average time = ({n_(a)} + {n_(x)}) / 2 = {n_((a + x) / 2)} hours."],
            )

        return _Problem(
            "work",
            "two pipes filling a tank",
            "time",
            "hours",
            cands,
            _LABELS["work"],
            lambda x: (
                f"One pipe fills a tank in {hrs(a)} and a second pipe fills it in {hrs(x)}. "
                + (
                    "The tank is already half full. How long do both pipes together take to fill "
                    "it?"
                    if half
                    else "How long do both pipes together take to fill the empty tank?"
                )
            ),
            lambda x: (
                f"Pipes of {hrs(a)} and {hrs(x)}"
                + (", tank half full" if half else "")
                + ": time together?"
            ),
            (
                f"One pipe fills a tank in {hrs(a)}, and there's a second pipe as well. How long "
                f"do they take together to fill {'it from half full' if half else 'it'}?",
            ),
            lambda x: f"The second pipe takes {hrs(x)} on its own.",
            cq,
            fu,
            solve,
        )
    drain = F(pick(rng, ("12", "15", "20", "24", "30", "40", "60")))
    cands = tuple(c for c in cands if c != drain)

    def solve(x):
        rate = 1 / a + 1 / x - 1 / drain
        if rate <= 0:
            return None
        value = 1 / rate
        return _sol(
            value,
            [
                f"Filling: 1/{n_(a)} + 1/{n_(x)} of the tank per hour.",
                f"Draining: 1/{n_(drain)} per hour.",
                f"Net rate = {n_(rate)} per hour, so the tank fills in {n_(value)} hours.",
            ],
            a * x / (a + x),
            [
                f"Together the pipes take {n_(a)} × {n_(x)} / ({n_(a)} + {n_(x)}) "
                f"= {n_(a * x / (a + x))} hours."
            ],
        )

    return _Problem(
        "work",
        "pipes and a leaking drain",
        "time",
        "hours",
        cands,
        _LABELS["work"],
        lambda x: (
            f"One pipe fills a tank in {hrs(a)}, a second fills it in {hrs(x)}, and an open "
            f"drain empties a full tank in {hrs(drain)}. With all three open, how long does the "
            "empty tank take to fill?"
        ),
        lambda x: f"Pipes {hrs(a)} and {hrs(x)}, drain {hrs(drain)}: time to fill?",
        (
            f"One pipe fills a tank in {hrs(a)}, a second pipe helps, and a drain empties it in "
            f"{hrs(drain)}. How long until it's full?",
        ),
        lambda x: f"The second pipe alone takes {hrs(x)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 7 mixtures
def _mixture(rng: np.random.Generator, difficulty: str) -> _Problem:
    a = F(pick(rng, ("10", "20", "30", "40", "60", "80")))
    x = F(pick(rng, ("1", "2", "3", "4", "5")))
    drink = pick(rng, ("orange juice", "apple juice", "cordial", "grape juice"))
    cands = tuple(F(v) for v in range(5, 100, 5) if F(v) != a)

    def pct(b):
        return f"{n_(b)}%"

    cq = "How strong is the second juice?"
    fu = "Did I use the right strength for the second juice?"
    if difficulty == "easy":
        y = F(pick(rng, ("1", "2", "3", "4", "5")))
        cands = tuple(c for c in cands if c not in (x, y))

        def solve(b):
            pure = (x * a + y * b) / 100
            return _sol(
                pure,
                [
                    f"First: {n_(x)} L × {pct(a)} = {n_(x * a / 100)} L of pure juice.",
                    f"Second: {n_(y)} L × {pct(b)} = {n_(y * b / 100)} L.",
                    f"Total = {n_(pure)} L.",
                ],
                x * a / 100,
                [f"{n_(x)} L × {pct(a)} = {n_(x * a / 100)} L of pure juice."],
            )

        return _Problem(
            "mixture",
            f"pure {drink} in a mix",
            "strength",
            "litres",
            cands,
            _LABELS["mixture"],
            lambda b: (
                f"I mix {_l(x)} of {pct(a)} {drink} with {_l(y)} of {pct(b)} "
                f"{drink}. How many litres of pure {drink} are in the mix?"
            ),
            lambda b: f"{n_(x)} L at {pct(a)} + {n_(y)} L at {pct(b)}: litres of pure {drink}?",
            (
                f"I mix {_l(x)} of {pct(a)} {drink} with {_l(y)} of another "
                f"{drink}. How much pure {drink} is in there?",
            ),
            lambda b: f"The second one is {pct(b)} {drink}.",
            cq,
            fu,
            solve,
        )
    y = F(pick(rng, [v for v in ("1", "2", "3", "4", "5", "6") if F(v) != x]))
    water = F(pick(rng, ("1", "2", "3", "4"))) if difficulty == "hard" else F(0)
    cands = tuple(c for c in cands if c not in (x, y, water))

    def solve(b):
        juice = x * a + y * b
        value = juice / (x + y + water)
        steps = [
            f"Pure {drink}: {n_(x)} × {pct(a)} + {n_(y)} × {pct(b)} = {n_(juice / 100)} L.",
            f"Total volume = {n_(x + y + water)} L.",
            f"Strength = {n_(juice / 100)} / {n_(x + y + water)} = {pct(value)}.",
        ]
        if water:
            wrong = juice / (x + y)
            return _sol(
                value, steps, wrong, [f"Strength = {n_(juice / 100)} / {n_(x + y)} = {pct(wrong)}."]
            )
        return _sol(
            value,
            steps,
            (a + b) / 2,
            [f"Strength = ({pct(a)} + {pct(b)}) / 2 = {pct((a + b) / 2)}."],
        )

    add = f", then add {_l(water)} of water" if water else ""
    return _Problem(
        "mixture",
        f"{drink} strength",
        "strength",
        "%",
        cands,
        _LABELS["mixture"],
        lambda b: (
            f"I mix {_l(x)} of {pct(a)} {drink} with {_l(y)} of {pct(b)} "
            f"{drink}{add}. What percentage of the mix is pure {drink}?"
        ),
        lambda b: f"{n_(x)} L at {pct(a)} + {n_(y)} L at {pct(b)}{add}: strength of the mix?",
        (
            f"I mix {_l(x)} of {pct(a)} {drink} with {_l(y)} of another {drink}{add}. "
            "How strong is the result?",
        ),
        lambda b: f"The second {drink} is {pct(b)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 8 interest
def _interest(rng: np.random.Generator, difficulty: str) -> _Problem:
    p = F(pick(rng, ("500", "1000", "1200", "1500", "2000", "2500", "4000", "5000", "8000")))
    t = F(pick(rng, ("2", "3", "4", "5")))
    cands = _fr(("1.5", "2", "2.5", "3", "3.5", "4", "4.5", "5", "6"))

    def rate(r):
        return f"{n_(r)}% a year"

    cq = "What interest rate does the account pay?"
    fu = "Is that the interest rate you were quoted?"
    if difficulty in ("easy", "medium"):
        total = difficulty == "medium"

        def solve(r):
            interest = p * r * t / 100
            if total:
                return _sol(
                    p + interest,
                    [
                        f"Interest = {m_(p)} × {n_(r)}% × {n_(t)} = {m_(interest)}.",
                        f"Balance = {m_(p)} + {m_(interest)} = {m_(p + interest)}.",
                    ],
                    interest,
                    [f"Interest = {m_(p)} × {n_(r)}% × {n_(t)} = {m_(interest)}."],
                )
            return _sol(
                interest,
                [f"Interest = {m_(p)} × {n_(r)}% × {n_(t)} years = {m_(interest)}."],
                p * r / 100,
                [f"Interest = {m_(p)} × {n_(r)}% = {m_(p * r / 100)}."],
            )

        ask = "What is the balance at the end?" if total else "How much interest is earned?"
        return _Problem(
            "interest",
            "simple interest" if not total else "savings balance",
            "rate",
            "$",
            cands,
            _LABELS["interest"],
            lambda r: f"{m_(p)} is saved for {n_(t)} years at {rate(r)} simple interest. {ask}",
            lambda r: (
                f"{m_(p)}, {rate(r)} simple interest, {n_(t)} years: "
                + ("balance?" if total else "interest?")
            ),
            (f"I'm putting {m_(p)} into savings for {n_(t)} years at simple interest. {ask}",),
            lambda r: f"The account pays {rate(r)}.",
            cq,
            fu,
            solve,
        )

    def solve(r):
        value = p * (1 + r / 100) ** 2
        simple = p * (1 + 2 * r / 100)
        return _sol(
            value,
            [
                f"After year 1: {m_(p)} × {n_(1 + r / 100)} = {m_(p * (1 + r / 100))}.",
                f"After year 2: {m_(p * (1 + r / 100))} × {n_(1 + r / 100)} = {m_(value)}.",
            ],
            simple,
            [f"Balance = {m_(p)} × (1 + 2 × {n_(r / 100)}) = {m_(simple)}."],
        )

    return _Problem(
        "interest",
        "compound interest",
        "rate",
        "$",
        cands,
        _LABELS["interest"],
        lambda r: (
            f"{m_(p)} is saved for 2 years at {rate(r)}, compounded annually. What is the "
            "balance after 2 years?"
        ),
        lambda r: f"{m_(p)} at {rate(r)} compounded yearly: balance after 2 years?",
        (f"What will {m_(p)} grow to in 2 years with interest compounded annually?",),
        lambda r: f"The rate is {rate(r)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 9 averages
def _averages(rng: np.random.Generator, difficulty: str) -> _Problem:
    name = pick(rng, NAMES)
    scores = [F(int(s)) for s in rng.integers(60, 99, size=4)]
    total = sum(scores)
    listed = ", ".join(n_(s) for s in scores[:3]) + f" and {n_(scores[3])}"
    if difficulty == "easy":
        cands = tuple(F(v) for v in range(55, 101) if F(v) not in scores)

        def solve(x):
            return _sol(
                (total + x) / 5,
                [
                    f"Sum = {n_(total)} + {n_(x)} = {n_(total + x)}.",
                    f"Average = {n_(total + x)} / 5 = {n_((total + x) / 5)}.",
                ],
                (total + x) / 4,
                [f"Average = {n_(total + x)} / 4 = {n_((total + x) / 4)}."],
            )

        return _Problem(
            "averages",
            "test average",
            "fifth_score",
            "points",
            cands,
            lambda x: f"a fifth score of {n_(x)}",
            lambda x: (
                f"{name}'s first four test scores are {listed}, and the fifth is {n_(x)}. "
                "What is the average of all five?"
            ),
            lambda x: f"Scores {listed} and {n_(x)}: average?",
            (
                f"{name}'s first four test scores are {listed}. After the fifth test, what's the "
                "average?",
            ),
            lambda x: f"The fifth score was {n_(x)}.",
            f"What did {name} score on the fifth test?",
            "Did I use the right fifth score?",
            solve,
        )
    if difficulty == "medium":
        cands = tuple(F(v) for v in range(70, 96) if F(v) not in scores)

        def solve(goal):
            need = 5 * goal - total
            if need > 100:
                return None
            avg = total / 4
            return _sol(
                need,
                [
                    f"Five tests averaging {n_(goal)} need a total of 5 × {n_(goal)} = "
                    f"{n_(5 * goal)}.",
                    f"Needed = {n_(5 * goal)} − {n_(total)} = {n_(need)}.",
                ],
                goal + (goal - avg),
                [
                    f"Current average = {n_(avg)}; gap = {n_(goal - avg)}; needed = "
                    f"{n_(goal)} + {n_(goal - avg)} = {n_(goal + (goal - avg))}."
                ],
            )

        return _Problem(
            "averages",
            "score needed for a target average",
            "target",
            "points",
            cands,
            lambda g: f"a target average of {n_(g)}",
            lambda g: (
                f"{name}'s first four test scores are {listed}. What must {name} score on "
                f"the fifth test to average exactly {n_(g)} over all five?"
            ),
            lambda g: f"Scores {listed}; fifth score needed for an average of {n_(g)}?",
            (
                f"{name}'s first four test scores are {listed}. What's needed on the fifth test to "
                "reach the target average?",
            ),
            lambda g: f"{name} wants an average of {n_(g)}.",
            f"What average is {name} aiming for?",
            "Is that the target average you meant?",
            solve,
        )
    quizzes = scores[:3]
    qlist = ", ".join(n_(s) for s in quizzes[:2]) + f" and {n_(quizzes[2])}"
    cands = tuple(F(v) for v in range(50, 101, 2) if F(v) not in quizzes)

    def solve(e):
        grade = F(1, 5) * sum(quizzes) + F(2, 5) * e
        naive = (sum(quizzes) + e) / 4
        return _sol(
            grade,
            [
                f"Quizzes: 0.2 × ({qlist.replace(' and ', ', ')}) = {n_(F(1, 5) * sum(quizzes))}.",
                f"Exam: 0.4 × {n_(e)} = {n_(F(2, 5) * e)}.",
                f"Final grade = {n_(grade)}.",
            ],
            _r2(naive),
            [f"Plain average = ({n_(sum(quizzes))} + {n_(e)}) / 4 = {n_(_r2(naive))}."],
        )

    return _Problem(
        "averages",
        "weighted course grade",
        "exam",
        "points",
        cands,
        lambda e: f"an exam score of {n_(e)}",
        lambda e: (
            f"Three quizzes count 20% each and the final exam 40%. {name} scored {qlist} on "
            f"the quizzes and {n_(e)} on the exam. What is the final grade?"
        ),
        lambda e: f"Quizzes {qlist} (20% each), exam {n_(e)} (40%): final grade?",
        (
            f"Three quizzes count 20% each and the final exam 40%. {name} got {qlist} on the "
            "quizzes. What's the final grade?",
        ),
        lambda e: f"The exam score was {n_(e)}.",
        f"What did {name} score on the final exam?",
        "Did I use the right exam score?",
        solve,
    )


# ---------------------------------------------------------------- 10 recipes
def _recipe(rng: np.random.Generator, difficulty: str) -> _Problem:
    dish = pick(rng, ("pancakes", "banana bread", "shortbread", "pizza dough", "scones"))
    serves = F(pick(rng, ("4", "6", "8", "12")))
    cands = tuple(
        F(v)
        for v in ("2", "3", "5", "6", "9", "10", "12", "15", "16", "18", "20", "24")
        if F(v) != serves
    )

    def srv(k):
        return f"{n_(k)} servings"

    cq = "How many servings do you want to make?"
    fu = "Is that the number of servings you need?"
    if difficulty in ("easy", "medium"):
        flour = F(pick(rng, ("200", "240", "300", "360", "400", "450", "500")))
        sugar = F(pick(rng, ("60", "80", "100", "120", "150"))) if difficulty == "medium" else F(0)
        cands = tuple(c for c in cands if c not in (flour, sugar))

        def solve(k):
            base = flour + sugar
            value = base * k / serves
            if sugar:
                return _sol(
                    value,
                    [
                        f"Flour and sugar together: {n_(flour)} + {n_(sugar)} = {n_(base)} g "
                        f"for {n_(serves)}.",
                        f"Scaled: {n_(base)} × {n_(k)} / {n_(serves)} = {n_(value)} g.",
                    ],
                    flour * k / serves,
                    [f"Flour: {n_(flour)} × {n_(k)} / {n_(serves)} = {n_(flour * k / serves)} g."],
                )
            return _sol(
                value,
                [f"Flour = {n_(flour)} g × {n_(k)} / {n_(serves)} = {n_(value)} g."],
                _r2(flour * serves / k),
                [
                    f"Flour = {n_(flour)} g × {n_(serves)} / {n_(k)} = "
                    f"{n_(_r2(flour * serves / k))} g."
                ],
            )

        what = (
            f"{n_(flour)} g of flour and {n_(sugar)} g of sugar"
            if sugar
            else (f"{n_(flour)} g of flour")
        )
        ask = "flour and sugar in total" if sugar else "flour"
        return _Problem(
            "recipe",
            f"scaling a {dish} recipe",
            "servings",
            "grams",
            cands,
            _LABELS["recipe"],
            lambda k: (
                f"A {dish} recipe for {n_(serves)} servings uses {what}. How many grams of "
                f"{ask} are needed for {srv(k)}?"
            ),
            lambda k: f"{dish.capitalize()}: {what} for {n_(serves)}; grams of {ask} for {n_(k)}?",
            (f"My {dish} recipe serves {n_(serves)} and uses {what}. How much {ask} do I need?",),
            lambda k: f"I want to make {srv(k)}.",
            cq,
            fu,
            solve,
        )
    butter = F(pick(rng, ("150", "180", "200", "225", "300")))
    cands = tuple(c for c in cands if c != butter)

    def solve(k):
        grams = butter * k / serves
        blocks = math.ceil(grams / 250)
        if grams % 250 == 0 or blocks < 1:
            return None
        return _sol(
            F(blocks),
            [
                f"Butter = {n_(butter)} g × {n_(k)} / {n_(serves)} = {n_(grams)} g.",
                f"{n_(grams)} g / 250 g = {n_(grams / 250)} blocks; round up to {blocks}.",
            ],
            F(math.floor(grams / 250)) if grams > 250 else F(blocks + 1),
            [
                f"{n_(grams)} g / 250 g ≈ {n_(_r2(grams / 250))}, so "
                f"{math.floor(grams / 250) if grams > 250 else blocks + 1} blocks."
            ],
        )

    return _Problem(
        "recipe",
        f"butter for {dish}",
        "servings",
        "blocks",
        cands,
        _LABELS["recipe"],
        lambda k: (
            f"A {dish} recipe for {n_(serves)} servings uses {n_(butter)} g of butter, and "
            f"butter comes in 250 g blocks. How many blocks must I buy to make {srv(k)}?"
        ),
        lambda k: (
            f"{n_(butter)} g butter per {n_(serves)} servings, 250 g blocks: blocks for "
            f"{n_(k)} servings?"
        ),
        (
            f"My {dish} recipe uses {n_(butter)} g of butter for {n_(serves)} servings. How many "
            "250 g blocks should I buy?",
        ),
        lambda k: f"I'm making {srv(k)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 11 currency
def _currency(rng: np.random.Generator, difficulty: str) -> _Problem:
    euros = F(pick(rng, ("100", "150", "200", "250", "300", "400", "500", "750", "1000")))
    cands = _fr(("1.05", "1.06", "1.08", "1.1", "1.12", "1.15", "1.2", "1.25"))

    def rate(r):
        return f"{n_(r)} dollars per euro"

    cq = "What exchange rate are you being offered?"
    fu = "Is that the exchange rate you were quoted?"
    if difficulty == "easy":

        def solve(r):
            return _sol(
                euros * r,
                [f"Dollars = €{n_(euros)} × {n_(r)} = {m_(euros * r)}."],
                _r2(euros / r),
                [f"Dollars = €{n_(euros)} / {n_(r)} = {m_(_r2(euros / r))}."],
            )

        def detailed(r):
            return (
                f"I'm changing €{n_(euros)} into US dollars at {rate(r)}. "
                "How many dollars do I get?"
            )

        def terse(r):
            return f"€{n_(euros)} at {rate(r)}: how many dollars?"

        vague = (f"How many US dollars will I get for €{n_(euros)}?",)
        topic = "changing euros to dollars"
    elif difficulty == "medium":
        fee = F(pick(rng, ("1", "2", "2.5", "3")))

        def solve(r):
            gross = euros * r
            net = gross * (100 - fee) / 100
            return _sol(
                net,
                [
                    f"Before commission: €{n_(euros)} × {n_(r)} = {m_(gross)}.",
                    f"After {n_(fee)}% commission: {m_(gross)} × {n_(1 - fee / 100)} = {m_(net)}.",
                ],
                gross,
                [f"Dollars = €{n_(euros)} × {n_(r)} = {m_(gross)}."],
            )

        def detailed(r):
            return (
                f"A bureau changes €{n_(euros)} into US dollars at {rate(r)} and keeps a "
                f"{n_(fee)}% commission on the dollars. How many dollars do I receive?"
            )

        def terse(r):
            return f"€{n_(euros)} at {rate(r)}, {n_(fee)}% commission: dollars received?"

        vague = (
            f"A bureau keeps a {n_(fee)}% commission. How many dollars do I get for €{n_(euros)}?",
        )
        topic = "currency exchange with commission"
    else:
        flat = F(pick(rng, ("5", "10", "15", "20")))

        def solve(r):
            net = (euros - flat) * r
            return _sol(
                net,
                [
                    f"After the fee: €{n_(euros)} − €{n_(flat)} = €{n_(euros - flat)}.",
                    f"Dollars = €{n_(euros - flat)} × {n_(r)} = {m_(net)}.",
                ],
                euros * r - flat,
                [
                    f"€{n_(euros)} × {n_(r)} = {m_(euros * r)}; minus {n_(flat)} gives "
                    f"{m_(euros * r - flat)}."
                ],
            )

        def detailed(r):
            return (
                f"My bank charges a flat €{n_(flat)} fee, taken from the euros before "
                f"converting, and then converts at {rate(r)}. How many dollars do I get for "
                f"€{n_(euros)}?"
            )

        def terse(r):
            return f"€{n_(euros)}, €{n_(flat)} fee first, then {rate(r)}: dollars?"

        vague = (
            f"My bank takes a €{n_(flat)} fee before converting. What do I get in dollars for "
            f"€{n_(euros)}?",
        )
        topic = "currency exchange with a flat fee"
    return _Problem(
        "currency",
        topic,
        "rate",
        "$",
        cands,
        _LABELS["currency"],
        detailed,
        terse,
        vague,
        lambda r: f"The rate is {rate(r)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 12 fuel
def _fuel(rng: np.random.Generator, difficulty: str) -> _Problem:
    dist = F(pick(rng, ("150", "200", "240", "300", "360", "400", "450", "500", "600")))
    cands = _fr(("4.5", "5", "5.5", "6", "6.5", "7", "7.5", "8", "9", "10"))

    def use(c):
        return f"{n_(c)} litres per 100 km"

    cq = "How much fuel does your car use per 100 km?"
    fu = "Is that your car's fuel consumption?"
    if difficulty == "easy":

        def solve(c):
            return _sol(
                c * dist / 100,
                [f"Fuel = {n_(dist)} km × {n_(c)} L / 100 km = {n_(c * dist / 100)} L."],
                c * dist / 10,
                [f"Fuel = {n_(dist)} × {n_(c)} / 10 = {n_(c * dist / 10)} L."],
            )

        return _Problem(
            "fuel",
            "fuel for a trip",
            "consumption",
            "litres",
            cands,
            _LABELS["fuel"],
            lambda c: f"My car uses {use(c)}. How many litres do I need for a {n_(dist)} km trip?",
            lambda c: f"{use(c)}, {n_(dist)} km: litres?",
            (f"How much fuel will my car use on a {n_(dist)} km trip?",),
            lambda c: f"It uses {use(c)}.",
            cq,
            fu,
            solve,
        )
    price = F(pick(rng, ("1.5", "1.6", "1.8", "2")))
    trip = 2 if difficulty == "hard" else 1

    def solve(c):
        litres = c * dist * trip / 100
        cost = litres * price
        steps = [
            f"Distance driven = {n_(dist * trip)} km.",
            f"Fuel = {n_(dist * trip)} × {n_(c)} / 100 = {n_(litres)} L.",
            f"Cost = {n_(litres)} L × {m_(price)} = {m_(cost)}.",
        ]
        if trip == 2:
            one = c * dist / 100 * price
            return _sol(
                cost, steps, one, [f"Cost = {n_(c * dist / 100)} L × {m_(price)} = {m_(one)}."]
            )
        return _sol(cost, steps[1:], cost / price, steps[1:2])

    there = "there and back" if trip == 2 else "one way"
    return _Problem(
        "fuel",
        "fuel cost for a trip",
        "consumption",
        "$",
        cands,
        _LABELS["fuel"],
        lambda c: (
            f"My car uses {use(c)} and fuel costs {m_(price)} per litre. What does fuel cost "
            f"for a {n_(dist)} km drive {there}?"
        ),
        lambda c: f"{use(c)}, {m_(price)}/L, {n_(dist)} km {there}: fuel cost?",
        (f"Fuel is {m_(price)} a litre. What will a {n_(dist)} km drive {there} cost me?",),
        lambda c: f"My car uses {use(c)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 13 wages
def _wages(rng: np.random.Generator, difficulty: str) -> _Problem:
    name = pick(rng, NAMES)
    hours = F(pick(rng, ("20", "25", "30", "35", "38", "40")))
    cands = _fr(("12", "13.5", "14", "15", "16", "17.5", "18", "20", "22", "25"))

    def per(w):
        return f"{m_(w)} an hour"

    cq = f"What is {name}'s hourly rate?"
    fu = "Did I use the right hourly rate?"
    if difficulty == "easy":

        def solve(w):
            return _sol(
                w * hours,
                [f"Pay = {n_(hours)} h × {per(w)} = {m_(w * hours)}."],
                w * (hours - 1),
                [f"Pay = {n_(hours - 1)} h × {per(w)} = {m_(w * (hours - 1))}."],
            )

        return _Problem(
            "wages",
            "weekly pay",
            "wage",
            "$",
            cands,
            _LABELS["wages"],
            lambda w: (
                f"{name} earns {per(w)} and works {n_(hours)} hours a week. What is "
                f"{name}'s weekly pay?"
            ),
            lambda w: f"{per(w)}, {n_(hours)} hours: weekly pay?",
            (f"{name} works {n_(hours)} hours a week. What does that pay?",),
            lambda w: f"{name} earns {per(w)}.",
            cq,
            fu,
            solve,
        )
    extra = F(int(rng.integers(2, 9)))
    taxed = difficulty == "hard"

    def solve(w):
        gross = w * hours + F(3, 2) * w * extra
        steps = [
            f"Regular pay = {n_(hours)} × {m_(w)} = {m_(w * hours)}.",
            f"Overtime = {n_(extra)} × 1.5 × {m_(w)} = {m_(F(3, 2) * w * extra)}.",
            f"Gross = {m_(gross)}.",
        ]
        if taxed:
            net = gross * F(4, 5)
            return _sol(
                net, [*steps, f"After 20% tax: {m_(gross)} × 0.8 = {m_(net)}."], gross, steps
            )
        flat = w * (hours + extra)
        return _sol(gross, steps, flat, [f"Pay = {n_(hours + extra)} h × {m_(w)} = {m_(flat)}."])

    tail = " after 20% tax" if taxed else ""
    return _Problem(
        "wages",
        "pay with overtime" + (" after tax" if taxed else ""),
        "wage",
        "$",
        cands,
        _LABELS["wages"],
        lambda w: (
            f"{name} earns {per(w)} for the first {n_(hours)} hours a week and time and a "
            f"half for overtime. This week {name} worked {n_(hours + extra)} hours. What is the "
            f"week's pay{tail}?"
        ),
        lambda w: f"{per(w)}, {n_(hours)} h regular + {n_(extra)} h overtime at 1.5×: pay{tail}?",
        (
            f"{name} worked {n_(hours + extra)} hours this week; overtime after {n_(hours)} hours "
            f"pays time and a half. What's the pay{tail}?",
        ),
        lambda w: f"The base rate is {per(w)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 14 percentages
def _percent(rng: np.random.Generator, difficulty: str) -> _Problem:
    subject = pick(rng, ("exam", "swimming test", "driving theory test", "spelling quiz"))
    sizes = tuple(F(v) for v in (20, 24, 25, 28, 30, 32, 35, 36, 40, 45, 48, 50))

    def cls(k):
        return f"a class of {n_(k)}"

    cq = "How many students are in the class?"
    fu = "Is that the class size you meant?"
    if difficulty in ("easy", "medium"):
        p = F(pick(rng, ("60", "75", "80")))
        more = difficulty == "medium"

        def solve(k):
            passed = k * p / 100
            if passed.denominator != 1:
                return None
            if more:
                failed = k - passed
                return _sol(
                    passed - failed,
                    [
                        f"Passed = {n_(p)}% of {n_(k)} = {n_(passed)}; failed = {n_(failed)}.",
                        f"Difference = {n_(passed)} − {n_(failed)} = {n_(passed - failed)}.",
                    ],
                    passed,
                    [f"Passed = {n_(p)}% of {n_(k)} = {n_(passed)}."],
                )
            return _sol(
                passed,
                [f"Passed = {n_(p)}% × {n_(k)} = {n_(passed)}."],
                k - passed,
                [f"{n_(100 - p)}% × {n_(k)} = {n_(k - passed)}."],
            )

        ask = (
            "How many more students passed than failed?" if more else ("How many students passed?")
        )
        return _Problem(
            "percent",
            f"{subject} pass count",
            "class_size",
            "students",
            tuple(c for c in sizes if c != p),
            _LABELS["percent"],
            lambda k: f"In a class of {n_(k)} students, {n_(p)}% passed the {subject}. {ask}",
            lambda k: (
                f"{n_(k)} students, {n_(p)}% passed the {subject}: "
                + ("passed minus failed?" if more else "how many passed?")
            ),
            (f"{n_(p)}% of the class passed the {subject}. {ask}",),
            lambda k: f"There are {n_(k)} students in the class.",
            cq,
            fu,
            solve,
        )
    p = F(pick(rng, ("60", "75", "80")))
    q = F(pick(rng, ("50", "70", "90")))
    other = F(pick(rng, ("20", "30", "40")))
    cands = tuple(c for c in sizes if c not in (p, q, other))

    def solve(k):
        passed_a = k * p / 100
        passed_b = other * q / 100
        if passed_a.denominator != 1 or passed_b.denominator != 1:
            return None
        share = (passed_a + passed_b) / (k + other) * 100
        return _sol(
            share,
            [
                f"Class A: {n_(p)}% of {n_(k)} = {n_(passed_a)} passed.",
                f"Class B: {n_(q)}% of {n_(other)} = {n_(passed_b)} passed.",
                f"Overall: {n_(passed_a + passed_b)} / {n_(k + other)} = {n_(share)}%.",
            ],
            (p + q) / 2,
            [f"Overall = ({n_(p)}% + {n_(q)}%) / 2 = {n_((p + q) / 2)}%."],
        )

    return _Problem(
        "percent",
        f"{subject} pass rate over two classes",
        "class_size",
        "%",
        cands,
        _LABELS["percent"],
        lambda k: (
            f"In class A, with {n_(k)} students, {n_(p)}% passed the {subject}; in class B, "
            f"with {n_(other)} students, {n_(q)}% passed. What percentage passed overall?"
        ),
        lambda k: (
            f"Class A {n_(k)} students, {n_(p)}% passed; class B {n_(other)} students, "
            f"{n_(q)}% passed: overall pass rate?"
        ),
        (
            f"{n_(p)}% of class A passed the {subject}, and {n_(q)}% of class B, which has "
            f"{n_(other)} students. What's the overall pass rate?",
        ),
        lambda k: f"Class A has {n_(k)} students.",
        "How many students are in class A?",
        "Is that the size of class A?",
        solve,
    )


# ---------------------------------------------------------------- 15 paint
def _paint(rng: np.random.Generator, difficulty: str) -> _Problem:
    length = F(int(rng.integers(3, 7)))
    width = F(int(rng.integers(3, 7)))
    room = pick(rng, ("bedroom", "study", "kitchen", "hallway", "living room"))
    cands = _fr(("2.4", "2.5", "2.6", "2.7", "2.8", "3"))

    def hgt(h):
        return f"{n_(h)} m high"

    cq = f"How high are the {room} walls?"
    fu = "Is that the wall height you meant?"
    around = 2 * (length + width)
    if difficulty == "easy":

        def solve(h):
            return _sol(
                around * h,
                [
                    f"Perimeter = 2 × ({n_(length)} + {n_(width)}) = {n_(around)} m.",
                    f"Wall area = {n_(around)} m × {n_(h)} m = {n_(around * h)} m².",
                ],
                (length + width) * h,
                [
                    f"Wall area = ({n_(length)} + {n_(width)}) × {n_(h)} = "
                    f"{n_((length + width) * h)} m²."
                ],
            )

        return _Problem(
            "paint",
            f"{room} wall area",
            "height",
            "m²",
            cands,
            _LABELS["paint"],
            lambda h: (
                f"A {room} is {n_(length)} m by {n_(width)} m and its walls are {hgt(h)}. "
                "What is the total area of the four walls?"
            ),
            lambda h: f"{n_(length)} × {n_(width)} m {room}, walls {hgt(h)}: wall area?",
            (f"My {room} is {n_(length)} m by {n_(width)} m. What's the area of the walls?",),
            lambda h: f"The walls are {hgt(h)}.",
            cq,
            fu,
            solve,
        )
    cover = F(pick(rng, ("8", "10", "12")))
    coats = 2 if difficulty == "hard" else 1
    door = F(2) if difficulty == "hard" else F(0)

    def solve(h):
        area = around * h - door
        litres = area * coats / cover
        steps = [
            f"Wall area = {n_(around)} m × {n_(h)} m"
            + (f" − {n_(door)} m² door" if door else "")
            + f" = {n_(area)} m².",
            f"Paint = {n_(area)} × {coats} coat{'s' if coats > 1 else ''} / {n_(cover)} m² per "
            f"litre = {n_(litres)} L.",
        ]
        if door:
            wrong = around * h * coats / cover
            return _sol(
                litres,
                steps,
                _r2(wrong),
                [f"Paint = {n_(around * h)} × 2 / {n_(cover)} = {n_(_r2(wrong))} L."],
            )
        wrong = (length + width) * h / cover
        return _sol(
            litres,
            steps,
            _r2(wrong),
            [f"Paint = ({n_(length)} + {n_(width)}) × {n_(h)} / {n_(cover)} = {n_(_r2(wrong))} L."],
        )

    extra = " It needs two coats, and a 2 m² door is not painted." if coats == 2 else ""
    return _Problem(
        "paint",
        f"paint for a {room}",
        "height",
        "litres",
        cands,
        _LABELS["paint"],
        lambda h: (
            f"A {room} is {n_(length)} m by {n_(width)} m with walls {hgt(h)}. One litre of "
            f"paint covers {n_(cover)} m².{extra} How many litres of paint do the walls need?"
        ),
        lambda h: (
            f"{n_(length)} × {n_(width)} m {room}, walls {hgt(h)}, {n_(cover)} m² per "
            f"litre{', 2 coats, minus a 2 m² door' if coats == 2 else ''}: litres?"
        ),
        (
            f"My {room} is {n_(length)} m by {n_(width)} m and a litre of paint covers "
            f"{n_(cover)} m².{extra} How much paint do I need for the walls?",
        ),
        lambda h: f"The walls are {hgt(h)}.",
        cq,
        fu,
        solve,
    )


# ---------------------------------------------------------------- 16 travel time
def _travel_time(rng: np.random.Generator, difficulty: str) -> _Problem:
    place = pick(rng, ("the station", "school", "the library", "the market", "the lake"))
    cands = _fr(("1", "1.5", "2", "2.5", "3", "4", "5", "6", "7.5", "8", "9", "10", "12"))

    def km(d):
        return f"{n_(d)} km"

    cq = f"How far is it to {place}?"
    fu = f"Did I use the right distance to {place}?"
    if difficulty == "easy":
        speed = F(pick(rng, ("4", "5", "6")))

        def solve(d):
            return _sol(
                d / speed * 60,
                [
                    f"Time = {km(d)} / {n_(speed)} km/h = {n_(d / speed)} h = "
                    f"{n_(d / speed * 60)} minutes."
                ],
                _r2(d / speed * 100),
                [
                    f"Time = {n_(d)} / {n_(speed)} = {n_(_r2(d / speed))} h, i.e. "
                    f"{n_(_r2(d / speed * 100))} minutes."
                ],
            )

        return _Problem(
            "travel_time",
            f"walking time to {place}",
            "distance",
            "minutes",
            tuple(c for c in cands if c != speed),
            _LABELS["travel_time"],
            lambda d: (
                f"{place.capitalize()} is {km(d)} away and I walk at {n_(speed)} km/h. How "
                "many minutes does the walk take?"
            ),
            lambda d: f"{km(d)} at {n_(speed)} km/h: minutes?",
            (f"I walk at {n_(speed)} km/h. How many minutes does it take me to get to {place}?",),
            lambda d: f"It's {km(d)} away.",
            cq,
            fu,
            solve,
        )
    if difficulty == "medium":
        speed = F(pick(rng, ("12", "15", "18", "20")))
        rest = F(pick(rng, ("10", "15", "20")))

        def solve(d):
            ride = d / speed * 60
            return _sol(
                ride + rest,
                [
                    f"Riding: {km(d)} / {n_(speed)} km/h × 60 = {n_(ride)} minutes.",
                    f"Plus the {n_(rest)}-minute break: {n_(ride + rest)} minutes.",
                ],
                ride,
                [f"Riding: {km(d)} / {n_(speed)} km/h × 60 = {n_(ride)} minutes."],
            )

        return _Problem(
            "travel_time",
            f"cycling time to {place}",
            "distance",
            "minutes",
            tuple(c for c in cands if c not in (speed, rest)),
            _LABELS["travel_time"],
            lambda d: (
                f"I cycle {km(d)} to {place} at {n_(speed)} km/h and stop once for "
                f"{n_(rest)} minutes. How many minutes does the trip take?"
            ),
            lambda d: f"Cycle {km(d)} at {n_(speed)} km/h plus a {n_(rest)}-minute stop: minutes?",
            (
                f"I cycle to {place} at {n_(speed)} km/h with one {n_(rest)}-minute stop. How "
                "long does it take?",
            ),
            lambda d: f"It's {km(d)} to {place}.",
            cq,
            fu,
            solve,
        )
    s1 = F(pick(rng, ("10", "12", "15")))
    s2 = F(pick(rng, ("4", "5", "6")))

    def solve(d):
        there, back = d / s1 * 60, d / s2 * 60
        naive = 2 * d / ((s1 + s2) / 2) * 60
        return _sol(
            there + back,
            [
                f"There: {km(d)} / {n_(s1)} km/h = {n_(there)} minutes.",
                f"Back: {km(d)} / {n_(s2)} km/h = {n_(back)} minutes.",
                f"Total = {n_(there + back)} minutes.",
            ],
            _r2(naive),
            [
                f"Average speed = ({n_(s1)} + {n_(s2)}) / 2 km/h; time = "
                f"{n_(2 * d)} km at that speed = {n_(_r2(naive))} minutes."
            ],
        )

    return _Problem(
        "travel_time",
        f"round trip to {place}",
        "distance",
        "minutes",
        tuple(c for c in cands if c not in (s1, s2)),
        _LABELS["travel_time"],
        lambda d: (
            f"I cycle {km(d)} to {place} at {n_(s1)} km/h and walk back at {n_(s2)} km/h. How "
            "many minutes does the round trip take?"
        ),
        lambda d: f"{km(d)} there at {n_(s1)} km/h, back at {n_(s2)} km/h: minutes?",
        (
            f"I cycle to {place} at {n_(s1)} km/h and walk back at {n_(s2)} km/h. How long is "
            "the round trip?",
        ),
        lambda d: f"It's {km(d)} each way.",
        cq,
        fu,
        solve,
    )


#: The template functions, by name.
TEMPLATES: dict[str, Callable[[np.random.Generator, str], _Problem]] = {
    "distance": _distance,
    "unit_price": _unit_price,
    "discount": _discount,
    "garden": _garden,
    "ages": _ages,
    "work": _work,
    "mixture": _mixture,
    "interest": _interest,
    "averages": _averages,
    "recipe": _recipe,
    "currency": _currency,
    "fuel": _fuel,
    "wages": _wages,
    "percent": _percent,
    "paint": _paint,
    "travel_time": _travel_time,
}


# ---------------------------------------------------------------- assembly
def _usable(problem: _Problem) -> list[tuple[Fraction, _Solution]]:
    """Candidates with a clean solution, absent from the vague text, with distinct answers."""
    shown = {x for v in problem.vague for x in parse_numbers(v)}
    out: list[tuple[Fraction, _Solution]] = []
    answers: set[Fraction] = set()
    for c in problem.candidates:
        if c in shown:
            continue
        sol = problem.solve(c)
        if sol is None or sol.value in answers:
            continue
        answers.add(sol.value)
        out.append((c, sol))
    return out


def _build(index: int, problem: _Problem, chosen, prior_values, difficulty: str) -> Task:
    interps = []
    answers, hidden, solutions = {}, {}, {}
    for (c, sol), prior in zip(chosen, prior_values, strict=True):
        iid = f"{problem.quantity}={fmt_num(c)}"
        interps.append(
            Interpretation(
                id=iid,
                label=problem.label(c),
                detailed=problem.detailed(c),
                clarification=problem.clarification(c),
                answer=fmt_answer(sol.value, problem.unit),
                prior=prior,
            )
        )
        answers[iid] = fmt_num(sol.value)
        hidden[iid] = fmt_num(c)
        solutions[iid] = {
            "steps": list(sol.steps),
            "wrong": fmt_num(sol.wrong),
            "wrong_steps": list(sol.wrong_steps),
        }
    vague = (problem.terse(chosen[0][0]),) if len(chosen) == 1 else problem.vague
    return Task(
        id=task_id(FAMILY, index),
        family=FAMILY,
        topic=problem.topic,
        vague=vague,
        interpretations=tuple(interps),
        clarifying_question=problem.clarifying_question,
        follow_up_question=problem.follow_up,
        difficulty=difficulty,
        judge_data={
            "template": problem.template,
            "quantity": problem.quantity,
            "unit": problem.unit,
            "answers": answers,
            "hidden": hidden,
            "solutions": solutions,
        },
    )


def generate(n: int, seed: int) -> list[Task]:
    """``n`` math tasks, deterministic in ``seed`` (a prefix of a longer run's output)."""
    rng = family_rng(FAMILY, seed)
    names = list(TEMPLATES)
    tasks: list[Task] = []
    seen: set[str] = set()
    tries = 0
    while len(tasks) < n:
        tries += 1
        if tries > 200 * (n + 10):  # pragma: no cover - would be a template bug
            raise RuntimeError(f"could not draw {n} distinct math tasks")
        difficulty = pick(rng, DIFFICULTIES)
        template = TEMPLATES[pick(rng, names)]
        k = 1 if rng.random() < UNAMBIGUOUS_SHARE else int(rng.integers(2, 5))
        problem = template(rng, difficulty)
        usable = _usable(problem)
        if len(usable) < k:
            continue
        chosen = [usable[int(i)] for i in rng.choice(len(usable), size=k, replace=False)]
        task = _build(len(tasks), problem, chosen, priors(rng, k), difficulty)
        texts = [i.detailed for i in task.interpretations]
        if any(t in seen for t in texts):
            continue
        seen.update(texts)
        tasks.append(task)
    return tasks
