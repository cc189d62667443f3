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

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from .runner import Arm, Plan, report_experiment, run_experiment
from .settings import Settings, int_field

__all__ = ["CELL_FIELDS", "arms", "matrix_table", "plan", "report", "report_run", "run"]

CELL_FIELDS: tuple[str, ...] = (
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
    "failure",
)
"""What an empirical-game record keeps (shared by the experiments built on the stage game)."""


STRATEGIES = ("DQ", "VQ")


def _policies(cfg: Any) -> list[str]:
    from ..agents import ASSISTANTS

    pd = cfg.get("pd") or {}
    policies = list(OmegaConf.to_container(pd.get("policies"))) if pd.get("policies") else []
    bad = [p for p in policies if p not in ASSISTANTS]
    if len(policies) < 2 or bad:
        raise ValueError(f"pd.policies {policies} invalid: at least two of {sorted(ASSISTANTS)}")
    return policies


def _sizes(cfg: Any) -> tuple[int, int]:
    pd = cfg.get("pd") or {}
    return int_field(pd, "episodes_per_cell", 1, 1000), int_field(pd, "bootstrap", 10, 1000)


def arms(s: Settings, cfg: Any) -> list[Arm]:
    """Every (strategy, policy) cell, the user's opening forced."""
    return [
        Arm(name, key={"strategy": st}, options={"strategy": st})
        for st in STRATEGIES
        for name in _policies(cfg)
    ]


def plan(s: Settings, cfg: Any) -> Plan:
    """``pd.episodes_per_cell`` episodes from the run seed (families drawn by the env)."""
    from ..envs.rollout import episode_seeds

    n, _ = _sizes(cfg)
    return [(i, seed, {}) for i, seed in enumerate(episode_seeds(s.seed, n))]


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play every cell on the same episodes (streaming each to
    ``episodes.jsonl``), analyse, write the run's files; returns the metrics. Run
    directory, ``resume=true`` and SIGINT/SIGTERM as in
    :func:`gtalign_sim.experiments.runner.run_experiment`."""
    _policies(cfg), _sizes(cfg)  # checked before any work
    return run_experiment(cfg, arms, report, plan=plan, keep=CELL_FIELDS)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes (nothing is played)."""
    return report_experiment(cfg, path, report)


def report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """The empirical game from ``episodes.jsonl`` (streamed into ``(S, P, N)`` arrays),
    its bootstrap analysis, metrics.json, the plot and summary.md (atomic writes)."""
    import numpy as np

    from ..eval.empirical import EmpiricalGame, bootstrap_analysis
    from ..eval.metrics import jsonable, write_json_atomic
    from ..eval.tidy import empirical_game_rows, write_rows_csv
    from .rundir import atomic_path, iter_jsonl, write_text_atomic

    policies = _policies(cfg)
    n, n_boot = _sizes(cfg)
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
    # non-finite numbers (an infinite price of anarchy when the worst equilibrium's
    # welfare is not positive) become null: metrics.json stays JSON
    metrics = jsonable(
        {
            "experiment": "prisoners_dilemma",
            "seed": s.seed,
            "world": s.world.to_dict(),
            "pricing": dict(s.population.pricing),
            **analysis,
        }
    )
    write_json_atomic(metrics, out / "metrics.json")
    write_rows_csv(empirical_game_rows(metrics, run=out.name), out / "metrics.csv")
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


def matrix_table(m: dict[str, Any]) -> list[str]:
    """Markdown rows of the measured matrix: per cell mean U and L ± 1.96 SE."""
    lines = [
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
    return lines


def _summary(m: dict[str, Any], images: list[str], wall: float | None = None) -> str:
    b = m["bootstrap"]
    lines = [
        "# Empirical game: user strategy × assistant policy (gains over no interaction)",
        "",
        f"{m['episodes_per_cell']} paired episodes per cell, seed {m['seed']}, "
        f"pricing {m['pricing']}" + (f", {wall:.1f} s wall time." if wall is not None else "."),
        "",
        *matrix_table(m),
    ]
    poa_ci = b.get("price_of_anarchy_ci95")
    poa = m["price_of_anarchy"]
    lines += [
        "",
        f"- game type: **{m['game_type']}** (same type in {b['same_type_fraction']:.0%} of "
        f"{b['n']} paired bootstrap resamples: {b['types']})",
        f"- social dilemma (an equilibrium Pareto-dominated by another cell): "
        f"**{m['is_dilemma']}** (in {b['dilemma_fraction']:.0%} of resamples)",
        "- price of anarchy (utilitarian, gains): "
        + (f"{poa:.3f}" if poa is not None else "undefined (no positive equilibrium welfare)")
        + (f" [95% {poa_ci[0]:.3f}, {poa_ci[1]:.3f}]" if poa_ci and None not in poa_ci else ""),
        f"- equilibria: {m['equilibria']}",
        f"- Pareto frontier: {m['pareto_frontier']}",
    ]
    lines += [f"\n![{img}]({img})" for img in images]
    return "\n".join(lines) + "\n"
