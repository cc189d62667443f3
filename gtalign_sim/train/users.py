"""Learning users: the users' side of the clarification game as an independent learner.

:class:`UserLearner` is a :class:`~gtalign_sim.envs.user_view.UserAgent` for the batched
engine: one policy shared by the population (parameter sharing; each user decides from
its own view, :data:`~gtalign_sim.envs.USER_FEATURES`, which includes its own profile
and pricing plan) makes both of the users' decisions — the question type (DQ/VQ) and,
after each assistant turn the rules let it answer, reply or stop. Its reward is its own
welfare ``U`` (on gains over the disagreement point), the episode's outcome, credited to
every decision the user made in that episode (Monte Carlo return, no discount: the game
is short and ``U`` is paid once). Updates are PPO steps (TorchRL's ``ClipPPOLoss``, the
advantage ``U − V(view)`` on a learned value baseline), run by the caller between
rollouts with :meth:`UserLearner.learn` — the users learn while the assistant plays,
learns, or both (:mod:`gtalign_sim.train.dilemma`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict

from ..envs.clarification import USER_FEATURES
from ..envs.user_view import USER_PHASES
from .policy import PolicyNet, torchrl_modules
from .ppo import clip_ppo_loss, ppo_epochs

__all__ = ["UserLearner", "UserLearnerConfig"]


@dataclass(frozen=True)
class UserLearnerConfig:
    """The users' learner (see :class:`UserLearner`).

    Attributes:
        seed: initial weights and action/minibatch draws (``SeedSequence``-spawned).
        lr: Adam's learning rate.
        epochs, minibatch_size: passes over each batch of decisions and minibatch size.
        clip_epsilon: PPO's ratio clip.
        entropy_coef: entropy bonus (constant).
        value_coef: weight of the value loss.
        max_grad_norm: global gradient-norm clip.
        hidden: hidden layer widths of the policy and of the value network.
        normalize_advantage: standardise advantages per minibatch.
    """

    seed: int = 0
    lr: float = 3e-3
    epochs: int = 4
    minibatch_size: int = 512
    clip_epsilon: float = 0.2
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (32, 32)
    normalize_advantage: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in ("epochs", "minibatch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"users.{name} must be an integer >= 1, got {v!r}")
        for name in ("lr", "clip_epsilon", "value_coef", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"users.{name} must be > 0, got {getattr(self, name)!r}")
        if not self.entropy_coef >= 0:
            raise ValueError(f"users.entropy_coef must be >= 0, got {self.entropy_coef!r}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"users.hidden must be layer widths >= 1, got {self.hidden!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UserLearnerConfig:
        """Build from a mapping; unknown keys are a ``ValueError`` listing the allowed."""
        names = list(asdict(cls()))
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"users: unknown fields {unknown}; allowed: {names}")
        return cls(**dict(data))


class UserLearner:
    """The users' shared policy, learning from ``U`` (see the module docstring).

    Call it as a :class:`~gtalign_sim.envs.user_view.UserAgent`; feed every engine step's
    ``info`` to :meth:`observe` (the ended episodes' ``U`` settles their decisions); call
    :meth:`learn` to update on the settled decisions. ``learning=False`` freezes it (it
    still samples, and records nothing); ``greedy=True`` plays the likelier action.
    """

    def __init__(self, config: UserLearnerConfig | None = None) -> None:
        self.config = cfg = config or UserLearnerConfig()
        init_seed, sample_seed = (
            int(k.generate_state(1, dtype=np.uint64)[0] >> 1)
            for k in np.random.SeedSequence(cfg.seed).spawn(2)
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.net = PolicyNet(len(USER_FEATURES), 2, cfg.hidden)
        actor, critic = torchrl_modules(self.net)
        self.loss = clip_ppo_loss(
            actor,
            critic,
            cfg.clip_epsilon,
            cfg.entropy_coef,
            cfg.value_coef,
            cfg.normalize_advantage,
        )
        self.optim = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.gen = torch.Generator().manual_seed(sample_seed)
        self.learning, self.greedy = True, False
        self.updates = 0
        self._pending: dict[int, list[tuple[np.ndarray, int, float]]] = {}
        self._settled: list[tuple[np.ndarray, int, float, float]] = []

    def __call__(self, phase: str, features: np.ndarray, episodes: np.ndarray) -> np.ndarray:
        """Actions (0/1) for ``k`` deciding users; decisions are held until their
        episode's outcome arrives (:meth:`observe`)."""
        if phase not in USER_PHASES:
            raise ValueError(f"phase {phase!r} unknown; allowed: {list(USER_PHASES)}")
        if not len(features):
            return np.zeros(0, dtype=np.int64)
        with torch.no_grad():
            logits = self.net.actor(torch.as_tensor(features, dtype=torch.float32))
            logp_all = torch.log_softmax(logits, -1)
            if self.greedy:
                action = logits.argmax(-1)
            else:
                action = torch.multinomial(logp_all.exp(), 1, generator=self.gen).squeeze(-1)
            logp = logp_all.gather(-1, action[:, None]).squeeze(-1)
        a = action.numpy().astype(np.int64)
        if self.learning:
            for row, ep, act, lp in zip(features, episodes, a, logp.numpy(), strict=True):
                self._pending.setdefault(int(ep), []).append((row, int(act), float(lp)))
        return a

    def observe(self, info: Mapping[str, Any]) -> int:
        """Settle the decisions of the episodes that ended in this step (their ``U``);
        returns how many decisions were settled (none while not learning)."""
        if "_final_info" not in info or not self.learning:
            return 0
        done = np.asarray(info["_final_info"], dtype=bool)
        fin = info["final_info"]
        n = 0
        for ep, u in zip(fin["episode"][done], fin["user_welfare"][done], strict=True):
            for row, act, lp in self._pending.pop(int(ep), ()):
                self._settled.append((row, act, lp, float(u)))
                n += 1
        return n

    def abandon(self) -> None:
        """Drop the decisions of episodes still in play (their engine was reset)."""
        self._pending = {}

    def learn(self) -> dict[str, float]:
        """PPO epochs on the settled decisions (then dropped); empty stats when none."""
        if not self._settled:
            return {}
        cfg = self.config
        obs = torch.as_tensor(np.stack([s[0] for s in self._settled]), dtype=torch.float32)
        ret = torch.tensor([s[3] for s in self._settled], dtype=torch.float32)[:, None]
        with torch.no_grad():
            value = self.net.critic(obs)
        batch = TensorDict(
            {
                "observation": obs,
                "action_mask": torch.ones(len(obs), 2, dtype=torch.bool),
                "action": torch.tensor([s[1] for s in self._settled]),
                "action_log_prob": torch.tensor([s[2] for s in self._settled]),
                "advantage": ret - value,
                "value_target": ret,
            },
            batch_size=[len(obs)],
        )
        stats = ppo_epochs(
            self.loss,
            self.optim,
            batch,
            epochs=cfg.epochs,
            minibatch_size=cfg.minibatch_size,
            max_grad_norm=cfg.max_grad_norm,
            generator=self.gen,
        )
        self._settled = []
        self.updates += 1
        return {f"user_{k}": v for k, v in stats.items()}
