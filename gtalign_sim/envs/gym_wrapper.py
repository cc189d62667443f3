"""A Gymnasium single-agent view of the assistant, the user simulated inside.

``gymnasium.make("gtalign_sim/ClarificationAssistant-v0")`` (registered when
:mod:`gtalign_sim` is imported) gives an env whose observation is the assistant's
feature vector (a ``Box``), whose action is ``Discrete(9)`` (mode × verbosity) and
whose reward is the assistant's terminal reward (the welfare aggregate by default),
so off-the-shelf single-agent RL libraries train on it unchanged. The action mask and
the episode record are in ``info``.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from .clarification import ClarificationGameEnv

__all__ = ["ENV_ID", "ClarificationAssistantEnv"]

ENV_ID = "gtalign_sim/ClarificationAssistant-v0"


class ClarificationAssistantEnv(gymnasium.Env):
    """Single-agent wrapper: the assistant acts, the user simulator responds.

    Keyword arguments go to :class:`~gtalign_sim.envs.clarification.ClarificationGameEnv`
    (``user_policy`` is always ``"simulator"``). The default user does not learn across
    episodes (``learn=False``), so the environment is stationary and ``reset(seed=s)``
    reproduces an episode exactly, as single-agent RL libraries expect; pass
    ``user={"_target_": "gtalign_sim.users.ParametricUser", "learn": True}`` for users
    who adapt to the policy being trained.
    """

    metadata = {"render_modes": ["human", "ansi"]}  # noqa: RUF012

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("user_policy", None)
        kwargs.setdefault("user", {"_target_": "gtalign_sim.users.ParametricUser", "learn": False})
        self.game = ClarificationGameEnv(user_policy="simulator", render_mode=render_mode, **kwargs)
        self.render_mode = render_mode
        self.observation_space = self.game.observation_space("assistant")["observation"]
        self.action_space = self.game.action_space("assistant")

    def _obs_info(self) -> tuple[np.ndarray, dict[str, Any]]:
        obs = self.game.observe("assistant")
        info = {"action_mask": obs["action_mask"], **self.game.infos.get("assistant", {})}
        if self.game.episode:
            info["episode"] = self.game.episode
        return obs["observation"], info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; returns the assistant's first observation and info."""
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**63 - 1))
        self.game.reset(seed=seed, options=options)
        self.action_space.seed(seed)
        return self._obs_info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One assistant turn (and the user's response); reward only at the end."""
        if not self.action_space.contains(np.int64(action)):
            raise ValueError(f"action must be in 0..{self.action_space.n - 1}, got {action!r}")
        self.game.step(int(action))
        obs, info = self._obs_info()
        done = bool(self.game.terminations.get("assistant", False))
        trunc = bool(self.game.truncations.get("assistant", False))
        reward = float(self.game.rewards.get("assistant", 0.0)) if (done or trunc) else 0.0
        return obs, reward, done, trunc, info

    def render(self) -> str | None:
        """The transcript (see :meth:`ClarificationGameEnv.render`)."""
        return self.game.render()


def register() -> None:
    """Register :data:`ENV_ID` with Gymnasium (idempotent; importing the package does it)."""
    from .. import _register_gymnasium_envs

    _register_gymnasium_envs()
