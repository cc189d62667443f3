"""A bimatrix game between a user and an assistant as a PettingZoo ``ParallelEnv``.

Any :class:`~gtalign_sim.game.PayoffMatrix` (or preset name) becomes a simultaneous-move
game, played once (``rounds=1``) or repeated for a fixed horizon ``T = rounds``.

Agents
    ``"user"`` (row player, ``Discrete(n)``) and ``"assistant"`` (column player,
    ``Discrete(m)``), where ``(n, m) = game.shape``.

Observation (identical ``Box(0, 1, (memory * (n + m) + 1,), float32)`` for both agents)
    ``memory`` slots, most recent round first, then the normalised round index::

        [slot_0 | slot_1 | ... | slot_{memory-1} | t / T]
        slot_k = [one-hot(own action of round t-k) | one-hot(opponent action of round t-k)]

    For the user a slot is ``n + m`` long (own ``n`` first); for the assistant it is
    ``m + n`` (own ``m`` first). A slot is all zeros until ``k + 1`` rounds have been
    played. ``t`` counts rounds played so far (``0`` after :meth:`~MatrixGameEnv.reset`,
    ``T`` after the last step). :meth:`MatrixGameEnv.decode_observation` inverts this.

Episode end (one convention, used everywhere)
    After round ``T`` every agent is done and ``env.agents`` becomes empty. A one-shot
    game (``rounds == 1``) ends with ``terminations=True`` (the game itself is over); a
    repeated game (``rounds > 1``) ends with ``truncations=True`` (a fixed horizon cut
    off a game that could go on). The other flag is ``False``.

Factories follow PettingZoo's classic environments: :func:`parallel_env` (the
``ParallelEnv``), :func:`raw_env` (the unwrapped AEC conversion) and :func:`env` (the AEC
conversion in the standard assertion and order-enforcing wrappers).

The module also holds small policies for repeated play (:class:`TitForTat`,
:class:`GrimTrigger`, ...) and :func:`play_repeated`, which plays one episode with them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium.spaces import Box, Discrete
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import wrappers
from pettingzoo.utils.conversions import parallel_to_aec_wrapper

from gtalign_sim.game import PRESETS, PayoffMatrix, get_preset

__all__ = [
    "AGENTS",
    "AlwaysCooperate",
    "AlwaysDefect",
    "GrimTrigger",
    "MatrixGameEnv",
    "Policy",
    "RandomPolicy",
    "TitForTat",
    "env",
    "gtalign_game",
    "parallel_env",
    "play_repeated",
    "prisoners_dilemma",
    "raw_env",
]

USER = "user"
ASSISTANT = "assistant"
AGENTS: tuple[str, str] = (USER, ASSISTANT)
"""Agent ids: the row player, then the column player."""

JointAction = tuple[int, int]
"""``(user action, assistant action)``, or ``(own, opponent)`` from a player's view."""


