"""Statistics for paired evaluation on top of :mod:`scipy.stats`.

t intervals and quantiles come from ``scipy.stats.t``, paired tests from
``scipy.stats.ttest_rel``, bootstrap intervals from ``scipy.stats.bootstrap`` driven by the
caller's ``numpy.random.Generator`` (so every draw flows from the run seed), and
:func:`holm` adjusts a family of p-values (Holm–Bonferroni step-down; scipy has none).

Summaries are plain dicts ``{"mean", "lo", "hi", "std", "n"}`` (floats or ``None``) so
they serialise to JSON directly. ``scipy.stats`` is imported on first use (it takes longer
to import than the rest of the package), as ``gtalign_sim.game`` does with nashpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "BOOTSTRAP_METHODS",
    "bootstrap_ci",
    "clip_interval",
    "finite_values",
    "holm",
    "mean_ci",
    "paired_ratio_difference",
    "paired_test",
    "ratio_ci",
    "t_cdf",
    "t_quantile",
]

BOOTSTRAP_METHODS: tuple[str, ...] = ("percentile", "basic", "BCa")
"""Interval methods of :func:`bootstrap_ci` (those of ``scipy.stats.bootstrap``)."""

_NOTE_N1 = "n=1: spread undefined; std reported as 0 and the interval collapsed to the mean"
_NOTE_N0 = "n=0: no finite values"
_ZERO = 1e-12  # a mean difference this small with zero spread is no difference


def _scipy_stats() -> Any:
    import scipy.stats

    return scipy.stats


def finite_values(values: Iterable[Any]) -> np.ndarray:
    """The finite numeric entries of ``values`` as a float array (``None``/NaN/inf dropped)."""
    out = []
    for v in values:
        if v is None or isinstance(v, str):
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return np.asarray(out, dtype=float)


def _check_df(df: float) -> None:
    if not df > 0:  # also rejects NaN
        raise ValueError(f"df must be > 0, got {df}")


def t_cdf(t: float, df: float) -> float:
    """``P(T <= t)`` for Student's t with ``df > 0`` degrees of freedom (``scipy.stats.t``)."""
    _check_df(df)
    return float(_scipy_stats().t.cdf(t, df))


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """Inverse CDF of Student's t: the ``t`` with ``P(T <= t) = p`` (``0 < p < 1``, ``df > 0``).

    ``scipy.stats.t.ppf``; ``df = inf`` is the normal quantile. ``t_quantile(0.975, 10) ≈ 2.228``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    _check_df(df)
    return float(_scipy_stats().t.ppf(p, df))


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _empty() -> dict[str, Any]:
    return {"mean": None, "lo": None, "hi": None, "std": None, "n": 0, "note": _NOTE_N0}


def _single(mean: float) -> dict[str, Any]:
    return {"mean": mean, "lo": mean, "hi": mean, "std": 0.0, "n": 1, "note": _NOTE_N1}


def _t_summary(x: np.ndarray, confidence: float) -> dict[str, Any]:
    """Mean, t interval and sample std of a finite float array."""
    n = int(x.size)
    if n == 0:
        return _empty()
    mean = float(x.mean())
    if n == 1:
        return _single(mean)
    std = float(x.std(ddof=1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "std": std, "n": n}


def mean_ci(
    values: Iterable[Any],
    confidence: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Mean and two-sided t confidence interval of the finite entries of ``values``.

    Returns ``{"mean", "lo", "hi", "std", "n"}`` with ``std`` the sample standard
    deviation (ddof=1) and half-width ``t_{(1+c)/2, n-1} · std / √n``. Non-finite and
    ``None`` entries are ignored. ``n = 1`` gives ``lo = hi = mean``, ``std = 0`` and a
    ``"note"``; ``n = 0`` gives ``None`` everywhere (with a note). ``bounds`` (the
    quantity's range, e.g. ``(0, 1)`` for a share) clips ``lo`` and ``hi`` to it: an
    interval never claims values the quantity cannot take.
    """
    _check_confidence(confidence)
    return clip_interval(_t_summary(finite_values(values), confidence), bounds)


def clip_interval(ci: dict[str, Any], bounds: tuple[float, float] | None) -> dict[str, Any]:
    """``ci`` with ``lo``/``hi`` clipped to ``bounds`` (the quantity's range; ``None``:
    unchanged). A difference of two quantities in ``[a, b]`` has the range ``[a − b, b − a]``."""
    if bounds is None or ci.get("lo") is None:
        return ci
    low, high = bounds
    return {**ci, "lo": max(ci["lo"], low), "hi": min(ci["hi"], high)}


