"""Throughput of the clarification game's AEC loop (episodes/s and steps/s).

    python benchmarks/env_throughput.py [--episodes 400] [--seed 0]

Measures the PettingZoo AEC loop (``agent_iter`` / ``last`` / ``step``) with cheap
assistants, so the figure is the environment's own cost (rendering, judging, user
simulation, welfare accounting), and then with the model-based assistants, whose
decision time dominates. Prints one line per assistant.
"""

from __future__ import annotations

import argparse
import time

from gtalign_sim.agents import build_assistant
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import episode_seeds
from gtalign_sim.tasks import TaskBank


def measure(env: ClarificationGameEnv, assistant, seeds: list[int]) -> tuple[float, float, int]:
    steps = 0
    start = time.perf_counter()
    for seed in seeds:
        env.reset(seed=seed)
        for _agent in env.agent_iter():
            obs, _, term, trunc, info = env.last()
            action = None if (term or trunc) else assistant.act(obs, info).action
            env.step(action)
            steps += 1
    wall = time.perf_counter() - start
    return len(seeds) / wall, steps / wall, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bank = TaskBank.build(per_family=200, seed=0)
    seeds = episode_seeds(args.seed, args.episodes)
    print(f"clarification_game_v0 AEC loop, {args.episodes} episodes (4 families, mixed pricing)")
    for name, n in (
        ("always_da", args.episodes),
        ("random", args.episodes),
        ("gtalign", args.episodes // 4),
        ("oracle", args.episodes // 4),
    ):
        env = ClarificationGameEnv(tasks=bank)
        assistant = build_assistant(name)
        measure(env, assistant, seeds[:5])  # warm caches (task tables, imports)
        eps, sps, steps = measure(env, assistant, seeds[:n])
        print(
            f"{name:>10}: {eps:8.1f} episodes/s  {sps:8.1f} steps/s  ({n} episodes, {steps} steps)"
        )


if __name__ == "__main__":
    main()
