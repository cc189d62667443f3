"""Best responses and Nash equilibria of bimatrix games.

Pure equilibria are found by exact enumeration of all cells, ties included. Mixed
equilibria come from nashpy's support enumeration (Algorithm 3.4 of Nisan et al.,
*Algorithmic Game Theory*, 2007) over supports of every size; each candidate is
re-verified here as a mutual best response within ``tol``. In degenerate games
nashpy warns (and a continuum of equilibria may exist, of which only extreme points
are found); those warnings are captured and re-emitted once as
:class:`DegenerateGameWarning`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from .matrix import PayoffMatrix

__all__ = [
    "DegenerateGameWarning",
    "best_responses",
    "is_degenerate",
    "is_nash",
    "nash_equilibria",
    "pure_nash_equilibria",
]

_PLAYERS = ("user", "assistant")


class DegenerateGameWarning(RuntimeWarning):
    """The game is degenerate: equilibria may form a continuum; only extreme points are listed."""


def _player(player: str) -> str:
    if player not in _PLAYERS:
        raise ValueError(f"player must be one of {list(_PLAYERS)}, got {player!r}")
    return player


def _mix(game: PayoffMatrix, opponent: Any, of_player: str) -> np.ndarray:
    """A probability vector over ``of_player``'s strategies from a label, index or vector."""
    labels = game.user_strategies if of_player == "user" else game.assistant_actions
    n = len(labels)
    if isinstance(opponent, (str, int, np.integer)) and not isinstance(opponent, bool):
        idx = game.row_index(opponent) if of_player == "user" else game.col_index(opponent)
        out = np.zeros(n)
        out[idx] = 1.0
        return out
    vec = np.asarray(opponent, dtype=float)
    if vec.shape != (n,):
        raise ValueError(
            f"a mixed strategy of the {of_player} needs {n} probabilities, got {vec.shape}"
        )
    if (vec < -1e-12).any() or not np.isclose(vec.sum(), 1.0, atol=1e-8):
        raise ValueError(f"a mixed strategy must be non-negative and sum to 1, got {vec.tolist()}")
    return np.clip(vec, 0.0, None) / np.clip(vec, 0.0, None).sum()


def best_responses(
    game: PayoffMatrix, player: str, opponent: str | int | ArrayLike, tol: float = 1e-9
) -> list[str]:
    """Labels of ``player``'s pure best responses to the opponent's pure or mixed strategy."""
    _player(player)
    if player == "user":
        y = _mix(game, opponent, "assistant")
        values = game.user @ y
        labels = game.user_strategies
    else:
        x = _mix(game, opponent, "user")
        values = x @ game.llm
        labels = game.assistant_actions
    best = values.max()
    return [lab for lab, v in zip(labels, values, strict=True) if v >= best - tol]


def pure_nash_equilibria(game: PayoffMatrix, tol: float = 1e-9) -> list[tuple[str, str]]:
    """All pure equilibria ``(user_strategy, action)`` in row-major order.

    A cell is an equilibrium when the user's payoff is maximal in its column and the
    assistant's maximal in its row, each within ``tol`` (so ties are included).
    """
    u, l = game.user, game.llm
    col_best = u.max(axis=0, keepdims=True)
    row_best = l.max(axis=1, keepdims=True)
    mask = (u >= col_best - tol) & (l >= row_best - tol)
    return [
        (game.user_strategies[i], game.assistant_actions[j])
        for i, j in zip(*np.nonzero(mask), strict=True)
    ]


def is_nash(
    game: PayoffMatrix, user_mix: ArrayLike, assistant_mix: ArrayLike, tol: float = 1e-7
) -> bool:
    """Whether ``(user_mix, assistant_mix)`` is a Nash equilibrium within ``tol``.

    Neither player can gain more than ``tol`` by deviating to any pure strategy.
    """
    x = _mix(game, user_mix, "user")
    y = _mix(game, assistant_mix, "assistant")
    u_val = x @ game.user @ y
    l_val = x @ game.llm @ y
    return bool(u_val >= (game.user @ y).max() - tol and l_val >= (x @ game.llm).max() - tol)


def is_degenerate(game: PayoffMatrix, tol: float = 1e-9) -> bool:
    """Whether some pure strategy has more pure best responses than its support size (1).

    This is the usual (sufficient) check for degeneracy of a bimatrix game restricted
    to pure strategies: a tie among best responses to a pure strategy.
    """
    for j in range(game.shape[1]):
        if len(best_responses(game, "user", j, tol=tol)) > 1:
            return True
    return any(len(best_responses(game, "assistant", i, tol=tol)) > 1 for i in range(game.shape[0]))


def _unique(
    profiles: list[tuple[np.ndarray, np.ndarray]], atol: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for x, y in profiles:
        if not any(np.allclose(x, a, atol=atol) and np.allclose(y, b, atol=atol) for a, b in out):
            out.append((x, y))
    return out


def nash_equilibria(game: PayoffMatrix, tol: float = 1e-9) -> list[tuple[np.ndarray, np.ndarray]]:
    """All pure equilibria, then the mixed equilibria found by support enumeration.

    Returns a list of ``(user_mix, assistant_mix)`` probability vectors, each verified
    with :func:`is_nash` (tolerance ``max(tol, 1e-7)`` for the mixed ones, whose
    indifference systems are solved numerically), without duplicates.
    """
    import nashpy

    n, m = game.shape
    pure = []
    for s, a in pure_nash_equilibria(game, tol=tol):
        x = np.zeros(n)
        x[game.row_index(s)] = 1.0
        y = np.zeros(m)
        y[game.col_index(a)] = 1.0
        pure.append((x, y))

    check_tol = max(tol, 1e-7)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    degenerate_msgs: list[str] = []
    nash_game = nashpy.Game(np.array(game.user), np.array(game.llm))

    def collect(candidates: Any) -> None:
        for x, y in candidates:
            x = np.clip(np.asarray(x, dtype=float), 0.0, None)
            y = np.clip(np.asarray(y, dtype=float), 0.0, None)
            if x.sum() <= 0 or y.sum() <= 0:
                continue
            x, y = x / x.sum(), y / y.sum()
            if is_nash(game, x, y, tol=check_tol):
                found.append((x, y))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            collect(nash_game.support_enumeration(non_degenerate=False, tol=tol))
        except (np.linalg.LinAlgError, ValueError) as exc:  # pragma: no cover - defensive
            degenerate_msgs.append(f"support enumeration failed: {exc}")
        # Vertex enumeration (best-response polytopes) also finds extreme equilibria of
        # degenerate games where solving indifference systems on supports finds none.
        try:
            collect(nash_game.vertex_enumeration())
        except Exception as exc:
            degenerate_msgs.append(f"vertex enumeration failed: {exc}")
    degenerate_msgs += [
        str(w.message).strip() for w in caught if issubclass(w.category, RuntimeWarning)
    ]
    # snap near-pure vectors to exact pure ones so they de-duplicate against `pure`
    snapped = []
    for x, y in found:
        x = np.where(np.abs(x) < 1e-12, 0.0, x)
        y = np.where(np.abs(y) < 1e-12, 0.0, y)
        snapped.append((x / x.sum(), y / y.sum()))
    result = _unique(pure + snapped, atol=1e-8)
    if degenerate_msgs or is_degenerate(game, tol=tol):
        warnings.warn(
            "degenerate game: equilibria may form a continuum; only extreme points are "
            f"listed ({len(result)} found)",
            DegenerateGameWarning,
            stacklevel=3,
        )
    return result
