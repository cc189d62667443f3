"""Pareto analysis of assistants in the (U, L) = (user_welfare, llm_welfare) plane.

Assistants are compared on matched episodes (common random numbers, see
:mod:`~gtalign_sim.eval.columns`): pairwise ε-dominance counts, the joint frontier of the
mean points and its 2-D hypervolume, and per episode the ε-frontier share, ε-Pareto
coverage and (normalised) L∞ regret to the episode's frontier, plus the Nash social
welfare (product of gains over the disagreement point (0, 0)) of every assistant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gtalign_sim.game.pareto import pareto_mask
from gtalign_sim.game.social_welfare import nash_product

from .columns import Columns, finite_mean, fraction, group_records, matched_rows
from .stats import mean_ci

__all__ = ["eps_dominates", "hypervolume_2d", "pareto_analysis"]

_EXACT = 1e-9  # tolerance of the exact (ε = 0) frontier, as in game.pareto.pareto_mask
_UL = ("user_welfare", "llm_welfare")


def eps_dominates(x: ArrayLike, y: ArrayLike, tol: float) -> np.ndarray:
    """Whether ``x`` ε-dominates ``y`` along the last axis (broadcast): ``x ≥ y − tol`` in
    every coordinate and ``x > y + tol`` in one (vectorised
    ``gtalign_sim.game.pareto.dominates``). NaN never dominates and is never dominated."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return np.all(a >= b - tol, axis=-1) & np.any(a > b + tol, axis=-1)


def hypervolume_2d(points: ArrayLike, ref: ArrayLike) -> float:
    """Area dominated by ``points`` (shape ``(k, 2)``, maximisation) above point ``ref``.

    Points not strictly above ``ref`` in both coordinates add nothing. The union of the
    boxes ``[ref, p]`` is swept in order of decreasing first coordinate.
    """
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    r = np.asarray(ref, dtype=float).reshape(2)
    p = p[np.all(p > r, axis=1)]
    if len(p) == 0:
        return 0.0
    p = p[np.argsort(-p[:, 0], kind="stable")]  # by U descending
    area, best_l = 0.0, r[1]
    for u, l in p:
        if l > best_l:
            area += (u - r[0]) * (l - best_l)
            best_l = l
    return float(area)


_hypervolume_2d = hypervolume_2d  # the name metrics.py used


def pareto_analysis(records: Iterable[Mapping[str, Any]], eps: float = 0.01) -> dict[str, Any]:
    """Compare assistants in the (U, L) = (user_welfare, llm_welfare) plane.

    Returns:

    * ``means[a]``: mean ``user_welfare``, ``llm_welfare`` and ``√(Ū·L̄)``;
    * ``on_frontier[a]`` / ``frontier``: whether ``a``'s mean point is on the joint Pareto
      frontier of all mean points (``gtalign_sim.game.pareto.pareto_mask``), and the
      frontier names ordered by increasing U;
    * ``reference_point``: the minima of the mean U and mean L over assistants;
      ``hypervolume[a]``: area of the box between that point and ``a``'s mean point
      (0 for an assistant holding a minimum); ``joint_hypervolume``: area of their union;
    * ``nash_social_welfare[a]``: :func:`~gtalign_sim.eval.stats.mean_ci` of the
      per-episode Nash product ``max(U, 0) · max(L, 0)`` (gains over (0, 0));
    * ``eps_dominance[a][b]``: ``{"count", "n", "fraction"}`` — on how many of the ``n``
      episodes matched between ``a`` and ``b`` the point of ``a`` ε-dominates that of
      ``b``, i.e. ``a ≥ b − ε`` in both coordinates and ``a > b + ε`` in one;
    * per episode, among the assistants that ran it (episodes with at least two;
      ``frontier_episodes[a]`` counts ``a``'s), means over ``a``'s episodes of:
      ``frontier_share[a]`` (no other assistant ε-dominates ``a``), ``eps_coverage[a]``
      (share of the episode's exact Pareto-frontier points ``f`` that ``a`` ε-covers,
      ``a ≥ f − ε`` in both coordinates; 1 when ``a`` is the whole frontier),
      ``mean_linf_regret[a]`` (L∞ distance from ``a`` up to the nearest frontier point,
      0 on the frontier) and ``mean_linf_regret_normalized[a]`` (the same after dividing
      U and L by their ranges ``regret_scale`` over all points of those episodes);
      ``n_matched_all`` counts the episodes every assistant ran.

    Assistants without a finite mean (U, L) are left out of the frontier analysis.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return _pareto(group_records(records, _UL), eps)


def _pareto(groups: Mapping[str, Columns], eps: float) -> dict[str, Any]:
    """:func:`pareto_analysis` of assistants' columns (need user/llm welfare columns)."""
    means: dict[str, dict[str, float]] = {}
    for a, c in groups.items():
        u = finite_mean(c.column("user_welfare"))
        l = finite_mean(c.column("llm_welfare"))
        if u is not None and l is not None:
            mutual = math.sqrt(max(u, 0.0) * max(l, 0.0))
            means[a] = {"user_welfare": u, "llm_welfare": l, "mutual_welfare_of_means": mutual}
    names = list(means)
    out: dict[str, Any] = {
        "assistants": names,
        "eps": eps,
        "means": means,
        "on_frontier": {},
        "frontier": [],
        "reference_point": None,
        "hypervolume": {},
        "joint_hypervolume": None,
        "nash_social_welfare": {},
        "eps_dominance": {},
        "n_matched_all": 0,
        "frontier_episodes": {},
        "frontier_share": {},
        "eps_coverage": {},
        "mean_linf_regret": {},
        "mean_linf_regret_normalized": {},
        "regret_scale": None,
    }
    if not names:
        return out
    _mean_points(out, means)
    for a in names:
        pts = groups[a].points(range(len(groups[a])))
        out["nash_social_welfare"][a] = mean_ci(nash_product(pts[:, 0], pts[:, 1]))
    out["eps_dominance"] = _pairwise(groups, names, eps)
    _per_episode(out, groups, names, eps)
    return out


