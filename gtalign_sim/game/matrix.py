"""The :class:`PayoffMatrix` bimatrix game, the facade over every solution concept.

Rows are the user's strategies, columns the assistant's actions; each cell holds a
``(user, llm)`` payoff pair. Each analysis method delegates to one small module
(:mod:`.pareto`, :mod:`.equilibria`, :mod:`.dominance`, :mod:`.selection`,
:mod:`.dilemma`), in the manner of nashpy's ``Game``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from .dilemma import DilemmaReport
    from .selection import Choice

__all__ = [
    "GTALIGN_ACTIONS",
    "GTALIGN_STRATEGIES",
    "PayoffFormatError",
    "PayoffMatrix",
]

GTALIGN_STRATEGIES: tuple[str, ...] = ("DQ", "VQ")
"""The user's strategies in GTAlign: detailed question, vague question."""
GTALIGN_ACTIONS: tuple[str, ...] = ("DA", "CQ", "AQ")
"""The assistant's actions in GTAlign: direct answer, clarifying question, answer + question."""

_USER_KEY = "user"
_LLM_KEY = "LLM"


class PayoffFormatError(ValueError):
    """A GTAlign payoff object (the six-key JSON) does not have the required shape."""


def _labels(labels: Sequence[str] | None, n: int, prefix: str, field: str) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"{prefix}{i}" for i in range(n))
    out = tuple(str(x) for x in labels)
    if len(out) != n:
        raise ValueError(f"{field} has {len(out)} labels but the payoffs have {n}")
    if len(set(out)) != len(out):
        raise ValueError(f"{field} labels must be distinct, got {list(out)}")
    for lab in out:
        if not lab or "_" in lab:
            raise ValueError(
                f"{field} label {lab!r} must be non-empty and contain no '_' "
                "(cells are keyed '<user_strategy>_<action>')"
            )
    return out


