"""Replicator dynamics on a 2×2 stage game (``experiment=evolution``).

Two populations — users choosing a row, assistants a column —
follow nashpy's asymmetric replicator dynamics
(:func:`nashpy.learning.replicator_dynamics.asymmetric_replicator_dynamics`) on the
payoffs as given, from a grid of interior starting mixes. The state is ``(x, y)`` = (share
of users on row 0, share of assistants on column 0); time is in payoff units, so a payoff
advantage ``Δ`` moves a share from 0.1 to 0.99 in about ``6.8 / Δ``. An end point is
labelled by the corner or edge it lies on (:func:`end_label`) and flagged when it still
drifts (a rest point not reached within the horizon); a game whose dynamics cycle
(:func:`cycle_period`) is labelled ``"cycle"``. Run again on
bootstrap resamples of the stage game, the fraction ending where the point estimate ends
says how robust that end is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "CORNER_TOL",
    "cycle_period",
    "end_label",
    "replicator_analysis",
    "replicator_bootstrap",
    "replicator_path",
    "start_grid",
]

CORNER_TOL = 0.01
"""An end point this close (max-norm) to a corner is that corner."""


# ---------------------------------------------------------------- replicator dynamics
def start_grid(k: int) -> np.ndarray:
    """``k × k`` interior starting points ``(x, y)``, at ``(i + ½) / k`` on each axis."""
    if k < 1:
        raise ValueError(f"grid must be >= 1, got {k}")
    v = (np.arange(k) + 0.5) / k
    return np.array([(x, y) for x in v for y in v])


def replicator_path(
    user: np.ndarray, llm: np.ndarray, start: Sequence[float], horizon: float, n_points: int = 80
) -> np.ndarray:
    """The ``(x, y)`` path (shape ``(n_points, 2)``) of the 2×2 asymmetric replicator
    dynamics from ``start`` to time ``horizon``, at log-spaced times (nashpy)."""
    from nashpy.learning.replicator_dynamics import asymmetric_replicator_dynamics

    a, b = np.asarray(user, float), np.asarray(llm, float)
    if a.shape != (2, 2) or b.shape != (2, 2):
        raise ValueError(f"replicator dynamics need a 2×2 game, got {a.shape}")
    times = np.concatenate([[0.0], np.geomspace(horizon * 1e-6, horizon, n_points - 1)])
    x0, y0 = float(start[0]), float(start[1])
    xs, ys = asymmetric_replicator_dynamics(
        a, b, x0=np.array([x0, 1 - x0]), y0=np.array([y0, 1 - y0]), timepoints=times
    )
    return np.clip(np.column_stack([xs[:, 0], ys[:, 0]]), 0.0, 1.0)


def end_label(point: Sequence[float], rows: Sequence[str], cols: Sequence[str]) -> str:
    """Where a path ends: ``"<row>/<column>"`` at a corner (both shares within
    :data:`CORNER_TOL` of 0 or 1), ``"<row>/mixed"`` or ``"mixed/<column>"`` on an edge
    (one population settled on a pure strategy, the other split), else ``"mixed"``."""
    x, y = float(point[0]), float(point[1])
    row = rows[0] if abs(x - 1) <= CORNER_TOL else rows[1] if abs(x) <= CORNER_TOL else None
    col = cols[0] if abs(y - 1) <= CORNER_TOL else cols[1] if abs(y) <= CORNER_TOL else None
    if row is None and col is None:
        return "mixed"
    return f"{row or 'mixed'}/{col or 'mixed'}"


def _speed(user: np.ndarray, llm: np.ndarray, point: Sequence[float]) -> float:
    """The largest share velocity of the replicator dynamics at ``point`` (nashpy)."""
    from nashpy.learning.replicator_dynamics import get_derivative_of_asymmetric_fitness

    x, y = float(point[0]), float(point[1])
    d = get_derivative_of_asymmetric_fitness(
        np.array([x, 1 - x, y, 1 - y]), 0.0, np.asarray(user, float), np.asarray(llm, float)
    )
    return float(np.max(np.abs(d)))


def cycle_period(user: np.ndarray, llm: np.ndarray) -> float | None:
    """The period of the small orbits around the interior equilibrium when the 2×2
    dynamics cycle (each side's best reply flips with the other's play and the flips
    rotate: matching-pennies type), else ``None``.

    With ``a, b`` the user's advantage of row 0 against column 0, 1 and ``c, d`` the
    assistant's advantage of column 0 against row 0, 1, the interior rest point is a
    centre of closed orbits iff ``a·b < 0``, ``c·d < 0`` and ``(a − b)(c − d) < 0``; its
    linearisation has frequency ``ω = √(−(a − b)(c − d) x*(1 − x*) y*(1 − y*))``."""
    u, l = np.asarray(user, float), np.asarray(llm, float)
    a, b = u[0, 0] - u[1, 0], u[0, 1] - u[1, 1]
    c, d = l[0, 0] - l[0, 1], l[1, 0] - l[1, 1]
    if not (a * b < 0 and c * d < 0 and (a - b) * (c - d) < 0):
        return None
    y_star, x_star = b / (b - a), d / (d - c)
    omega2 = -(a - b) * (c - d) * x_star * (1 - x_star) * y_star * (1 - y_star)
    return float(2 * np.pi / np.sqrt(omega2))


def _ends(
    user: np.ndarray,
    llm: np.ndarray,
    starts: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    horizon: float,
    paths: bool,
) -> tuple[list[np.ndarray], list[str], list[bool], float]:
    """Paths (when ``paths`` or needed), end labels, drifting flags and the time used.
    Cycling games are labelled ``"cycle"`` and drawn over 3 periods of the small orbits
    (integrating closed orbits to a long horizon only accumulates error)."""
    period = cycle_period(user, llm)
    if period is not None:
        t = min(horizon, 3 * period)
        drawn = [replicator_path(user, llm, s, t) for s in starts] if paths else []
        return drawn, ["cycle"] * len(starts), [True] * len(starts), t
    drawn = [replicator_path(user, llm, s, horizon) for s in starts]
    labels = [end_label(p[-1], rows, cols) for p in drawn]
    drifting = [_speed(user, llm, p[-1]) * horizon > CORNER_TOL for p in drawn]
    return drawn, labels, drifting, horizon


def replicator_analysis(
    user: np.ndarray,
    llm: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    grid: int,
    horizon: float,
) -> dict[str, Any]:
    """Paths from every grid start: ``{"starts", "ends", "end_labels", "basins",
    "drifting", "horizon", "paths"}``. ``basins``: the fraction of starts ending at each
    label (``"cycle"`` for every start of a cycling game, see :func:`cycle_period`);
    ``drifting``: whether an end still moves, its speed × ``horizon`` above
    :data:`CORNER_TOL` — a rest point not reached, e.g. a near-neutral direction (always
    for a cycle); ``horizon``: the time integrated; ``paths``: arrays for plotting, not
    JSON."""
    starts = start_grid(grid)
    paths, labels, drifting, used = _ends(user, llm, starts, rows, cols, horizon, True)
    counts = Counter(labels)
    return {
        "grid": grid,
        "horizon": used,
        "starts": starts.round(6).tolist(),
        "ends": [p[-1].round(4).tolist() for p in paths],
        "end_labels": labels,
        "basins": {k: counts[k] / len(labels) for k in sorted(counts)},
        "drifting": drifting,
        "paths": paths,
    }


def replicator_bootstrap(
    matrices: Sequence[tuple[np.ndarray, np.ndarray]],
    point_labels: Sequence[str],
    rows: Sequence[str],
    cols: Sequence[str],
    grid: int,
    horizon: float,
) -> dict[str, Any]:
    """The dynamics from the same starts on each resampled ``(user, llm)`` matrix.

    Returns ``same_end_fraction`` (over resamples × starts, the share ending where the
    point estimate's path from that start ends), ``all_starts_same_fraction`` (resamples
    where every start does), the fraction per start and the end labels' shares."""
    starts = start_grid(grid)
    same = np.zeros((len(matrices), len(starts)), dtype=bool)
    ends: Counter[str] = Counter()
    for b, (u, l) in enumerate(matrices):
        _, labels, _, _ = _ends(u, l, starts, rows, cols, horizon, False)
        for k, label in enumerate(labels):
            ends[label] += 1
            same[b, k] = label == point_labels[k]
    n = max(same.size, 1)
    return {
        "n": len(matrices),
        "same_end_fraction": float(same.mean()) if same.size else float("nan"),
        "all_starts_same_fraction": float(same.all(axis=1).mean()) if same.size else float("nan"),
        "same_end_fraction_by_start": same.mean(axis=0).round(4).tolist(),
        "end_labels": {k: ends[k] / n for k in sorted(ends)},
    }
