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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from ..backends.template import TemplateRenderer
from ..core import rules
from ..core.failures import EpisodeFailure
from ..core.record import OUTCOME_FIELDS, EpisodeRecord, TokenCounts
from ..core.vocab import (
    DIFFICULTIES,
    FAMILIES,
    MODES,
    N_ACTIONS,
    PRICING_PLANS,
    VERBOSITIES,
    Strategy,
    decode_action,
)
from ..users import (
    BaseUser,
    StopReason,
    Turn,
    UserPopulation,
    UserProfile,
    WorldConfig,
    build_user,
)
from ..welfare import count_tokens, get_aggregator

__all__ = [
    "ASSISTANT_FEATURES",
    "USER_FEATURES",
    "ClarificationGameEnv",
    "env",
    "raw_env",
]

ASSISTANT_REWARDS = ("aggregate", "llm", "user")

ASSISTANT_FEATURES: tuple[str, ...] = (
    "turn",
    "detailed_question",
    "ambiguity",
    *(f"difficulty_{d}" for d in DIFFICULTIES),
    *(f"family_{f}" for f in FAMILIES),
    *(f"pricing_{p}" for p in PRICING_PLANS),
    "intent_stated",
    "context_tokens_k",
    "last_user_tokens_100",
    "user_replies",
    *(f"last_mode_{m}" for m in MODES),
)
"""Names of the assistant observation's features, in order (its public view)."""

USER_FEATURES: tuple[str, ...] = (
    "phase_reply",
    "turn",
    "ambiguity",
    "intent_is_default",
    *(f"last_mode_{m}" for m in MODES),
    "last_quality",
    "best_quality",
    "effort_detail",
    "effort_answer",
    "time_cost",
    "patience",
    "satisfaction",
    *(f"pricing_{p}" for p in PRICING_PLANS),
)
"""Names of the user observation's features, in order."""


_SCALAR_OUTCOMES = ("user_welfare", "llm_welfare", "mutual_welfare", "aggregate")


class _ExternalUser(BaseUser):
    """A user whose decisions come from the environment's caller (multi-agent learning)."""

    def __init__(self, world: WorldConfig, renderer: TemplateRenderer) -> None:
        super().__init__(world, renderer)
        self.pending_strategy = "VQ"
        self.pending_continue = True

    def choose_strategy(self, task: Any, profile: UserProfile, rng: np.random.Generator) -> str:
        return self.pending_strategy

    def decide_continue(self, expected_gain: float, cost: float) -> bool:
        return self.pending_continue


def _one_hot(value: str, options: tuple[str, ...]) -> list[float]:
    return [1.0 if value == o else 0.0 for o in options]


