"""The policy network, its TorchRL wrappers, and the learned-policy assistant.

:class:`PolicyNet` holds two MLPs on the assistant's features
(:data:`gtalign_sim.envs.ASSISTANT_FEATURES`): the policy's logits over the 9 actions and
the value baseline. :func:`torchrl_modules` wraps them for TorchRL — a
``ProbabilisticActor`` whose distribution is ``MaskedCategorical`` (logits + the action
mask) and a ``ValueOperator``. :class:`LearnedAssistant` plays a checkpoint's policy in
any experiment through the assistant protocol::

    assistants.custom.learned={_target_: gtalign_sim.train.LearnedAssistant, checkpoint: ckpt.pt}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..agents.base import Decision
from ..core.vocab import N_ACTIONS

__all__ = ["LearnedAssistant", "PolicyNet", "masked_logits", "torchrl_modules"]


def _mlp(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.Tanh()]
        n_in = h
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class PolicyNet(nn.Module):
    """Policy logits and state value from the assistant's feature vector.

    The policy's last layer starts at 1/100 scale, so the first policy is nearly
    uniform over the legal actions. Build it inside a seeded RNG context for
    reproducible weights (the trainer does).
    """

    def __init__(self, obs_dim: int, n_actions: int = N_ACTIONS, hidden: Sequence[int] = (64, 64)):
        super().__init__()
        self.obs_dim, self.n_actions, self.hidden = int(obs_dim), int(n_actions), tuple(hidden)
        self.actor = _mlp(self.obs_dim, self.hidden, self.n_actions)
        self.critic = _mlp(self.obs_dim, self.hidden, 1)
        with torch.no_grad():
            self.actor[-1].weight.mul_(0.01)
            self.actor[-1].bias.zero_()

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [..., A], value [..., 1])``."""
        return self.actor(obs), self.critic(obs)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``logits`` with illegal actions (``mask`` false) at ``-inf``."""
    return logits.masked_fill(~mask.bool(), float("-inf"))


def torchrl_modules(net: PolicyNet) -> tuple[Any, Any]:
    """``(actor, critic)``: TorchRL modules sharing ``net``'s parameters.

    The actor reads ``"observation"`` and ``"action_mask"`` and writes ``"logits"``,
    ``"action"`` and ``"action_log_prob"`` (``MaskedCategorical``); the critic writes
    ``"state_value"``.
    """
    from tensordict.nn import TensorDictModule
    from torchrl.modules import MaskedCategorical, ProbabilisticActor, ValueOperator

    actor = ProbabilisticActor(
        TensorDictModule(net.actor, in_keys=["observation"], out_keys=["logits"]),
        in_keys={"logits": "logits", "mask": "action_mask"},
        distribution_class=MaskedCategorical,
        return_log_prob=True,
    )
    critic = ValueOperator(net.critic, in_keys=["observation"])
    return actor, critic


class LearnedAssistant:
    """A trained policy as an assistant (the assistant protocol: ``reset``, ``act``).

    Args:
        checkpoint: a checkpoint written by :class:`~gtalign_sim.train.PPOTrainer`
            (loaded with ``torch.load(weights_only=True)``: no code is unpickled).
        name: the name results are filed under.
        greedy: play the most likely legal action (default); ``False`` samples from the
            policy with a generator seeded by ``seed`` (reseeded by :meth:`reset`).
        seed: the sampling seed.
    """

    def __init__(
        self,
        checkpoint: str | Path,
        name: str = "learned",
        greedy: bool = True,
        seed: int = 0,
    ) -> None:
        from ..envs.clarification import ASSISTANT_FEATURES
        from .checkpoint import load_checkpoint

        if not isinstance(greedy, bool):
            raise ValueError(f"greedy must be true or false, got {greedy!r}")
        ckpt = load_checkpoint(checkpoint)
        features = list(ckpt["features"])
        if features != list(ASSISTANT_FEATURES):
            raise ValueError(
                f"checkpoint {str(checkpoint)!r}: trained on features {features}, the "
                f"environment now has {list(ASSISTANT_FEATURES)}; retrain the policy"
            )
        cfg = ckpt["config"]
        self.net = PolicyNet(len(features), int(ckpt["n_actions"]), cfg["hidden"])
        self.net.load_state_dict(ckpt["model"])
        self.net.eval()
        self.name, self.greedy, self._seed = str(name), greedy, int(seed)
        self.checkpoint = str(checkpoint)
        self.reward = str(cfg["reward"])
        self._gen = torch.Generator().manual_seed(self._seed)

    def reset(self, seed: int | None = None) -> None:
        """Reseed the sampler (``None``: the constructor's seed)."""
        self._gen = torch.Generator().manual_seed(self._seed if seed is None else int(seed))

    def probabilities(self, observation: Mapping[str, Any]) -> np.ndarray:
        """The policy's action probabilities (zero outside the mask)."""
        obs = torch.as_tensor(np.asarray(observation["observation"], dtype=np.float32))
        mask = np.asarray(observation.get("action_mask", np.ones(self.net.n_actions)), bool)
        with torch.no_grad():
            logits, _ = self.net(obs)
            probs = torch.softmax(masked_logits(logits, torch.as_tensor(mask)), -1)
        return probs.numpy().astype(float)

    def act(self, observation: Mapping[str, Any], info: Mapping[str, Any]) -> Decision:
        """The policy's action (greedy or sampled); ``estimates["p_action"]`` its probability."""
        p = self.probabilities(observation)
        if self.greedy:
            a = int(np.argmax(p))
        else:
            a = int(torch.multinomial(torch.as_tensor(p), 1, generator=self._gen).item())
        return Decision(a, estimates={"p_action": float(p[a])})
