"""Episodes/s of the AEC loop, the batched engine and PettingZoo's ``rps_v2``, side by side.

    python benchmarks/engine_throughput.py [--episodes 400] [--n 4096]
        [--batched-episodes 100000] [--per-family 200] [--seed 0]

All three in one process, random actions throughout:

(a) ``clarification_game_v0`` through the AEC API (``rollout.run_episode`` with the
    ``random`` assistant), ``--episodes`` fresh episode seeds;
(b) :class:`~gtalign_sim.envs.batched.BatchedClarificationEngine` with ``--n`` slots,
    timed from ``reset`` (which draws the first chunk of episodes) until
    ``--batched-episodes`` episodes have ended;
(c) PettingZoo's ``rps_v2`` (default ``max_cycles=15``), ``--episodes`` episodes with
    ``action_space(agent).sample()``.

The task tables (every answer variant rendered and judged once per task) are built
before any timing and shared by (a) and (b). ``rps_v2`` imports ``pygame`` for its
renderer (and allocates a ``pygame.Surface`` on every reset); when pygame is not
installed a stand-in module with a no-op ``Surface`` takes its place and the line says so
(the figures in ``docs/benchmarks.md`` were measured with pygame installed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import types
from typing import Any

import numpy as np

from gtalign_sim.agents import build_assistant
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs import batched as batched_module
from gtalign_sim.envs.batched import BatchedClarificationEngine
from gtalign_sim.envs.batched_supply import draw_starts
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import TaskTables


class Clock:
    """Wall-clock and CPU (this process) seconds since creation."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rates(self, episodes: int) -> tuple[float, float]:
        """Episodes per wall-clock second and per CPU second."""
        return (
            episodes / (time.perf_counter() - self.wall),
            episodes / (time.process_time() - self.cpu),
        )


def aec_loop(bank: TaskBank, seeds: list[int]) -> tuple[float, float]:
    """Episodes/s (wall, CPU) of the AEC loop with the random assistant."""
    env = ClarificationGameEnv(tasks=bank)
    assistant = build_assistant("random")
    for seed in episode_seeds(10**6, 5):  # warm imports and caches on other seeds
        run_episode(env, assistant, seed)
    clock = Clock()
    for seed in seeds:
        run_episode(env, assistant, seed)
    return clock.rates(len(seeds))


def batched(
    bank: TaskBank, n: int, episodes: int, seed: int
) -> tuple[tuple[float, float], int, float]:
    """Episodes/s (wall, CPU) of the batched engine with random actions, the episodes
    played, and the share of CPU time spent drawing episodes (the users' DQ/VQ choice,
    evaluated over every branch of the game, is nearly all of it)."""
    engine = BatchedClarificationEngine(n, tasks=bank)
    rng = np.random.default_rng(seed)
    drawing = [0.0]

    def timed_draw(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        out = draw_starts(*args, **kwargs)
        drawing[0] += time.process_time() - start
        return out

    batched_module.draw_starts = timed_draw
    try:
        done = 0
        clock = Clock()
        engine.reset(seed=seed)
        while done < episodes:
            _, _, term, trunc, _ = engine.step(rng.integers(0, 9, size=n))
            done += int((term | trunc).sum())
        cpu = time.process_time() - clock.cpu
        return clock.rates(done), done, drawing[0] / cpu
    finally:
        batched_module.draw_starts = draw_starts


def rps(episodes: int, seed: int) -> tuple[tuple[float, float], bool]:
    """Episodes/s (wall, CPU) of PettingZoo's rps_v2 with random actions (AEC API), and
    whether pygame was replaced by a stand-in."""
    stand_in = False
    try:
        importlib.import_module("pygame")
    except ImportError:  # rps imports pygame for rendering only
        stub = types.ModuleType("pygame")
        stub.Surface = lambda *args, **kwargs: None  # type: ignore[attr-defined]
        sys.modules["pygame"] = stub
        stand_in = True
    from pettingzoo.classic import rps_v2

    env = rps_v2.env()
    env.reset(seed=seed)
    clock = Clock()
    for i in range(episodes):
        env.reset(seed=seed + i)
        for agent in env.agent_iter():
            _, _, term, trunc, _ = env.last()
            env.step(None if (term or trunc) else env.action_space(agent).sample())
    return clock.rates(episodes), stand_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--batched-episodes", type=int, default=100_000)
    parser.add_argument("--per-family", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bank = TaskBank.build(per_family=args.per_family, seed=0)
    start = time.perf_counter()
    for task in bank:
        TaskTables.cached(task)
    print(f"{bank}: task tables built in {time.perf_counter() - start:.1f} s (not timed below)")
    aec = aec_loop(bank, episode_seeds(args.seed, args.episodes))
    fast, played, drawing = batched(bank, args.n, args.batched_episodes, args.seed)
    ref, stand_in = rps(args.episodes, args.seed)
    rows = [
        ("(a) AEC loop, random assistant", aec, args.episodes),
        (f"(b) batched engine, n={args.n}", fast, played),
        ("(c) pettingzoo rps_v2, random", ref, args.episodes),
    ]
    print(f"{'':34} {'episodes/s':>12} {'per CPU s':>12}  episodes")
    for name, (wall, cpu), count in rows:
        print(f"{name:34} {wall:12,.0f} {cpu:12,.0f}  {count}")
    print(f"(b) spent {drawing:.0%} of its CPU time drawing episodes (the users' DQ/VQ choice)")
    if stand_in:
        print("(rps_v2 ran with a pygame stand-in: its per-reset Surface is not allocated)")
    for label, k in (("wall", 0), ("CPU", 1)):
        print(
            f"ratios ({label}): batched / AEC = {fast[k] / aec[k]:,.1f}x, "
            f"batched / rps_v2 = {fast[k] / ref[k]:,.1f}x, AEC / rps_v2 = {aec[k] / ref[k]:.2f}x"
        )


if __name__ == "__main__":
    main()
