"""``clarification_game_v0``: the multi-turn user–assistant game as a PettingZoo AEC env.

Agents: ``"user"`` and ``"assistant"``.

* **Assistant** actions: ``Discrete(9)`` = response mode (DA, CQ, AQ) × verbosity
  (concise, standard, elaborate); index ``mode * 3 + verbosity``
  (:func:`gtalign_sim.users.encode_action`). Every action is always legal; the mask is
  provided for uniformity.
* **User** actions: ``Discrete(2)``. With ``user_policy="simulator"`` (the default) the
  user's moves are made by the configured simulator inside the assistant's step and the
  user agent is only selected once, when the episode is over. With
  ``user_policy="external"`` the user agent acts: first ``0 = DQ, 1 = VQ``; after each
  assistant turn ``0 = reply, 1 = stop`` (satisfaction and patience still end the
  episode on their own).
* **Observations** are dicts ``{"observation": Box(float32), "action_mask": int8}``.
  The assistant's features (:data:`ASSISTANT_FEATURES`) are its public view: turn,
  whether the opening question was detailed (the question type is observable: the
  text of a detailed question states the reading), the question's ambiguity,
  difficulty, family, the user's pricing plan, whether the intent has been stated,
  token counts and the last mode. Never the hidden profile or intent.
* **Rewards** are terminal, on gains over the disagreement point: the user gets ``U``,
  the assistant the configured aggregate of ``(U, L)`` (``√(U⁺·L⁺)`` by default) or
  ``L`` (``assistant_reward="llm"``) or ``U`` (``"user"``).
* **infos**: ``infos["assistant"]`` is the public view — ``task`` (the question's
  readings and priors, not the intent), ``message``, ``history`` (public transcript),
  ``question_type``, ``pricing``, ``turn`` — and, after the episode ends, ``episode``
  (the record). Privileged data (the profile, the intent, the population, the users'
  model) is only in :meth:`ClarificationGameEnv.privileged_view`, which rollouts hand
  to assistants declared ``privileged`` (the oracle, the clairvoyant bound).
  ``infos["user"]`` holds the user's own state.
* **Failures** are never results. When the user simulator raises (a plug-in's bug, an LLM
  user whose backend failed after its retries — stage ``user``), its judge cannot judge
  (stage ``judge``), or the assistant's backend fails (:meth:`ClarificationGameEnv.fail`,
  called by the rollouts — stage ``assistant_backend``), the episode ends *failed*: its
  record's ``failure`` is ``{"stage", "reason", "detail"}`` (detail at most 500
  characters), ``stop_reason`` is ``"error"`` and every welfare and quality number is
  ``None``; the agents are truncated with reward 0. Successful records have
  ``failure: None``.

The rules (billing, reading, judging, discounting, stopping, the user's reply decision,
welfare) are :mod:`gtalign_sim.core.rules`, applied by the user simulator's ledger; the
environment sequences them and renders the text.

Randomness: ``reset(seed)`` derives independent streams (task, profile, strategy choice,
answer outcomes) from ``numpy.random.SeedSequence(seed)``. Outcome uniforms are
pre-drawn per turn, so two assistants on the same seed face the same luck (common
random numbers).

Layout: this module sequences the game; :mod:`.turns` holds the moves, :mod:`.players`
the user's side (simulator or external), :mod:`.outcome` the episode's end (welfare,
record, rewards) and :mod:`.views` the features, spaces and transcript text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from ..backends.template import TemplateRenderer
from ..core.failures import EpisodeFailure
from ..core.record import EpisodeRecord
from ..core.vocab import FAMILIES, N_ACTIONS
from ..users import BaseUser, StopReason, Turn, UserPopulation, UserState, WorldConfig
from ..welfare import get_aggregator
from .outcome import ASSISTANT_REWARDS, episode_outcome, episode_record, terminal_rewards
from .players import build_user_sim
from .turns import GameTurns
from .views import (
    ASSISTANT_FEATURES,
    USER_FEATURES,
    action_spaces,
    assistant_observation,
    observation_spaces,
    transcript_text,
    user_observation,
)

__all__ = [
    "ASSISTANT_FEATURES",
    "USER_FEATURES",
    "ClarificationGameEnv",
    "env",
    "raw_env",
]


class ClarificationGameEnv(GameTurns, AECEnv):
    """The clarification game (see the module docstring for the full contract).

    Args:
        world: game mechanics (:class:`~gtalign_sim.users.WorldConfig` or a mapping).
        population: user population (:class:`~gtalign_sim.users.UserPopulation` or a mapping).
        tasks: a :class:`~gtalign_sim.tasks.TaskBank`, or ``None`` for the built-in banks.
        families: task families to draw from.
        tasks_per_family: size of each built-in bank (when ``tasks`` is ``None``).
        task_seed: seed of the built-in banks.
        user: simulator spec (``{"_target_": path, **kwargs}``) or an instance.
        user_policy: ``"simulator"`` or ``"external"``.
        aggregator: welfare aggregate for the assistant's reward and the record.
        assistant_reward: ``"aggregate"``, ``"llm"`` (L) or ``"user"`` (U).
        render_mode: ``None``, ``"human"`` or ``"ansi"``.
    """

    metadata = {"name": "clarification_game_v0", "render_modes": ["human", "ansi"]}  # noqa: RUF012

    def __init__(
        self,
        world: WorldConfig | Mapping[str, Any] | None = None,
        population: UserPopulation | Mapping[str, Any] | None = None,
        tasks: Any = None,
        families: tuple[str, ...] | list[str] = FAMILIES,
        tasks_per_family: int = 200,
        task_seed: int = 0,
        user: Any = None,
        user_policy: str = "simulator",
        aggregator: str = "cobb_douglas",
        assistant_reward: str = "aggregate",
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        self.world = world if isinstance(world, WorldConfig) else WorldConfig.from_config(world)
        if population is None:
            population = UserPopulation()
        elif not isinstance(population, UserPopulation):
            population = UserPopulation.from_config(population)
        self.population = population
        families = tuple(families)
        bad = [f for f in families if f not in FAMILIES]
        if bad or not families:
            raise ValueError(f"families {list(families)} invalid; allowed: {list(FAMILIES)}")
        self.families = families
        if tasks is None:
            from ..tasks import TaskBank

            tasks = TaskBank.build(families=families, per_family=tasks_per_family, seed=task_seed)
        self.tasks = tasks
        self.renderer = TemplateRenderer()
        self.user_sim: BaseUser = build_user_sim(user_policy, user, self.world, self.renderer)
        self.user_policy = user_policy
        self.aggregator_name = aggregator
        self._aggregate = get_aggregator(aggregator)
        if assistant_reward not in ASSISTANT_REWARDS:
            raise ValueError(
                f"assistant_reward {assistant_reward!r} unknown; allowed: {list(ASSISTANT_REWARDS)}"
            )
        self.assistant_reward = assistant_reward
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode {render_mode!r} unknown; allowed: {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.possible_agents = ["user", "assistant"]
        self._obs_spaces = observation_spaces()
        self._act_spaces = action_spaces()
        self.agents: list[str] = []
        self.episode: dict[str, Any] = {}
        self.record: EpisodeRecord | None = None

    # ---------------------------------------------------------------- spaces
    def observation_space(self, agent: str) -> gymnasium.spaces.Space:
        """The (fixed) observation space of ``agent``."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> gymnasium.spaces.Space:
        """The (fixed) action space of ``agent``."""
        return self._act_spaces[agent]

    # ----------------------------------------------------------------- reset
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start an episode: draw a task, a hidden user and the opening question.

        ``options`` may fix ``task`` (a Task or an id), ``profile`` (a UserProfile; its
        intent is drawn when empty), ``family``, ``pricing`` and ``strategy`` (``"DQ"`` or
        ``"VQ"``: force the opening strategy of a :class:`~gtalign_sim.users.BaseUser`, for
        counterfactual payoff estimates).
        """
        options = dict(options or {})
        ss = np.random.SeedSequence(seed)
        streams = [np.random.default_rng(s) for s in ss.spawn(6)]
        # stream 3 was the v0 specificity cue; kept unused so the other streams stay put
        self._rng_task, self._rng_profile, self._rng_user, _, rng_out, rng_sp = streams
        self._outcome_u = rng_out.random(self.world.max_turns + 1)
        for i, space in enumerate(self._act_spaces.values()):
            space.seed(int(rng_sp.integers(2**31)) + i)

        task = options.get("task")
        if isinstance(task, str):
            task = self.tasks.get(task)
        if task is None:
            family = options.get("family")
            if family is not None and family not in self.families:
                raise ValueError(f"family {family!r} not in this env's families {self.families}")
            task = self.tasks.sample(self._rng_task, family=family)
        profile = options.get("profile")
        if profile is None:
            profile = self.population.sample(self._rng_profile, pricing=options.get("pricing"))
        if not profile.intent:
            ids = [it.id for it in task.interpretations]
            priors = np.array([it.prior for it in task.interpretations], dtype=float)
            intent = ids[int(self._rng_profile.choice(len(ids), p=priors / priors.sum()))]
            profile = profile.with_intent(intent)
        self.task, self.profile = task, profile

        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.history: list[Turn] = []
        self.turn = 0
        self.provider_tokens = {"prompt": 0, "completion": 0}
        self.format_scores: list[float] = []
        self.actions: list[int] = []
        self.stop: StopReason | None = None
        self.stop_text = ""
        self.strategy: str | None = None
        self.failure: EpisodeFailure | None = None
        self.episode = {}
        self.record = None
        if self.user_policy == "external":
            # the user's state starts empty: nothing of the previous episode is observable
            self.user_sim.state = UserState(task=task, profile=profile)
            self.agent_selection = "user"
            self._phase = "ask"
        else:
            forced = options.get("strategy")
            if forced is not None and forced not in ("DQ", "VQ"):
                raise ValueError(f"options['strategy'] must be 'DQ' or 'VQ', got {forced!r}")
            self.user_sim.forced_strategy = forced
            self.agent_selection = "assistant"
            self._phase = "assistant"
            opening = self._user(self.user_sim.reset, task, profile, self._rng_user)
            if opening is not None:
                self._open(opening)
        if not self.episode:
            self._update_infos()

    # ------------------------------------------------------------------ step
    def step(self, action: Any) -> None:
        """Apply ``action`` for :attr:`agent_selection` (``None`` for a finished agent)."""
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        if agent == "user":
            self._user_step(action)
        else:
            self._assistant_step(action)
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    # -------------------------------------------------------------- failures
    def _user(self, fn: Any, *args: Any) -> Any:
        """Call the user simulator; if it raises, fail the episode and return ``None``
        (an :class:`EpisodeFailure` keeps its stage, e.g. ``judge``; anything else is
        stage ``user``)."""
        try:
            return fn(*args)
        except Exception as exc:
            self.fail(EpisodeFailure.wrap(exc, "user"))
            return None

    def fail(self, failure: BaseException, stage: str = "simulator") -> None:
        """End the running episode as *failed* (see the module docstring).

        ``failure`` is an :class:`~gtalign_sim.core.failures.EpisodeFailure` (e.g. the one
        an LLM assistant returned for a backend failure) or any exception, recorded at
        ``stage`` with its type name as the reason.
        """
        if self.episode:
            raise RuntimeError("fail() called after the episode ended")
        self.failure = EpisodeFailure.wrap(failure, stage)
        self.stop, self.stop_text = StopReason.ERROR, ""
        self._finish()

    # ------------------------------------------------------------- episode end
    def _finish(self) -> None:
        out = self._outcome() if self.failure is None else None
        failed = self.failure is not None
        if failed:
            self.stop = StopReason.ERROR
        self.record = episode_record(self, out)
        self.episode = self.record.to_dict()
        if not failed:
            self.user_sim.observe_episode(self.episode)
        self.rewards = terminal_rewards(out, self.assistant_reward)
        # a failed episode is cut off (truncated), not ended by the game
        truncated = failed or self.stop == StopReason.MAX_TURNS
        for a in self.agents:
            self.terminations[a] = not truncated
            self.truncations[a] = truncated
        self._update_infos()
        for a in self.agents:
            self.infos[a]["episode"] = self.episode

    def _outcome(self) -> dict[str, Any] | None:
        """The episode's welfare and quality numbers (:func:`.outcome.episode_outcome`);
        ``None`` (and :attr:`failure` set, stage ``simulator``) when they are not finite."""
        out, failure = episode_outcome(
            self.user_sim.state.ledger, self.world, self.format_scores, self._aggregate
        )
        if failure is not None:
            self.failure = failure
        return out

    # ---------------------------------------------------------- observations
    def _update_infos(self) -> None:
        self.infos["assistant"] = {
            "task": self.task,
            "message": self.history[-1].text if self.history else "",
            "history": list(self.history),
            "question_type": self.strategy,
            "pricing": self.profile.pricing,
            "turn": self.turn,
        }
        self.infos["user"] = {
            "profile": self.profile,
            "strategy": self.strategy,
            "state": self.user_sim.state,
            "phase": self._phase,
        }

    def privileged_view(self) -> dict[str, Any]:
        """What only privileged assistants receive: the world, the population, the
        users' own model (the simulator) and the episode's hidden profile and intent."""
        return {
            "world": self.world,
            "population": self.population,
            "user_model": self.user_sim,
            "profile": self.profile,
            "intent": self.profile.intent,
        }

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """The observation of ``agent`` now (see :data:`ASSISTANT_FEATURES`)."""
        if agent == "assistant":
            vec = self._assistant_features()
            mask = np.ones(N_ACTIONS, dtype=np.int8)
        else:
            vec = self._user_features()
            mask = np.ones(2, dtype=np.int8)
        return {"observation": vec, "action_mask": mask}

    def _assistant_features(self) -> np.ndarray:
        return assistant_observation(self)

    def _user_features(self) -> np.ndarray:
        return user_observation(self, self._phase)

    # ---------------------------------------------------------------- render
    def render(self) -> str | None:
        """The transcript as text (``"ansi"`` returns it, ``"human"`` prints it)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode")
            return None
        out = transcript_text(self)
        if self.render_mode == "human":
            print(out)
            return None
        return out

    def close(self) -> None:
        """Nothing to release."""


def raw_env(**kwargs: Any) -> ClarificationGameEnv:
    """The unwrapped AEC environment."""
    return ClarificationGameEnv(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The AEC environment with PettingZoo's standard safety wrappers."""
    e: AECEnv = raw_env(**kwargs)
    e = wrappers.AssertOutOfBoundsWrapper(e)
    return wrappers.OrderEnforcingWrapper(e)
