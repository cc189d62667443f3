"""Independent learners for repeated matrix games (:class:`~gtalign_sim.envs.matrix_game.Policy`).

Each learner knows only its own payoffs, ``payoffs[own action, opponent action]`` (for
the user the matrix's ``user``; for the assistant ``llm.T``), sees the joint actions
played so far (the :class:`~gtalign_sim.envs.matrix_game.Policy` interface) and learns
from the payoff of the cell played — the reward the environment paid it. It models
neither the opponent's learning nor the history (stateless), and draws from its own
seeded ``numpy.random.Generator`` (never global random state).

* :class:`QLearner` — epsilon-greedy stateless Q-learning: ``Q[a] += α (r − Q[a])`` for the
  action played (``α = 1 / n(a)``, the sample average of ``a``'s payoffs, unless a constant
  step is given), a uniformly random action with probability ``ε``, else a greedy one
  (ties broken at random).
* :class:`RegretMatcher` — unconditional regret matching (Hart & Mas-Colell 2000): the
  cumulative regret of each action against the opponent's actually played actions, each
  action played with probability proportional to its positive regret; with none positive
  (what was played is already best in hindsight) the last action is repeated, and the
  first is uniform. Needs the counterfactual payoffs, hence the whole own payoff row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .matrix_game import JointAction, Policy

__all__ = ["QLearner", "RegretMatcher"]


def _payoffs(payoffs: ArrayLike) -> np.ndarray:
    p = np.array(payoffs, dtype=float)
    if p.ndim != 2 or p.size == 0 or not np.isfinite(p).all():
        raise ValueError(f"payoffs must be a finite 2-D array (own × opponent), got {p!r}")
    return p


def _rng(rng: np.random.Generator | int | Sequence[int] | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class _Learner(Policy):
    """Common bookkeeping: the own payoff matrix, the generator and the rounds seen."""

    def __init__(self, payoffs: ArrayLike, rng: Any = None) -> None:
        self.payoffs = _payoffs(payoffs)
        self.rng = _rng(rng)
        self._seen = 0

    def reset(self, num_actions: int) -> None:
        if num_actions != self.payoffs.shape[0]:
            raise ValueError(
                f"payoffs have {self.payoffs.shape[0]} own actions, the game {num_actions}"
            )
        super().reset(num_actions)
        self._seen = 0
        self._start()

    def _start(self) -> None:
        """Reset the learned state (called by :meth:`reset`)."""

    def _learn(self, own: int, opponent: int) -> None:
        """Update from one round played."""

    def act(self, history: Sequence[JointAction]) -> int:
        if self.num_actions is None:
            raise RuntimeError("call reset(num_actions) before act()")
        for own, opponent in history[self._seen :]:
            self._learn(int(own), int(opponent))
        self._seen = len(history)
        return self._choose()

    def _choose(self) -> int:
        raise NotImplementedError


class QLearner(_Learner):
    """Epsilon-greedy stateless Q-learning (``Q`` starts at ``initial`` for every action).

    Args:
        payoffs: own payoffs ``[own action, opponent action]``.
        epsilon: exploration probability in ``[0, 1]``.
        learning_rate: a constant ``α`` in ``(0, 1]``, or ``None`` for ``1 / n(a)`` (``Q[a]``
            is then the mean payoff of the rounds ``a`` was played, whatever ``initial``).
        initial: the starting value of every ``Q[a]``.
        rng: a ``Generator`` or a seed for one.
    """

    def __init__(
        self,
        payoffs: ArrayLike,
        epsilon: float = 0.1,
        learning_rate: float | None = None,
        initial: float = 0.0,
        rng: Any = None,
    ) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
        if learning_rate is not None and not 0.0 < learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate!r}")
        super().__init__(payoffs, rng)
        self.epsilon, self.learning_rate, self.initial = epsilon, learning_rate, float(initial)
        self.q = np.full(self.payoffs.shape[0], self.initial)
        self.n = np.zeros(self.payoffs.shape[0], dtype=int)

    def _start(self) -> None:
        self.q = np.full(self.payoffs.shape[0], self.initial)
        self.n = np.zeros(self.payoffs.shape[0], dtype=int)

    def _learn(self, own: int, opponent: int) -> None:
        self.n[own] += 1
        step = 1.0 / self.n[own] if self.learning_rate is None else self.learning_rate
        self.q[own] += step * (self.payoffs[own, opponent] - self.q[own])

    def _choose(self) -> int:
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(len(self.q)))
        best = np.flatnonzero(self.q == self.q.max())
        return int(best[0] if len(best) == 1 else self.rng.choice(best))


class RegretMatcher(_Learner):
    """Unconditional regret matching on the cumulative regrets of the rounds played."""

    def __init__(self, payoffs: ArrayLike, rng: Any = None) -> None:
        super().__init__(payoffs, rng)
        self._start()

    def _start(self) -> None:
        self.regret = np.zeros(self.payoffs.shape[0])
        self.last: int | None = None

    def _learn(self, own: int, opponent: int) -> None:
        column = self.payoffs[:, opponent]
        self.regret += column - column[own]
        self.last = own

    def _choose(self) -> int:
        positive = np.maximum(self.regret, 0.0)
        total = positive.sum()
        if total > 0.0:
            return int(self.rng.choice(len(positive), p=positive / total))
        if self.last is not None:
            return self.last
        return int(self.rng.integers(len(positive)))
