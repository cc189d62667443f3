"""The openings of multi-turn GRPO: one row per episode seed, ``prompt`` exactly
:meth:`~gtalign_sim.agents.llm.LLMAssistant.messages` after ``env.reset(seed)``, and the
registry key (:func:`prompt_key`) that maps a prompt back to its seed
(:class:`~gtalign_sim.train.llm.multiturn.EpisodeRollout`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...agents.llm import LLMAssistant
from ...envs.clarification import ClarificationGameEnv
from ...envs.rollout import episode_seeds
from ...protocol import PromptConfig
from .common import check_int

__all__ = ["MULTI_TURN_COLUMNS", "check_env", "openings", "openings_dataset", "prompt_key"]

MULTI_TURN_COLUMNS: tuple[str, ...] = ("prompt", "seed")
"""The dataset columns multi-turn GRPO needs: the opening chat and its episode seed."""


def prompt_key(messages: Sequence[Mapping[str, Any]]) -> str:
    """The registry key of a chat: its ``(role, content)`` pairs as canonical JSON."""
    return json.dumps([[str(m["role"]), str(m["content"])] for m in messages])


def check_env(env: Any) -> dict[str, Any]:
    """``env`` as env keyword arguments; ``ValueError`` unless the simulated user replies."""
    if not isinstance(env, Mapping):
        raise ValueError(f"env must be a mapping of env keyword arguments, got {env!r}")
    if env.get("user_policy", "simulator") != "simulator":
        raise ValueError("env.user_policy must be 'simulator' (the simulated user replies)")
    return dict(env)


def openings(
    n_episodes: int,
    seed: int = 0,
    env: Mapping[str, Any] | None = None,
    prompt: PromptConfig | None = None,
) -> list[dict[str, Any]]:
    """One row per episode seed (derived from ``seed``): ``prompt`` (the LLM assistant's
    chat at turn 0), ``seed``, ``task_id``, ``family``, ``question_type``, ``pricing``.
    A seed whose opening equals an earlier seed's is dropped (:mod:`.multiturn`: a
    prompt must map back to one seed)."""
    check_int("n_episodes", n_episodes)
    check_int("seed", seed, low=0)
    game = ClarificationGameEnv(**check_env(env or {}))
    writer = LLMAssistant(backend="template", prompt=prompt)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for s in episode_seeds(seed, n_episodes):
        game.reset(seed=s)
        if game.episode:  # ended before the assistant's first turn: nothing to learn
            continue
        info = game.infos["assistant"]
        messages = writer.messages(info)
        if prompt_key(messages) in seen:
            continue
        seen.add(prompt_key(messages))
        rows.append(
            {
                "prompt": messages,
                "seed": int(s),
                "task_id": game.task.id,
                "family": game.task.family,
                "question_type": str(info["question_type"]),
                "pricing": game.profile.pricing,
            }
        )
    return rows


def openings_dataset(n_episodes: int, seed: int = 0, **kwargs: Any) -> Any:
    """:func:`openings` as a ``datasets.Dataset``."""
    from datasets import Dataset

    return Dataset.from_list(openings(n_episodes, seed, **kwargs))
