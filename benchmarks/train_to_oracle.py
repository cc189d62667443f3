"""Wall time and env steps for PPO to reach 95% and 99% of the oracle's mutual welfare.

    python benchmarks/train_to_oracle.py [--episodes 1000] [--total-steps 200000] ...

The held-out episodes are ``episode_seeds(--eval-seed, --episodes)`` of the AEC
environment. The oracle (:class:`gtalign_sim.agents.OracleAssistant`, ``--particles``
particles as the experiments' ``oracle_particles``) plays them through the AEC env; the
policy being trained plays the *same* episodes on the batched engine's replay of those
seeds (exact: same draws, same ``U`` and ``L``), greedily, every ``--eval-every``
updates. Always-DA and random are measured the same way. Reported: the training wall
time (collect + learn, evaluations excluded) and env steps at which the held-out
``√(U·L)`` first reaches 95%, 97% and 99% of the oracle's, and from which on it stays
there (every later evaluation), the final ratio, and the paired
gaps (mean ± s.e.) to the oracle and to always-DA. ``--check-aec N`` replays the final
policy as a :class:`~gtalign_sim.train.LearnedAssistant` through the AEC env on the first
``N`` held-out seeds and checks it matches the replay. ``--overhead`` times one PPO
minibatch step with TorchRL's ``ClipPPOLoss`` against the same loss in plain torch.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _oracle(bank, seeds, particles):
    from gtalign_sim.agents import OracleAssistant
    from gtalign_sim.envs import ClarificationGameEnv
    from gtalign_sim.envs.rollout import run_episodes

    plan = [(i, s, {}) for i, s in enumerate(seeds)]
    recs = run_episodes(
        lambda: ClarificationGameEnv(tasks=bank), OracleAssistant(n_particles=particles), plan
    )
    return np.array([np.nan if r["mutual_welfare"] is None else r["mutual_welfare"] for r in recs])


def _overhead(trainer, reps: int = 40) -> tuple[float, float]:
    """Seconds per minibatch step: TorchRL ClipPPOLoss vs the same loss in plain torch."""
    import torch

    data, _ = trainer.collect()
    cfg = trainer.config
    flat = data.select(
        "observation", "action_mask", "action", "action_log_prob", "advantage", "value_target"
    ).reshape(-1)[: cfg.minibatch_size]
    net, opt = trainer.net, trainer.optim

    def torchrl_step():
        out = trainer.loss(flat)
        total = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
        opt.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
        opt.step()

    def plain_step():
        obs, mask = flat["observation"], flat["action_mask"]
        logp = torch.log_softmax(net.actor(obs).masked_fill(~mask, -torch.inf), -1)
        lp = logp.gather(-1, flat["action"][:, None]).squeeze(-1)
        adv = flat["advantage"].squeeze(-1)
        adv = (adv - adv.mean()) / adv.std().clamp_min(1e-6)
        ratio = (lp - flat["action_log_prob"]).exp()
        eps = cfg.clip_epsilon
        pol = -torch.min(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv).mean()
        ent = -(logp.exp() * logp.nan_to_num(0.0, neginf=0.0)).sum(-1).mean()
        val = (net.critic(obs) - flat["value_target"]).pow(2).mean()
        total = pol + cfg.value_coef * val - float(trainer.loss.entropy_coeff) * ent
        opt.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
        opt.step()

    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.torch_threads or threads)
    times: dict[Any, list[float]] = {torchrl_step: [], plain_step: []}
    try:
        for _ in range(reps):  # interleaved, medians: robust to a busy machine
            for fn in times:
                t = time.perf_counter()
                fn()
                times[fn].append(time.perf_counter() - t)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times[torchrl_step])), float(np.median(times[plain_step]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reward", default="cobb_douglas")
    ap.add_argument("--tasks-per-family", type=int, default=200)
    ap.add_argument("--episodes", type=int, default=1000, help="held-out episodes")
    ap.add_argument("--eval-seed", type=int, default=99)
    ap.add_argument("--particles", type=int, default=32)
    ap.add_argument("--total-steps", type=int, default=200_000)
    ap.add_argument("--num-envs", type=int, default=256)
    ap.add_argument("--eval-every", type=int, default=2, help="updates between evaluations")
    ap.add_argument("--check-aec", type=int, default=0)
    ap.add_argument("--overhead", action="store_true")
    args = ap.parse_args()

    from gtalign_sim.envs.rollout import episode_seeds
    from gtalign_sim.tasks import TaskBank
    from gtalign_sim.train import PPOConfig, PPOTrainer, make_vec_env
    from gtalign_sim.train.evaluate import always_da, first_episodes, paired_gap, random_policy

    t0 = time.perf_counter()
    bank = TaskBank.build(per_family=args.tasks_per_family, seed=0)
    seeds = episode_seeds(args.eval_seed, args.episodes)
    cfg = PPOConfig(
        seed=args.seed,
        reward=args.reward,
        num_envs=args.num_envs,
        total_steps=args.total_steps,
        eval_every=0,
        eval_episodes=0,
        env={"tasks_per_family": args.tasks_per_family},
    )
    trainer = PPOTrainer(cfg, tasks=bank)
    replay = make_vec_env(len(seeds), args.reward, tasks=bank)
    print(f"setup (bank, tables, envs): {time.perf_counter() - t0:.1f}s")
    t = time.perf_counter()
    oracle = _oracle(bank, seeds, args.particles)
    print(
        f"oracle on {len(seeds)} held-out episodes: √(U·L) {np.nanmean(oracle):.4f} "
        f"({time.perf_counter() - t:.1f}s)"
    )
    base = {
        "always_da": first_episodes(replay, always_da, None, seeds)["mutual_welfare"],
        "random": first_episodes(replay, random_policy(1), None, seeds)["mutual_welfare"],
    }
    for name, v in base.items():
        m, se = paired_gap(v, oracle)
        print(
            f"{name}: √(U·L) {np.nanmean(v):.4f} = {np.nanmean(v) / np.nanmean(oracle):.1%} "
            f"of the oracle; minus oracle {m:+.4f} ± {se:.4f}"
        )

    target = float(np.nanmean(oracle))
    history: list[tuple[float, int, float]] = []  # (training seconds, env steps, value)
    spent = {"eval": 0.0}
    last: dict[str, np.ndarray] = {}

    def on_update(row: dict) -> None:
        if row["update"] % args.eval_every and row["update"] != cfg.num_updates:
            return
        t = time.perf_counter()
        last["m"] = first_episodes(replay, trainer.act, None, seeds)["mutual_welfare"]
        value = float(np.nanmean(last["m"]))
        train_s = row["wall_s"] - spent["eval"]
        history.append((train_s, row["env_steps"], value))
        print(
            f"  update {row['update']:4d} steps {row['env_steps']:7d} train {train_s:6.1f}s "
            f"held-out √(U·L) {value:.4f} ({value / target:.1%})",
            flush=True,
        )
        spent["eval"] += time.perf_counter() - t

    trainer.train(on_update=on_update)
    for frac in (0.95, 0.97, 0.99):
        above = [v >= frac * target for _, _, v in history]
        first = next((h for h, ok in zip(history, above, strict=True) if ok), None)
        # stably: from this evaluation on, every later one is above too
        stable = next((h for i, h in enumerate(history) if all(above[i:])), None)
        if first is None:
            print(f"{frac:.0%} of the oracle: not reached in {history[-1][1]} steps")
            continue
        msg = f"{frac:.0%} of the oracle: first {first[0]:.1f}s of training, {first[1]} env steps"
        if stable is not None:
            msg += f"; stably from {stable[0]:.1f}s, {stable[1]} env steps"
        print(msg)
    final = last["m"]
    print(f"final: √(U·L) {np.nanmean(final):.4f} = {np.nanmean(final) / target:.1%} of the oracle")
    for name, ref in (("oracle", oracle), ("always_da", base["always_da"])):
        m, se = paired_gap(final, ref)
        print(f"  learned minus {name}: {m:+.4f} ± {se:.4f} (paired, {len(seeds)} episodes)")

    if args.check_aec:
        from gtalign_sim.envs import ClarificationGameEnv
        from gtalign_sim.envs.rollout import run_episodes
        from gtalign_sim.train import LearnedAssistant

        with tempfile.TemporaryDirectory() as tmp:
            ckpt = trainer.save(Path(tmp) / "ckpt.pt")
            agent = LearnedAssistant(ckpt)
            k = min(args.check_aec, len(seeds))
            plan = [(i, s, {}) for i, s in enumerate(seeds[:k])]
            recs = run_episodes(lambda: ClarificationGameEnv(tasks=bank), agent, plan)
        aec = np.array([r["mutual_welfare"] for r in recs])
        print(
            f"AEC replay check on {k} episodes: max |difference| "
            f"{np.nanmax(np.abs(aec - final[:k])):.2e}"
        )
    if args.overhead:
        a, b = _overhead(trainer)
        print(
            f"minibatch step ({cfg.minibatch_size}): TorchRL ClipPPOLoss {a * 1e3:.1f} ms, "
            f"plain torch {b * 1e3:.1f} ms ({a / b:.2f}x)"
        )


if __name__ == "__main__":
    main()
