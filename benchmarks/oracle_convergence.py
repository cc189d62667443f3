"""How the oracle's decisions converge with its number of particles.

    python benchmarks/oracle_convergence.py [--episodes 200] [--seed 0]
                                            [--ks 8,16,24,32,64,128] [--workers 2]
                                            [--json PATH]

The oracle (``build_assistant("oracle", n_particles=K)``) plans over ``K`` user profiles
drawn, stratified by persona, from the population prior. For each ``K`` it plays the same
``--episodes`` episodes (the same seeds: same task, user and answer luck, i.e. common
random numbers) and the table reports, against the reference ``K = max(--ks)``:

* the agreement of the first decision of each episode (the full action, mode ×
  verbosity, and the mode alone), with a 95% Wilson interval;
* the mean mutual welfare √(U⁺·L⁺) of the episodes, and the paired difference to the
  reference with a 95% t interval (paired over episodes);
* the planning time per decision.

A last row replays the reference ``K`` with another particle seed (``--replicate-seed``):
its disagreement with the reference is the sampling noise of the particle draw at the
largest ``K``, the floor the other rows converge to.

Episodes are spread over ``--workers`` processes (each plays every ``K`` on its share of
the seeds, so the per-task tables are built once per process); the figures do not
depend on the number of workers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from statistics import NormalDist
from typing import Any

import numpy as np

from gtalign_sim.agents import build_assistant
from gtalign_sim.core.vocab import decode_action
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.eval.stats import mean_ci

DEFAULT_KS: tuple[int, ...] = (8, 16, 24, 32, 64, 128)


class _Timed:
    """Wraps an assistant and accumulates the time spent deciding."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.privileged = bool(getattr(inner, "privileged", False))
        self.seconds = 0.0
        self.decisions = 0

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    def act(self, observation: Mapping[str, Any], info: Mapping[str, Any]) -> Any:
        start = time.perf_counter()
        decision = self.inner.act(observation, info)
        self.seconds += time.perf_counter() - start
        self.decisions += 1
        return decision


