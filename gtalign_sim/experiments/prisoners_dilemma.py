"""``experiment=prisoners_dilemma``: the empirical game {DQ, VQ} × {assistant policies}.

Every user strategy (forced: ``reset(options={"strategy": ...})``) meets every assistant
policy on the same episodes (common random numbers; ``episode`` is the same index for
the same task and user in every cell). The mean gains form the measured
:class:`~gtalign_sim.game.PayoffMatrix`; its equilibria, Pareto frontier, game type and
price of anarchy/stability (utilitarian, on gains) are reported with their stability over
paired bootstrap resamples (:mod:`gtalign_sim.eval.empirical`). Writes ``config.yaml``,
``episodes.jsonl`` (one line per episode and cell, with ``assistant``, ``strategy``,
``episode``, ``user_welfare``, ``llm_welfare``, ``mutual_welfare``), ``metrics.json``,
``summary.md`` and ``empirical_game.png``. Episodes stream into the run directory as they
finish; ``resume=true`` continues a stopped run (:mod:`~gtalign_sim.experiments.rundir`).
The wall time goes to ``run.json`` and ``summary.md``, not ``metrics.json`` (which is
the same for a resumed run as for an uninterrupted one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from omegaconf import OmegaConf

__all__ = ["run"]

_KEEP = (
    "assistant",
    "strategy",
    "episode",
    "seed",
    "task_id",
    "family",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "actions",
    "stop_reason",
    "turns",
)


def _int(cfg: Any, key: str, minimum: int, default: int) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play every cell (streaming each episode to ``episodes.jsonl``), analyse,
    write the run's files; returns the metrics. Run directory, ``resume=true`` and
    SIGINT/SIGTERM as in :func:`gtalign_sim.experiments.clarification_game.run`."""
    from ..agents import ASSISTANTS
    from .clarification_game import _replays, execute, validate

    s = validate(cfg)
    pd = cfg.get("pd") or {}
    policies = list(OmegaConf.to_container(pd.get("policies"))) if pd.get("policies") else []
    bad = [p for p in policies if p not in ASSISTANTS]
    if len(policies) < 2 or bad:
        raise ValueError(f"pd.policies {policies} invalid: at least two of {sorted(ASSISTANTS)}")
    n = _int(pd, "episodes_per_cell", 1, 1000)
    n_boot = _int(pd, "bootstrap", 10, 1000)
    return execute(
        s,
        cfg,
        total=len(STRATEGIES) * len(policies) * n,
        key_fields=_KEY,
        play=lambda sink, done, stop: _play(s, policies, n, sink, done, stop),
        report=lambda rd, wall: _report(s, policies, n, n_boot, rd, wall),
        may_skip_state=_replays(s),
    )


STRATEGIES = ("DQ", "VQ")
_KEY = ("assistant", "strategy", "episode")


def _play(
    s: Any,
    policies: list[str],
    n: int,
    sink: Callable[[dict[str, Any]], None],
    done: Mapping[tuple[Any, ...], bytes],
    stop: Any,
) -> None:
    """Every (strategy, policy) cell on the same ``n`` episodes, as
    :func:`~gtalign_sim.eval.empirical.play_empirical_game` plays them (a fresh
    environment per cell, the assistant reset once per cell), skipping stored episodes:
    a cell with all of them done is skipped, a partly done one is replayed from its start
    when the backend allows (:func:`~gtalign_sim.experiments.clarification_game._replays`;
    replayed records must match the stored lines) and otherwise only its missing
    episodes are played."""
    from ..envs.rollout import episode_seeds, run_episode
    from ..tasks import TaskBank
    from .clarification_game import _assistant, _replays, env_factory
    from .rundir import line_digest

    bank = TaskBank.build(families=s.families, per_family=s.tasks_per_family, seed=s.task_seed)
    backends: dict[str, Any] = {}
    factory = env_factory(s, bank, dict(s.user_spec), backends)
    agents = {name: _assistant(name, s, backends) for name in policies}
    seeds = episode_seeds(s.seed, n)
    cells: Any = [(st, name) for st in STRATEGIES for name in policies]
    if s.progress:
        from tqdm import tqdm

        cells = tqdm(cells, desc="cells", unit="cell")
    for strategy, name in cells:
        stored = {int(e): d for (a, st, e), d in done.items() if a == name and st == strategy}
        if len(stored) >= n:
            continue
        replay = bool(stored) and _replays(s)
        env = factory()
        assistant = agents[name]
        assistant.reset()
        for i, seed in enumerate(seeds):
            if i in stored and not replay:
                continue
            rec = run_episode(env, assistant, seed, {"strategy": strategy})
            full = {"assistant": name, "episode": i, "seed": int(seed), **rec}
            kept = {k: full[k] for k in _KEEP if k in full}
            if i not in stored:
                sink(kept)
            elif line_digest(json.dumps(kept, sort_keys=True)) != stored[i]:
                raise RuntimeError(
                    f"resume: replaying episode {i} of cell ({strategy}, {name}) did not "
                    "reproduce the stored record; the run cannot be resumed exactly"
                )
            stop.check()


