"""``experiment=clarification_game``: every assistant against the same users and tasks.

Each assistant in ``assistants.names`` plays ``episodes_per_family × len(families)``
episodes; episode ``i`` uses the same task, hidden user and random draws for every
assistant (common random numbers), while each assistant faces its own population of
users whose beliefs about it evolve over the run. Writes into the run directory:
``config.yaml`` (resolved), ``episodes.jsonl``, ``metrics.json`` (and its long form
``metrics.csv``: run, assistant, metric, group, mean, lo, hi, n), ``summary.md`` and
plots, and prints a table. The smallest use of :mod:`~gtalign_sim.experiments.runner`:
one arm per assistant, the shared report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .execution import failures_markdown
from .runner import Arm, report_experiment, run_experiment
from .settings import Settings, validate

__all__ = ["arms", "report", "report_run", "run", "validate"]


def arms(s: Settings, cfg: Any = None) -> list[Arm]:
    """One arm per assistant of ``assistants.names``, nothing forced."""
    return [Arm(name) for name in s.assistants]


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play (streaming each episode to ``episodes.jsonl``), and write the run's
    files; returns the metrics. ``resume=true`` continues the run in the directory;
    SIGINT/SIGTERM stop it after the current episode (``SystemExit`` 130/143); more
    than ``max_failed_fraction`` failed episodes exit 3."""
    return run_experiment(cfg, arms, report)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes (nothing is played)."""
    return report_experiment(cfg, path, report)


def report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """metrics.json, plots and summary.md from episodes.jsonl, streamed (atomic writes)."""
    from ..eval import plots, print_summary, summary_markdown, write_metrics
    from ..eval.metrics import MetricsAccumulator
    from ..eval.tidy import write_metrics_csv
    from .figures import FigureWriter
    from .rundir import iter_jsonl, write_text_atomic

    out = rd.path
    acc = MetricsAccumulator()
    for _, rec in iter_jsonl(rd.episodes):
        acc.add(rec)
    metrics = write_metrics(acc, out / "metrics.json", canonical=True)
    del acc
    write_metrics_csv(metrics, out / "metrics.csv", run=out.name)
    fig = FigureWriter(out, s.plots, s.plot_formats, s.plot_dpi)
    fig.add("welfare_bars", "welfare_by_assistant", lambda p: plots.plot_welfare_bars(metrics, p))
    fig.add(
        "welfare_plane",
        "welfare_plane",
        lambda p: plots.plot_welfare_plane((rec for _, rec in iter_jsonl(rd.episodes)), metrics, p),
    )
    fig.add("action_mix", "action_mix", lambda p: plots.plot_action_mix(metrics, p))
    fig.add(
        "welfare_by_family",
        "welfare_by_family",
        lambda p: plots.plot_welfare_by_family(metrics, p),
    )
    fig.add("pricing_shift", "pricing_shift", lambda p: plots.plot_pricing_shift(metrics, p))
    summary = {
        "experiment": "clarification_game",
        "seed": s.seed,
        "families": list(s.families),
        "episodes_per_assistant": s.episodes_per_family * len(s.families),
        "assistants": list(s.assistants),
        "pricing": dict(s.population.pricing),
        "aggregator": s.aggregator,
        "backend": {k: v for k, v in s.backend.items() if k != "api_key"},
    }
    if wall is not None:
        summary["wall_seconds"] = round(wall, 1)
    write_text_atomic(
        out / "summary.md",
        summary_markdown(
            metrics,
            summary,
            title="Clarification game: assistants compared",
            plot_files=fig.links,
        )
        + failures_markdown(metrics.get("failures") or {}),
    )
    if s.print_table:
        print_summary(metrics)
        fmt = {
            name: block["format_score"]["mean"]
            for name, block in metrics.get("assistant_metrics", {}).items()
            if isinstance(block.get("format_score"), dict)
            and block["format_score"].get("mean") is not None
            and block["format_score"]["mean"] < 1.0
        }
        if fmt:
            print(
                "four-block format validity: " + ", ".join(f"{k} {v:.2f}" for k, v in fmt.items())
            )
        files = ["episodes.jsonl", "metrics.json", "metrics.csv", "summary.md", *fig.written]
        print(f"wrote {out}/: {', '.join(files)}")
    return metrics