class PayoffMatrix:
    """A two-player bimatrix game between a user (rows) and an assistant (columns).

    Args:
        user: ``n×m`` payoffs of the user (row player).
        llm: ``n×m`` payoffs of the assistant (column player).
        user_strategies: ``n`` row labels (default ``DQ, VQ`` for 2 rows, else ``U0…``).
        assistant_actions: ``m`` column labels (default ``DA, CQ, AQ`` for 3 columns,
            else ``A0…``).

    Payoffs must be finite real numbers. The object is immutable: transforms return new
    matrices.

    Example:
        >>> m = PayoffMatrix(user=[[3, 0], [5, 1]], llm=[[3, 5], [0, 1]])
        >>> m.nash_equilibria()[0]
        (array([0., 1.]), array([0., 1.]))
    """

    __slots__ = ("_actions", "_l", "_strategies", "_u")

    def __init__(
        self,
        user: ArrayLike,
        llm: ArrayLike,
        user_strategies: Sequence[str] | None = None,
        assistant_actions: Sequence[str] | None = None,
    ) -> None:
        try:
            u = np.array(user, dtype=float)
            l = np.array(llm, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payoffs must be numeric n×m arrays: {exc}") from None
        if u.ndim != 2 or u.size == 0:
            raise ValueError(f"user payoffs must be a non-empty 2-D array, got shape {u.shape}")
        if l.shape != u.shape:
            raise ValueError(
                f"user payoffs have shape {u.shape} but llm payoffs have shape {l.shape}"
            )
        n, m = u.shape
        if user_strategies is None and n == len(GTALIGN_STRATEGIES):
            user_strategies = GTALIGN_STRATEGIES
        if assistant_actions is None and m == len(GTALIGN_ACTIONS):
            assistant_actions = GTALIGN_ACTIONS
        self._strategies = _labels(user_strategies, n, "U", "user_strategies")
        self._actions = _labels(assistant_actions, m, "A", "assistant_actions")
        for who, arr in (("user", u), ("llm", l)):
            bad = np.argwhere(~np.isfinite(arr))
            if bad.size:
                i, j = (int(k) for k in bad[0])
                raise ValueError(
                    f"payoffs must be finite numbers (no nan or inf): the {who} payoff of cell "
                    f"{self._strategies[i]}_{self._actions[j]} is {float(arr[i, j])!r}"
                )
        u.setflags(write=False)
        l.setflags(write=False)
        self._u = u
        self._l = l

    # ------------------------------------------------------------------ basics
    @property
    def user(self) -> np.ndarray:
        """The user's payoffs, shape ``(n_strategies, n_actions)`` (read-only)."""
        return self._u

    @property
    def llm(self) -> np.ndarray:
        """The assistant's payoffs, shape ``(n_strategies, n_actions)`` (read-only)."""
        return self._l

    @property
    def user_strategies(self) -> tuple[str, ...]:
        """Row labels."""
        return self._strategies

    @property
    def assistant_actions(self) -> tuple[str, ...]:
        """Column labels."""
        return self._actions

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_strategies, n_actions)``."""
        return self._u.shape  # type: ignore[return-value]

    def __repr__(self) -> str:
        cells = ", ".join(
            f"{s}_{a}=({self._u[i, j]:g}, {self._l[i, j]:g})"
            for i, s in enumerate(self._strategies)
            for j, a in enumerate(self._actions)
        )
        return f"PayoffMatrix({cells})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PayoffMatrix):
            return NotImplemented
        return (
            self._strategies == other._strategies
            and self._actions == other._actions
            and np.array_equal(self._u, other._u)
            and np.array_equal(self._l, other._l)
        )

    def __hash__(self) -> int:
        return hash((self._strategies, self._actions, self._u.tobytes(), self._l.tobytes()))

    def allclose(self, other: PayoffMatrix, atol: float = 1e-9) -> bool:
        """Same labels and payoffs equal within ``atol``."""
        return (
            self._strategies == other._strategies
            and self._actions == other._actions
            and bool(np.allclose(self._u, other._u, atol=atol, rtol=0))
            and bool(np.allclose(self._l, other._l, atol=atol, rtol=0))
        )

    def row_index(self, strategy: str | int) -> int:
        """Index of a user strategy given by label or index; clear error otherwise."""
        return _index(strategy, self._strategies, "user_strategy")

    def col_index(self, action: str | int) -> int:
        """Index of an assistant action given by label or index; clear error otherwise."""
        return _index(action, self._actions, "action")

    def payoff(self, user_strategy: str | int, action: str | int) -> tuple[float, float]:
        """The ``(user, llm)`` payoff of one cell."""
        i, j = self.row_index(user_strategy), self.col_index(action)
        return float(self._u[i, j]), float(self._l[i, j])

    def cells(self) -> Iterator[tuple[str, str]]:
        """All cells as ``(user_strategy, action)`` in row-major order."""
        for s in self._strategies:
            for a in self._actions:
                yield (s, a)

    def points(self) -> np.ndarray:
        """Cell payoffs as an ``(n·m, 2)`` array of ``(user, llm)``, row-major."""
        return np.stack([self._u.ravel(), self._l.ravel()], axis=1)

    def cell_name(self, user_strategy: str | int, action: str | int) -> str:
        """The GTAlign key of a cell, e.g. ``"VQ_CQ"``."""
        i, j = self.row_index(user_strategy), self.col_index(action)
        return f"{self._strategies[i]}_{self._actions[j]}"

    def disagreement_point(self, kind: str = "min") -> tuple[float, float]:
        """A disagreement point for bargaining welfare (Cobb–Douglas, Nash product, CES).

        ``kind``: ``"min"`` each player's lowest payoff in the game; ``"maxmin"`` each
        player's pure security level (best guaranteed payoff); ``"zero"`` the origin.
        """
        if kind == "min":
            return float(self._u.min()), float(self._l.min())
        if kind == "maxmin":
            return float(self._u.min(axis=1).max()), float(self._l.min(axis=0).max())
        if kind == "zero":
            return 0.0, 0.0
        raise ValueError(f"disagreement kind {kind!r} unknown; allowed: ['maxmin', 'min', 'zero']")

    # -------------------------------------------------------------- transforms
    def with_payoffs(
        self, user: ArrayLike | None = None, llm: ArrayLike | None = None
    ) -> PayoffMatrix:
        """A copy with the user's and/or the assistant's payoffs replaced."""
        return PayoffMatrix(
            self._u if user is None else user,
            self._l if llm is None else llm,
            self._strategies,
            self._actions,
        )

    def add(self, user: ArrayLike = 0.0, llm: ArrayLike = 0.0) -> PayoffMatrix:
        """A copy with deltas added (scalars, per-action rows ``(m,)`` or full ``(n, m)``)."""
        return self.with_payoffs(
            self._u + np.asarray(user, float), self._l + np.asarray(llm, float)
        )

    def rounded(self, decimals: int = 1) -> PayoffMatrix:
        """A copy with payoffs rounded (the GTAlign format uses one decimal)."""
        return self.with_payoffs(np.round(self._u, decimals), np.round(self._l, decimals))

    def restrict(
        self,
        user_strategies: Sequence[str] | None = None,
        assistant_actions: Sequence[str] | None = None,
    ) -> PayoffMatrix:
        """The sub-game on the given rows and columns (in the given order)."""
        rows = [self.row_index(s) for s in (user_strategies or self._strategies)]
        cols = [self.col_index(a) for a in (assistant_actions or self._actions)]
        return PayoffMatrix(
            self._u[np.ix_(rows, cols)],
            self._l[np.ix_(rows, cols)],
            [self._strategies[i] for i in rows],
            [self._actions[j] for j in cols],
        )

    # ------------------------------------------------------ GTAlign JSON format
    @classmethod
    def from_gtalign(
        cls,
        payoff: str | Mapping[str, Any],
        user_strategies: Sequence[str] = GTALIGN_STRATEGIES,
        assistant_actions: Sequence[str] = GTALIGN_ACTIONS,
    ) -> PayoffMatrix:
        """Build a matrix from the GTAlign payoff object (a JSON string or a dict).

        The object must have exactly one key ``"<strategy>_<action>"`` per cell, each
        mapping to exactly ``{"LLM": number, "user": number}`` with finite numbers
        (booleans are not numbers). Raises :class:`PayoffFormatError` naming the problem.
        Strict JSON only; :mod:`gtalign_sim.protocol` reads model output leniently.
        """
        if isinstance(payoff, str):
            try:
                payoff = json.loads(payoff)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
                raise PayoffFormatError(f"payoff is not valid JSON: {exc}") from None
        if not isinstance(payoff, Mapping):
            raise PayoffFormatError(f"payoff must be a JSON object, got {type(payoff).__name__}")
        strategies = tuple(user_strategies)
        actions = tuple(assistant_actions)
        expected = [f"{s}_{a}" for s in strategies for a in actions]
        keys = list(payoff.keys())
        missing = [k for k in expected if k not in payoff]
        extra = [k for k in keys if k not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing key(s) {missing}")
            if extra:
                parts.append(f"unexpected key(s) {[str(k) for k in extra]}")
            raise PayoffFormatError(
                f"payoff keys must be exactly {sorted(expected)}: " + "; ".join(parts)
            )
        u = np.zeros((len(strategies), len(actions)))
        l = np.zeros_like(u)
        for i, s in enumerate(strategies):
            for j, a in enumerate(actions):
                key = f"{s}_{a}"
                cell = payoff[key]
                if not isinstance(cell, Mapping):
                    raise PayoffFormatError(
                        f"payoff[{key!r}] must be an object with keys 'LLM' and 'user', "
                        f"got {type(cell).__name__}"
                    )
                sub = set(cell.keys())
                if sub != {_LLM_KEY, _USER_KEY}:
                    raise PayoffFormatError(
                        f"payoff[{key!r}] must have exactly the keys ['LLM', 'user'], "
                        f"got {sorted(map(str, sub))}"
                    )
                for who, target in ((_USER_KEY, u), (_LLM_KEY, l)):
                    val = cell[who]
                    if isinstance(val, bool) or not isinstance(val, (int, float)):
                        raise PayoffFormatError(
                            f"payoff[{key!r}][{who!r}] must be a number, got {_short(val)}"
                        )
                    try:
                        finite = math.isfinite(val)
                    except OverflowError:
                        finite = False
                    if not finite:
                        raise PayoffFormatError(
                            f"payoff[{key!r}][{who!r}] must be a finite number, got {_short(val)}"
                        )
                    target[i, j] = float(val)
        return cls(u, l, strategies, actions)

    def to_gtalign(self) -> dict[str, dict[str, float]]:
        """The GTAlign payoff object: ``{"DQ_AQ": {"LLM": x, "user": y}, ...}``, keys sorted."""
        out = {
            f"{s}_{a}": {_LLM_KEY: float(self._l[i, j]), _USER_KEY: float(self._u[i, j])}
            for i, s in enumerate(self._strategies)
            for j, a in enumerate(self._actions)
        }
        return dict(sorted(out.items()))

    def to_json(self, decimals: int | None = 1) -> str:
        """The GTAlign payoff object as compact JSON (values rounded to ``decimals``)."""
        obj = self.to_gtalign()
        if decimals is not None:
            obj = {k: {kk: round(vv, decimals) for kk, vv in v.items()} for k, v in obj.items()}
        return json.dumps(obj)

    def to_nashpy(self) -> Any:
        """A ``nashpy.Game`` with the user as row player and the assistant as column player."""
        import nashpy

        return nashpy.Game(np.array(self._u), np.array(self._l))

    # --------------------------------------------------------------- analysis
    def pareto_frontier(self, tol: float = 1e-9) -> list[tuple[str, str]]:
        """Non-dominated cells ``(user_strategy, action)`` in row-major order.

        A cell is dominated when another is at least as good for both players and better
        by more than ``tol`` for one of them. Ties (equal points) are all kept.
        """
        from .pareto import pareto_mask

        mask = pareto_mask(self.points(), tol=tol)
        cells = list(self.cells())
        return [c for c, keep in zip(cells, mask, strict=True) if keep]

    def best_responses(
        self, player: str, opponent: str | int | ArrayLike, tol: float = 1e-9
    ) -> list[str]:
        """The labels of ``player``'s best responses to the opponent's pure or mixed strategy.

        ``player`` is ``"user"`` or ``"assistant"``; ``opponent`` a label, an index or a
        probability vector over the opponent's strategies.
        """
        from .equilibria import best_responses

        return best_responses(self, player, opponent, tol=tol)

    def pure_nash_equilibria(self, tol: float = 1e-9) -> list[tuple[str, str]]:
        """All pure Nash equilibria (ties included) by exhaustive enumeration."""
        from .equilibria import pure_nash_equilibria

        return pure_nash_equilibria(self, tol=tol)

    def nash_equilibria(self, tol: float = 1e-9) -> list[tuple[np.ndarray, np.ndarray]]:
        """Nash equilibria as ``(user mix, assistant mix)`` probability vectors.

        Every pure equilibrium (exact enumeration) comes first, then the mixed ones found
        by nashpy's support enumeration, each verified as a mutual best response within
        ``tol`` and de-duplicated. In degenerate games (a continuum of equilibria) only
        extreme points are reported and a :class:`DegenerateGameWarning` is emitted.
        """
        from .equilibria import nash_equilibria

        return nash_equilibria(self, tol=tol)

    def is_nash(self, user_mix: ArrayLike, assistant_mix: ArrayLike, tol: float = 1e-7) -> bool:
        """Whether the mixed profile is a Nash equilibrium within ``tol``."""
        from .equilibria import is_nash

        return is_nash(self, user_mix, assistant_mix, tol=tol)

    def dominated(self, player: str, strict: bool = True) -> list[str]:
        """``player``'s strategies dominated by another pure strategy (strictly or weakly)."""
        from .dominance import dominated_strategies

        return dominated_strategies(self, player, strict=strict)

    def iterated_elimination(self, strict: bool = True) -> PayoffMatrix:
        """The game left after iterated elimination of dominated pure strategies."""
        from .dominance import iterated_elimination

        return iterated_elimination(self, strict=strict).game

    def welfare(self, welfare: Any = None, **params: Any) -> np.ndarray:
        """Welfare of every cell (shape ``(n, m)``) under a named or callable welfare function.

        ``disagreement`` may be a pair or a kind accepted by :meth:`disagreement_point`.
        """
        from .social_welfare import get_welfare

        d = params.pop("disagreement", None)
        if isinstance(d, str):
            d = self.disagreement_point(d)
        fn = get_welfare(welfare, disagreement=d, **params)
        return np.asarray(fn(self._u, self._l), dtype=float)

    def select(
        self,
        rule: str = "gtalign",
        user_strategy: str | int | ArrayLike | Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> Choice:
        """Choose a cell (a :class:`~gtalign_sim.game.selection.Choice`: ``user_strategy``,
        ``action``; a named tuple) with a named selection rule.

        See :func:`gtalign_sim.game.selection.select` for the rules and the meaning of
        ``user_strategy`` (a known row, ``None`` for a joint choice, or a belief).
        """
        from .selection import select

        return select(self, rule=rule, user_strategy=user_strategy, **kwargs)

    def analyze_dilemma(self, welfare: Any = "utilitarian", **kwargs: Any) -> DilemmaReport:
        """Social-dilemma analysis: see :func:`gtalign_sim.game.dilemma.analyze_dilemma`."""
        from .dilemma import analyze_dilemma

        return analyze_dilemma(self, welfare=welfare, **kwargs)


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about untrusted input."""
    try:
        text = repr(value)
    except ValueError:  # an int too large for repr under Python's digit limit
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _index(key: str | int, labels: tuple[str, ...], field: str) -> int:
    if isinstance(key, (bool, np.bool_)):
        raise ValueError(f"{field} must be a label or an index, got {key!r}")
    if isinstance(key, (int, np.integer)):
        if 0 <= int(key) < len(labels):
            return int(key)
        raise ValueError(f"{field} index {key} out of range; allowed: 0..{len(labels) - 1}")
    if isinstance(key, str) and key in labels:
        return labels.index(key)
    raise ValueError(f"unknown {field} {key!r}; allowed: {list(labels)}")