def ratio_ci(
    num: Sequence[Any] | np.ndarray,
    den: Sequence[Any] | np.ndarray,
    scale: float = 1.0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """``scale · mean(num) / mean(den)`` over the pairs where both are finite, with a
    two-sided t interval by the delta method (the ratio's linearisation
    ``(num − R·den) / mean(den)``, whose mean is 0 and whose spread gives the SE).

    Returns ``{"mean", "lo", "hi", "n"}``; ``None`` everywhere when ``n = 0`` or
    ``mean(den) = 0``; ``n = 1`` collapses the interval to the ratio.
    """
    _check_confidence(confidence)
    x = np.asarray(num, dtype=float).ravel()
    y = np.asarray(den, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"num and den must have the same length, got {x.size} and {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    if n == 0 or y.mean() == 0:
        return {"mean": None, "lo": None, "hi": None, "n": n}
    r = float(x.mean() / y.mean())
    if n == 1:
        return {"mean": scale * r, "lo": scale * r, "hi": scale * r, "n": 1}
    z = (x - r * y) / y.mean()
    half = float(t_quantile((1 + confidence) / 2, n - 1) * z.std(ddof=1) / np.sqrt(n))
    return {"mean": scale * r, "lo": scale * (r - half), "hi": scale * (r + half), "n": n}


def paired_ratio_difference(
    num_a: Sequence[Any] | np.ndarray,
    den_a: Sequence[Any] | np.ndarray,
    num_b: Sequence[Any] | np.ndarray,
    den_b: Sequence[Any] | np.ndarray,
    scale: float = 1.0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """``scale · (R_a − R_b)`` with ``R = mean(num) / mean(den)``, on paired episodes
    (index ``i`` of the four arrays is one episode; pairs with any non-finite value are
    dropped), with a delta-method t interval: the difference of the two ratios'
    linearisations per episode. Returns ``{"mean", "lo", "hi", "n"}`` (``None`` when
    ``n = 0`` or a mean denominator is 0)."""
    _check_confidence(confidence)
    arrs = [np.asarray(v, dtype=float).ravel() for v in (num_a, den_a, num_b, den_b)]
    if len({a.size for a in arrs}) != 1:
        raise ValueError(f"the four arrays must have the same length, got {[a.size for a in arrs]}")
    ok = np.logical_and.reduce([np.isfinite(a) for a in arrs])
    xa, ya, xb, yb = (a[ok] for a in arrs)
    n = int(xa.size)
    if n == 0 or ya.mean() == 0 or yb.mean() == 0:
        return {"mean": None, "lo": None, "hi": None, "n": n}
    ra, rb = xa.mean() / ya.mean(), xb.mean() / yb.mean()
    d = float(ra - rb)
    if n == 1:
        return {"mean": scale * d, "lo": scale * d, "hi": scale * d, "n": 1}
    z = (xa - ra * ya) / ya.mean() - (xb - rb * yb) / yb.mean()
    half = float(t_quantile((1 + confidence) / 2, n - 1) * z.std(ddof=1) / np.sqrt(n))
    return {"mean": scale * d, "lo": scale * (d - half), "hi": scale * (d + half), "n": n}


def paired_test(
    a: Sequence[Any] | np.ndarray, b: Sequence[Any] | np.ndarray, confidence: float = 0.95
) -> dict[str, Any]:
    """Paired t-test of ``a − b`` over the pairs where both values are finite.

    Returns :func:`mean_ci` of the differences (``mean``, ``lo``, ``hi``, ``std``, ``n``)
    plus ``p_value``, the two-sided ``scipy.stats.ttest_rel`` p-value. ``n < 2`` gives
    ``p_value = None``; differences with zero spread give ``1.0`` when their mean is 0
    (within 1e-12) and ``0.0`` otherwise. ``a`` and ``b`` must have the same length.
    """
    _check_confidence(confidence)
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same length, got {x.size} and {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = _t_summary(x - y, confidence)
    p_value: float | None = None
    if out["n"] >= 2:
        if out["std"] > 0:
            p_value = float(_scipy_stats().ttest_rel(x, y).pvalue)
        else:
            p_value = 1.0 if abs(out["mean"]) <= _ZERO else 0.0
    out["p_value"] = p_value
    return out


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni step-down adjusted p-values, in the input order.

    With the ``m`` non-``None`` p-values sorted ascending, ``p_(1) <= … <= p_(m)``, the
    adjusted value of ``p_(i)`` is ``max_{j <= i} min(1, (m − j + 1) · p_(j))``. Rejecting
    where the adjusted value is below ``α`` controls the family-wise error rate at ``α``.
    ``None`` entries (tests that could not be run) stay ``None`` and do not count in ``m``.
    """
    vals = [None if p is None else float(p) for p in pvalues]
    for p in vals:
        if p is not None and not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must be in [0, 1] or None, got {p}")
    idx = sorted((i for i, p in enumerate(vals) if p is not None), key=lambda i: vals[i])
    m = len(idx)
    out: list[float | None] = [None] * len(vals)
    running = 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * vals[i]))  # type: ignore[operator]
        out[i] = running
    return out


def bootstrap_ci(
    values: Iterable[Any],
    rng: np.random.Generator,
    n_boot: int = 2000,
    confidence: float = 0.95,
    method: str = "percentile",
) -> dict[str, Any]:
    """Bootstrap interval of the mean (``scipy.stats.bootstrap``), resampling with ``rng``.

    Returns ``{"mean", "lo", "hi", "std", "n", "se"}``: ``mean``/``std`` of the finite
    data, ``lo``/``hi`` the interval of ``method`` (one of :data:`BOOTSTRAP_METHODS`) from
    ``n_boot`` resamples and ``se`` the standard deviation of the resampled means. The same
    ``rng`` state gives the same interval. Same ``n = 0`` / ``n = 1`` conventions as
    :func:`mean_ci`; data with zero spread collapse to the mean (``se = 0``).
    """
    _check_confidence(confidence)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {BOOTSTRAP_METHODS}, got {method!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    x = finite_values(values)
    n = int(x.size)
    if n == 0:
        return {**_empty(), "se": None}
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    if n == 1 or std == 0.0:
        out = {"mean": mean, "lo": mean, "hi": mean, "std": std, "n": n, "se": 0.0}
        return {**out, "note": _NOTE_N1} if n == 1 else out
    res = _scipy_stats().bootstrap(
        (x,),
        np.mean,
        n_resamples=n_boot,
        batch=max(1, 4_000_000 // n),  # at most ~4M resampled values in memory at once
        vectorized=True,
        confidence_level=confidence,
        method=method,
        random_state=rng,  # `rng=` needs scipy >= 1.15; a Generator here is the same draw
    )
    return {
        "mean": mean,
        "lo": float(res.confidence_interval.low),
        "hi": float(res.confidence_interval.high),
        "std": std,
        "n": n,
        "se": float(res.standard_error) if n_boot > 1 else 0.0,
    }
