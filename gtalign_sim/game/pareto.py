"""Pareto dominance over sets of payoff points."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["dominates", "pareto_mask"]


def dominates(a: ArrayLike, b: ArrayLike, tol: float = 1e-9) -> bool:
    """Whether point ``a`` Pareto-dominates ``b``.

    ``a`` dominates ``b`` when it is at least as good in every coordinate (within
    ``tol``) and better by more than ``tol`` in at least one.
    """
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a_ >= b_ - tol) and np.any(a_ > b_ + tol))


def pareto_mask(points: ArrayLike, tol: float = 1e-9) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (shape ``(k, d)``).

    Uses :func:`dominates` with tolerance ``tol``; equal points do not dominate each
    other, so duplicates on the frontier are all kept. ``O(k²·d)``, fine for the
    small matrices of a stage game and for a few thousand episode points.
    """
    p = np.asarray(points, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"points must be a 2-D array (k points × d objectives), got {p.shape}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if len(p) == 0:
        return np.zeros(0, dtype=bool)
    # geq[i, j]: point j is >= point i in all coordinates (within tol)
    geq = np.all(p[None, :, :] >= p[:, None, :] - tol, axis=2)
    gt = np.any(p[None, :, :] > p[:, None, :] + tol, axis=2)
    dominated = np.any(geq & gt, axis=1)
    return ~dominated
