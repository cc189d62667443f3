"""Small, dependency-free statistics: Student-t distribution, t and bootstrap intervals.

The t distribution is computed from the regularised incomplete beta function
(continued fraction of Numerical Recipes, 3rd ed., §6.4, evaluated with the modified
Lentz method) and inverted by bisection, so results are accurate to ~1e-10 for any
``df > 0`` (integer or not) without scipy. For ``df > 1e5`` the Cornish–Fisher expansion
around the normal quantile (Abramowitz & Stegun 26.7.5) is used instead.

Summaries are plain dicts ``{"mean", "lo", "hi", "std", "n"}`` (floats or ``None``) so
they serialise to JSON directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = [
    "bootstrap_ci",
    "finite_values",
    "mean_ci",
    "regularized_incomplete_beta",
    "t_cdf",
    "t_quantile",
]

_LARGE_DF = 1e5
_NOTE_N1 = "n=1: spread undefined; std reported as 0 and the interval collapsed to the mean"
_NOTE_N0 = "n=0: no finite values"


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


def _betacf(a: float, b: float, x: float, max_iter: int = 100_000, eps: float = 1e-15) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = tiny if abs(d) < tiny else d
    d = 1.0 / d
    h = d
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b})")


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """``I_x(a, b)`` for ``a, b > 0`` and ``0 <= x <= 1``."""
    if a <= 0 or b <= 0:
        raise ValueError(f"a and b must be > 0, got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """``P(T <= t)`` for Student's t with ``df > 0`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"df must be > 0, got {df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    if df > _LARGE_DF:
        # normal CDF corrected to O(1/df) (A&S 26.7.8 first term) is ample here
        z = t * (1.0 - 1.0 / (4.0 * df)) / math.sqrt(1.0 + t * t / (2.0 * df))
        return NormalDist().cdf(z)
    tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def _cornish_fisher(p: float, df: float) -> float:
    """t quantile from the normal quantile, A&S 26.7.5 (error O(df⁻⁴))."""
    z = NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4.0
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384.0
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160.0
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """Inverse CDF of Student's t: the ``t`` with ``P(T <= t) = p`` (``0 < p < 1``, ``df > 0``).

    Bisection on :func:`t_cdf` to 1e-12 relative width; ``df > 1e5`` uses the
    Cornish–Fisher expansion. ``t_quantile(0.975, 10) ≈ 2.228``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0 or math.isnan(df):
        raise ValueError(f"df must be > 0, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if df > _LARGE_DF or math.isinf(df):
        return NormalDist().inv_cdf(p) if math.isinf(df) else _cornish_fisher(p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
        if hi > 1e300:  # pragma: no cover - only for absurd p close to 1 with tiny df
            return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _empty(n: int = 0) -> dict[str, Any]:
    return {"mean": None, "lo": None, "hi": None, "std": None, "n": n, "note": _NOTE_N0}


def mean_ci(values: Iterable[Any], confidence: float = 0.95) -> dict[str, Any]:
    """Mean and two-sided t confidence interval of the finite entries of ``values``.

    Returns ``{"mean", "lo", "hi", "std", "n"}`` with ``std`` the sample standard
    deviation (ddof=1) and half-width ``t_{(1+c)/2, n-1} · std / √n``. Non-finite and
    ``None`` entries are ignored. ``n = 1`` gives ``lo = hi = mean``, ``std = 0`` and a
    ``"note"``; ``n = 0`` gives ``None`` everywhere (with a note).
    """
    _check_confidence(confidence)
    x = finite_values(values)
    n = int(x.size)
    if n == 0:
        return _empty()
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "lo": mean, "hi": mean, "std": 0.0, "n": 1, "note": _NOTE_N1}
    std = float(x.std(ddof=1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "std": std, "n": n}


def bootstrap_ci(
    values: Iterable[Any],
    rng: np.random.Generator,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Percentile bootstrap interval of the mean, resampling with the passed generator.

    Returns ``{"mean", "lo", "hi", "std", "n", "se"}``: ``mean``/``std`` of the data,
    ``lo``/``hi`` the ``(1∓c)/2`` percentiles of ``n_boot`` resampled means and ``se``
    their standard deviation. Same ``n = 0`` / ``n = 1`` conventions as :func:`mean_ci`.
    """
    _check_confidence(confidence)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    x = finite_values(values)
    n = int(x.size)
    if n == 0:
        return {**_empty(), "se": None}
    mean = float(x.mean())
    if n == 1:
        return {
            "mean": mean,
            "lo": mean,
            "hi": mean,
            "std": 0.0,
            "n": 1,
            "se": 0.0,
            "note": _NOTE_N1,
        }
    # chunked so that n_boot × n never allocates more than ~4M indices at once
    chunk = max(1, 4_000_000 // n)
    means = np.empty(n_boot, dtype=float)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = x[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return {
        "mean": mean,
        "lo": float(lo),
        "hi": float(hi),
        "std": float(x.std(ddof=1)),
        "n": n,
        "se": float(means.std(ddof=1)) if n_boot > 1 else 0.0,
    }
