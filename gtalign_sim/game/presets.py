"""Classic games and the GTAlign stage game as ready-made :class:`PayoffMatrix` objects."""

from __future__ import annotations

from collections.abc import Callable

from .matrix import PayoffMatrix

__all__ = ["PRESETS", "get_preset"]


def prisoners_dilemma() -> PayoffMatrix:
    """T=5 > R=3 > P=1 > S=0 for both players; rows/columns Cooperate, Defect."""
    return PayoffMatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]], ["C", "D"], ["C", "D"])


def stag_hunt() -> PayoffMatrix:
    """Stag 4/4, hare 3 whatever the other does, stag alone 0."""
    return PayoffMatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]], ["Stag", "Hare"], ["Stag", "Hare"])


def chicken() -> PayoffMatrix:
    """Swerve/Straight with a crash worst for both."""
    return PayoffMatrix(
        [[3, 1], [4, 0]], [[3, 4], [1, 0]], ["Swerve", "Straight"], ["Swerve", "Straight"]
    )


def harmony() -> PayoffMatrix:
    """Cooperation is dominant and efficient."""
    return PayoffMatrix([[4, 3], [2, 1]], [[4, 2], [3, 1]], ["C", "D"], ["C", "D"])


def battle_of_the_sexes() -> PayoffMatrix:
    """Two pure equilibria the players rank oppositely, plus one mixed."""
    return PayoffMatrix(
        [[3, 0], [0, 2]], [[2, 0], [0, 3]], ["Opera", "Football"], ["Opera", "Football"]
    )


def matching_pennies() -> PayoffMatrix:
    """Zero-sum; the unique equilibrium mixes 1/2–1/2."""
    return PayoffMatrix(
        [[1, -1], [-1, 1]], [[-1, 1], [1, -1]], ["Heads", "Tails"], ["Heads", "Tails"]
    )


def gtalign_example() -> PayoffMatrix:
    """The paper's running example as a 2×3 GTAlign game (DQ/VQ × DA/CQ/AQ).

    Illustrative values (the paper publishes only the two anchor cells): selfish play
    ends in VQ_DA = (1, 1) — VQ strictly dominates DQ for the user (detail costs
    effort) and DA strictly dominates for the assistant (cheapest to produce) — while
    DQ_AQ = (3, 3) is better for both. Restricted to the DA/AQ columns it is a
    prisoner's dilemma with AQ and DQ as "cooperate".
    """
    return PayoffMatrix(
        user=[[0.5, 0.2, 3.0], [1.0, 1.2, 4.0]],
        llm=[[4.0, 1.0, 3.0], [1.0, 0.8, 0.5]],
    )


PRESETS: dict[str, Callable[[], PayoffMatrix]] = {
    "prisoners_dilemma": prisoners_dilemma,
    "stag_hunt": stag_hunt,
    "chicken": chicken,
    "harmony": harmony,
    "battle_of_the_sexes": battle_of_the_sexes,
    "matching_pennies": matching_pennies,
    "gtalign_example": gtalign_example,
}


def get_preset(name: str) -> PayoffMatrix:
    """A preset game by name; unknown names raise ``ValueError`` listing the choices."""
    if name not in PRESETS:
        raise ValueError(f"unknown game preset {name!r}; allowed: {sorted(PRESETS)}")
    return PRESETS[name]()
