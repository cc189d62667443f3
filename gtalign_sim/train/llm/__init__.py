"""Aligning an LLM with TRL: four-block SFT traces from the simulator, SFT, single-turn GRPO.

``import gtalign_sim.train.llm`` is light: torch, transformers, trl, datasets and peft are
imported on first use (the ``train`` and ``llm`` extras).

* :mod:`.data` — :class:`SynthesisConfig` / :func:`synthesize` / :func:`synthesize_dataset`:
  a planner plays the simulator; one prompt/completion example per assistant turn, with
  best-of-N by measured mutual welfare.
* :mod:`.sft` — :class:`SFTRunConfig` / :func:`train_sft` (TRL ``SFTTrainer``, LoRA optional).
* :mod:`.grpo` — :class:`GRPORunConfig` / :func:`train_grpo` (TRL ``GRPOTrainer``) with
  :class:`CompletionReward`, the reference recipe's single-turn reward; ``mode="multi_turn"``
  plays each sampled reply out against the simulated user.
* :mod:`.multiturn` — :class:`EpisodeRollout` (TRL's ``rollout_func``: user tokens masked,
  reward :class:`EpisodeReward`, the episode's welfare aggregate) on
  :func:`openings_dataset` (each episode's opening chat and seed).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "GRPO_MODES",
    "MULTI_TURN_COLUMNS",
    "PLANNERS",
    "RESPONSES",
    "REWARD_VARIANTS",
    "CompletionReward",
    "EpisodeReward",
    "EpisodeRollout",
    "GRPORunConfig",
    "SFTRunConfig",
    "SynthesisConfig",
    "candidate_actions",
    "openings",
    "openings_dataset",
    "prompt_key",
    "synthesize",
    "synthesize_dataset",
    "to_dataset",
    "train_grpo",
    "train_sft",
]

_LAZY = {
    "PLANNERS": ".data",
    "RESPONSES": ".data",
    "SynthesisConfig": ".data",
    "candidate_actions": ".data",
    "synthesize": ".data",
    "synthesize_dataset": ".data",
    "to_dataset": ".data",
    "SFTRunConfig": ".sft",
    "train_sft": ".sft",
    "REWARD_VARIANTS": ".grpo",
    "CompletionReward": ".grpo",
    "GRPORunConfig": ".grpo",
    "train_grpo": ".grpo",
    "GRPO_MODES": ".grpo",
    "MULTI_TURN_COLUMNS": ".openings",
    "EpisodeReward": ".multiturn",
    "EpisodeRollout": ".multiturn",
    "openings": ".openings",
    "openings_dataset": ".openings",
    "prompt_key": ".openings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
