"""Both sides learning: learning users against a frozen or a learning assistant.

:class:`ObservedEngine` is the batched engine with a :class:`~gtalign_sim.train.UserLearner`
making the users' decisions, seen as a :class:`~gtalign_sim.train.vec.VecEnvLike` (so a
:class:`~gtalign_sim.train.PPOTrainer` can train the assistant on it): every step's
outcomes settle the users' decisions, and it tallies what the two sides did.
:func:`learn_together` runs the loop — per update, one rollout (the assistant learning
with PPO, or a frozen policy playing), then a PPO step for the assistant (when it
learns) and one for the users — and returns the learning curve;
:func:`evaluate_play` measures where play ended with learning off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.vocab import MODES, N_ACTIONS, StopCode
from ..envs.batched import BatchedClarificationEngine
from .users import UserLearner

__all__ = ["ObservedEngine", "Policy", "evaluate_play", "learn_together"]

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""A frozen assistant: ``(obs [N, F], mask [N, 9]) → actions [N]``."""

_V = N_ACTIONS // len(MODES)
_OUTCOMES = ("user_welfare", "llm_welfare", "mutual_welfare")
_ENDED = (*_OUTCOMES, "strategy", "stop_code")
_GAVE_UP = int(StopCode.GAVE_UP)
_USER_STATS = ("user_entropy", "user_kl_approx")


class ObservedEngine:
    """The engine as a :class:`~gtalign_sim.train.vec.VecEnvLike`, feeding the users'
    learner (``None``: the engine's simulated users decide) and tallying both sides'
    play (:meth:`take`)."""

    def __init__(self, engine: BatchedClarificationEngine, users: UserLearner | None) -> None:
        if engine.user_agent is not users:
            raise ValueError("engine: its user_agent must be the users' learner")
        self.engine, self.users = engine, users
        self.num_envs = engine.n
        self.single_observation_space = engine.single_observation_space
        self.single_action_space = engine.single_action_space
        self._reset_tally()

    def _reset_tally(self) -> None:
        self._modes = np.zeros((2, len(MODES)), dtype=np.int64)  # by question type DQ/VQ
        self._ended: dict[str, list[np.ndarray]] = {k: [] for k in _ENDED}

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Start every slot (the users choose their question type); the users'
        decisions in episodes still in play are dropped."""
        if self.users is not None and self.users.learning:
            self.users.abandon()
        obs, mask, info = self.engine.reset(seed=seed)
        return obs, mask.astype(bool), info

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One assistant turn; settles the users' decisions of the episodes that ended."""
        a = np.asarray(actions, dtype=np.int64)
        np.add.at(self._modes, (self.engine.starts.strategy, a // _V), 1)
        obs, reward, term, trunc, info = self.engine.step(a)
        if self.users is not None:
            self.users.observe(info)
        if "_final_info" in info:
            done = np.asarray(info["_final_info"], dtype=bool)
            for k in _ENDED:
                self._ended[k].append(np.asarray(info["final_info"][k])[done])
        info = {**info, "action_mask": np.asarray(info["action_mask"], dtype=bool)}
        return obs, reward, term, trunc, info

    def take(self) -> dict[str, float]:
        """What happened since the last call, over the episodes that ended: their count,
        the share asked as detailed questions (``dq_share``) and ended by the user giving
        up (``gave_up_share``), the means of U, L and √(U·L); and the assistant's share of
        each mode over its turns (all, and on vague questions: ``*_share_vq``)."""
        ended = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self._ended.items()}
        n = len(ended["strategy"])
        row: dict[str, float] = {
            "episodes": float(n),
            "dq_share": _share((ended["strategy"] == 0).sum(), n),
            "gave_up_share": _share((ended["stop_code"] == _GAVE_UP).sum(), n),
        }
        for k in _OUTCOMES:
            row[k] = float(ended[k].mean()) if n else float("nan")
        total = self._modes.sum(axis=0)
        for i, m in enumerate(MODES):
            row[f"{m.lower()}_share"] = _share(total[i], total.sum())
            row[f"{m.lower()}_share_vq"] = _share(self._modes[1, i], self._modes[1].sum())
        self._reset_tally()
        return row


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else float("nan")


def learn_together(
    env: ObservedEngine,
    assistant: Any,
    updates: int,
    rollout_steps: int = 8,
    seed: int = 0,
    users_learn: bool = True,
    on_update: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """``updates`` rounds of play and learning; returns one curve row per update.

    ``assistant`` is a :class:`~gtalign_sim.train.PPOTrainer` built on ``env`` (it
    learns: its rollout is ``config.rollout_steps`` steps) or a frozen :data:`Policy`
    (``rollout_steps`` steps per update, ``env`` reset on ``seed``). The users learn
    after every rollout unless ``users_learn`` is false.
    """
    import torch

    from .ppo import PPOTrainer

    learning = isinstance(assistant, PPOTrainer)
    if learning and assistant.env is not env:
        raise ValueError("assistant: a PPOTrainer must be built on this env")
    if env.users is None:
        raise ValueError("env: learn_together needs the users' learner")
    env.users.learning = users_learn
    curve: list[dict[str, Any]] = []
    obs = mask = None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread is fastest and machine-independent
    start = time.perf_counter()
    try:
        for update in range(1, updates + 1):
            stats: dict[str, float] = {}
            if learning:
                data, _ = assistant.collect()
                stats = assistant.learn(data)
            else:
                if obs is None:
                    obs, mask, _ = env.reset(seed=seed)
                for _ in range(rollout_steps):
                    obs, _, _, _, info = env.step(assistant(obs, mask))
                    mask = info["action_mask"]
            ustats = env.users.learn() if users_learn else {}
            row = {"update": update, **env.take(), "wall_s": time.perf_counter() - start}
            row.update({k: stats[k] for k in ("entropy", "kl_approx") if k in stats})
            row.update({k: v for k, v in ustats.items() if k in _USER_STATS})
            curve.append(row)
            if on_update is not None:
                on_update(row)
    finally:
        torch.set_num_threads(threads)
    return curve


def evaluate_play(env: ObservedEngine, policy: Policy, steps: int, seed: int) -> dict[str, float]:
    """Play ``steps`` steps on ``seed`` with learning off (the users sample from their
    policy, nothing is recorded for learning; ``policy`` plays the assistant) and return
    :meth:`ObservedEngine.take`'s tally. Use an env of its own (not the training one)."""
    users = env.users
    before = True if users is None else users.learning
    if users is not None:
        users.learning = False
    try:
        env.take()
        obs, mask, _ = env.reset(seed=seed)
        for _ in range(steps):
            obs, _, _, _, info = env.step(policy(obs, mask))
            mask = info["action_mask"]
        return env.take()
    finally:
        if users is not None:
            users.learning = before