def _mean_points(out: dict[str, Any], means: Mapping[str, Mapping[str, float]]) -> None:
    names = list(means)
    pts = np.array([[means[a]["user_welfare"], means[a]["llm_welfare"]] for a in names])
    mask = pareto_mask(pts)
    out["on_frontier"] = {a: bool(m) for a, m in zip(names, mask, strict=True)}
    out["frontier"] = sorted(
        (a for a, m in zip(names, mask, strict=True) if m), key=lambda a: means[a]["user_welfare"]
    )
    ref = pts.min(axis=0)
    out["reference_point"] = [float(ref[0]), float(ref[1])]
    out["hypervolume"] = {
        a: float(max(0.0, p[0] - ref[0]) * max(0.0, p[1] - ref[1]))
        for a, p in zip(names, pts, strict=True)
    }
    out["joint_hypervolume"] = hypervolume_2d(pts, ref)


def _pairwise(
    groups: Mapping[str, Columns], names: list[str], eps: float
) -> dict[str, dict[str, Any]]:
    dom: dict[str, dict[str, Any]] = {a: {} for a in names}
    for a in names:
        for b in names:
            if a == b:
                continue
            keys, (ka, kb) = matched_rows(groups, [a, b])
            pa = groups[a].points([ka[k] for k in keys])
            pb = groups[b].points([kb[k] for k in keys])
            ok = np.isfinite(pa).all(axis=1) & np.isfinite(pb).all(axis=1)
            count = int(eps_dominates(pa[ok], pb[ok], eps).sum())
            n = int(ok.sum())
            dom[a][b] = {"count": count, "n": n, "fraction": fraction(count, n)}
    return dom


def _per_episode(
    out: dict[str, Any], groups: Mapping[str, Columns], names: list[str], eps: float
) -> None:
    keys, keyed_list = matched_rows(groups, names, outer=True)
    # arr[e, i] = (U, L) of assistant i on episode e; NaN where it did not run / lacks U or L
    cols = [
        groups[a].points([kd.get(k) for k in keys]) for a, kd in zip(names, keyed_list, strict=True)
    ]
    arr = np.stack(cols, axis=1).reshape(len(keys), len(names), 2)
    present = np.isfinite(arr).all(axis=-1)  # [e, i]
    out["n_matched_all"] = int(present.all(axis=1).sum())
    keep = present.sum(axis=1) >= 2
    arr, present = arr[keep], present[keep]
    # comparisons with NaN are False: absent assistants never dominate anybody
    x_j, x_i = arr[:, :, None, :], arr[:, None, :, :]  # [e, j, i, :]: j vs i
    # i is on the ε-frontier when no other j ε-dominates it (j = i never does for ε >= 0)
    share = ~eps_dominates(x_j, x_i, eps).any(axis=1)  # [e, i]
    on_front = present & ~eps_dominates(x_j, x_i, _EXACT).any(axis=1)  # exact frontier, [e, j]
    # covers[e, j, i]: i ε-covers frontier point j (weakly, both coordinates)
    covers = np.all(x_i >= x_j - eps, axis=-1) & on_front[:, :, None]
    coverage = covers.sum(axis=1) / np.maximum(on_front.sum(axis=1), 1)[:, None]  # [e, i]
    gaps = np.clip(x_j - x_i, 0.0, None)  # [e, j, i, :]: how far j is above i
    regret = _regret(gaps, on_front)
    if present.any():
        pts = arr[present]
        span = pts.max(axis=0) - pts.min(axis=0)
        scale = np.where(span > 0, span, 1.0)  # a constant coordinate has no gaps
        out["regret_scale"] = [float(s) for s in scale]
    else:
        scale = np.ones(2)
    regret_norm = _regret(gaps / scale, on_front)
    for i, a in enumerate(names):
        m = present[:, i]
        n = int(m.sum())
        out["frontier_episodes"][a] = n
        out["frontier_share"][a] = float(share[m, i].mean()) if n else None
        out["eps_coverage"][a] = float(coverage[m, i].mean()) if n else None
        out["mean_linf_regret"][a] = float(regret[m, i].mean()) if n else None
        out["mean_linf_regret_normalized"][a] = float(regret_norm[m, i].mean()) if n else None


def _regret(gaps: np.ndarray, on_front: np.ndarray) -> np.ndarray:
    """``[e, i]``: L∞ gap (max over coordinates of ``gaps[e, j, i, :]``) from ``i`` up to
    the nearest frontier point ``j`` of episode ``e``."""
    linf = gaps.max(axis=-1)  # [e, j, i]
    return np.where(on_front[:, :, None], linf, np.inf).min(axis=1)