def _check_int(value: Any, field: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{field} must be >= {minimum}, got {value}")
    return int(value)


class MatrixGameEnv(ParallelEnv):
    """A one-shot or repeated bimatrix game between ``"user"`` and ``"assistant"``.

    Args:
        game: a :class:`PayoffMatrix` or a preset name (see ``gtalign_sim.game.PRESETS``);
            unknown names raise ``ValueError`` listing the presets.
        rounds: horizon ``T >= 1``.
        memory: recent joint actions in the observation; ``>= 1`` when ``rounds > 1``,
            ``0`` allowed for a one-shot game, at most ``rounds``.
        render_mode: ``None``, ``"human"`` (print) or ``"ansi"`` (return a string).

    Rewards are each player's payoff in the cell played. The dynamics are deterministic;
    ``reset(seed=...)`` only seeds the agents' spaces (see :meth:`reset`).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "matrix_game_v0",
        "render_modes": ["human", "ansi"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        game: PayoffMatrix | str = "prisoners_dilemma",
        rounds: int = 1,
        memory: int = 1,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(game, str):
            if game not in PRESETS:
                raise ValueError(f"unknown game {game!r}; allowed presets: {sorted(PRESETS)}")
            self.game_name = game
            game = get_preset(game)
        elif isinstance(game, PayoffMatrix):
            self.game_name = "custom"
        else:
            raise ValueError(
                f"game must be a PayoffMatrix or a preset name, got {type(game).__name__}"
            )
        self.game: PayoffMatrix = game
        self.rounds = _check_int(rounds, "rounds", 1)
        self.memory = _check_int(memory, "memory", 1 if self.rounds > 1 else 0)
        if self.memory > self.rounds:
            raise ValueError(f"memory must be <= rounds ({self.rounds}), got {self.memory}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode

        n, m = game.shape
        self.possible_agents: list[str] = list(AGENTS)
        self.agents: list[str] = []
        self._n_actions = {USER: n, ASSISTANT: m}
        size = self.memory * (n + m) + 1
        # Built once per agent: the methods below always return the same objects, which
        # PettingZoo's tests require (for seeding to take effect).
        self.observation_spaces = {
            a: Box(0.0, 1.0, shape=(size,), dtype=np.float32) for a in self.possible_agents
        }
        self.action_spaces = {a: Discrete(self._n_actions[a]) for a in self.possible_agents}

        self.history: list[JointAction] = []
        self.totals: dict[str, float] = dict.fromkeys(self.possible_agents, 0.0)
        self._started = False

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent: str) -> Box:
        """The agent's observation space (the same object on every call)."""
        return self.observation_spaces[self._check_agent(agent)]

    def action_space(self, agent: str) -> Discrete:
        """The agent's action space (the same object on every call)."""
        return self.action_spaces[self._check_agent(agent)]

    def _check_agent(self, agent: str) -> str:
        if agent not in self._n_actions:
            raise ValueError(f"unknown agent {agent!r}; agents: {self.possible_agents}")
        return agent

    # ------------------------------------------------------------------ API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start a new episode; return ``(observations, infos)`` for both agents.

        Observations hold no history and ``t / T = 0`` (all zeros); ``infos[agent]`` is
        ``{"round": 0}``. With a ``seed`` each agent's action and observation space is
        seeded from ``numpy.random.SeedSequence(seed)`` (global RNG state is never
        touched); without one the spaces keep their state. ``options`` is ignored.
        """
        if seed is not None:
            children = np.random.SeedSequence(seed).spawn(2 * len(self.possible_agents))
            for i, agent in enumerate(self.possible_agents):
                self.action_space(agent).seed(int(children[2 * i].generate_state(1)[0]))
                self.observation_space(agent).seed(int(children[2 * i + 1].generate_state(1)[0]))
        self.agents = self.possible_agents[:]
        self.history = []
        self.totals = dict.fromkeys(self.possible_agents, 0.0)
        self._started = True
        observations = {a: self._observe(a) for a in self.agents}
        infos: dict[str, dict[str, Any]] = {a: {"round": 0} for a in self.agents}
        return observations, infos

    def step(
        self, actions: Mapping[str, int]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Play one round; ``actions`` must hold an action for each live agent.

        Returns ``(observations, rewards, terminations, truncations, infos)`` keyed by both
        agents. ``rewards`` are the payoffs of the cell played. ``infos[agent]`` is
        ``{"round": t, "cell": "<row>_<col>", "user_payoff", "assistant_payoff",
        "joint_action": (i, j)}`` with ``t`` the 1-based round just played; the last step
        adds ``"cumulative_user_payoff"`` and ``"cumulative_assistant_payoff"``. After the
        last round the agents are done (see the module docstring) and ``self.agents`` is
        empty. Bad or missing actions raise ``ValueError``; stepping before ``reset`` or
        after the episode ended raises ``RuntimeError``.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("the episode is over; call reset() to play again")
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise ValueError(f"actions for unknown agents {sorted(unknown)}; live: {self.agents}")
        joint = []
        for agent in self.agents:
            if agent not in actions:
                raise ValueError(f"missing action for agent {agent!r}")
            action = actions[agent]
            if isinstance(action, (bool, np.bool_)) or not self.action_space(agent).contains(
                action
            ):
                raise ValueError(
                    f"action {action!r} of {agent!r} is not in {self.action_space(agent)}"
                )
            joint.append(int(action))
        i, j = joint
        self.history.append((i, j))
        u, l = float(self.game.user[i, j]), float(self.game.llm[i, j])
        self.totals[USER] += u
        self.totals[ASSISTANT] += l

        t = len(self.history)
        done = t >= self.rounds
        info: dict[str, Any] = {
            "round": t,
            "cell": f"{self.game.user_strategies[i]}_{self.game.assistant_actions[j]}",
            "user_payoff": u,
            "assistant_payoff": l,
            "joint_action": (i, j),
        }
        if done:
            info["cumulative_user_payoff"] = self.totals[USER]
            info["cumulative_assistant_payoff"] = self.totals[ASSISTANT]
        agents = self.agents
        observations = {a: self._observe(a) for a in agents}
        rewards = {USER: u, ASSISTANT: l}
        terminations = dict.fromkeys(agents, done and self.rounds == 1)
        truncations = dict.fromkeys(agents, done and self.rounds > 1)
        infos = {a: dict(info) for a in agents}
        if done:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def _observe(self, agent: str) -> np.ndarray:
        n_own = self._n_actions[agent]
        width = self.game.shape[0] + self.game.shape[1]
        obs = np.zeros(self.observation_spaces[agent].shape, dtype=np.float32)
        for k, (i, j) in enumerate(reversed(self.history[-self.memory :] if self.memory else [])):
            own, opp = (i, j) if agent == USER else (j, i)
            obs[k * width + own] = 1.0
            obs[k * width + n_own + opp] = 1.0
        obs[-1] = len(self.history) / self.rounds
        return obs

    def decode_observation(
        self, agent: str, observation: np.ndarray
    ) -> tuple[list[JointAction], float]:
        """Invert the observation layout: ``([(own, opponent), ...], t / T)``.

        Joint actions are the filled slots, most recent first, from ``agent``'s view.
        """
        n_own = self._n_actions[self._check_agent(agent)]
        width = self.game.shape[0] + self.game.shape[1]
        obs = np.asarray(observation)
        pairs = []
        for k in range(self.memory):
            slot = obs[k * width : (k + 1) * width]
            if not slot.any():
                break
            pairs.append((int(np.argmax(slot[:n_own])), int(np.argmax(slot[n_own:]))))
        return pairs, float(obs[-1])

    def render(self) -> str | None:
        """The history as text: returned in ``"ansi"`` mode, printed in ``"human"`` mode."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; nothing rendered")
            return None
        lines = [
            f"{self.metadata['name']} ({self.game_name}, {self.game.shape[0]}x"
            f"{self.game.shape[1]}), round {len(self.history)}/{self.rounds}"
        ]
        for t, (i, j) in enumerate(self.history, start=1):
            s, a = self.game.user_strategies[i], self.game.assistant_actions[j]
            lines.append(
                f"  round {t}: user={s} assistant={a} "
                f"payoffs=({self.game.user[i, j]:g}, {self.game.llm[i, j]:g})"
            )
        lines.append(f"  total: user={self.totals[USER]:g} assistant={self.totals[ASSISTANT]:g}")
        text = "\n".join(lines)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        """Nothing to release (no windows or subprocesses)."""


