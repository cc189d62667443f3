"""The trainer's configuration (no torch needed to build or check one)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..welfare import AGGREGATORS

__all__ = ["REWARDS", "PPOConfig"]

REWARDS: tuple[str, ...] = tuple(AGGREGATORS)
"""Reward variants: the episode's ``(U, L)`` gains combined by the aggregator of that name
(:data:`gtalign_sim.welfare.AGGREGATORS`): ``cobb_douglas`` ``√(U⁺·L⁺)`` (default),
``linear`` ``(U+L)/2``, ``user_only`` ``U``, ``llm_only`` ``L``."""


@dataclass(frozen=True)
class PPOConfig:
    """PPO on the batched clarification game (see :class:`gtalign_sim.train.PPOTrainer`).

    Attributes:
        seed: the run seed; the env's, the initial weights' and the sampler's seeds are
            spawned from it (``numpy.random.SeedSequence``).
        reward: the episode-level reward, one of :data:`REWARDS`, paid on the step that
            ends the episode.
        turn_penalty: per-turn shaping, subtracted from every assistant turn's reward
            (``0``: off; a positive value changes the objective).
        num_envs: episodes played in lockstep.
        rollout_steps: steps per env per update (a batch is ``num_envs × rollout_steps``).
        total_steps: env steps (assistant turns) to train for; the entropy schedule
            runs over them.
        time_budget_s: stop earlier after this many seconds of training (``None``: no
            limit); the run is then no longer a function of the seed alone.
        epochs, minibatch_size: passes over each batch and the minibatch size.
        lr: Adam's learning rate.
        gamma, gae_lambda: GAE's discount and λ (torchrl ``GAE``).
        clip_epsilon: PPO's ratio clip (torchrl ``ClipPPOLoss``).
        entropy_start, entropy_end: entropy bonus coefficient, linear from start to end
            over ``total_steps``.
        value_coef: weight of the value loss.
        max_grad_norm: gradient clipping (global L2 norm).
        hidden: hidden layer widths of the policy and of the value network.
        normalize_advantage: standardise advantages per minibatch.
        torch_threads: torch intra-op threads while training (``None``: leave torch's
            setting); the networks are small, one thread is fastest and makes the run
            independent of the machine's core count.
        eval_every: evaluate the greedy policy on the held-out episodes every this many
            updates (``0``: only at the end).
        eval_episodes: held-out episodes (the first episode of each slot of an eval env
            reset on ``eval_seed``: the same episodes at every evaluation).
        eval_seed: seed of the held-out episodes.
        progress: show a progress bar with the live reward.
        tensorboard: a log directory for TensorBoard scalars (``None``: off; needs the
            ``tensorboard`` package).
        env: keyword arguments of :class:`gtalign_sim.envs.batched_vector.ClarificationVectorEnv`
            (``tasks_per_family``, ``task_seed``, ``families``, ``world``, ``population``,
            ``user``, ``chunk``); ``aggregator`` and ``assistant_reward`` come from
            ``reward``.
    """

    seed: int = 0
    reward: str = "cobb_douglas"
    turn_penalty: float = 0.0
    num_envs: int = 256
    rollout_steps: int = 8
    total_steps: int = 200_000
    time_budget_s: float | None = None
    epochs: int = 4
    minibatch_size: int = 512
    lr: float = 3e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip_epsilon: float = 0.2
    entropy_start: float = 0.02
    entropy_end: float = 0.0
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    normalize_advantage: bool = True
    torch_threads: int | None = 1
    eval_every: int = 10
    eval_episodes: int = 2000
    eval_seed: int = 20_251_204
    progress: bool = False
    tensorboard: str | None = None
    env: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "env", dict(self.env))
        self.validate()

    def validate(self) -> None:
        """One-line ``ValueError`` naming the first bad field and what it allows."""
        if self.reward not in REWARDS:
            raise ValueError(f"reward {self.reward!r} unknown; allowed: {list(REWARDS)}")
        positive = ("num_envs", "rollout_steps", "total_steps", "epochs", "minibatch_size")
        for name in positive:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("eval_every", "eval_episodes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        checks = {
            "lr": self.lr > 0,
            "gamma": 0 < self.gamma <= 1,
            "gae_lambda": 0 <= self.gae_lambda <= 1,
            "clip_epsilon": self.clip_epsilon > 0,
            "entropy_start": self.entropy_start >= 0,
            "entropy_end": self.entropy_end >= 0,
            "value_coef": self.value_coef > 0,
            "max_grad_norm": self.max_grad_norm > 0,
            "turn_penalty": self.turn_penalty >= 0,
        }
        allowed = {
            "lr": "> 0",
            "gamma": "in (0, 1]",
            "gae_lambda": "in [0, 1]",
            "clip_epsilon": "> 0",
            "entropy_start": ">= 0",
            "entropy_end": ">= 0",
            "value_coef": "> 0",
            "max_grad_norm": "> 0",
            "turn_penalty": ">= 0",
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name} must be {allowed[name]}, got {getattr(self, name)!r}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be layer widths >= 1, got {self.hidden!r}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s must be > 0 or None, got {self.time_budget_s!r}")
        if self.torch_threads is not None and (
            isinstance(self.torch_threads, bool) or int(self.torch_threads) < 1
        ):
            raise ValueError(f"torch_threads must be >= 1 or None, got {self.torch_threads!r}")
        bad = sorted(set(self.env) & {"aggregator", "assistant_reward", "num_envs", "n"})
        if bad:
            raise ValueError(f"env must not set {bad}: the reward comes from `reward`")
        if "tasks" in self.env:
            raise ValueError("env must not hold `tasks`: pass the bank as PPOTrainer(tasks=...)")

    @property
    def batch_size(self) -> int:
        """Env steps per update."""
        return self.num_envs * self.rollout_steps

    @property
    def num_updates(self) -> int:
        """Updates in ``total_steps`` (the last batch is completed, never cut)."""
        return -(-self.total_steps // self.batch_size)

    def entropy_coeff(self, update: int) -> float:
        """The entropy coefficient at ``update`` (0-based), linear over the run."""
        frac = min(update / max(self.num_updates - 1, 1), 1.0)
        return float(self.entropy_start + (self.entropy_end - self.entropy_start) * frac)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what checkpoints store)."""
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        out["env"] = dict(self.env)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PPOConfig:
        """Build from :meth:`to_dict`'s output or a config mapping; unknown keys are a
        ``ValueError`` listing the allowed ones."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown PPOConfig fields {unknown}; allowed: {names}")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> PPOConfig:
        """A copy with ``changes`` (validated)."""
        return replace(self, **changes)
