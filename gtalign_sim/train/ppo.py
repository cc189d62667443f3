"""PPO with action masking on the episode-level reward (TorchRL's loss, GAE and
masked categorical; the project's batched env, reward wiring and loop).

Each update plays ``num_envs × rollout_steps`` assistant turns with the current policy
(``MaskedCategorical`` over the legal actions, sampled from the trainer's own
``torch.Generator``), computes advantages with TorchRL's ``GAE`` on the value
baseline, and takes ``epochs`` passes of ``ClipPPOLoss`` minibatches (Adam, global
gradient-norm clipping, the entropy coefficient annealed linearly). The reward is the
configured aggregate of the episode's ``(U, L)`` gains, paid by the env on the turn
that ends the episode; the horizon (``max_turns``) is part of the game, so every
episode end is terminal for GAE. Everything random flows from ``config.seed``: the
env's episodes, the initial weights (built in a forked, seeded torch RNG) and the
action and minibatch draws, so a run is a function of its config, and a resumed run
continues exactly as the uninterrupted one.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict

from ..core.vocab import N_ACTIONS
from ..envs.clarification import ASSISTANT_FEATURES
from .checkpoint import FORMAT, env_state_bytes, load_checkpoint, save_checkpoint
from .config import PPOConfig
from .curves import progress_bar, tensorboard_writer
from .evaluate import first_episodes
from .policy import PolicyNet, masked_logits, torchrl_modules
from .vec import OUTCOMES, GymVecAdapter, VecEnvLike, make_vec_env, task_bank

__all__ = ["PPOTrainer", "clip_ppo_loss", "ppo_epochs", "train_ppo"]

_LOSS_STATS = (
    "entropy",
    "loss_objective",
    "loss_critic",
    "clip_fraction",
    "kl_approx",
    "explained_variance",
)


def _seeds(seed: int) -> tuple[int, int, int]:
    """The env's, the initial weights' and the sampler's seeds, spawned from ``seed``."""
    kids = np.random.SeedSequence(seed).spawn(3)
    return tuple(int(k.generate_state(1, dtype=np.uint64)[0] >> 1) for k in kids)  # type: ignore[return-value]


def clip_ppo_loss(
    actor: Any,
    critic: Any,
    clip_epsilon: float,
    entropy_coeff: float,
    value_coef: float,
    normalize_advantage: bool,
) -> Any:
    """TorchRL's ``ClipPPOLoss`` on :func:`~gtalign_sim.train.policy.torchrl_modules`'
    actor and critic (L2 value loss; the sampling log-prob under ``action_log_prob``)."""
    from torchrl.objectives import ClipPPOLoss

    loss = ClipPPOLoss(
        actor,
        critic,
        clip_epsilon=clip_epsilon,
        entropy_coeff=entropy_coeff,
        critic_coeff=value_coef,
        loss_critic_type="l2",
        normalize_advantage=normalize_advantage,
    )
    loss.set_keys(sample_log_prob="action_log_prob")
    return loss


def ppo_epochs(
    loss: Any,
    optim: torch.optim.Optimizer,
    flat: TensorDict,
    epochs: int,
    minibatch_size: int,
    max_grad_norm: float,
    generator: torch.Generator,
) -> dict[str, float]:
    """``epochs`` shuffled passes of ``loss`` (a TorchRL ``ClipPPOLoss``) minibatches over
    the flat batch ``flat`` (observation, action_mask, action, action_log_prob, advantage,
    value_target); Adam steps with global gradient-norm clipping. Returns the mean loss
    statistics (:data:`_LOSS_STATS`) and ``grad_norm``."""
    keys = ("observation", "action_mask", "action", "action_log_prob", "advantage", "value_target")
    flat = flat.select(*keys)
    params = [p for group in optim.param_groups for p in group["params"]]
    sums: dict[str, float] = {k: 0.0 for k in (*_LOSS_STATS, "grad_norm")}
    count = 0
    for _ in range(epochs):
        perm = torch.randperm(flat.shape[0], generator=generator)
        for idx in perm.split(minibatch_size):
            out = loss(flat[idx])
            total = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
            optim.zero_grad()
            total.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optim.step()
            for k in _LOSS_STATS:
                value = out.get(k, None)
                if value is not None:
                    sums[k] += float(value.detach().mean())
            sums["grad_norm"] += float(norm)
            count += 1
    return {k: v / count for k, v in sums.items()}


