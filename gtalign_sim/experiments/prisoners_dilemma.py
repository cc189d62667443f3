"""``experiment=prisoners_dilemma``: the empirical game {DQ, VQ} × {assistant policies}.

Every user strategy (forced: ``reset(options={"strategy": ...})``) meets every assistant
policy on the same episodes (common random numbers; ``episode`` is the same index for
the same task and user in every cell). The mean gains form the measured
:class:`~gtalign_sim.game.PayoffMatrix`; its equilibria, Pareto frontier, game type and
price of anarchy/stability (utilitarian, on gains) are reported with their stability over
paired bootstrap resamples (:mod:`gtalign_sim.eval.empirical`). Writes ``config.yaml``,
``episodes.jsonl`` (one line per episode and cell, with ``assistant``, ``strategy``,
``episode``, ``user_welfare``, ``llm_welfare``, ``mutual_welfare``), ``metrics.json``,
``summary.md`` and ``empirical_game.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
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
    """Validate, play every cell, analyse, write the run's files; returns the metrics."""
    from ..agents import ASSISTANTS
    from ..envs.rollout import episode_seeds
    from ..eval.empirical import bootstrap_analysis, play_empirical_game
    from ..tasks import TaskBank
    from .clarification_game import _assistant, env_factory, validate

    s = validate(cfg)
    pd = cfg.get("pd") or {}
    policies = list(OmegaConf.to_container(pd.get("policies"))) if pd.get("policies") else []
    bad = [p for p in policies if p not in ASSISTANTS]
    if len(policies) < 2 or bad:
        raise ValueError(f"pd.policies {policies} invalid: at least two of {sorted(ASSISTANTS)}")
    n = _int(pd, "episodes_per_cell", 1, 1000)
    n_boot = _int(pd, "bootstrap", 10, 1000)
    start = time.perf_counter()
    out = s.output_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    bank = TaskBank.build(families=s.families, per_family=s.tasks_per_family, seed=s.task_seed)
    backends: dict[str, Any] = {}

    factory = env_factory(s, bank, dict(s.user_spec), backends)

    agents = {name: _assistant(name, s, backends) for name in policies}
    progress = None
    if s.progress:
        from tqdm import tqdm

        def progress(cells: Any) -> Any:
            return tqdm(list(cells), desc="cells", unit="cell")

    with (out / "episodes.jsonl").open("w") as fh:

        def keep(rec: dict[str, Any]) -> None:
            fh.write(json.dumps({k: rec[k] for k in _KEEP if k in rec}, sort_keys=True) + "\n")

        game = play_empirical_game(
            factory, agents, episode_seeds(s.seed, n), progress=progress, on_episode=keep
        )
    analysis = bootstrap_analysis(game, n_boot=n_boot, seed=s.seed)
    metrics = {
        "experiment": "prisoners_dilemma",
        "seed": s.seed,
        "world": s.world.to_dict(),
        "pricing": dict(s.population.pricing),
        **analysis,
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    images = []
    if s.plots:
        from ..eval.game_plots import plot_empirical_game

        images.append(Path(plot_empirical_game(analysis, out / "empirical_game.png")).name)
    (out / "summary.md").write_text(_summary(metrics, images))
    if s.print_table:
        print(_summary(metrics, images))
        print(f"wrote {out}/: episodes.jsonl, metrics.json, summary.md, {', '.join(images)}")
    return metrics


def _summary(m: dict[str, Any], images: list[str]) -> str:
    b = m["bootstrap"]
    lines = [
        "# Empirical game: user strategy × assistant policy (gains over no interaction)",
        "",
        f"{m['episodes_per_cell']} paired episodes per cell, seed {m['seed']}, "
        f"pricing {m['pricing']}.",
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
