"""Social-dilemma analysis: inefficient equilibria, classic 2×2 types, price of anarchy.

A game is a *social dilemma* here when some Nash equilibrium is Pareto-dominated by
another outcome (a cell), i.e. self-interested play can leave both players worse off
than they could be. Mixed equilibria are judged by their expected payoff pair.

The classic symmetric 2×2 names are assigned ordinally. Under a labelling of each
player's two strategies as *cooperate* (C) and *defect* (D), let each player's
payoffs be R (both C), S (I cooperate, you defect), T (I defect, you cooperate) and
P (both D). Both players must satisfy the same pattern:

* prisoner's dilemma: ``T > R > P > S``
* chicken (snowdrift): ``T > R > S > P``
* stag hunt: ``R > T >= P > S``
* harmony: ``R > T`` and ``S > P`` (cooperation dominant and efficient)

Other 2×2 games are described by their equilibrium structure:
``battle_of_the_sexes`` (two pure equilibria the players rank oppositely),
``coordination`` (two pure equilibria, no conflict), ``discoordination`` (no pure
equilibrium, e.g. matching pennies), otherwise ``other``.

Price of anarchy/stability under a welfare function W (expected over mixed play):
``PoA = max_cell W / min_eq W`` and ``PoS = max_cell W / max_eq W``; they need a
positive welfare scale, so equilibria with ``W <= 0`` give ``inf`` (and ``nan`` if the
optimum is not positive either). Shift payoffs with a disagreement point when needed.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .equilibria import DegenerateGameWarning, nash_equilibria, pure_nash_equilibria
from .pareto import dominates
from .social_welfare import get_welfare

if TYPE_CHECKING:
    from .matrix import PayoffMatrix

__all__ = ["GAME_TYPES", "DilemmaReport", "analyze_dilemma", "classify_2x2", "price_of_anarchy"]

GAME_TYPES: tuple[str, ...] = (
    "prisoners_dilemma",
    "chicken",
    "stag_hunt",
    "harmony",
    "battle_of_the_sexes",
    "coordination",
    "discoordination",
    "other",
    "not_2x2",
)


@dataclass(frozen=True)
class DilemmaReport:
    """What :func:`analyze_dilemma` found."""

    is_dilemma: bool
    """Some equilibrium is Pareto-dominated by a cell."""
    game_type: str
    """One of :data:`GAME_TYPES`."""
    equilibria: list[tuple[np.ndarray, np.ndarray]]
    """All equilibria found (``(user_mix, assistant_mix)``)."""
    dominated_equilibria: list[int] = field(default_factory=list)
    """Indices into ``equilibria`` of the Pareto-dominated ones."""
    optimum: tuple[str, str] | None = None
    """A welfare-maximising cell."""
    optimal_welfare: float = float("nan")
    equilibrium_welfare: list[float] = field(default_factory=list)
    price_of_anarchy: float = float("nan")
    price_of_stability: float = float("nan")
    labelling: tuple[str, str, str, str] | None = None
    """For named 2×2 types: (user C, user D, assistant C, assistant D)."""


def _ordinal_type(r: float, s: float, t: float, p: float) -> str | None:
    if t > r > p > s:
        return "prisoners_dilemma"
    if t > r > s > p:
        return "chicken"
    if r > t >= p > s:
        return "stag_hunt"
    if r > t and s > p and r >= p:
        return "harmony"
    return None


def classify_2x2(
    game: PayoffMatrix, tol: float = 1e-9
) -> tuple[str, tuple[str, str, str, str] | None]:
    """Name a 2×2 game (see the module docstring); returns ``(type, labelling)``."""
    if game.shape != (2, 2):
        return "not_2x2", None
    u, l = game.user, game.llm
    for uc, ac in itertools.product((0, 1), (0, 1)):
        ud, ad = 1 - uc, 1 - ac
        # user's R, S, T, P (user picks the row)
        ur, us, ut, up = u[uc, ac], u[uc, ad], u[ud, ac], u[ud, ad]
        # assistant's R, S, T, P (assistant picks the column)
        lr, ls, lt, lp = l[uc, ac], l[ud, ac], l[uc, ad], l[ud, ad]
        tu, tl = _ordinal_type(ur, us, ut, up), _ordinal_type(lr, ls, lt, lp)
        if tu is not None and tu == tl:
            labels = (
                game.user_strategies[uc],
                game.user_strategies[ud],
                game.assistant_actions[ac],
                game.assistant_actions[ad],
            )
            return tu, labels
    pure = pure_nash_equilibria(game, tol=tol)
    if not pure:
        return "discoordination", None
    if len(pure) == 2:
        (s1, a1), (s2, a2) = pure
        p1, p2 = game.payoff(s1, a1), game.payoff(s2, a2)
        if s1 != s2 and a1 != a2:
            if (p1[0] - p2[0]) * (p1[1] - p2[1]) < 0:
                return "battle_of_the_sexes", None
            return "coordination", None
    return "other", None


def _expected(game: PayoffMatrix, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    return float(x @ game.user @ y), float(x @ game.llm @ y)


def price_of_anarchy(optimum: float, equilibrium_welfare: list[float]) -> tuple[float, float]:
    """``(PoA, PoS)`` from the optimal welfare and the equilibria's welfare values."""
    if not equilibrium_welfare or not np.isfinite(optimum) or optimum <= 0:
        return float("nan"), float("nan")
    worst, best = min(equilibrium_welfare), max(equilibrium_welfare)
    poa = optimum / worst if worst > 0 else float("inf")
    pos = optimum / best if best > 0 else float("inf")
    return poa, pos


def analyze_dilemma(
    game: PayoffMatrix,
    welfare: Any = "utilitarian",
    *,
    welfare_params: dict[str, Any] | None = None,
    disagreement: tuple[float, float] | str | None = None,
    tol: float = 1e-9,
) -> DilemmaReport:
    """Equilibria, their Pareto efficiency, the 2×2 type and PoA/PoS under ``welfare``."""
    if isinstance(disagreement, str):
        disagreement = game.disagreement_point(disagreement)
    wfn = get_welfare(welfare, disagreement=disagreement, **(welfare_params or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateGameWarning)
        eqs = nash_equilibria(game, tol=tol)
    points = game.points()
    dominated = []
    for k, (x, y) in enumerate(eqs):
        ev = _expected(game, x, y)
        if any(dominates(pt, ev, tol=tol) for pt in points):
            dominated.append(k)
    w_cells = np.asarray(wfn(game.user, game.llm), dtype=float)
    i, j = np.unravel_index(int(np.argmax(w_cells)), w_cells.shape)
    opt = float(w_cells[i, j])
    eq_w = [float(x @ w_cells @ y) for x, y in eqs]
    poa, pos = price_of_anarchy(opt, eq_w)
    gtype, labels = classify_2x2(game, tol=tol)
    return DilemmaReport(
        is_dilemma=bool(dominated),
        game_type=gtype,
        equilibria=eqs,
        dominated_equilibria=dominated,
        optimum=(game.user_strategies[i], game.assistant_actions[j]),
        optimal_welfare=opt,
        equilibrium_welfare=eq_w,
        price_of_anarchy=poa,
        price_of_stability=pos,
        labelling=labels,
    )
