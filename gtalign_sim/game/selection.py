"""Selection rules: which cell (user strategy, assistant action) to play.

Rules, all selectable by name (see :data:`SELECTION_RULES`):

``gtalign``
    The GTAlign prompt's rule: restrict to the Pareto frontier, then maximise
    ``user + llm``, then the user's payoff, then the assistant's.
``max_product``
    The reference inference script's rule: maximise the raw product ``user · llm``
    (note the quirk: two negative payoffs give a positive product), ties broken at
    random when an ``rng`` is given, else by the ``gtalign`` order.
``max_welfare``
    Maximise any welfare function (``welfare=`` a name from
    :data:`gtalign_sim.game.WELFARE_FUNCTIONS` or a callable, ``welfare_params=``,
    ``disagreement=`` a pair or ``"min"``/``"maxmin"``/``"zero"``).
``nash``
    A Nash equilibrium chosen by welfare: with a joint choice, the pure equilibrium of
    highest welfare (else the mixed one of highest expected welfare, reporting its
    most likely cell); with a known or believed user strategy, the assistant's best
    response, ties broken by welfare.
``selfish_llm`` / ``selfish_user``
    Maximise one side's payoff, ties broken by the other side's.

``user_strategy`` may be a known row (label or index: the choice is among that row's
cells), ``None`` (a joint choice over all cells) or a *belief*: a probability vector
over the rows or a mapping ``{label: probability}``. Under a belief each action is
scored by its expected ``(user, llm)`` payoff and the rule is applied to those
expected payoffs; the returned strategy is the most likely row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .pareto import pareto_mask
from .social_welfare import get_welfare

if TYPE_CHECKING:
    from .matrix import PayoffMatrix

__all__ = ["SELECTION_RULES", "Choice", "action_scores", "resolve_belief", "select"]


class Choice(NamedTuple):
    """A selected cell; a plain ``(user_strategy, action)`` tuple."""

    user_strategy: str
    action: str


SELECTION_RULES: tuple[str, ...] = (
    "gtalign",
    "max_product",
    "max_welfare",
    "nash",
    "selfish_llm",
    "selfish_user",
)


def resolve_belief(game: PayoffMatrix, user_strategy: Any) -> np.ndarray | None:
    """Turn ``user_strategy`` into a probability vector over rows (``None`` = joint choice).

    A label or index gives a one-hot vector; a mapping ``{label: p}`` or a vector is
    validated (non-negative, sums to 1 within 1e-6, labels known).
    """
    n = game.shape[0]
    if user_strategy is None:
        return None
    if isinstance(user_strategy, (str, int, np.integer)) and not isinstance(user_strategy, bool):
        out = np.zeros(n)
        out[game.row_index(user_strategy)] = 1.0
        return out
    if isinstance(user_strategy, Mapping):
        vec = np.zeros(n)
        for key, p in user_strategy.items():
            vec[game.row_index(key)] = float(p)
    else:
        try:
            vec = np.asarray(user_strategy, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                "user_strategy must be a row label, an index, None, a probability vector or "
                f"a mapping {{label: p}}; got {user_strategy!r}"
            ) from None
        if vec.shape != (n,):
            raise ValueError(
                f"a belief over user strategies needs {n} probabilities "
                f"({list(game.user_strategies)}), got shape {vec.shape}"
            )
    if not np.isfinite(vec).all() or (vec < 0).any() or not np.isclose(vec.sum(), 1.0, atol=1e-6):
        raise ValueError(f"a belief must be non-negative and sum to 1, got {vec.tolist()}")
    return vec / vec.sum()


def _lexmax(candidates: list[int], keys: list[np.ndarray], tol: float) -> list[int]:
    """Filter ``candidates`` by maximising each key in turn (ties within ``tol`` kept)."""
    for key in keys:
        vals = key[candidates]
        best = vals.max()
        candidates = [c for c, v in zip(candidates, vals, strict=True) if v >= best - tol]
        if len(candidates) == 1:
            break
    return candidates


def _gtalign_order(u: np.ndarray, l: np.ndarray) -> list[np.ndarray]:
    return [u + l, u, l]


def action_scores(game: PayoffMatrix, belief: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected ``(user, llm)`` payoff of each action under a belief over the rows."""
    return belief @ game.user, belief @ game.llm