def _play_chunk(
    job: tuple[list[tuple[str, int, int]], list[tuple[int, int]], dict[str, Any]],
) -> dict[str, Any]:
    specs, items, env_kwargs = job
    env = ClarificationGameEnv(**env_kwargs)
    out: dict[str, Any] = {}
    for label, k, particle_seed in specs:
        assistant = _Timed(build_assistant("oracle", n_particles=k, seed=particle_seed))
        assistant.reset()
        rows = []
        for index, seed in items:
            rec = run_episode(env, assistant, seed, record_decisions=False)
            rows.append(
                (
                    index,
                    int(rec["actions"][0]),
                    float(rec["mutual_welfare"]),
                    float(rec["user_welfare"]),
                    float(rec["llm_welfare"]),
                )
            )
        out[label] = {"rows": rows, "seconds": assistant.seconds, "decisions": assistant.decisions}
    return out


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def run(
    episodes: int = 200,
    seed: int = 0,
    ks: Sequence[int] = DEFAULT_KS,
    replicate_seed: int | None = 1,
    workers: int = 1,
    env_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Play the oracle at every ``K`` on the same episodes; return per-``K`` summaries."""
    env_kwargs = dict(env_kwargs or {})
    ks = sorted({int(k) for k in ks})
    ref_k = ks[-1]
    specs = [(str(k), k, 0) for k in ks]
    if replicate_seed is not None:
        specs.append((f"{ref_k} (seed {replicate_seed})", ref_k, int(replicate_seed)))
    seeds = episode_seeds(seed, episodes)
    items = list(enumerate(seeds))
    n_jobs = max(1, min(int(workers), len(items)))
    chunks = [items[i::n_jobs] for i in range(n_jobs)]
    jobs = [(specs, c, env_kwargs) for c in chunks]
    if n_jobs == 1:
        parts = [_play_chunk(jobs[0])]
    else:
        with ProcessPoolExecutor(n_jobs, mp_context=get_context("spawn")) as pool:
            parts = list(pool.map(_play_chunk, jobs))

    per: dict[str, dict[str, Any]] = {}
    for label, k, particle_seed in specs:
        rows = sorted((r for p in parts for r in p[label]["rows"]), key=lambda r: r[0])
        per[label] = {
            "k": k,
            "particle_seed": particle_seed,
            "first_action": np.array([r[1] for r in rows]),
            "mutual": np.array([r[2] for r in rows]),
            "user": np.array([r[3] for r in rows]),
            "llm": np.array([r[4] for r in rows]),
            "seconds": sum(p[label]["seconds"] for p in parts),
            "decisions": sum(p[label]["decisions"] for p in parts),
        }
    ref = per[str(ref_k)]
    ref_modes = np.array([decode_action(int(a))[0] for a in ref["first_action"]])
    summary = []
    for label, d in per.items():
        n = len(d["first_action"])
        same = int((d["first_action"] == ref["first_action"]).sum())
        modes = np.array([decode_action(int(a))[0] for a in d["first_action"]])
        same_mode = int((modes == ref_modes).sum())
        diff = mean_ci(d["mutual"] - ref["mutual"])
        w = mean_ci(d["mutual"])
        summary.append(
            {
                "label": label,
                "k": d["k"],
                "particle_seed": d["particle_seed"],
                "n": n,
                "ms_per_decision": 1000.0 * d["seconds"] / max(d["decisions"], 1),
                "decisions": d["decisions"],
                "action_agreement": same / n,
                "action_agreement_ci": list(wilson(same, n)),
                "mode_agreement": same_mode / n,
                "mode_agreement_ci": list(wilson(same_mode, n)),
                "mutual_welfare": w["mean"],
                "mutual_welfare_ci": [w["lo"], w["hi"]],
                "user_welfare": float(d["user"].mean()),
                "llm_welfare": float(d["llm"].mean()),
                "delta_vs_ref": diff["mean"],
                "delta_vs_ref_ci": [diff["lo"], diff["hi"]],
                "episodes_differing": int((d["mutual"] != ref["mutual"]).sum()),
            }
        )
    return {
        "config": {
            "episodes": episodes,
            "seed": seed,
            "ks": ks,
            "reference_k": ref_k,
            "replicate_seed": replicate_seed,
            "workers": n_jobs,
            "env_kwargs": env_kwargs,
        },
        "rows": summary,
    }


def format_table(result: Mapping[str, Any]) -> str:
    """The summaries as a fixed-width text table."""
    ref = result["config"]["reference_k"]
    head = (
        f"{'K':<14} {'ms/dec':>7} {'action agree [95% CI]':>23} {'mode agree [95% CI]':>23} "
        f"{'mean W [95% CI]':>23} {'ΔW vs K=' + str(ref) + ' [95% CI]':>30} {'≠':>4}"
    )
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        a_lo, a_hi = r["action_agreement_ci"]
        m_lo, m_hi = r["mode_agreement_ci"]
        w_lo, w_hi = r["mutual_welfare_ci"]
        d_lo, d_hi = r["delta_vs_ref_ci"]
        lines.append(
            f"{r['label']:<14} {r['ms_per_decision']:>7.1f} "
            f"{r['action_agreement']:>7.3f} [{a_lo:.3f}, {a_hi:.3f}] "
            f"{r['mode_agreement']:>7.3f} [{m_lo:.3f}, {m_hi:.3f}] "
            f"{r['mutual_welfare']:>7.4f} [{w_lo:.3f}, {w_hi:.3f}] "
            f"{r['delta_vs_ref']:>+12.4f} [{d_lo:+.4f}, {d_hi:+.4f}] "
            f"{r['episodes_differing']:>4}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ks", default=",".join(map(str, DEFAULT_KS)))
    parser.add_argument(
        "--replicate-seed",
        type=int,
        default=1,
        help="particle seed of the reference replicate row (negative: no replicate)",
    )
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", default=None, help="write the results to this path")
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",") if k.strip()]
    start = time.perf_counter()
    result = run(
        episodes=args.episodes,
        seed=args.seed,
        ks=ks,
        replicate_seed=args.replicate_seed if args.replicate_seed >= 0 else None,
        workers=args.workers,
    )
    wall = time.perf_counter() - start
    result["wall_s"] = wall
    cfg = result["config"]
    print(
        f"oracle convergence in n_particles: {args.episodes} episodes (seed {args.seed}), "
        f"first decisions vs K={cfg['reference_k']} (particle seed 0); W = mutual welfare "
        "√(U⁺·L⁺) of the whole episode, same seeds for every K (paired)"
    )
    print(format_table(result))
    print(
        "≠: episodes whose welfare differs from the reference's. "
        f"wall {wall:.1f} s ({cfg['workers']} workers)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
