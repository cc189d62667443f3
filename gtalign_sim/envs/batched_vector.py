"""The batched engine as a Gymnasium ``VectorEnv`` (the ``make_vec`` vector entry point of
``gtalign_sim/ClarificationAssistant-v0``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .batched import BatchedClarificationEngine

__all__ = ["ClarificationVectorEnv"]


class ClarificationVectorEnv(VectorEnv):
    """:class:`BatchedClarificationEngine` as a ``gymnasium.vector.VectorEnv``.

    Each sub-env has the Gymnasium view's spaces (``single_observation_space`` the
    assistant's feature ``Box``, ``single_action_space`` ``Discrete(9)``); the action
    mask is in ``info["action_mask"]``. Keyword arguments go to the engine;
    ``reset(options={"episode_seeds": [...]})`` replays the AEC env's episodes.
    """

    def __init__(self, num_envs: int = 1024, **kwargs: Any) -> None:
        self.engine = BatchedClarificationEngine(num_envs, **kwargs)
        same = self.engine.autoreset_mode == "same_step"
        mode = AutoresetMode.SAME_STEP if same else AutoresetMode.NEXT_STEP
        self.metadata = {"autoreset_mode": mode}
        self.num_envs = self.engine.n
        self.single_observation_space = self.engine.single_observation_space
        self.single_action_space = self.engine.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start every sub-env; ``info["action_mask"]`` is ``[num_envs, 9]``."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be one integer (one engine Generator), got {seed!r}")
        super().reset(seed=seed)
        options = dict(options or {})
        obs, mask, info = self.engine.reset(seed, episode_seeds=options.get("episode_seeds"))
        return obs, {**info, "action_mask": mask}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """One assistant turn in every sub-env (see the engine)."""
        return self.engine.step(actions)