def _report(
    s: Any, policies: list[str], n: int, n_boot: int, rd: Any, wall: float
) -> dict[str, Any]:
    """The empirical game from ``episodes.jsonl`` (streamed into ``(S, P, N)`` arrays),
    its bootstrap analysis, metrics.json, the plot and summary.md (atomic writes)."""
    import numpy as np

    from ..eval.empirical import EmpiricalGame, bootstrap_analysis
    from ..eval.metrics import write_json_atomic
    from .rundir import atomic_path, iter_jsonl, write_text_atomic

    out = rd.path
    u = np.full((len(STRATEGIES), len(policies), n), np.nan)
    l = np.full_like(u, np.nan)
    for _, rec in iter_jsonl(rd.episodes):
        si, pi = STRATEGIES.index(rec["strategy"]), policies.index(rec["assistant"])
        u[si, pi, rec["episode"]] = rec["user_welfare"]
        l[si, pi, rec["episode"]] = rec["llm_welfare"]
    if np.isnan(u).any() or np.isnan(l).any():
        raise RuntimeError(f"{rd.episodes}: some cells lack episodes")
    game = EmpiricalGame(STRATEGIES, tuple(policies), u, l)
    analysis = bootstrap_analysis(game, n_boot=n_boot, seed=s.seed)
    metrics = {
        "experiment": "prisoners_dilemma",
        "seed": s.seed,
        "world": s.world.to_dict(),
        "pricing": dict(s.population.pricing),
        **analysis,
    }
    write_json_atomic(metrics, out / "metrics.json")
    images = []
    if s.plots:
        from ..eval.game_plots import plot_empirical_game

        with atomic_path(out / "empirical_game.png") as tmp:
            plot_empirical_game(analysis, tmp)
        images.append("empirical_game.png")
    text = _summary(metrics, images, wall)
    write_text_atomic(out / "summary.md", text)
    if s.print_table:
        print(text)
        print(f"wrote {out}/: episodes.jsonl, metrics.json, summary.md, {', '.join(images)}")
    return metrics


def _summary(m: dict[str, Any], images: list[str], wall: float | None = None) -> str:
    b = m["bootstrap"]
    lines = [
        "# Empirical game: user strategy × assistant policy (gains over no interaction)",
        "",
        f"{m['episodes_per_cell']} paired episodes per cell, seed {m['seed']}, "
        f"pricing {m['pricing']}" + (f", {wall:.1f} s wall time." if wall is not None else "."),
        "",
        "| strategy | " + " | ".join(m["policies"]) + " |",
        "|---|" + "---|" * len(m["policies"]),
    ]
    for i, s in enumerate(m["strategies"]):
        cells = [
            f"U {m['user'][i][j]:.3f}±{1.96 * m['user_se'][i][j]:.3f}, "
            f"L {m['llm'][i][j]:.3f}±{1.96 * m['llm_se'][i][j]:.3f}"
            for j in range(len(m["policies"]))
        ]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    poa_ci = b.get("price_of_anarchy_ci95")
    lines += [
        "",
        f"- game type: **{m['game_type']}** (same type in {b['same_type_fraction']:.0%} of "
        f"{b['n']} paired bootstrap resamples: {b['types']})",
        f"- social dilemma (an equilibrium Pareto-dominated by another cell): "
        f"**{m['is_dilemma']}** (in {b['dilemma_fraction']:.0%} of resamples)",
        f"- price of anarchy (utilitarian, gains): {m['price_of_anarchy']:.3f}"
        + (f" [95% {poa_ci[0]:.3f}, {poa_ci[1]:.3f}]" if poa_ci else ""),
        f"- equilibria: {m['equilibria']}",
        f"- Pareto frontier: {m['pareto_frontier']}",
    ]
    lines += [f"\n![{img}]({img})" for img in images]
    return "\n".join(lines) + "\n"
