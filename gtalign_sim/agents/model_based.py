"""Assistants that reason with a model of the game: GTAlign, objective baselines, oracle.

All of them know the game's mechanics (:class:`~gtalign_sim.users.WorldConfig`), the
user *population* (a prior over hidden profiles, from which they draw particles) and
the pricing plan they observe — never the episode's hidden profile or intent.

* :class:`GTAlignAssistant` forms a belief over the user's strategy (DQ/VQ) from the
  specificity cue, estimates the expected ``(U, L)`` of each (strategy, mode) cell
  (taking the mode now, then direct standard answers), builds the 2×3
  :class:`~gtalign_sim.game.PayoffMatrix` and selects with a rule from
  :mod:`gtalign_sim.game` (the GTAlign rule by default), rendering the four-block trace.
* :class:`ObjectiveAssistant` uses the same estimates but picks the action that
  maximises ``E[L]`` (``selfish_llm``), ``E[U]`` (``user_only``) or ``E[U+L]``
  (``linear_welfare``) under the belief.
* :class:`OracleAssistant` solves the game tree exactly (expectimax over all action
  sequences) for ``E[√(U·L)]`` under the population prior, including the users' own
  strategic choice model and their current belief about the assistant (privileged
  information the environment exposes for it): the ceiling for the others.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from math import lgamma, log
from typing import Any, ClassVar

import numpy as np

from ..backends.template import MODES, VERBOSITIES, TemplateRenderer
from ..game import PayoffMatrix
from ..users import (
    N_ACTIONS,
    TaskTables,
    UserPopulation,
    WorldConfig,
    encode_action,
    vague_probability,
)
from .base import Decision, past_actions
from .planning import Planner, Rows

__all__ = ["GTAlignAssistant", "ModelBasedAssistant", "ObjectiveAssistant", "OracleAssistant"]

_DEFAULT_CONTINUATION = encode_action("DA", 1)


def _beta_logpdf(x: float, a: float, b: float) -> float:
    x = min(max(x, 1e-6), 1 - 1e-6)
    return (a - 1) * log(x) + (b - 1) * log(1 - x) + lgamma(a + b) - lgamma(a) - lgamma(b)


def to_payoff_scale(x: np.ndarray) -> np.ndarray:
    """Map welfare in [0, 1] onto the GTAlign payoff scale [-5, 5]."""
    return 10.0 * (np.asarray(x, float) - 0.5)


class ModelBasedAssistant:
    """Shared machinery: task tables (cached), particles, the cue posterior.

    Args:
        world: the game's mechanics (should match the environment's).
        population: the prior over users (a UserPopulation or a config mapping).
        n_particles: profiles drawn from the prior per pricing plan.
        prior_vague: prior probability that a question is vague (before the cue).
        seed: seed of the particle draw.
    """

    name = "model_based"

    def __init__(
        self,
        world: WorldConfig | Mapping[str, Any] | None = None,
        population: UserPopulation | Mapping[str, Any] | None = None,
        n_particles: int = 16,
        prior_vague: float = 0.5,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        self.world = world if isinstance(world, WorldConfig) else WorldConfig.from_config(world)
        if population is None:
            population = UserPopulation()
        elif not isinstance(population, UserPopulation):
            population = UserPopulation.from_config(population)
        self.population = population
        if n_particles < 1:
            raise ValueError(f"n_particles must be >= 1, got {n_particles}")
        if not 0.0 < prior_vague < 1.0:
            raise ValueError(f"prior_vague must be in (0, 1), got {prior_vague}")
        self.n_particles = int(n_particles)
        self.prior_vague = float(prior_vague)
        self.seed = int(seed)
        if name is not None:
            self.name = name
        self.renderer = TemplateRenderer()
        self._tables: OrderedDict[str, TaskTables] = OrderedDict()
        self._particles: dict[str, list[Any]] = {}

    def reset(self, seed: int | None = None) -> None:
        """Redraw particles on the next use (``seed`` replaces the constructor's)."""
        if seed is not None:
            self.seed = int(seed)
        self._particles = {}

    # ------------------------------------------------------------------ caches
    def tables(self, task: Any) -> TaskTables:
        """Rendered-and-judged facts of ``task`` (LRU-cached by id)."""
        return TaskTables.cached(task, self.renderer)

    def particles(self, pricing: str) -> list[Any]:
        """Profiles drawn from the population prior with the observed plan."""
        ps = self._particles.get(pricing)
        if ps is None:
            rng = np.random.default_rng([self.seed, sum(map(ord, pricing))])
            # stratified by persona (largest-remainder allocation of the mixture weights)
            # so a small particle set does not misrepresent the population's mix
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

    def cue_likelihood(self, cue: float) -> np.ndarray:
        """``[p(cue | DQ), p(cue | VQ)]`` under the world's Beta cue model."""
        if cue is None or np.isnan(cue):
            return np.ones(2)
        lp = np.array(
            [_beta_logpdf(cue, *self.world.cue_dq), _beta_logpdf(cue, *self.world.cue_vq)]
        )
        return np.exp(lp - lp.max())

    def strategy_weights(
        self, task: Any, profiles: list[Any], info: Mapping[str, Any]
    ) -> np.ndarray:
        """Weights ``(K, T, 2)`` of (DQ, VQ) per particle and intent before the cue."""
        w = np.array([1 - self.prior_vague, self.prior_vague])
        return np.broadcast_to(w, (len(profiles), len(task.interpretations), 2)).copy()

    def planner(self, info: Mapping[str, Any], objective: Any = "sum") -> Planner:
        """A planner over this assistant's hypotheses for the current episode."""
        task = info["task"]
        profiles = self.particles(info["pricing"])
        sw = self.strategy_weights(task, profiles, info) * self.cue_likelihood(info.get("cue"))
        prior = np.array([it.prior for it in task.interpretations], float)
        rows = Rows.build(profiles, len(prior), prior, sw)
        return Planner(self.tables(task), self.world, info["pricing"], rows, objective)

    def belief(self, planner: Planner) -> np.ndarray:
        """Posterior ``[P(DQ), P(VQ)]`` of the opening question."""
        r = planner.rows
        w = np.array([r.weight[r.strategy == 0].sum(), r.weight[r.strategy == 1].sum()])
        return w / w.sum()

    # -------------------------------------------------------------- estimates
    def cell_estimates(self, planner: Planner, prefix: list[int]) -> np.ndarray:
        """``E[U], E[L]`` for (strategy, mode, verbosity): array ``(2, 3, 3, 2)``.

        Each is the expectation over this assistant's hypotheses with that strategy,
        taking the action now and answering directly (standard verbosity) afterwards.
        """
        values, mass = planner.first_action_values(
            prefix, planner.rows.strategy, 2, _DEFAULT_CONTINUATION
        )
        out = values[..., 1:].reshape(2, len(MODES), len(VERBOSITIES), 2)
        # a strategy with no mass (e.g. ruled out by the history) gets the other's values
        for s in (0, 1):
            if mass[s] <= 0 or np.isnan(out[s]).all():
                out[s] = out[1 - s]
        return out


class GTAlignAssistant(ModelBasedAssistant):
    """The GTAlign assistant: payoff matrix over (DQ, VQ) × (DA, CQ, AQ), then a rule.

    Args:
        rule: selection rule name from :data:`gtalign_sim.game.SELECTION_RULES`.
        trace: render the four-block trace for each decision.
        **kwargs: see :class:`ModelBasedAssistant`.
    """

    name = "gtalign"

    def __init__(self, rule: str = "gtalign", trace: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from ..game import SELECTION_RULES

        if rule not in SELECTION_RULES:
            raise ValueError(f"unknown selection rule {rule!r}; allowed: {list(SELECTION_RULES)}")
        self.rule = rule
        self.trace = bool(trace)

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """Estimate the payoff matrix, select a cell with the rule, pick its verbosity."""
        planner = self.planner(info)
        prefix = past_actions(info)
        belief = self.belief(planner)
        est = self.cell_estimates(planner, prefix)  # (2, 3, 3, 2)
        welfare = est.sum(axis=-1)  # U + L per (s, m, v)
        v_star = np.argmax(np.einsum("s,smv->mv", belief, welfare), axis=1)  # per mode
        cells = est[:, np.arange(len(MODES)), v_star]  # (2, 3, 2)
        matrix = PayoffMatrix(
            user=to_payoff_scale(cells[..., 0]), llm=to_payoff_scale(cells[..., 1])
        )
        choice = matrix.select(self.rule, user_strategy=belief)
        m = MODES.index(choice.action)
        action = encode_action(choice.action, int(v_star[m]))
        decision = Decision(
            action,
            payoff=matrix,
            belief=belief,
            estimates={
                "user": float(belief @ cells[:, m, 0]),
                "llm": float(belief @ cells[:, m, 1]),
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
        mode = choice.action
        v = action % len(VERBOSITIES)
        response = self.renderer.assistant_turn(task, mode, v, task.most_likely().id, True)
        for tag in (
            "<thinking>",
            "</thinking>",
            "<payoff>",
            "</payoff>",
            "<analyze>",
            "</analyze>",
            "<response>",
            "</response>",
        ):
            response = response.replace(tag, "")
        return render(matrix.rounded(1), (choice.user_strategy, mode), response)


class ObjectiveAssistant(ModelBasedAssistant):
    """Picks the (mode, verbosity) maximising an expected objective under the belief.

    ``objective``: ``"llm"`` (selfish LLM), ``"user"`` (user-only) or ``"sum"``
    (linear welfare), each estimated like :class:`GTAlignAssistant`'s cells.
    """

    _NAMES: ClassVar[dict[str, str]] = {
        "llm": "selfish_llm",
        "user": "user_only",
        "sum": "linear_welfare",
    }

    def __init__(self, objective: str = "llm", **kwargs: Any) -> None:
        if objective not in self._NAMES:
            raise ValueError(f"unknown objective {objective!r}; allowed: {sorted(self._NAMES)}")
        kwargs.setdefault("name", self._NAMES[objective])
        super().__init__(**kwargs)
        self.objective = objective

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """argmax over the 9 actions of the belief-weighted expected objective."""
        planner = self.planner(info)
        belief = self.belief(planner)
        est = self.cell_estimates(planner, past_actions(info))
        if self.objective == "llm":
            score = est[..., 1]
        elif self.objective == "user":
            score = est[..., 0]
        else:
            score = est.sum(axis=-1)
        expected = np.einsum("s,smv->mv", belief, score)
        m, v = np.unravel_index(int(np.argmax(expected)), expected.shape)
        return Decision(encode_action(MODES[m], int(v)), belief=belief)


class OracleAssistant(ModelBasedAssistant):
    """Bayes-optimal for the parametric user model: expectimax on ``E[√(U·L)]``.

    Uses more particles by default and the users' strategic choice model with their
    current belief (``info["oracle"]["user_belief"]``) for P(strategy | profile,
    intent), then conditions on the cue and on the conversation so far.
    """

    name = "oracle"

    def __init__(self, objective: str = "mutual", n_particles: int = 64, **kwargs: Any) -> None:
        super().__init__(n_particles=n_particles, **kwargs)
        self.objective = objective

    def strategy_weights(
        self, task: Any, profiles: list[Any], info: Mapping[str, Any]
    ) -> np.ndarray:
        """P(DQ), P(VQ) from the ParametricUser choice model for each particle and intent."""
        belief = (info.get("oracle") or {}).get("user_belief")
        if belief is None:
            return super().strategy_weights(task, profiles, info)
        belief = np.asarray(belief, float)
        ids = [it.id for it in task.interpretations]
        guess = np.array([1.0 if not task.ambiguous else it.prior for it in task.interpretations])
        k_n = len(profiles)

        def col(name: str) -> np.ndarray:
            return np.array([float(getattr(p, name)) for p in profiles])[:, None]

        p_vq = vague_probability(
            guess_right=guess[None, :],
            p_correct=0.85,
            effort_detail=col("effort_detail"),
            effort_answer=col("effort_answer"),
            time_cost=col("time_cost"),
            patience=col("patience"),
            vague_bias=col("vague_bias"),
            rationality=col("rationality"),
            belief=belief,
            followup_effort=self.world.followup_effort,
            redundant_cost=self.world.redundant_question_cost,
        )
        p_vq = np.broadcast_to(p_vq, (k_n, len(ids)))
        return np.stack([1 - p_vq, p_vq], axis=-1)

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """The first action of the best plan found by exhaustive expectimax."""
        planner = self.planner(info, objective=self.objective)
        res = planner.best(past_actions(info), candidates=tuple(range(N_ACTIONS)))
        return Decision(
            res.actions[0],
            belief=self.belief(planner),
            estimates={
                "value": res.value,
                "user": res.user,
                "llm": res.llm,
            },
        )
