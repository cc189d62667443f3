"""Assistants that reason with a model of the game: GTAlign and exact best responses.

All of them know the game's rules (:mod:`gtalign_sim.core.rules`, parameters
:class:`~gtalign_sim.core.WorldConfig`) and plan with :class:`gtalign_sim.core.Planner`.

* :class:`GTAlignAssistant` (public view only) knows the user *population* (a prior over
  hidden profiles, from which it draws particles) and reads the question type from the
  message. It estimates the expected gains ``(U, L)`` of each (DQ/VQ, DA/CQ/AQ) cell
  (taking the mode now, then direct standard answers), builds the 2×3
  :class:`~gtalign_sim.game.PayoffMatrix` and selects a cell with a rule: ``gtalign``
  (the prompt's rule: Pareto frontier, then max U+L) or Cobb–Douglas (max √(U·L) on
  gains, the training reward's rule; assistant ``gtalign_cd``).
* :class:`OracleAssistant` (privileged) is the exact best response to an objective on
  gains — ``mutual`` √(U⁺·L⁺) (``oracle``), ``llm`` (``selfish_llm``), ``user``
  (``user_only``) or ``sum`` (``linear_welfare``): expectimax over every action sequence,
  with the users' own model of the DQ/VQ choice (the simulator itself, from the
  privileged view) for P(question type | profile, intent).
* :class:`ClairvoyantAssistant` (privileged) also knows the episode's hidden profile and
  intent: the ceiling no policy can reach on average.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isfinite
from typing import Any

import numpy as np

from ..backends.template import MODES, VERBOSITIES, TemplateRenderer
from ..core import N_ACTIONS, Planner, Rows, WorldConfig, encode_action
from ..game import PayoffMatrix
from ..users import TaskTables, UserPopulation
from .base import Decision, past_actions

__all__ = [
    "ClairvoyantAssistant",
    "GTAlignAssistant",
    "ModelBasedAssistant",
    "OracleAssistant",
    "to_payoff_scale",
]

_DEFAULT_CONTINUATION = encode_action("DA", 1)


def to_payoff_scale(x: np.ndarray) -> np.ndarray:
    """Map welfare gains (about [-1, 1]) onto the GTAlign payoff scale (about [-5, 5])."""
    return 5.0 * np.asarray(x, float)


def _one_hot_strategy(info: Mapping[str, Any]) -> np.ndarray:
    qt = info.get("question_type")
    if qt == "DQ":
        return np.array([1.0, 0.0])
    if qt == "VQ":
        return np.array([0.0, 1.0])
    return np.array([0.5, 0.5])


class ModelBasedAssistant:
    """Shared machinery: task tables (cached), particles from the population prior.

    Args:
        world: the game's mechanics (should match the environment's).
        population: the prior over users (a UserPopulation or a config mapping).
        n_particles: profiles drawn from the prior per pricing plan (stratified by persona).
        seed: seed of the particle draw.
        name: the assistant's name in records.
    """

    name = "model_based"
    privileged = False

    def __init__(
        self,
        world: WorldConfig | Mapping[str, Any] | None = None,
        population: UserPopulation | Mapping[str, Any] | None = None,
        n_particles: int = 16,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        self.world = world if isinstance(world, WorldConfig) else WorldConfig.from_config(world)
        if population is None:
            population = UserPopulation()
        elif not isinstance(population, UserPopulation):
            population = UserPopulation.from_config(population)
        self.population = population
        if isinstance(n_particles, bool) or int(n_particles) < 1:
            raise ValueError(f"n_particles must be an integer >= 1, got {n_particles!r}")
        self.n_particles = int(n_particles)
        self.seed = int(seed)
        if name is not None:
            self.name = name
        self.renderer = TemplateRenderer()
        self._particles: dict[str, list[Any]] = {}

    def reset(self, seed: int | None = None) -> None:
        """Redraw particles on the next use (``seed`` replaces the constructor's)."""
        if seed is not None:
            self.seed = int(seed)
        self._particles = {}

    def tables(self, task: Any) -> TaskTables:
        """Rendered-and-judged facts of ``task`` (cached)."""
        return TaskTables.cached(task, self.renderer)

    def particles(self, pricing: str) -> list[Any]:
        """Profiles drawn from the population prior with the observed plan, stratified by
        persona (largest-remainder allocation of the mixture weights)."""
        ps = self._particles.get(pricing)
        if ps is None:
            rng = np.random.default_rng([self.seed, sum(map(ord, pricing))])
            w = self.population.persona_weights
            counts = np.floor(w * self.n_particles).astype(int)
            rest = self.n_particles - counts.sum()
            counts[np.argsort(-(w * self.n_particles - counts))[:rest]] += 1
            ps = [
                persona.sample(rng, pricing=pricing)
                for persona, c in zip(self.population.personas, counts, strict=True)
                for _ in range(int(c))
            ]
            self._particles[pricing] = ps
        return ps

    def strategy_weights(
        self, task: Any, profiles: list[Any], info: Mapping[str, Any]
    ) -> np.ndarray:
        """Weights ``(K, T, 2)`` of (DQ, VQ) per particle and intent (uniform here)."""
        return np.ones((len(profiles), len(task.interpretations), 2))

    def planner(
        self, info: Mapping[str, Any], objective: Any = "sum", condition: bool = False
    ) -> Planner:
        """A planner over this assistant's hypotheses for the current episode
        (``condition``: keep only the observed question type)."""
        task = info["task"]
        profiles = self.particles(info["pricing"])
        sw = self.strategy_weights(task, profiles, info)
        if condition:
            sw = sw * _one_hot_strategy(info)
        prior = np.array([it.prior for it in task.interpretations], float)
        rows = Rows.build(profiles, len(prior), prior, sw)
        return Planner(self.tables(task), self.world, info["pricing"], rows, objective)


class GTAlignAssistant(ModelBasedAssistant):
    """The GTAlign assistant: payoff matrix over (DQ, VQ) × (DA, CQ, AQ), then a rule.

    Args:
        rule: selection rule from :data:`gtalign_sim.game.SELECTION_RULES`; with
            ``"max_welfare"``, ``welfare`` names the welfare function (e.g.
            ``"cobb_douglas"``, at disagreement point zero: gains).
        welfare: the welfare function of ``rule="max_welfare"``.
        trace: render the four-block trace for each decision.
        steering: ``none`` | ``reference`` | ``token_cost`` — select the cell on the
            matrix steered for the user's pricing plan
            (:func:`~gtalign_sim.agents.steering.steer_matrix`); the recorded payoff
            stays the assistant's own estimate, the steering is noted in ``estimates``.
        money_to_payoff: the token-cost steering's payoff units per dollar (default:
            the world's money value on the payoff scale).
        **kwargs: see :class:`ModelBasedAssistant`.
    """

    name = "gtalign"

    def __init__(
        self,
        rule: str = "gtalign",
        welfare: str | None = None,
        trace: bool = True,
        steering: str = "none",
        money_to_payoff: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from ..game import SELECTION_RULES
        from .steering import STEERING

        if rule not in SELECTION_RULES:
            raise ValueError(f"unknown selection rule {rule!r}; allowed: {list(SELECTION_RULES)}")
        if steering not in STEERING:
            raise ValueError(f"steering {steering!r} unknown; allowed: {list(STEERING)}")
        self.rule = rule
        self.welfare = welfare
        self.trace = bool(trace)
        self.steering = steering
        self.money_to_payoff = money_to_payoff

    def cell_estimates(self, planner: Planner, prefix: list[int]) -> np.ndarray:
        """``E[U], E[L]`` (gains) per (strategy, mode, verbosity): array ``(2, 3, 3, 2)``,
        taking the action now and answering directly (standard verbosity) afterwards."""
        values, mass = planner.action_values(
            prefix, planner.rows.strategy, 2, _DEFAULT_CONTINUATION
        )
        out = values[..., 1:].reshape(2, len(MODES), len(VERBOSITIES), 2)
        for s in (0, 1):  # a strategy ruled out by the history gets the other's values
            if mass[s] <= 0 or np.isnan(out[s]).all():
                out[s] = out[1 - s]
        return out

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """Estimate the payoff matrix, select a cell with the rule, pick its verbosity."""
        planner = self.planner(info)
        prefix = past_actions(info)
        belief = _one_hot_strategy(info)
        est = self.cell_estimates(planner, prefix)  # (2, 3, 3, 2)
        if self.rule == "max_welfare" and self.welfare == "cobb_douglas":
            score = np.sqrt(np.clip(est[..., 0], 0, None) * np.clip(est[..., 1], 0, None))
        else:
            score = est.sum(axis=-1)
        v_star = np.argmax(np.einsum("s,smv->mv", belief, score), axis=1)  # per mode
        cells = est[:, np.arange(len(MODES)), v_star]  # (2, 3, 2)
        matrix = PayoffMatrix(
            user=to_payoff_scale(cells[..., 0]), llm=to_payoff_scale(cells[..., 1])
        )
        kwargs: dict[str, Any] = {}
        if self.rule == "max_welfare":
            kwargs = {"welfare": self.welfare or "cobb_douglas", "disagreement": (0.0, 0.0)}
        choice = matrix.select(self.rule, user_strategy=belief, **kwargs)
        estimates: dict[str, Any] = {}
        if self.steering != "none":
            from .steering import steer_matrix

            pricing = str(info.get("pricing", "subscription"))
            steered = steer_matrix(matrix, self.steering, pricing, self.world, self.money_to_payoff)
            before = choice
            choice = steered.select(self.rule, user_strategy=belief, **kwargs)
            estimates["steering"] = {
                "mode": self.steering,
                "before": before.action,
                "after": choice.action,
                "changed": before.action != choice.action,
            }
        m = MODES.index(choice.action)
        action = encode_action(choice.action, int(v_star[m]))
        decision = Decision(
            action,
            payoff=matrix,
            belief=belief,
            estimates={
                "user": float(belief @ cells[:, m, 0]),
                "llm": float(belief @ cells[:, m, 1]),
                **estimates,
            },
        )
        if self.trace:
            decision.trace = self._render_trace(matrix, choice, info, action)
        return decision

    def _render_trace(
        self, matrix: PayoffMatrix, choice: Any, info: Mapping[str, Any], action: int
    ) -> str:
        from ..protocol import render

        task = info["task"]
        v = action % len(VERBOSITIES)
        response = self.renderer.assistant_turn(task, choice.action, v, task.most_likely().id, True)
        for tag in ("thinking", "payoff", "analyze", "response"):
            response = response.replace(f"<{tag}>", "").replace(f"</{tag}>", "")
        return render(matrix.rounded(1), (choice.user_strategy, choice.action), response)


class OracleAssistant(ModelBasedAssistant):
    """The exact best response to ``objective`` (on gains) for the simulated users.

    Privileged: plans with the users' own DQ/VQ choice model (``privileged["user_model"]``
    with its ``vague_probabilities``) for P(question type | profile, intent), conditions
    on the observed question type and on the conversation so far, and searches every
    action sequence (expectimax). With ``n_particles`` profiles it is exact for that
    K-point approximation of the population (see ``docs/model.md`` for convergence).

    Args:
        objective: ``"mutual"``, ``"sum"``, ``"user"`` or ``"llm"``.
    """

    name = "oracle"
    privileged = True
    _NAMES: dict[str, str] = {  # noqa: RUF012
        "mutual": "oracle",
        "llm": "selfish_llm",
        "user": "user_only",
        "sum": "linear_welfare",
    }

    def __init__(self, objective: str = "mutual", n_particles: int = 64, **kwargs: Any) -> None:
        if objective not in self._NAMES:
            raise ValueError(f"unknown objective {objective!r}; allowed: {sorted(self._NAMES)}")
        kwargs.setdefault("name", self._NAMES[objective])
        super().__init__(n_particles=n_particles, **kwargs)
        self.objective = objective
        self._pv_cache: dict[tuple[Any, ...], np.ndarray] = {}

    def strategy_weights(
        self, task: Any, profiles: list[Any], info: Mapping[str, Any]
    ) -> np.ndarray:
        """P(DQ), P(VQ) per particle and intent from the users' own model."""
        model = (info.get("privileged") or {}).get("user_model")
        fn = getattr(model, "vague_probabilities", None)
        if fn is None:
            return super().strategy_weights(task, profiles, info)
        key = (task.id, info["pricing"], id(model), _belief_key(model))
        p_vq = self._pv_cache.get(key)
        if p_vq is None:
            p_vq = np.asarray(fn(task, profiles, info["pricing"]), float)
            if len(self._pv_cache) > 2048:
                self._pv_cache.clear()
            self._pv_cache[key] = p_vq
        return np.stack([1 - p_vq, p_vq], axis=-1)

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """The first action of the best plan found by exhaustive expectimax."""
        planner = self.planner(info, objective=self.objective, condition=True)
        res = planner.best(past_actions(info), candidates=tuple(range(N_ACTIONS)))
        est = {"value": res.value, "user": res.user, "llm": res.llm}
        return Decision(
            res.actions[0],
            belief=_one_hot_strategy(info),
            estimates={k: v for k, v in est.items() if isfinite(v)},
        )


class ClairvoyantAssistant(OracleAssistant):
    """The ceiling: the best response that also knows the hidden profile and intent."""

    name = "clairvoyant"
    _NAMES: dict[str, str] = {  # noqa: RUF012
        "mutual": "clairvoyant",
        "llm": "clairvoyant_llm",
        "user": "clairvoyant_user",
        "sum": "clairvoyant_sum",
    }

    def planner(
        self, info: Mapping[str, Any], objective: Any = "sum", condition: bool = False
    ) -> Planner:
        """One row: the episode's own profile, intent and question type."""
        priv = info.get("privileged") or {}
        profile = priv.get("profile")
        if profile is None:
            raise ValueError("ClairvoyantAssistant needs the privileged view (profile, intent)")
        task = info["task"]
        ids = [it.id for it in task.interpretations]
        prior = np.zeros(len(ids))
        prior[ids.index(priv["intent"])] = 1.0
        sw = np.ones((1, len(ids), 2)) * _one_hot_strategy(info)
        rows = Rows.build([profile], len(ids), prior, sw)
        return Planner(self.tables(task), self.world, info["pricing"], rows, objective)


def _belief_key(model: Any) -> Any:
    counts = getattr(model, "counts", None)
    if not counts:
        return 0
    return hash(tuple(sorted((k, v.tobytes()) for k, v in counts.items()))) ^ hash(
        tuple(sorted((k, v.tobytes()) for k, v in getattr(model, "residual", {}).items()))
    )