# ---------------------------------------------------------------------- factories
def parallel_env(**kwargs: Any) -> MatrixGameEnv:
    """The ``ParallelEnv``; keyword arguments go to :class:`MatrixGameEnv`."""
    return MatrixGameEnv(**kwargs)


def raw_env(**kwargs: Any) -> AECEnv:
    """The unwrapped AEC conversion (``parallel_to_aec_wrapper``) of :func:`parallel_env`."""
    return parallel_to_aec_wrapper(parallel_env(**kwargs))


def env(**kwargs: Any) -> AECEnv:
    """The AEC version, in ``AssertOutOfBoundsWrapper`` and ``OrderEnforcingWrapper``."""
    aec = wrappers.AssertOutOfBoundsWrapper(raw_env(**kwargs))
    return wrappers.OrderEnforcingWrapper(aec)


def prisoners_dilemma(rounds: int = 1, **kwargs: Any) -> MatrixGameEnv:
    """The (iterated) prisoner's dilemma, actions ``0 = C``, ``1 = D``."""
    return MatrixGameEnv("prisoners_dilemma", rounds=rounds, **kwargs)


def gtalign_game(rounds: int = 1, **kwargs: Any) -> MatrixGameEnv:
    """The GTAlign 2×3 game: user ``DQ/VQ`` against assistant ``DA/CQ/AQ``."""
    return MatrixGameEnv("gtalign_example", rounds=rounds, **kwargs)


# ---------------------------------------------------------------------- policies
class Policy(ABC):
    """A strategy for repeated play.

    :func:`play_repeated` calls ``reset(num_actions)`` once per episode, then
    ``act(history)`` each round, where ``history`` holds the rounds played so far as
    ``(own action, opponent action)`` pairs, oldest first, and ``act`` returns an own
    action index.
    """

    num_actions: int | None = None

    def reset(self, num_actions: int) -> None:
        """Prepare for an episode in which this player has ``num_actions`` actions."""
        self.num_actions = num_actions

    @abstractmethod
    def act(self, history: Sequence[JointAction]) -> int:
        """The next own action given the history so far."""


