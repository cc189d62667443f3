"""Social welfare functions over (user, LLM) payoff pairs.

Every function is vectorised: ``u`` and ``l`` may be scalars or arrays of the same
shape, and the result has that shape. They are ordered by how much they care about
equality, from none (utilitarian sum) to all (Rawlsian min); the CES family with
parameter ``rho`` interpolates between them:

* ``rho = 1``      the (weighted) arithmetic mean, i.e. the utilitarian sum up to a factor;
* ``rho -> 0``     the (weighted) geometric mean, i.e. Cobb–Douglas / the Nash product;
* ``rho -> -inf``  the minimum, i.e. the Rawlsian welfare.

Negative payoffs. Products and powers are only meaningful for gains that are
non-negative, so :func:`cobb_douglas`, :func:`nash_product` and :func:`ces` (for
``rho <= 0`` or non-integer powers) measure each player's gain over a *disagreement
point* ``d = (d_user, d_llm)`` (default ``(0, 0)``, which suits welfare already in
``[0, 1]`` such as the reference's U and L) and clip gains below it at 0: an outcome
that leaves a player worse off than disagreement has zero welfare. For payoff matrices
in ``[-5, 5]`` pass a disagreement point such as each player's minimum payoff
(:meth:`gtalign_sim.game.PayoffMatrix.disagreement_point`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "WELFARE_FUNCTIONS",
    "WelfareFn",
    "ces",
    "cobb_douglas",
    "get_welfare",
    "nash_product",
    "rawlsian",
    "utilitarian",
    "weighted_linear",
]

WelfareFn = Callable[..., Any]


def _gains(u: ArrayLike, l: ArrayLike, disagreement: tuple[float, float]) -> tuple[Any, Any]:
    du, dl = disagreement
    gu = np.maximum(np.asarray(u, dtype=float) - du, 0.0)
    gl = np.maximum(np.asarray(l, dtype=float) - dl, 0.0)
    return gu, gl


def _check_weight(weight: float, name: str = "weight") -> None:
    if not (0.0 <= weight <= 1.0) or not np.isfinite(weight):
        raise ValueError(f"{name} must be in [0, 1], got {weight!r}")


def utilitarian(u: ArrayLike, l: ArrayLike) -> Any:
    """Utilitarian welfare ``u + l`` (no disagreement point needed)."""
    return np.asarray(u, dtype=float) + np.asarray(l, dtype=float)


def weighted_linear(u: ArrayLike, l: ArrayLike, *, user_weight: float = 0.5) -> Any:
    """Weighted linear welfare ``w·u + (1-w)·l`` with ``w = user_weight`` in [0, 1].

    ``user_weight=1`` is user-only welfare, ``0`` LLM-only, ``0.5`` the mean ``(u+l)/2``.
    """
    _check_weight(user_weight, "user_weight")
    return user_weight * np.asarray(u, dtype=float) + (1.0 - user_weight) * np.asarray(
        l, dtype=float
    )


def rawlsian(u: ArrayLike, l: ArrayLike) -> Any:
    """Rawlsian (egalitarian) welfare ``min(u, l)``."""
    return np.minimum(np.asarray(u, dtype=float), np.asarray(l, dtype=float))


def cobb_douglas(
    u: ArrayLike,
    l: ArrayLike,
    *,
    user_weight: float = 0.5,
    disagreement: tuple[float, float] = (0.0, 0.0),
) -> Any:
    """Cobb–Douglas welfare ``g_u^w · g_l^(1-w)`` of the gains over ``disagreement``.

    With the default ``user_weight=0.5`` and ``disagreement=(0, 0)`` this is the GTAlign
    training reward ``sqrt(U·L)``. Gains below the disagreement point count as 0.
    """
    _check_weight(user_weight, "user_weight")
    gu, gl = _gains(u, l, disagreement)
    return np.power(gu, user_weight) * np.power(gl, 1.0 - user_weight)


def nash_product(
    u: ArrayLike, l: ArrayLike, *, disagreement: tuple[float, float] = (0.0, 0.0)
) -> Any:
    """Nash bargaining product ``(u - d_u)·(l - d_l)``, gains below ``d`` clipped to 0.

    It ranks outcomes exactly as :func:`cobb_douglas` with equal weights does (it is
    that value squared).
    """
    gu, gl = _gains(u, l, disagreement)
    return gu * gl


def ces(
    u: ArrayLike,
    l: ArrayLike,
    *,
    rho: float = 0.0,
    user_weight: float = 0.5,
    disagreement: tuple[float, float] = (0.0, 0.0),
) -> Any:
    """Constant-elasticity-of-substitution welfare of the gains over ``disagreement``.

    ``W = (w·g_u^rho + (1-w)·g_l^rho)^(1/rho)``; ``rho=1`` is the weighted mean,
    ``rho=0`` Cobb–Douglas (the limit), ``rho=-inf`` the minimum, and ``rho=+inf`` the
    maximum. For ``rho < 0`` a zero gain for either player gives zero welfare (the limit).
    """
    _check_weight(user_weight, "user_weight")
    if np.isnan(rho):
        raise ValueError("rho must be a number, got nan")
    gu, gl = _gains(u, l, disagreement)
    w = user_weight
    if rho == 0.0:
        return np.power(gu, w) * np.power(gl, 1.0 - w)
    if np.isneginf(rho):
        return np.minimum(gu, gl)
    if np.isposinf(rho):
        return np.maximum(gu, gl)
    if abs(rho) < 1e-8:  # the Cobb–Douglas limit; avoids 1/rho blowing up
        return np.power(gu, w) * np.power(gl, 1.0 - w)
    # log domain: log W = logaddexp(log w + rho·log g_u, log(1-w) + rho·log g_l) / rho
    zero = (gu <= 0) | (gl <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lu = np.log(np.where(gu > 0, gu, 1.0))
        ll = np.log(np.where(gl > 0, gl, 1.0))
        terms_u = np.where(gu > 0, np.log(w) + rho * lu, -np.inf) if w > 0 else -np.inf
        terms_l = np.where(gl > 0, np.log(1 - w) + rho * ll, -np.inf) if w < 1 else -np.inf
        val = np.exp(np.logaddexp(terms_u, terms_l) / rho)
    if rho < 0:
        # any zero gain (with positive weight) drives the harmonic-type mean to zero
        val = np.where(zero, 0.0, val)
    return val


WELFARE_FUNCTIONS: dict[str, WelfareFn] = {
    "utilitarian": utilitarian,
    "weighted_linear": weighted_linear,
    "rawlsian": rawlsian,
    "cobb_douglas": cobb_douglas,
    "nash_product": nash_product,
    "ces": ces,
}
"""Welfare functions by name (what configs and ``select(welfare=...)`` accept)."""

_TAKES_DISAGREEMENT = {"cobb_douglas", "nash_product", "ces"}


def get_welfare(
    welfare: str | WelfareFn | None = None,
    *,
    disagreement: tuple[float, float] | None = None,
    **params: Any,
) -> Callable[[Any, Any], Any]:
    """Resolve ``welfare`` (a name from :data:`WELFARE_FUNCTIONS` or a callable) to ``f(u, l)``.

    ``params`` (e.g. ``rho=-1``, ``user_weight=0.7``) and ``disagreement`` are bound into
    the returned function. ``None`` means utilitarian.
    """
    if welfare is None:
        welfare = "utilitarian"
    if callable(welfare):
        fn = welfare
        name = getattr(welfare, "__name__", "")
    else:
        if welfare not in WELFARE_FUNCTIONS:
            raise ValueError(
                f"unknown welfare function {welfare!r}; allowed: {sorted(WELFARE_FUNCTIONS)}"
            )
        fn = WELFARE_FUNCTIONS[welfare]
        name = welfare
    kwargs = dict(params)
    if disagreement is not None and (name in _TAKES_DISAGREEMENT or callable(welfare)):
        kwargs["disagreement"] = tuple(float(x) for x in disagreement)

    def bound(u: Any, l: Any) -> Any:
        return fn(u, l, **kwargs)

    bound.__name__ = name or "welfare"
    return bound
