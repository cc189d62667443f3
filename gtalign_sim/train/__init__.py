"""Training assistants with reinforcement learning (PPO on the batched clarification game).

``import gtalign_sim.train`` is light: the configuration is plain Python and everything
that needs torch (the trainer, the policy, checkpoints) is imported on first use.

* :class:`PPOConfig` — the run's configuration (reward variant, PPO's knobs, the env).
* :class:`PPOTrainer` / :func:`train_ppo` — PPO with TorchRL's ``ClipPPOLoss``, ``GAE``
  and ``MaskedCategorical`` on :mod:`gtalign_sim.envs.batched`.
* :class:`LearnedAssistant` — a checkpoint's policy as an assistant, for every
  experiment: ``assistants.custom.learned={_target_: gtalign_sim.train.LearnedAssistant,
  checkpoint: <path>}``.
* :class:`UserLearner` / :class:`UserLearnerConfig` — the users' side as an independent
  learner (their DQ/VQ choice and reply-or-stop, rewarded with ``U``) on the batched
  engine; :func:`learn_together` plays it against a frozen or a learning assistant.
* :func:`write_csv` / :func:`plot_curve` — learning curves.
* :mod:`gtalign_sim.train.llm` — aligning an LLM with TRL: four-block traces from the
  simulator, SFT and single-turn GRPO.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import REWARDS, PPOConfig

__all__ = [
    "REWARDS",
    "LearnedAssistant",
    "PPOConfig",
    "PPOTrainer",
    "PolicyNet",
    "UserLearner",
    "UserLearnerConfig",
    "first_episodes",
    "learn_together",
    "load_checkpoint",
    "make_vec_env",
    "plot_curve",
    "train_ppo",
    "write_csv",
]

_LAZY = {
    "PPOTrainer": ".ppo",
    "train_ppo": ".ppo",
    "LearnedAssistant": ".policy",
    "PolicyNet": ".policy",
    "UserLearner": ".users",
    "UserLearnerConfig": ".users",
    "learn_together": ".dilemma",
    "load_checkpoint": ".checkpoint",
    "make_vec_env": ".vec",
    "first_episodes": ".evaluate",
    "plot_curve": ".curves",
    "write_csv": ".curves",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
