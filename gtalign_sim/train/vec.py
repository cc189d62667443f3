"""The vectorised environment the trainer plays: a small protocol and its adapters.

:class:`VecEnvLike` is what :class:`~gtalign_sim.train.PPOTrainer` needs: ``num_envs``
episodes in lockstep with same-step auto-reset, the action mask of every observation and
each finished episode's ``U`` and ``L``. :class:`GymVecAdapter` gives that view of a
``gymnasium.vector.VectorEnv`` in ``SAME_STEP`` auto-reset mode — the batched engine
(:class:`gtalign_sim.envs.batched_vector.ClarificationVectorEnv`, the default and fast path) or a
``SyncVectorEnv`` over :class:`gtalign_sim.envs.ClarificationAssistantEnv` (the
reference path, one AEC env per slot). No torch here.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import gymnasium
import numpy as np

__all__ = [
    "BACKENDS",
    "OUTCOMES",
    "GymVecAdapter",
    "VecEnvLike",
    "make_vec_env",
    "task_bank",
]

OUTCOMES: tuple[str, ...] = ("user_welfare", "llm_welfare", "mutual_welfare")
"""What ``info["final_info"]`` holds for every finished episode (arrays over slots)."""

BACKENDS: tuple[str, ...] = ("batched", "sync")


@runtime_checkable
class VecEnvLike(Protocol):
    """``num_envs`` clarification-game episodes in lockstep (same-step auto-reset).

    ``reset(seed)`` → ``(obs [N, F] float32, mask [N, A] bool, info)``;
    ``step(actions [N])`` → ``(obs, reward [N], terminated [N], truncated [N], info)``
    where the reward is paid on the step that ends an episode, ``obs`` is already the
    next episode's first observation there, ``info["action_mask"]`` is the mask of
    ``obs`` and ``info["final_info"]`` holds the :data:`OUTCOMES` arrays, valid where
    ``info["_final_info"]``.
    """

    num_envs: int
    single_observation_space: gymnasium.spaces.Space
    single_action_space: gymnasium.spaces.Space

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Start every slot."""
        ...

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One assistant turn in every slot."""
        ...


def _as_float(values: Any, n: int) -> np.ndarray:
    """An array of floats (``None``, e.g. a failed episode's welfare, becomes NaN)."""
    arr = np.asarray(values, dtype=object).reshape(n)
    return np.array([np.nan if v is None else float(v) for v in arr], dtype=float)


class GymVecAdapter:
    """:class:`VecEnvLike` over a ``gymnasium.vector.VectorEnv`` in ``SAME_STEP`` mode.

    The mask is read from ``info["action_mask"]`` (all actions legal when absent); the
    outcomes from ``info["final_info"]`` — arrays (the batched engine) or the episode
    records of :class:`~gtalign_sim.envs.ClarificationAssistantEnv`
    (``final_info["episode"]``).
    """

    def __init__(self, env: gymnasium.vector.VectorEnv) -> None:
        mode = getattr(env, "metadata", {}).get("autoreset_mode")
        same = gymnasium.vector.AutoresetMode.SAME_STEP
        if mode not in (same, "same_step"):
            raise ValueError(
                f"env autoreset_mode must be {same} (the step that ends an episode returns "
                f"the next one's first observation), got {mode!r}"
            )
        self.env = env
        self.num_envs = int(env.num_envs)
        self.single_observation_space = env.single_observation_space
        self.single_action_space = env.single_action_space

    def _mask(self, info: Mapping[str, Any]) -> np.ndarray:
        mask = info.get("action_mask")
        if mask is None:
            return np.ones((self.num_envs, int(self.single_action_space.n)), dtype=bool)
        return np.asarray(mask).astype(bool).reshape(self.num_envs, -1)

    def reset(
        self, seed: int | None = None, episode_seeds: list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Reset every slot from ``seed`` (``episode_seeds``: the batched engine replays
        the AEC env's episodes on those seeds, slot ``i`` on seed ``i``)."""
        options = None if episode_seeds is None else {"episode_seeds": list(episode_seeds)}
        obs, info = self.env.reset(seed=seed, options=options)
        return np.asarray(obs, dtype=np.float32), self._mask(info), dict(info)

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One turn in every slot; ``info["final_info"]`` reduced to :data:`OUTCOMES`."""
        obs, reward, term, trunc, info = self.env.step(np.asarray(actions, dtype=np.int64))
        out: dict[str, Any] = {"action_mask": self._mask(info)}
        if "final_info" in info:
            fi = info["final_info"]
            src = fi["episode"] if "episode" in fi and "user_welfare" not in fi else fi
            out["final_info"] = {k: _as_float(src[k], self.num_envs) for k in OUTCOMES}
            out["_final_info"] = np.asarray(info["_final_info"], dtype=bool)
        return (
            np.asarray(obs, dtype=np.float32),
            np.asarray(reward, dtype=float),
            np.asarray(term, dtype=bool),
            np.asarray(trunc, dtype=bool),
            out,
        )

    def get_state(self) -> bytes | None:
        """The env's state (pickled), or ``None`` when it cannot be pickled."""
        try:
            return pickle.dumps(self.env)
        except (pickle.PicklingError, TypeError, AttributeError):
            return None

    @classmethod
    def from_state(cls, state: bytes) -> GymVecAdapter:
        """The adapter over an env restored from :meth:`get_state`'s output (trusted data
        only: it is unpickled)."""
        return cls(pickle.loads(state))


def make_vec_env(
    num_envs: int,
    reward: str = "cobb_douglas",
    env: Mapping[str, Any] | None = None,
    backend: str = "batched",
    tasks: Any = None,
) -> GymVecAdapter:
    """A :class:`VecEnvLike` of ``num_envs`` slots whose reward is the aggregate ``reward``.

    ``env`` holds the environment's keyword arguments (world, population, tasks_per_family,
    task_seed, families, user; ``chunk`` for the batched engine); ``tasks`` a prebuilt
    :class:`~gtalign_sim.tasks.TaskBank` shared between envs. ``backend`` is
    ``"batched"`` (:class:`~gtalign_sim.envs.batched_vector.ClarificationVectorEnv`) or
    ``"sync"`` (``SyncVectorEnv`` over :class:`~gtalign_sim.envs.ClarificationAssistantEnv`).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} unknown; allowed: {list(BACKENDS)}")
    kwargs: dict[str, Any] = dict(env or {})
    kwargs.update(aggregator=reward, assistant_reward="aggregate")
    if tasks is not None:
        kwargs["tasks"] = tasks
    if backend == "batched":
        from ..envs.batched_vector import ClarificationVectorEnv

        return GymVecAdapter(ClarificationVectorEnv(num_envs=num_envs, **kwargs))

    kwargs.pop("chunk", None)
    if "tasks" not in kwargs:  # one bank for every slot
        kwargs["tasks"] = task_bank(kwargs)
    fns = [_Factory(kwargs) for _ in range(num_envs)]
    vec = gymnasium.vector.SyncVectorEnv(
        fns, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP
    )
    return GymVecAdapter(vec)


class _Factory:
    """A picklable env factory for ``SyncVectorEnv``."""

    def __init__(self, kwargs: Mapping[str, Any]) -> None:
        self.kwargs = dict(kwargs)

    def __call__(self) -> gymnasium.Env:
        from ..envs.gym_wrapper import ClarificationAssistantEnv

        return ClarificationAssistantEnv(**self.kwargs)


def task_bank(env: Mapping[str, Any]) -> Any:
    """The task bank the env config describes (``families``, ``tasks_per_family``,
    ``task_seed``; the environments' defaults otherwise)."""
    from ..core.vocab import FAMILIES
    from ..tasks import TaskBank

    return TaskBank.build(
        families=tuple(env.get("families", FAMILIES)),
        per_family=int(env.get("tasks_per_family", 200)),
        seed=int(env.get("task_seed", 0)),
    )