class PPOTrainer:
    """Trains a :class:`~gtalign_sim.train.policy.PolicyNet` with PPO.

    Args:
        config: the run's :class:`~gtalign_sim.train.PPOConfig`.
        env: the training env (:class:`~gtalign_sim.train.vec.VecEnvLike`); default the
            batched engine with ``config.num_envs`` slots and ``config.env``.
        eval_env: the held-out env; default the batched engine with
            ``config.eval_episodes`` slots (``None`` when ``eval_episodes`` is 0).
        tasks: a task bank shared by the default envs (built from ``config.env`` when
            ``None``).
    """

    def __init__(
        self,
        config: PPOConfig,
        env: VecEnvLike | None = None,
        eval_env: VecEnvLike | None = None,
        tasks: Any = None,
    ) -> None:
        from torchrl.objectives.value import GAE

        config.validate()
        self.config = cfg = config
        self._tb = tensorboard_writer(cfg.tensorboard)
        self._env_seed, init_seed, sample_seed = _seeds(cfg.seed)
        if (env is None or (eval_env is None and cfg.eval_episodes)) and tasks is None:
            tasks = task_bank(cfg.env)
        self.env = (
            env if env is not None else make_vec_env(cfg.num_envs, cfg.reward, cfg.env, tasks=tasks)
        )
        if eval_env is None and cfg.eval_episodes:
            n = cfg.eval_episodes  # every restart within the first episodes from one draw
            eval_env = make_vec_env(n, cfg.reward, {**cfg.env, "chunk": 4 * n}, tasks=tasks)
        self.eval_env = eval_env
        obs_space, act_space = self.env.single_observation_space, self.env.single_action_space
        self.obs_dim, self.n_actions = int(np.prod(obs_space.shape)), int(act_space.n)
        if (self.obs_dim, self.n_actions) != (len(ASSISTANT_FEATURES), N_ACTIONS):
            raise ValueError(
                f"env: observations of {self.obs_dim} features and {self.n_actions} actions; "
                f"the assistant's view has {len(ASSISTANT_FEATURES)} and {N_ACTIONS}"
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.net = PolicyNet(self.obs_dim, self.n_actions, cfg.hidden)
        self.actor, self.critic = torchrl_modules(self.net)
        self.loss = clip_ppo_loss(
            self.actor,
            self.critic,
            cfg.clip_epsilon,
            cfg.entropy_start,
            cfg.value_coef,
            cfg.normalize_advantage,
        )
        self.gae = GAE(gamma=cfg.gamma, lmbda=cfg.gae_lambda, value_network=self.critic)
        self.optim = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.gen = torch.Generator().manual_seed(sample_seed)
        self.update = 0
        self.env_steps = 0
        self.episodes = 0
        self.curve: list[dict[str, Any]] = []
        self._obs: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._wall = 0.0

    # ------------------------------------------------------------------ acting
    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The greedy policy (most likely legal action) for a batch of observations."""
        with torch.no_grad():
            logits = self.net.actor(torch.as_tensor(obs, dtype=torch.float32))
            logits = masked_logits(logits, torch.as_tensor(np.asarray(mask, dtype=bool)))
        return logits.argmax(-1).numpy().astype(np.int64)

    def collect(self) -> tuple[TensorDict, dict[str, np.ndarray]]:
        """One rollout ``[num_envs, rollout_steps]`` and the outcomes of the episodes that
        ended in it (:data:`~gtalign_sim.train.vec.OUTCOMES` and ``reward``)."""
        from torchrl.modules import MaskedCategorical

        cfg = self.config
        if self._obs is None:
            self._obs, self._mask, _ = self.env.reset(seed=self._env_seed)
        n, t_max = self.env.num_envs, cfg.rollout_steps
        cols: dict[str, list[torch.Tensor]] = {
            k: [] for k in ("obs", "mask", "action", "logp", "next", "reward", "done")
        }
        ended: dict[str, list[np.ndarray]] = {k: [] for k in (*OUTCOMES, "reward")}
        with torch.no_grad():
            for _ in range(t_max):
                obs = torch.as_tensor(self._obs, dtype=torch.float32)
                mask = torch.as_tensor(np.asarray(self._mask, dtype=bool))
                dist = MaskedCategorical(logits=self.net.actor(obs), mask=mask)
                action = torch.multinomial(dist.probs, 1, generator=self.gen).squeeze(-1)
                nxt, reward, term, trunc, info = self.env.step(action.numpy())
                done = np.asarray(term, dtype=bool) | np.asarray(trunc, dtype=bool)
                if "_final_info" in info:
                    sel = np.asarray(info["_final_info"], dtype=bool)
                    for k in OUTCOMES:
                        ended[k].append(info["final_info"][k][sel])
                    ended["reward"].append(np.asarray(reward)[sel])
                shaped = np.asarray(reward, dtype=np.float32) - np.float32(cfg.turn_penalty)
                cols["obs"].append(obs)
                cols["mask"].append(mask)
                cols["action"].append(action)
                cols["logp"].append(dist.log_prob(action))
                cols["next"].append(torch.as_tensor(nxt, dtype=torch.float32))
                cols["reward"].append(torch.as_tensor(shaped))
                cols["done"].append(torch.as_tensor(done))
                self._obs, self._mask = nxt, info["action_mask"]
        stack = {k: torch.stack(v, dim=1) for k, v in cols.items()}
        done = stack["done"].unsqueeze(-1)
        data = TensorDict(
            {
                "observation": stack["obs"],
                "action_mask": stack["mask"],
                "action": stack["action"],
                "action_log_prob": stack["logp"],
                "next": {
                    "observation": stack["next"],
                    "reward": stack["reward"].unsqueeze(-1),
                    "done": done,
                    "terminated": done,  # the horizon ends the game: no bootstrap
                },
            },
            batch_size=[n, t_max],
        )
        with torch.no_grad():
            self.gae(data)
        self.env_steps += n * t_max
        out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in ended.items()}
        self.episodes += len(out["reward"])
        return data, out

    def learn(self, data: TensorDict) -> dict[str, float]:
        """``epochs`` passes of ClipPPOLoss minibatches over ``data``; mean statistics."""
        cfg = self.config
        self.loss.entropy_coeff = cfg.entropy_coeff(self.update)
        stats = ppo_epochs(
            self.loss,
            self.optim,
            data.reshape(-1),
            epochs=cfg.epochs,
            minibatch_size=cfg.minibatch_size,
            max_grad_norm=cfg.max_grad_norm,
            generator=self.gen,
        )
        self.update += 1
        stats["entropy_coeff"] = float(self.loss.entropy_coeff)
        return stats

    def evaluate(self, env: VecEnvLike | None = None, seed: int | None = None) -> dict[str, float]:
        """The greedy policy's mean outcomes on the held-out episodes."""
        env = env if env is not None else self.eval_env
        if env is None:
            raise ValueError("evaluate: no eval env (eval_episodes is 0 and none was given)")
        res = first_episodes(env, self.act, self.config.eval_seed if seed is None else seed)
        return {
            "eval_reward": float(np.nanmean(res["reward"])),
            "eval_user": float(np.nanmean(res["user_welfare"])),
            "eval_llm": float(np.nanmean(res["llm_welfare"])),
            "eval_mutual": float(np.nanmean(res["mutual_welfare"])),
        }

    # ---------------------------------------------------------------- training
    def train(
        self,
        updates: int | None = None,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = 0,
        on_update: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Train until ``config.num_updates`` (or ``updates`` more, or the time budget);
        returns the learning curve. ``checkpoint`` is written every ``checkpoint_every``
        updates (0: only at the end) and at the end."""
        cfg = self.config
        stop = cfg.num_updates if updates is None else min(cfg.num_updates, self.update + updates)
        threads = torch.get_num_threads()
        if cfg.torch_threads is not None:
            torch.set_num_threads(int(cfg.torch_threads))
        bar = None
        if cfg.progress:
            total = cfg.num_updates * cfg.batch_size
            bar = progress_bar(total, self.env_steps, f"PPO {cfg.reward}")
        start = time.perf_counter() - self._wall
        try:
            while self.update < stop:
                data, ended = self.collect()
                stats = self.learn(data)
                row = self._row(ended, stats, time.perf_counter() - start)
                due = cfg.eval_every and self.update % cfg.eval_every == 0
                if self.eval_env is not None and (due or self.update == cfg.num_updates):
                    row.update(self.evaluate())
                self._wall = row["wall_s"] = time.perf_counter() - start
                self.curve.append(row)
                self._log(row, bar)
                if on_update is not None:
                    on_update(row)
                if checkpoint and checkpoint_every and self.update % checkpoint_every == 0:
                    self.save(checkpoint)
                if cfg.time_budget_s is not None and row["wall_s"] >= cfg.time_budget_s:
                    if self.eval_env is not None and "eval_mutual" not in row:
                        row.update(self.evaluate())  # the curve ends on an evaluation
                    break
        finally:
            torch.set_num_threads(threads)
            if bar is not None:
                bar.close()
        if checkpoint:
            self.save(checkpoint)
        return self.curve

    def _row(
        self, ended: dict[str, np.ndarray], stats: dict[str, float], wall: float
    ) -> dict[str, Any]:
        def mean(a: np.ndarray) -> float:
            a = a[np.isfinite(a)]
            return float(a.mean()) if len(a) else float("nan")

        return {
            "update": self.update,
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "wall_s": wall,
            "reward": mean(ended["reward"]),
            **{k: mean(ended[k]) for k in OUTCOMES},
            **stats,
        }

    def _log(self, row: dict[str, Any], bar: Any) -> None:
        if bar is not None:
            bar.update(row["env_steps"] - bar.n)
            post = {"reward": f"{row['reward']:.3f}", "√UL": f"{row['mutual_welfare']:.3f}"}
            if "eval_mutual" in row:
                post["eval √UL"] = f"{row['eval_mutual']:.3f}"
            bar.set_postfix(post, refresh=False)
        if self._tb is not None:
            for k, v in row.items():
                if k not in ("update", "env_steps") and isinstance(v, float) and np.isfinite(v):
                    self._tb.add_scalar(f"train/{k}", v, row["env_steps"])
            self._tb.flush()

    # ------------------------------------------------------------- checkpoints
    def state(self) -> dict[str, Any]:
        """The checkpoint payload (see :mod:`gtalign_sim.train.checkpoint`)."""
        get_state = getattr(self.env, "get_state", None)
        env_state = get_state() if (get_state is not None and self._obs is not None) else None
        return {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "features": list(ASSISTANT_FEATURES),
            "n_actions": self.n_actions,
            "model": self.net.state_dict(),
            "optimizer": self.optim.state_dict(),
            "update": self.update,
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "wall_s": self._wall,
            "torch_rng": self.gen.get_state(),
            "curve": [dict(r) for r in self.curve],
            "env_state": env_state,
            "obs": None if self._obs is None else torch.as_tensor(self._obs),
            "mask": None if self._mask is None else torch.as_tensor(np.asarray(self._mask, bool)),
        }

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint to ``path``."""
        return save_checkpoint(path, self.state())

    @classmethod
    def resume(
        cls,
        path: str | Path,
        env: VecEnvLike | None = None,
        eval_env: VecEnvLike | None = None,
        tasks: Any = None,
        **changes: Any,
    ) -> PPOTrainer:
        """A trainer continuing the checkpoint at ``path`` (``changes``: config fields to
        override, e.g. ``total_steps``; ``tasks``: the bank the run was given, if any).
        With the env state in the checkpoint and no ``env`` given, the run continues
        exactly as the uninterrupted one; otherwise the env restarts from a seed derived
        from the run seed and the update (a warning)."""
        data = load_checkpoint(path)
        config = PPOConfig.from_dict(data["config"]).replace(**changes)
        state = env_state_bytes(data)
        restored = None
        if env is None and state is not None:
            env = restored = GymVecAdapter.from_state(state)
        self = cls(config, env=env, eval_env=eval_env, tasks=tasks)
        self.net.load_state_dict(data["model"])
        self.optim.load_state_dict(data["optimizer"])
        self.gen.set_state(data["torch_rng"])
        self.update, self.env_steps = int(data["update"]), int(data["env_steps"])
        self.episodes, self._wall = int(data["episodes"]), float(data["wall_s"])
        self.curve = [dict(r) for r in data["curve"]]
        if restored is not None and data["obs"] is not None:
            self._obs, self._mask = data["obs"].numpy(), data["mask"].numpy()
        elif self.update:
            warnings.warn(
                f"resume {str(path)!r}: no env state restored; the env restarts from a new "
                "seed, so the run will not match the uninterrupted one",
                stacklevel=2,
            )
            self._env_seed = int(
                np.random.SeedSequence([self.config.seed, self.update]).generate_state(1)[0]
            )
        return self


def train_ppo(
    config: PPOConfig,
    out_dir: str | Path | None = None,
    references: dict[str, float] | None = None,
    **trainer_kwargs: Any,
) -> PPOTrainer:
    """Train a policy; with ``out_dir``, write ``checkpoint.pt``, ``curve.csv`` and
    ``curve.png`` there (``references``: horizontal lines on the held-out panel)."""
    from .curves import plot_curve, write_csv

    trainer = PPOTrainer(config, **trainer_kwargs)
    ckpt = Path(out_dir) / "checkpoint.pt" if out_dir is not None else None
    trainer.train(checkpoint=ckpt)
    if out_dir is not None:
        write_csv(trainer.curve, Path(out_dir) / "curve.csv")
        plot_curve(
            trainer.curve,
            Path(out_dir) / "curve.png",
            references,
            title=f"PPO, reward {config.reward}, seed {config.seed}",
        )
    return trainer