class ClarificationGameEnv(AECEnv):
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
        if user_policy not in ("simulator", "external"):
            raise ValueError(
                f"user_policy {user_policy!r} unknown; allowed: ['external', 'simulator']"
            )
        self.user_policy = user_policy
        self.renderer = TemplateRenderer()
        if user_policy == "external":
            self.user_sim: BaseUser = _ExternalUser(self.world, self.renderer)
        elif user is None or isinstance(user, (str, Mapping)):
            built = build_user(user, world=self.world, renderer=self.renderer)
            if not isinstance(built, BaseUser):
                raise ValueError(
                    f"user {type(built).__name__} must subclass gtalign_sim.users.BaseUser "
                    "(the rules engine keeps the episode's ledger there; plug-ins decide "
                    "choose_strategy and decide_continue)"
                )
            self.user_sim = built
        elif isinstance(user, BaseUser):
            if getattr(user, "world", self.world) != self.world:
                raise ValueError(
                    "user: the simulator was built with another world than the "
                    "environment's; pass its spec ({'_target_': ...}) so the environment "
                    "builds it with its own world"
                )
            self.user_sim = user
        else:
            raise ValueError(
                "user must be None, an import path, a {'_target_': ...} mapping or a "
                "BaseUser instance"
            )
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
        self._obs_spaces = {
            "assistant": gymnasium.spaces.Dict(
                {
                    "observation": gymnasium.spaces.Box(
                        -1.0, np.inf, (len(ASSISTANT_FEATURES),), np.float32
                    ),
                    "action_mask": gymnasium.spaces.Box(0, 1, (N_ACTIONS,), np.int8),
                }
            ),
            "user": gymnasium.spaces.Dict(
                {
                    "observation": gymnasium.spaces.Box(
                        -1.0, np.inf, (len(USER_FEATURES),), np.float32
                    ),
                    "action_mask": gymnasium.spaces.Box(0, 1, (2,), np.int8),
                }
            ),
        }
        self._act_spaces = {
            "assistant": gymnasium.spaces.Discrete(N_ACTIONS),
            "user": gymnasium.spaces.Discrete(2),
        }
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

    def _open(self, message: Any) -> None:
        self.strategy = message.strategy
        if message.stop is not None:  # the simulator failed before asking anything
            self._end(message)
            return
        self._add_user_turn(message.text)

    def _add_user_turn(self, text: str) -> None:
        self.history.append(Turn(role="user", text=text, tokens=count_tokens(text)))

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

    def _user_step(self, action: Any) -> None:
        assert isinstance(self.user_sim, _ExternalUser)
        a = int(action)
        if a not in (0, 1):
            raise ValueError(f"user action must be 0 or 1, got {action!r}")
        if self._phase == "ask":
            self.user_sim.pending_strategy = "DQ" if a == 0 else "VQ"
            opening = self._user(self.user_sim.reset, self.task, self.profile, self._rng_user)
            if opening is not None:
                self._open(opening)
            if not self.episode:
                self.agent_selection = "assistant"
                self._update_infos()
            return
        self.user_sim.pending_continue = a == 0
        self._user_responds()

    def _assistant_step(self, action: Any) -> None:
        # ``action`` is an index, or a decision object carrying the assistant's own text
        # (LLM assistants): ``.action``, ``.text`` and optional ``.estimates`` with
        # ``format_score``, ``billed_prompt_tokens`` and ``billed_completion_tokens``.
        own_text: str | None = None
        extra: dict[str, Any] = {}
        if hasattr(action, "action"):
            own_text = getattr(action, "text", None)
            extra = dict(getattr(action, "estimates", None) or {})
            action = action.action
        mode, verbosity = decode_action(action)
        self.actions.append(int(action))
        task = self.task
        known = self.user_sim.state.intent_stated
        assumed = self.profile.intent if known else task.most_likely().id
        if own_text is not None:
            text, assumed_rec = own_text, None
        else:
            correct = True
            if mode != "CQ":
                correct = bool(
                    self._outcome_u[self.turn] < self.world.p_correct(task.difficulty, verbosity)
                )
            text = self.renderer.assistant_turn(task, mode, verbosity, assumed, correct)
            assumed_rec = assumed if mode != "CQ" else None
        tokens = count_tokens(text)
        prompt = int(
            extra.get("billed_prompt_tokens")
            or self.world.system_tokens + sum(t.tokens for t in self.history)
        )
        completion = int(
            extra.get("billed_completion_tokens") or tokens + self.world.reasoning_tokens
        )
        self.provider_tokens["prompt"] += prompt
        self.provider_tokens["completion"] += completion
        self.format_scores.append(float(extra.get("format_score", 1.0)))
        self.history.append(
            Turn(
                role="assistant",
                text=text,
                mode=mode,
                verbosity=verbosity,
                assumed_intent=assumed_rec,
                tokens=tokens,
                billed_prompt=prompt,
                billed_completion=completion,
            )
        )
        self.turn += 1
        external = self.user_policy == "external"
        stop = self._user(self.user_sim.read, self.history) if external else None
        if self.episode:  # the user simulator failed
            return
        if self.user_policy == "external" and stop is None:
            # the user has a choice to make: hand the turn to the external policy
            self.agent_selection = "user"
            self._phase = "reply"
            self._update_infos()
            return
        if stop is not None:
            self._end(stop)
            return
        msg = self._user(self.user_sim.respond, self.history)
        if msg is not None:
            self._handle(msg)

    def _user_responds(self) -> None:
        msg = self._user(self.user_sim.reply)
        if msg is not None:
            self._handle(msg)
        if not self.episode:
            self.agent_selection = "assistant"
            self._phase = "assistant"
            self._update_infos()

    def _handle(self, msg: Any) -> None:
        if msg.stop is not None:
            self._end(msg)
            return
        self._add_user_turn(msg.text)
        self._update_infos()

    def _end(self, msg: Any) -> None:
        self.stop, self.stop_text = msg.stop, msg.text
        if msg.stop == StopReason.ERROR and self.failure is None:
            reason = getattr(msg, "reason", "") or msg.text
            self.failure = EpisodeFailure("user", "error", reason)
        self._finish()

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
        modes = [decode_action(a)[0] for a in self.actions]
        verbs = [decode_action(a)[1] for a in self.actions]
        out = self._outcome() if self.failure is None else None
        failed = self.failure is not None
        if failed:
            self.stop = StopReason.ERROR
        fields = {
            "task_id": self.task.id,
            "family": self.task.family,
            "difficulty": self.task.difficulty,
            "ambiguous": self.task.ambiguous,
            "profile": self.profile.to_dict(),
            "strategy": self.strategy,
            "actions": list(self.actions),
            "modes": modes,
            "verbosities": [VERBOSITIES[v] for v in verbs],
            "transcript": [
                {"role": t.role, "text": t.text, "mode": t.mode, "tokens": t.tokens}
                for t in self.history
            ],
            "turns": self.turn,
            "tokens": TokenCounts(
                assistant=int(sum(t.tokens for t in self.history if t.role == "assistant")),
                user=int(sum(t.tokens for t in self.history if t.role == "user")),
                billed_prompt=int(self.provider_tokens["prompt"]),
                billed_completion=int(self.provider_tokens["completion"]),
            ),
            # a failed episode has no outcome: every welfare/quality number is None
            **(out if out is not None else dict.fromkeys(OUTCOME_FIELDS)),
            "aggregator": self.aggregator_name,
            "stop_reason": self.stop.value if self.stop else None,
            "failure": self.failure.to_record() if self.failure is not None else None,
        }
        self.record = EpisodeRecord(**fields)
        self.episode = self.record.to_dict()
        if failed:
            self.rewards = {"user": 0.0, "assistant": 0.0}
        else:
            assert out is not None
            self.user_sim.observe_episode(self.episode)
            reward = {
                "aggregate": out["aggregate"],
                "llm": out["llm_welfare"],
                "user": out["user_welfare"],
            }[self.assistant_reward]
            self.rewards = {"user": out["user_welfare"], "assistant": reward}
        # a failed episode is cut off (truncated), not ended by the game
        truncated = failed or self.stop == StopReason.MAX_TURNS
        for a in self.agents:
            self.terminations[a] = not truncated
            self.truncations[a] = truncated
        self._update_infos()
        for a in self.agents:
            self.infos[a]["episode"] = self.episode

    def _outcome(self) -> dict[str, Any] | None:
        """The episode's welfare and quality numbers from the ledger; ``None`` (and
        :attr:`failure` set, stage ``simulator``) when they are not finite."""
        led = self.user_sim.state.ledger
        if led is None:  # the simulator ended before asking: nothing happened
            led = rules.Ledger.start(False, False, 0.0, 0.0)
        fmt = float(np.mean(self.format_scores)) if self.format_scores else 1.0
        u, u_terms = rules.user_gain(led, self.world)
        l_val, l_terms = rules.provider_gain(led, u, self.world, fmt)
        u, l_val = float(u), float(l_val)
        agg = float(self._aggregate(u, l_val))
        ledger = led.scalars()
        out = {
            "answer_quality": float(ledger["q_user"]),
            "answer_quality_llm": float(ledger["q_llm"]),
            "user_welfare": u,
            "llm_welfare": l_val,
            "mutual_welfare": float(rules.mutual(u, l_val)),
            "user_level": float(rules.level(u)),
            "llm_level": float(rules.level(l_val)),
            "aggregate": agg,
            "user_terms": {k: float(v) for k, v in u_terms.items()},
            "llm_terms": {k: float(v) for k, v in l_terms.items()},
            "ledger": {k: float(v) for k, v in ledger.items()},
            "format_score": fmt,
            "wrong_answers": int(ledger["errors"]),
        }
        bad = [k for k in _SCALAR_OUTCOMES if not np.isfinite(out[k])]
        if bad:
            self.failure = EpisodeFailure(
                "simulator", "non_finite_welfare", {k: out[k] for k in bad}
            )
            return None
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
        task = self.task
        last_mode = next((t.mode for t in reversed(self.history) if t.role == "assistant"), None)
        priors = [it.prior for it in task.interpretations]
        user_turns = [t for t in self.history if t.role == "user"]
        feats = [
            self.turn / self.world.max_turns,
            float(self.strategy == Strategy.DQ.value),
            1.0 - max(priors),
            *_one_hot(task.difficulty, DIFFICULTIES),
            *_one_hot(task.family, FAMILIES),
            *_one_hot(self.profile.pricing, PRICING_PLANS),
            float(self.user_sim.state.intent_stated),
            sum(t.tokens for t in self.history) / 1000.0,
            (user_turns[-1].tokens / 100.0) if user_turns else 0.0,
            max(len(user_turns) - 1, 0) / self.world.max_turns,
            *_one_hot(last_mode or "", MODES),
        ]
        return np.asarray(feats, dtype=np.float32)

    def _user_features(self) -> np.ndarray:
        task, prof, st = self.task, self.profile, self.user_sim.state
        last_mode = next((t.mode for t in reversed(self.history) if t.role == "assistant"), None)
        is_default = float((not task.ambiguous) or prof.intent == task.most_likely().id)
        feats = [
            float(self._phase == "reply"),
            self.turn / self.world.max_turns,
            1.0 - max(it.prior for it in task.interpretations),
            is_default,
            *_one_hot(last_mode or "", MODES),
            st.last_quality or 0.0,
            st.quality_user,
            prof.effort_detail,
            prof.effort_answer,
            prof.time_cost,
            prof.patience / self.world.max_turns,
            prof.satisfaction,
            *_one_hot(prof.pricing, PRICING_PLANS),
        ]
        return np.asarray(feats, dtype=np.float32)

    # ---------------------------------------------------------------- render
    def render(self) -> str | None:
        """The transcript as text (``"ansi"`` returns it, ``"human"`` prints it)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode")
            return None
        lines = [
            f"[{self.task.id}] {self.task.family}/{self.task.difficulty} "
            f"pricing={self.profile.pricing}"
        ]
        for t in self.history:
            tag = f"assistant/{t.mode}" if t.role == "assistant" else "user"
            lines.append(f"{tag}: {t.text}")
        if self.episode and self.episode.get("failure"):
            f = self.episode["failure"]
            lines.append(f"-- failed ({f['stage']}: {f['reason']}): {f['detail']}")
        elif self.episode:
            e = self.episode
            lines.append(
                f"-- {e['stop_reason']}: U={e['user_welfare']:.3f} L={e['llm_welfare']:.3f} "
                f"W={e['aggregate']:.3f}"
            )
        out = "\n".join(lines)
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