class _Constant(Policy):
    def __init__(self, action: int) -> None:
        self.action = _check_int(action, "action", 0)

    def reset(self, num_actions: int) -> None:
        if self.action >= num_actions:
            raise ValueError(f"action {self.action} out of range for {num_actions} actions")
        super().reset(num_actions)

    def act(self, history: Sequence[JointAction]) -> int:
        return self.action


class AlwaysCooperate(_Constant):
    """Always play ``action`` (the cooperative one; index 0 by default)."""

    def __init__(self, action: int = 0) -> None:
        super().__init__(action)


class AlwaysDefect(_Constant):
    """Always play ``action`` (the defecting one; index 1 by default)."""

    def __init__(self, action: int = 1) -> None:
        super().__init__(action)


class TitForTat(Policy):
    """Play ``cooperate`` first, then answer the opponent's last action.

    The answer is ``response[opponent action]`` when a mapping is given (needed when the
    two players have different actions, e.g. the 2×3 GTAlign game), else the opponent's
    action itself.
    """

    def __init__(self, cooperate: int = 0, response: Mapping[int, int] | None = None) -> None:
        self.cooperate = _check_int(cooperate, "cooperate", 0)
        self.response = dict(response) if response is not None else None

    def act(self, history: Sequence[JointAction]) -> int:
        if not history:
            return self.cooperate
        last = history[-1][1]
        if self.response is not None:
            if last not in self.response:
                raise ValueError(f"response has no entry for opponent action {last}")
            return self.response[last]
        if self.num_actions is not None and last >= self.num_actions:
            raise ValueError(
                f"cannot copy opponent action {last} with {self.num_actions} own actions; "
                "pass a response mapping"
            )
        return last


class GrimTrigger(Policy):
    """Play ``cooperate`` until the opponent leaves ``forgiven``, then ``defect`` forever.

    ``forgiven`` is the set of opponent actions that count as cooperation (default
    ``{cooperate}``).
    """

    def __init__(
        self, cooperate: int = 0, defect: int = 1, forgiven: Collection[int] | None = None
    ) -> None:
        self.cooperate = _check_int(cooperate, "cooperate", 0)
        self.defect = _check_int(defect, "defect", 0)
        self.forgiven = frozenset(forgiven if forgiven is not None else {self.cooperate})

    def act(self, history: Sequence[JointAction]) -> int:
        if any(opp not in self.forgiven for _, opp in history):
            return self.defect
        return self.cooperate


class RandomPolicy(Policy):
    """Uniformly random actions from its own generator (a ``Generator`` or a seed)."""

    def __init__(self, rng: np.random.Generator | int | None = None) -> None:
        self.rng = np.random.default_rng(rng)

    def act(self, history: Sequence[JointAction]) -> int:
        if self.num_actions is None:
            raise RuntimeError("call reset(num_actions) before act()")
        return int(self.rng.integers(self.num_actions))


def play_repeated(
    env: MatrixGameEnv,
    user_policy: Policy,
    assistant_policy: Policy,
    seed: int | None = None,
) -> dict[str, Any]:
    """Play one episode of ``env`` (reset with ``seed``) between two policies.

    Returns ``{"rounds", "user_actions", "assistant_actions", "cells", "user_payoffs",
    "assistant_payoffs", "user_total", "assistant_total"}``: per-round lists and the
    cumulative payoffs.
    """
    env.reset(seed=seed)
    policies = {USER: user_policy, ASSISTANT: assistant_policy}
    for agent, policy in policies.items():
        policy.reset(int(env.action_space(agent).n))
    views: dict[str, list[JointAction]] = {USER: [], ASSISTANT: []}
    out: dict[str, Any] = {
        "user_actions": [],
        "assistant_actions": [],
        "cells": [],
        "user_payoffs": [],
        "assistant_payoffs": [],
    }
    while env.agents:
        actions = {a: policies[a].act(tuple(views[a])) for a in env.agents}
        _, rewards, _, _, infos = env.step(actions)
        i, j = infos[USER]["joint_action"]
        views[USER].append((i, j))
        views[ASSISTANT].append((j, i))
        out["user_actions"].append(i)
        out["assistant_actions"].append(j)
        out["cells"].append(infos[USER]["cell"])
        out["user_payoffs"].append(rewards[USER])
        out["assistant_payoffs"].append(rewards[ASSISTANT])
    out["rounds"] = len(out["cells"])
    out["user_total"] = float(sum(out["user_payoffs"]))
    out["assistant_total"] = float(sum(out["assistant_payoffs"]))
    return out
