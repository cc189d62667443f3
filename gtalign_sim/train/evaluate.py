"""Held-out evaluation on a vectorised env: each slot's first episode, paired across policies.

A policy here is a function ``act(obs [N, F], mask [N, A]) -> actions [N]``. An env reset
on the same seed starts every slot on the same episode whatever the policy (the episodes
are drawn before any action), so two policies evaluated on one seed are compared on
paired episodes with common random numbers. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.vocab import Mode, Verbosity, encode_action
from .vec import OUTCOMES, VecEnvLike

__all__ = ["Policy", "always_da", "first_episodes", "paired_gap", "random_policy"]

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]

_DA = encode_action(Mode.DA.value, int(Verbosity.STANDARD))


def always_da(obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The always-DA baseline (:class:`gtalign_sim.agents.FixedAssistant`): a direct
    answer at standard verbosity, every turn."""
    return np.full(len(obs), _DA, dtype=np.int64)


def random_policy(seed: int) -> Policy:
    """Uniformly random legal actions (:class:`gtalign_sim.agents.RandomAssistant`),
    from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)

    def act(obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = np.asarray(mask, dtype=bool)
        u = rng.random(m.shape)
        return np.argmax(np.where(m, u, -1.0), axis=1).astype(np.int64)

    return act


def first_episodes(
    env: VecEnvLike,
    act: Policy,
    seed: int | None,
    episode_seeds: Sequence[int] | None = None,
    max_steps: int = 1000,
) -> dict[str, np.ndarray]:
    """Play ``act`` until every slot's first episode has ended; their outcomes.

    Returns arrays over slots: the :data:`~gtalign_sim.train.vec.OUTCOMES` (``U``, ``L``,
    ``√(U·L)``), ``reward`` (what the env paid) and ``turns``. ``episode_seeds`` replays
    the AEC env's episodes (batched engine only; slot ``i`` plays seed ``i``). Raises
    ``RuntimeError`` if an action is outside the mask.
    """
    if episode_seeds is not None:
        obs, mask, _ = env.reset(seed=seed, episode_seeds=list(episode_seeds))  # type: ignore[call-arg]
    else:
        obs, mask, _ = env.reset(seed=seed)
    n = env.num_envs
    out: dict[str, Any] = {k: np.full(n, np.nan) for k in (*OUTCOMES, "reward")}
    out["turns"] = np.zeros(n, dtype=int)
    ended = np.zeros(n, dtype=bool)
    for _ in range(max_steps):
        actions = np.asarray(act(obs, mask), dtype=np.int64)
        if not mask[np.arange(n), actions].all():
            raise RuntimeError("the policy chose an action outside the action mask")
        out["turns"] += ~ended
        obs, reward, _, _, info = env.step(actions)
        if "_final_info" in info:
            new = np.asarray(info["_final_info"], dtype=bool) & ~ended
            for k in OUTCOMES:
                out[k][new] = info["final_info"][k][new]
            out["reward"][new] = reward[new]
            ended |= new
        mask = info["action_mask"]
        if ended.all():
            return out
    raise RuntimeError(f"episodes still running after max_steps={max_steps}")


def paired_gap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of ``a - b`` over paired episodes (NaN pairs dropped)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        raise ValueError(f"paired_gap needs at least 2 finite pairs, got {len(d)}")
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