def select(
    game: PayoffMatrix,
    rule: str = "gtalign",
    user_strategy: Any = None,
    *,
    welfare: str | Callable[..., Any] | None = None,
    welfare_params: Mapping[str, Any] | None = None,
    disagreement: tuple[float, float] | str | None = None,
    rng: np.random.Generator | None = None,
    tol: float = 1e-9,
) -> Choice:
    """Choose a cell with ``rule``; see the module docstring for rules and beliefs.

    Deterministic unless ``rng`` is given (then remaining exact ties are broken
    uniformly at random with it). Raises ``ValueError`` naming the allowed rules for an
    unknown rule.
    """
    if rule not in SELECTION_RULES:
        raise ValueError(f"unknown selection rule {rule!r}; allowed: {list(SELECTION_RULES)}")
    belief = resolve_belief(game, user_strategy)
    if isinstance(disagreement, str):
        disagreement = game.disagreement_point(disagreement)
    wfn = get_welfare(welfare, disagreement=disagreement, **dict(welfare_params or {}))

    if rule == "nash":
        return _select_nash(game, belief, wfn, rng, tol)

    if belief is None:
        u, l = game.user.ravel(), game.llm.ravel()
        n_actions = game.shape[1]

        def to_choice(k: int) -> Choice:
            return Choice(
                game.user_strategies[k // n_actions], game.assistant_actions[k % n_actions]
            )
    else:
        u, l = action_scores(game, belief)
        row = game.user_strategies[int(np.argmax(belief))]

        def to_choice(k: int) -> Choice:
            return Choice(row, game.assistant_actions[k])

    candidates = list(range(len(u)))
    if rule == "gtalign":
        mask = pareto_mask(np.stack([u, l], axis=1), tol=tol)
        candidates = [c for c in candidates if mask[c]]
        keys = _gtalign_order(u, l)
    elif rule == "max_product":
        keys = [u * l, *_gtalign_order(u, l)]
    elif rule == "max_welfare":
        keys = [np.asarray(wfn(u, l), dtype=float), *_gtalign_order(u, l)]
    elif rule == "selfish_llm":
        keys = [l, u]
    else:  # selfish_user
        keys = [u, l]
    if rng is not None and rule == "max_product":
        keys = keys[:1]  # the reference breaks product ties at random
    best = _lexmax(candidates, keys, tol)
    pick = best[0] if rng is None or len(best) == 1 else best[int(rng.integers(len(best)))]
    return to_choice(pick)


def _select_nash(
    game: PayoffMatrix,
    belief: np.ndarray | None,
    wfn: Callable[[Any, Any], Any],
    rng: np.random.Generator | None,
    tol: float,
) -> Choice:
    import warnings

    from .equilibria import DegenerateGameWarning, nash_equilibria, pure_nash_equilibria

    if belief is not None:
        eu, el = action_scores(game, belief)
        best_resp = [j for j in range(len(el)) if el[j] >= el.max() - tol]
        w = np.asarray(wfn(eu, el), dtype=float)
        pick = _lexmax(best_resp, [w, eu], tol)
        j = pick[0] if rng is None or len(pick) == 1 else pick[int(rng.integers(len(pick)))]
        return Choice(game.user_strategies[int(np.argmax(belief))], game.assistant_actions[j])

    pure = pure_nash_equilibria(game, tol=tol)
    if pure:
        w_cells = np.asarray(wfn(game.user, game.llm), dtype=float)
        scores = [w_cells[game.row_index(s), game.col_index(a)] for s, a in pure]
        best = max(scores)
        tied = [c for c, s in zip(pure, scores, strict=True) if s >= best - tol]
        c = tied[0] if rng is None or len(tied) == 1 else tied[int(rng.integers(len(tied)))]
        return Choice(*c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateGameWarning)
        eqs = nash_equilibria(game, tol=tol)
    w_cells = np.asarray(wfn(game.user, game.llm), dtype=float)
    values = [float(x @ w_cells @ y) for x, y in eqs]
    x, y = eqs[int(np.argmax(values))]
    return Choice(
        game.user_strategies[int(np.argmax(x))], game.assistant_actions[int(np.argmax(y))]
    )
