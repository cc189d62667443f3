"""The default simulated user: a strategic, rule-based :class:`ParametricUser`.

It chooses between a detailed (DQ) and a vague (VQ) question by the expected gain of
each, computed with the game's own rules (:class:`gtalign_sim.core.Planner`) for its own
profile and intent: effort of detail, expected rounds, reading, money under its pricing
plan, wrong-answer risk and discounted quality — under its *belief* about how the
assistant opens on each kind of question (a Dirichlet over the 9 actions per strategy,
the assistant answering directly afterwards), plus a learnt correction:

* ``EU(s) = Σ_a belief(a | s) · E[U | profile, intent, s, a] + residual(s)``;
* ``P(VQ) = σ(rationality · (EU(VQ) − EU(DQ)) + vague_bias)``.

With ``learn=True`` beliefs are kept per user type (persona × pricing plan) and learnt
from outcomes after every episode, with recency: the assistant's opening action is added
to the type's counts (older counts decay by ``recency``), and ``residual(s)`` tracks the
exponentially weighted gap between the user gain experienced and the gain predicted.
The default (``learn=False``) keeps users stationary, so assistants compared on the same
seeds face exactly the same questions. The oracle assistant computes the same choice
probabilities for its particles with :meth:`ParametricUser.vague_probabilities`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends.template import TemplateRenderer
from ..core import Planner, Rows
from ..core.vocab import MODES, N_ACTIONS, VERBOSITIES, Strategy, Verbosity, encode_action
from .base import BaseUser
from .profile import UserProfile
from .world import TaskTables, WorldConfig

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = ["ParametricUser", "strategy_values"]

_THEN = encode_action("DA", int(Verbosity.STANDARD))


_VALUES: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()


def strategy_values(
    task: Task, profiles: Sequence[UserProfile], world: WorldConfig, pricing: str
) -> np.ndarray:
    """``E[U]`` of each (profile, intent, strategy, first action): array ``(K, T, 2, 9)``.

    The user's own model: its profile, the world's rules, the assistant taking the
    action first and answering directly (standard verbosity) afterwards. Memoised for
    the process (a pure function of its arguments).
    """
    key = (task.id, hash(task), tuple(profiles), repr(world), pricing)
    hit = _VALUES.get(key)
    if hit is None:
        hit = _strategy_values(task, profiles, world, pricing)
        _VALUES[key] = hit
        if len(_VALUES) > 1024:  # bounded: a run's memory stays flat in its length
            _VALUES.popitem(last=False)
    return hit


def _strategy_values(
    task: Task, profiles: Sequence[UserProfile], world: WorldConfig, pricing: str
) -> np.ndarray:
    tables = TaskTables.cached(task)
    n_t = tables.n_intents
    k_n = len(profiles)
    rows = Rows.build(profiles, n_t, np.ones(n_t), np.ones((k_n, n_t, 2)))
    planner = Planner(tables, world, pricing, rows, objective="user")
    values, _ = planner.action_values((), np.arange(len(rows)), len(rows), _THEN)
    return values[..., 1].reshape(k_n, n_t, 2, N_ACTIONS)


def _choice(eu: Any, rationality: Any, vague_bias: Any) -> Any:
    """P(VQ) of the logit choice over ``eu[..., s]`` = ``[EU(DQ), EU(VQ)]`` (the one place
    the choice model is written; every caller goes through it)."""
    return _logistic(rationality * (eu[..., 1] - eu[..., 0]) + vague_bias)


def _logistic(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


class ParametricUser(BaseUser):
    """A strategic rule-based user (the default simulator).

    Args:
        world: the game's mechanics.
        renderer: the text source.
        belief_prior: Dirichlet pseudo-counts of the initial belief about the assistant's
            opening, per strategy: ``{"DQ": [...], "VQ": [...]}`` with 3 counts (DA, CQ,
            AQ; spread evenly over verbosities) or 9 (every action). Default: uniform.
        learn: learn beliefs and residuals per user type from outcomes (off by default).
        recency: with ``learn``, the weight kept by older counts and residuals per episode.
    """

    def __init__(
        self,
        world: WorldConfig | None = None,
        renderer: TemplateRenderer | None = None,
        belief_prior: Mapping[str, Any] | None = None,
        learn: bool = False,
        recency: float = 0.98,
    ) -> None:
        super().__init__(world, renderer)
        self.prior = _prior_counts(belief_prior)
        if not isinstance(learn, bool):
            raise ValueError(f"user.learn must be true or false, got {learn!r}")
        if not 0.0 < float(recency) <= 1.0:
            raise ValueError(f"user.recency must be in (0, 1], got {recency!r}")
        self.learn = learn
        self.recency = float(recency)
        self.counts: dict[tuple[str, str], np.ndarray] = {}
        self.residual: dict[tuple[str, str], np.ndarray] = {}
        self.last_p_vague: float = float("nan")
        self._predicted: np.ndarray | None = None

    # ------------------------------------------------------------------ beliefs
    def belief_of(self, persona: str, pricing: str) -> np.ndarray:
        """``(2, 9)`` believed P(opening action | strategy) of a user type."""
        c = self.counts.get((persona, pricing), self.prior)
        return c / c.sum(axis=1, keepdims=True)

    def residual_of(self, persona: str, pricing: str) -> np.ndarray:
        """``(2,)`` learnt correction of the expected gain of DQ and VQ for a user type."""
        return self.residual.get((persona, pricing), np.zeros(2))

    @property
    def belief(self) -> np.ndarray:
        """``(2, 3)`` believed P(opening mode | strategy), pooled over types (a summary)."""
        counts = sum(self.counts.values(), np.zeros((2, N_ACTIONS))) if self.counts else self.prior
        by_mode = np.asarray(counts).reshape(2, len(MODES), len(VERBOSITIES)).sum(axis=2)
        return by_mode / by_mode.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ choice
    def expected_gains(self, task: Task, profile: UserProfile) -> np.ndarray:
        """``[EU(DQ), EU(VQ)]`` of this user for ``task`` (see the module docstring)."""
        t = [it.id for it in task.interpretations].index(profile.intent)
        vals = strategy_values(task, [profile.with_intent("")], self.world, profile.pricing)[0, t]
        belief = self.belief_of(profile.persona, profile.pricing)
        return (belief * vals).sum(axis=1) + self.residual_of(profile.persona, profile.pricing)

    def p_vague(self, task: Task, profile: UserProfile) -> float:
        """This user's probability of asking vaguely about ``task``."""
        eu = self.expected_gains(task, profile)
        return float(_choice(eu, profile.rationality, profile.vague_bias))

    @staticmethod
    def choice_probability(
        values: Any, belief: Any, residual: Any, rationality: Any, vague_bias: Any
    ) -> np.ndarray:
        """P(VQ) of the logit choice model, vectorised over users (batched engines).

        ``values[..., s, a]`` is ``E[U]`` of strategy ``s`` and first action ``a`` (as
        :func:`strategy_values`), ``belief`` the same shape (:meth:`belief_of`),
        ``residual[..., s]`` (:meth:`residual_of`); the rest broadcast over users.
        """
        eu = (np.asarray(belief) * np.asarray(values)).sum(axis=-1) + np.asarray(residual)
        return np.asarray(_choice(eu, np.asarray(rationality), np.asarray(vague_bias)), float)

    def vague_probabilities(
        self, task: Task, profiles: Sequence[UserProfile], pricing: str
    ) -> np.ndarray:
        """``(K, T)`` P(VQ) for hypothetical ``profiles`` and every intent of ``task``
        (what the oracle uses: exactly this user model, vectorised)."""
        vals = strategy_values(task, profiles, self.world, pricing)  # (K, T, 2, 9)
        by_type: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for p in profiles:  # one belief and residual per persona (of this plan)
            if p.persona not in by_type:
                by_type[p.persona] = (
                    self.belief_of(p.persona, pricing),
                    self.residual_of(p.persona, pricing),
                )
        belief = np.stack([by_type[p.persona][0] for p in profiles])  # (K, 2, 9)
        residual = np.stack([by_type[p.persona][1] for p in profiles])  # (K, 2)
        eu = (belief[:, None] * vals).sum(axis=-1) + residual[:, None]  # (K, T, 2)
        rat = np.array([p.rationality for p in profiles])[:, None]
        bias = np.array([p.vague_bias for p in profiles])[:, None]
        return _choice(eu, rat, bias)

    def reset(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> Any:
        """As :meth:`BaseUser.reset` (a forced strategy skips the choice and the prediction)."""
        self._predicted = None
        return super().reset(task, profile, rng)

    def choose_strategy(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> str:
        """Draw DQ/VQ from the logit choice model (one uniform draw from ``rng``)."""
        self._predicted = self.expected_gains(task, profile)
        self.last_p_vague = float(_choice(self._predicted, profile.rationality, profile.vague_bias))
        return Strategy.VQ.value if rng.random() < self.last_p_vague else Strategy.DQ.value

    # ---------------------------------------------------------------- learning
    def observe_episode(self, record: Mapping[str, Any]) -> None:
        """Learn from the episode (``learn=True`` only): the assistant's opening action
        and the gap between the user gain experienced and the gain predicted."""
        if not self.learn:
            return
        strategy = record.get("strategy")
        actions = record.get("actions") or []
        profile = record.get("profile") or {}
        if strategy not in (Strategy.DQ.value, Strategy.VQ.value) or not actions:
            return
        key = (str(profile.get("persona")), str(profile.get("pricing")))
        s = 0 if strategy == Strategy.DQ.value else 1
        counts = self.counts.setdefault(key, self.prior.copy())
        counts[s] = self.recency * counts[s] + (1 - self.recency) * self.prior[s]
        counts[s, int(actions[0])] += 1.0
        welfare = record.get("user_welfare")
        if self._predicted is None or welfare is None:  # forced strategy or failed episode
            return
        res = self.residual.setdefault(key, np.zeros(2))
        gap = float(welfare) - float(self._predicted[s] - res[s])
        res[s] = self.recency * res[s] + (1 - self.recency) * gap


def _prior_counts(prior: Mapping[str, Any] | None) -> np.ndarray:
    if prior is None:
        return np.ones((2, N_ACTIONS))
    try:
        rows = [np.asarray(prior["DQ"], float), np.asarray(prior["VQ"], float)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "user.belief_prior must map 'DQ' and 'VQ' to 3 (DA, CQ, AQ) or 9 pseudo-counts, "
            f"got {prior!r}"
        ) from None
    out = []
    for r in rows:
        if r.shape == (len(MODES),):
            r = np.repeat(r / len(VERBOSITIES), len(VERBOSITIES))
        if r.shape != (N_ACTIONS,) or not np.isfinite(r).all() or (r <= 0).any():
            raise ValueError(
                "user.belief_prior counts must be 3 or 9 positive numbers per strategy, "
                f"got {r.tolist()}"
            )
        out.append(r)
    return np.stack(out)
