"""Helpers shared by the task-bank generators: seeded picks, priors, slugs, numbers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import TypeVar

import numpy as np

from ..lexicon import format_number

__all__ = [
    "UNAMBIGUOUS_SHARE",
    "family_rng",
    "fmt_money",
    "fmt_num",
    "pick",
    "priors",
    "shuffled",
    "slug",
    "task_id",
]

T = TypeVar("T")

#: Target share of unambiguous (single-intent) tasks per family.
UNAMBIGUOUS_SHARE = 0.32

_FAMILY_TAGS = {"math": 1, "ambiguous_qa": 2, "writing": 3, "safety": 4}


def family_rng(family: str, seed: int) -> np.random.Generator:
    """The generator of one family's bank: independent streams per family and seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return np.random.default_rng([int(seed), _FAMILY_TAGS[family], 0x67746C6E])


def pick(rng: np.random.Generator, seq: Sequence[T]) -> T:
    """One element of ``seq``, uniformly."""
    return seq[int(rng.integers(len(seq)))]


def shuffled(rng: np.random.Generator, seq: Sequence[T]) -> list[T]:
    """A new list holding ``seq`` in random order."""
    return [seq[int(i)] for i in rng.permutation(len(seq))]


def priors(rng: np.random.Generator, k: int, *, floor: float = 0.08) -> list[float]:
    """``k`` priors that sum to exactly 1 (three decimals), each at least ``floor``."""
    if k == 1:
        return [1.0]
    w = rng.dirichlet(np.full(k, 2.0))
    raw = floor + (1.0 - floor * k) * w
    out = [round(float(x), 3) for x in raw[:-1]]
    out.append(round(1.0 - sum(out), 3))
    return out


def slug(text: str) -> str:
    """Lower-case ``a-z0-9`` words joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def task_id(family: str, index: int) -> str:
    """``"math-0042"``-style ids (at least four digits)."""
    return f"{family}-{index:04d}"


def fmt_num(x: Fraction | int | float) -> str:
    """Canonical number text (integer, terminating decimal or ``a/b``)."""
    return format_number(Fraction(x))


def fmt_money(x: Fraction | int | float) -> str:
    """``$12.50`` / ``$12``."""
    return "$" + format_number(Fraction(x), money=True)
