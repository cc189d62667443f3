"""Dominance between pure strategies and iterated elimination of dominated strategies.

Only domination by another *pure* strategy is checked (domination by a mixed
strategy would need a linear programme per strategy; not needed for the small
stage games here, and documented so nobody assumes otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .matrix import PayoffMatrix

__all__ = [
    "EliminationResult",
    "dominated_strategies",
    "dominates_strategy",
    "iterated_elimination",
]


def _payoff_rows(game: PayoffMatrix, player: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each of ``player``'s strategies as a row of its payoffs against the opponent's."""
    if player == "user":
        return game.user, game.user_strategies
    if player == "assistant":
        return game.llm.T, game.assistant_actions
    raise ValueError(f"player must be one of ['user', 'assistant'], got {player!r}")


def dominates_strategy(
    game: PayoffMatrix, player: str, a: str, b: str, strict: bool = True, tol: float = 1e-9
) -> bool:
    """Whether ``player``'s strategy ``a`` dominates ``b``.

    Strict: ``a`` is better by more than ``tol`` against every opponent strategy.
    Weak: ``a`` is at least as good (within ``tol``) everywhere and better somewhere.
    """
    rows, labels = _payoff_rows(game, player)
    if a not in labels or b not in labels:
        raise ValueError(f"unknown strategy for {player}; allowed: {list(labels)}")
    ra, rb = rows[labels.index(a)], rows[labels.index(b)]
    if strict:
        return bool(np.all(ra > rb + tol))
    return bool(np.all(ra >= rb - tol) and np.any(ra > rb + tol))


def dominated_strategies(
    game: PayoffMatrix, player: str, strict: bool = True, tol: float = 1e-9
) -> list[str]:
    """``player``'s strategies dominated by some other pure strategy (label order)."""
    _, labels = _payoff_rows(game, player)
    return [
        b
        for b in labels
        if any(
            dominates_strategy(game, player, a, b, strict=strict, tol=tol) for a in labels if a != b
        )
    ]


@dataclass(frozen=True)
class EliminationResult:
    """Outcome of iterated elimination: the reduced game and what was removed, in order."""

    game: PayoffMatrix
    steps: list[tuple[str, str]] = field(default_factory=list)
    """``(player, strategy)`` pairs in the order they were eliminated."""


def iterated_elimination(
    game: PayoffMatrix, strict: bool = True, tol: float = 1e-9
) -> EliminationResult:
    """Iteratively remove dominated pure strategies until none is left to remove.

    Each round removes every currently dominated strategy of the user, then of the
    assistant. With strict dominance the result does not depend on the order; with
    weak dominance it can, and this fixed order is the one used. A player always keeps
    at least one strategy.
    """
    steps: list[tuple[str, str]] = []
    current = game
    while True:
        changed = False
        for player in ("user", "assistant"):
            dom = dominated_strategies(current, player, strict=strict, tol=tol)
            _, labels = _payoff_rows(current, player)
            if dom and len(dom) < len(labels):
                keep = [s for s in labels if s not in dom]
                if player == "user":
                    current = current.restrict(user_strategies=keep)
                else:
                    current = current.restrict(assistant_actions=keep)
                steps += [(player, s) for s in dom]
                changed = True
        if not changed:
            return EliminationResult(current, steps)
