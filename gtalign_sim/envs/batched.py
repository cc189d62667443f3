"""A batched clarification game: ``n`` episodes at once on numpy arrays.

:class:`BatchedClarificationEngine` plays the assistant's side of
``clarification_game_v0`` for ``n`` episodes in lockstep, the user simulated inside (the
single-agent view of :class:`~gtalign_sim.envs.ClarificationAssistantEnv`), with the same
observation (:data:`~gtalign_sim.envs.ASSISTANT_FEATURES`, float32) and action
(``Discrete(9)``) spaces. There is no second copy of the rules: a turn is
:func:`rules.account_turn <gtalign_sim.core.rules.account_turn>`, the user's decision
:func:`rules.reply_kind`, :func:`rules.reply_decision` and the user's own
``decide_continue``, a reply :func:`rules.account_reply`, the outcome
:func:`rules.user_gain` / :func:`rules.provider_gain`, all on arrays of shape ``[n]``,
with the turn's facts gathered from the same :class:`~gtalign_sim.users.TaskTables`
(:mod:`.batched_supply`). Only text is skipped: nothing is rendered or judged per turn.

* ``reset(seed)`` → ``(obs [n, F], mask [n, 9], info)``; ``step(actions [n])`` →
  ``(obs, reward, terminated, truncated, info)``. The reward is the episode's terminal
  reward (the welfare aggregate of ``(U, L)``, or ``L`` / ``U`` by ``assistant_reward``)
  on the step that ends it, 0 before; ``truncated`` means the horizon (``max_turns``).
* Finished episodes restart automatically. ``autoreset_mode="same_step"`` (default,
  Gymnasium's ``SAME_STEP``): the step that ends an episode returns the next episode's
  first observation, the terminal one in ``info["final_obs"]``. ``"next_step"``
  (Gymnasium's default ``NEXT_STEP``): it returns the terminal observation and the next
  step restarts the slot, ignoring its action (reward 0, not done). Either way the step
  that ends an episode carries its outcome in ``info["final_info"]`` (arrays over slots:
  ``user_welfare``, ``llm_welfare``, ``mutual_welfare``, ``aggregate``, ``turns``,
  ``stop_code``, ``strategy``, ``task``), rows valid where ``info["_final_info"]``.
* Randomness: one ``numpy`` Generator per engine from ``SeedSequence(seed)``; episodes
  are drawn in chunks (:func:`~.batched_supply.draw_starts`), each user's DQ/VQ choice by
  the users' own model, vectorised (:func:`~.batched_supply.vague_probabilities`).
* Replay (the slow, exact mode): ``reset(episode_seeds=…)`` resets the AEC env on those
  per-episode seeds and plays what it drew — task, profile, intent, strategy and outcome
  uniforms (slot ``i`` starts with seed ``i``, later episodes take the next seeds,
  cycling). A fixed policy then gives exactly the AEC env's per-episode ``U`` and ``L``
  (and observations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

import gymnasium
import numpy as np

from ..core import rules
from ..core.vocab import (
    DIFFICULTIES,
    FAMILIES,
    MODES,
    N_ACTIONS,
    PRICING_PLANS,
    STRATEGIES,
    VERBOSITIES,
    Mode,
    StopCode,
)
from ..core.world import WorldConfig
from ..users import ParametricUser, UserPopulation, build_user
from ..welfare import get_aggregator
from .batched_supply import (
    PROFILE_COLUMNS,
    StackedTables,
    Starts,
    draw_starts,
    episode_view,
    play_turn,
)
from .clarification import ASSISTANT_FEATURES, ASSISTANT_REWARDS, ClarificationGameEnv
from .user_view import UserAgent, check_actions, user_features

__all__ = ["AUTORESET_MODES", "BatchedClarificationEngine"]

AUTORESET_MODES = ("same_step", "next_step")

_V = len(VERBOSITIES)
_CQ = MODES.index(Mode.CQ.value)
_DQ = STRATEGIES.index("DQ")
_CONTINUE = int(StopCode.CONTINUE)
_MAX_TURNS = int(StopCode.MAX_TURNS)
_COL = {name: i for i, name in enumerate(ASSISTANT_FEATURES)}
_STATIC = slice(_COL["ambiguity"], _COL["intent_stated"])  # ambiguity and the one-hots
_LAST_MODE = _COL[f"last_mode_{MODES[0]}"]


def _user(user: Any, world: WorldConfig) -> ParametricUser:
    if user is None or isinstance(user, (str, Mapping)):
        user = build_user(user, world=world)
    if not isinstance(user, ParametricUser) or user.learn:
        raise ValueError(
            "user must be a ParametricUser with learn=False (a learning user changes after "
            f"every episode, which a batch cannot follow); got {type(user).__name__}"
        )
    if user.world != world:
        raise ValueError("user: the simulator was built with another world than the engine's")
    return user


class BatchedClarificationEngine:
    """``n`` clarification-game episodes on numpy arrays (see the module docstring).

    Args:
        n: episodes played at once (slots).
        world, population, tasks, families, tasks_per_family, task_seed, aggregator,
            assistant_reward: as :class:`~gtalign_sim.envs.ClarificationGameEnv`.
        user: the simulator spec or instance, as the AEC env's; it must be a
            :class:`~gtalign_sim.users.ParametricUser` with ``learn=False`` (the
            Gymnasium view's default).
        autoreset_mode: ``"same_step"`` or ``"next_step"``.
        user_agent: a :class:`~gtalign_sim.envs.user_view.UserAgent` that makes the
            users' decisions (question type, reply or stop) from their own view
            (:data:`~gtalign_sim.envs.USER_FEATURES`), as the AEC env's external user;
            ``None``: the simulator ``user`` decides. ``final_info["episode"]`` names the
            episodes its decisions belonged to.
        chunk: episodes drawn (and their users' choices computed) at a time; default
            ``max(n, 1024)``.
    """

    def __init__(
        self,
        n: int,
        world: WorldConfig | Mapping[str, Any] | None = None,
        population: UserPopulation | Mapping[str, Any] | None = None,
        tasks: Any = None,
        families: Sequence[str] = FAMILIES,
        tasks_per_family: int = 200,
        task_seed: int = 0,
        user: Any = None,
        aggregator: str = "cobb_douglas",
        assistant_reward: str = "aggregate",
        autoreset_mode: str = "same_step",
        chunk: int | None = None,
        user_agent: UserAgent | None = None,
    ) -> None:
        for name, value in (("n", n), ("chunk", 1 if chunk is None else chunk)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if autoreset_mode not in AUTORESET_MODES:
            raise ValueError(
                f"autoreset_mode {autoreset_mode!r} unknown; allowed: {list(AUTORESET_MODES)}"
            )
        if assistant_reward not in ASSISTANT_REWARDS:
            raise ValueError(
                f"assistant_reward {assistant_reward!r} unknown; allowed: {list(ASSISTANT_REWARDS)}"
            )
        bad = [f for f in families if f not in FAMILIES]
        if bad or not families:
            raise ValueError(f"families {list(families)} invalid; allowed: {list(FAMILIES)}")
        self.n, self.autoreset_mode = int(n), autoreset_mode
        self.chunk = max(self.n, 1024) if chunk is None else int(chunk)
        self.assistant_reward, self.aggregator_name = assistant_reward, aggregator
        self._aggregate = get_aggregator(aggregator)
        self.world = world if isinstance(world, WorldConfig) else WorldConfig.from_config(world)
        if not isinstance(population, UserPopulation):
            population = UserPopulation.from_config(population or {})
        self.population = population
        if tasks is None:
            from ..tasks import TaskBank

            tasks = TaskBank.build(
                families=tuple(families), per_family=tasks_per_family, seed=task_seed
            )
        self.bank = tasks
        self.user = _user(user, self.world)
        if user_agent is not None and not callable(user_agent):
            raise ValueError(f"user_agent must be callable (a UserAgent), got {user_agent!r}")
        self.user_agent = user_agent
        self.tables = StackedTables(list(tasks), self.world)
        self._rates = np.array([self.world.rates(p) for p in PRICING_PLANS])  # (plans, 6)
        self.single_observation_space = gymnasium.spaces.Box(
            -1.0, np.inf, (len(ASSISTANT_FEATURES),), np.float32
        )
        self.single_action_space = gymnasium.spaces.Discrete(N_ACTIONS)
        self.mask = np.ones((self.n, N_ACTIONS), dtype=np.int8)  # every action is legal
        self.mask.flags.writeable = False
        self.rng: np.random.Generator | None = None
        self._buf: Starts | None = None
        self._replay: Starts | None = None
        self._pos = 0
        self._aec: ClarificationGameEnv | None = None

    # ---------------------------------------------------------------- supply
    def _draw(self, k: int) -> Starts:
        """The next ``k`` episode starts (replayed seeds, or drawn in chunks)."""
        if self._replay is not None:
            idx = (self._pos + np.arange(k)) % len(self._replay)
            self._pos = int((self._pos + k) % len(self._replay))
            return self._replay.take(idx)
        assert self.rng is not None
        if self._buf is None or len(self._buf) - self._pos < k:
            args = (self.tables, self.population, self.user, self.world)
            fresh = draw_starts(self.rng, max(self.chunk, k), *args)
            rest = [] if self._buf is None else [self._buf.take(slice(self._pos, None))]
            self._buf, self._pos = Starts.concat([*rest, fresh]), 0
        out = self._buf.take(np.arange(self._pos, self._pos + k))
        self._pos += k
        return out

    def replay_starts(self, seeds: Sequence[int]) -> Starts:
        """What the AEC env (this engine's world, population, tasks and user) draws on
        each of ``seeds``: it is reset on each and its draws are read back."""
        if self._aec is None:
            self._aec = ClarificationGameEnv(
                world=self.world, population=self.population, tasks=self.bank, user=self.user
            )
        env, personas = self._aec, [p.name for p in self.population.personas]
        rows = []
        for seed in seeds:
            env.reset(seed=int(seed))
            task, prof = env.task, env.profile
            if task.id not in self.tables.index:
                raise ValueError(f"seed {seed}: task {task.id!r} is not in the engine's tasks")
            row = {k: float(getattr(prof, k, 0.0)) for k in PROFILE_COLUMNS}
            row["band_lo"], row["band_hi"] = (float(x) for x in prof.length_band)
            ids = [it.id for it in task.interpretations]
            row.update(
                task=self.tables.index[task.id],
                intent=ids.index(prof.intent),
                pricing=PRICING_PLANS.index(prof.pricing),
                persona=personas.index(prof.persona),
                strategy=STRATEGIES.index(env.strategy),
                uniforms=np.array(env._outcome_u, dtype=float),
            )
            rows.append(row)
        ints = ("task", "intent", "pricing", "persona", "strategy")
        return Starts(
            **{k: np.array([r[k] for r in rows], dtype=int) for k in ints},
            uniforms=np.stack([r["uniforms"] for r in rows]),
            cols={k: np.array([r[k] for r in rows], dtype=float) for k in PROFILE_COLUMNS},
        )

    # ----------------------------------------------------------------- reset
    def reset(
        self, seed: int | None = None, episode_seeds: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Start ``n`` episodes; returns ``(obs [n, F] float32, mask [n, 9] int8, info)``.

        ``episode_seeds`` replays the AEC env's episodes on those seeds (``seed`` is then
        unused); otherwise episodes are drawn from ``seed`` (``None``: fresh entropy).
        """
        replay = None
        if episode_seeds is not None:
            seeds = [int(s) for s in episode_seeds]
            if not seeds:
                raise ValueError("episode_seeds must hold at least one seed")
            replay = self.replay_starts(seeds)
        self.rng = np.random.default_rng(np.random.SeedSequence(seed))
        self._buf, self._replay, self._pos = None, replay, 0
        self.starts = self._draw(self.n)
        z = np.zeros(self.n)
        self.led = rules.Ledger.start(z, z, z, z)
        self.last_mode = np.full(self.n, -1)
        self.last_user = np.zeros(self.n)
        self.replies = np.zeros(self.n)
        self.last_quality = np.zeros(self.n)
        self.episode = np.zeros(self.n, dtype=np.int64)
        self._next_episode = 0
        self._static = np.zeros((self.n, _STATIC.stop - _STATIC.start))
        self._pending = np.zeros(self.n, dtype=bool)
        self._start(np.arange(self.n), self.starts)
        return self._observe(), self.mask, {}

    def _start(self, idx: np.ndarray, st: Starts) -> None:
        """Put the episodes ``st`` into slots ``idx``: the state after the opening."""
        t = self.tables
        self.episode[idx] = self._next_episode + np.arange(len(idx))
        self._next_episode += len(idx)
        if self.user_agent is not None:  # the users choose their question type
            st.strategy = self._ask_users("strategy", idx, st, np.zeros(len(idx)))
        if st is not self.starts:
            for f in fields(Starts):
                if f.name != "cols":
                    getattr(self.starts, f.name)[idx] = getattr(st, f.name)
            for k, v in st.cols.items():
                self.starts.cols[k][idx] = v
        detailed = st.strategy == _DQ
        q_tokens = t.question[
            (st.task * len(STRATEGIES) + st.strategy) * t.n_intents_max + st.intent
        ]
        led0 = rules.Ledger.start(
            detailed=detailed,
            known=detailed | t.unambiguous[st.task],
            effort_detail=st.cols["effort_detail"],
            question_tokens=q_tokens,
        )
        for f in fields(rules.Ledger):
            getattr(self.led, f.name)[idx] = getattr(led0, f.name)
        self.last_mode[idx], self.last_user[idx], self.replies[idx] = -1, q_tokens, 0.0
        self.last_quality[idx] = 0.0
        static, rows = np.zeros((len(idx), self._static.shape[1])), np.arange(len(idx))
        static[:, 0] = t.ambiguity[st.task]
        offset = 1
        for value, size in (
            (t.difficulty[st.task], len(DIFFICULTIES)),
            (t.family[st.task], len(FAMILIES)),
            (st.pricing, len(PRICING_PLANS)),
        ):
            static[rows, offset + value] = 1.0
            offset += size
        self._static[idx] = static
        self._ep = episode_view(t, self.starts, self._rates)

    def _ask_users(
        self, phase: str, idx: np.ndarray, st: Starts, best: np.ndarray, **state: np.ndarray
    ) -> np.ndarray:
        """The user agent's actions for the episodes ``st`` in slots ``idx`` (``state``:
        ``turns``, ``last_mode``, ``last_quality``; zeros / none at the start)."""
        t, k = self.tables, len(idx)
        feats = user_features(
            phase=phase,
            turns=state.get("turns", np.zeros(k)),
            max_turns=self.world.max_turns,
            ambiguity=t.ambiguity[st.task],
            intent_is_default=t.unambiguous[st.task] | (st.intent == t.default[st.task]),
            last_mode=state.get("last_mode", np.full(k, -1)),
            last_quality=state.get("last_quality", np.zeros(k)),
            best_quality=best,
            cols=st.cols,
            pricing=st.pricing,
        )
        assert self.user_agent is not None
        return check_actions(self.user_agent(phase, feats, self.episode[idx].copy()), k, phase)

    def _decide(
        self, active: np.ndarray, mode: np.ndarray
    ) -> Callable[[rules.Ledger, np.ndarray, np.ndarray], np.ndarray]:
        """The user agent's reply decisions as :func:`play_turn`'s ``decide``."""

        def decide(led: rules.Ledger, going: np.ndarray, q_user: np.ndarray) -> np.ndarray:
            answered = active & (mode != _CQ)
            self.last_quality = np.where(answered, q_user, self.last_quality)
            ask = np.flatnonzero(going & active)
            wants = np.ones(self.n, dtype=bool)
            if len(ask):
                stop = self._ask_users(
                    "reply",
                    ask,
                    self.starts.take(ask),
                    led.q_user[ask],
                    turns=led.turns[ask],
                    last_mode=mode[ask],
                    last_quality=self.last_quality[ask],
                )
                wants[ask] = stop == 0
            return wants

        return decide

    def _observe(self) -> np.ndarray:
        """The assistant's observations now (:data:`ASSISTANT_FEATURES`), float32."""
        led, mt = self.led, self.world.max_turns
        obs = np.zeros((self.n, len(ASSISTANT_FEATURES)))
        obs[:, _COL["turn"]] = led.turns / mt
        obs[:, _COL["detailed_question"]] = self.starts.strategy == _DQ
        obs[:, _STATIC] = self._static
        obs[:, _COL["intent_stated"]] = led.known
        obs[:, _COL["context_tokens_k"]] = led.ctx / 1000.0
        obs[:, _COL["last_user_tokens_100"]] = self.last_user / 100.0
        obs[:, _COL["user_replies"]] = self.replies / mt
        has = self.last_mode >= 0
        obs[np.flatnonzero(has), _LAST_MODE + self.last_mode[has]] = 1.0
        return obs.astype(np.float32)

    @property
    def turns(self) -> np.ndarray:
        """Assistant turns played so far in each slot's episode."""
        return self.led.turns.astype(int)

    # ------------------------------------------------------------------ step
    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One assistant turn in every slot and the user's response (see the module
        docstring for the rewards, the auto-reset and the info)."""
        if self.rng is None:
            raise RuntimeError("step() called before reset()")
        a = np.asarray(actions)
        if a.shape != (self.n,) or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"actions must be {self.n} integers, got shape {a.shape} {a.dtype}")
        if a.min() < 0 or a.max() >= N_ACTIONS:
            raise ValueError(f"actions must be in 0..{N_ACTIONS - 1}, got {a.min()}..{a.max()}")
        a = a.astype(np.int64)
        active = ~self._pending
        if not active.all():  # next_step: restart the slots that ended last step
            idx = np.flatnonzero(self._pending)
            self._start(idx, self._draw(len(idx)))
            self._pending[:] = False
        st, led = self.starts, self.led
        turn = np.minimum(led.turns.astype(int), st.uniforms.shape[1] - 1)
        u = st.uniforms[np.arange(self.n), turn]
        ok = (a // _V == _CQ) | (u < self.tables.p_ok[st.task, a % _V])
        decide = None if self.user_agent is None else self._decide(active, a // _V)
        new, stop, reply_tokens = play_turn(
            self.tables, self.world, self.user, led, self._ep, a, ok.astype(np.int64), decide
        )
        if not active.all():
            new = rules.Ledger(
                **{
                    f.name: np.where(active, getattr(new, f.name), getattr(led, f.name))
                    for f in fields(rules.Ledger)
                }
            )
            stop = np.where(active, stop, _CONTINUE)
        self.led = new
        replied = (stop == _CONTINUE) & active
        self.last_mode = np.where(active, a // _V, self.last_mode)
        self.last_user = np.where(replied, reply_tokens, self.last_user)
        self.replies = self.replies + replied
        return self._finish(stop != _CONTINUE, stop)

    def _finish(
        self, done: np.ndarray, stop: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Rewards and outcomes of the episodes that ended; restart their slots."""
        u, _ = rules.user_gain(self.led, self.world)
        l_val, _ = rules.provider_gain(self.led, u, self.world)
        agg = np.asarray(self._aggregate(u, l_val), dtype=float)
        pick = {"aggregate": agg, "llm": l_val, "user": u}[self.assistant_reward]
        reward = np.where(done, pick, 0.0)
        truncated = done & (stop == _MAX_TURNS)
        info: dict[str, Any] = {"action_mask": self.mask}
        obs = self._observe()
        if done.any():
            info["final_info"] = {
                "user_welfare": u,
                "llm_welfare": l_val,
                "mutual_welfare": rules.mutual(u, l_val),
                "aggregate": agg,
                "turns": self.turns,
                "stop_code": stop,
                "strategy": self.starts.strategy.copy(),
                "task": self.starts.task.copy(),
                "episode": self.episode.copy(),
            }
            info["_final_info"] = done
            idx = np.flatnonzero(done)
            if self.autoreset_mode == "same_step":
                info["final_obs"], info["_final_obs"] = obs, done
                self._start(idx, self._draw(len(idx)))
                obs = self._observe()
            else:
                self._pending[idx] = True
        return obs, reward, done & ~truncated, truncated, info
