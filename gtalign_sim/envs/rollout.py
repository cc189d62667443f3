"""Rollouts: play assistants in the clarification game and collect episode records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..core.failures import EpisodeFailure
from .clarification import ClarificationGameEnv

__all__ = ["assistant_info", "episode_seeds", "record_decision", "run_episode", "run_episodes"]


def assistant_info(env: Any, assistant: Any, info: Mapping[str, Any]) -> Mapping[str, Any]:
    """The info an assistant receives: the public view, plus the environment's
    privileged view for assistants declared ``privileged`` (oracle, clairvoyant)."""
    if not getattr(assistant, "privileged", False):
        return info
    raw = getattr(env, "unwrapped", env)
    return {**info, "privileged": raw.privileged_view()}


def episode_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent episode seeds derived from the run seed (``SeedSequence``)."""
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for c in children]


def record_decision(decision: Any) -> dict[str, Any]:
    """What an episode record keeps of a decision: action, payoff, belief, trace, estimates."""
    entry: dict[str, Any] = {"action": int(decision.action)}
    if decision.payoff is not None:
        entry["payoff"] = decision.payoff.rounded(3).to_gtalign()
    if decision.belief is not None:
        entry["belief"] = [round(float(x), 6) for x in decision.belief]
    if decision.trace is not None:
        entry["trace"] = decision.trace
    if decision.estimates:
        entry["estimates"] = {
            k: (round(float(v), 6) if isinstance(v, float) else v)
            for k, v in decision.estimates.items()
        }
    return entry


def run_episode(
    env: ClarificationGameEnv,
    assistant: Any,
    seed: int,
    options: Mapping[str, Any] | None = None,
    record_decisions: bool = True,
) -> dict[str, Any]:
    """Play one episode with ``assistant`` through the AEC API; return its record.

    The record is the environment's episode record plus ``decisions`` (the assistant's
    payoff matrices, beliefs and estimates per turn, when it reports them). An
    :class:`~gtalign_sim.core.failures.EpisodeFailure` raised by the assistant fails the
    episode (its record's ``failure``); the run goes on.
    """
    env.reset(seed=seed, options=dict(options or {}))
    decisions: list[dict[str, Any]] = []
    for agent in env.agent_iter():
        obs, _, term, trunc, info = env.last()
        if term or trunc:
            env.step(None)
            continue
        if agent != "assistant":
            raise RuntimeError("run_episode expects user_policy='simulator'")
        try:
            decision = assistant.act(obs, assistant_info(env, assistant, info))
        except EpisodeFailure as exc:  # e.g. the assistant's backend failed: a failed episode
            getattr(env, "unwrapped", env).fail(exc)
            continue
        if record_decisions:
            decisions.append(record_decision(decision))
        # the raw env takes the decision itself, so an LLM's own text and format score
        # reach it; wrapped envs (PettingZoo's bounds checks) take the index
        env.step(decision if isinstance(env, ClarificationGameEnv) else decision.action)
    record = dict(env.episode)
    record["decisions"] = decisions
    return record


def run_episodes(
    env_factory: Callable[[], ClarificationGameEnv],
    assistant: Any,
    plan: Iterable[tuple[int, int, Mapping[str, Any]]],
    on_episode: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Play ``assistant`` on every ``(index, seed, options)`` of ``plan`` in one env.

    One environment (hence one user simulator, whose beliefs evolve) per call.
    """
    env = env_factory()
    assistant.reset()
    out = []
    for index, seed, options in plan:
        rec = run_episode(env, assistant, seed, options)
        rec = {"assistant": assistant.name, "episode": int(index), "seed": int(seed), **rec}
        out.append(rec)
        if on_episode is not None:
            on_episode(rec)
    return out
