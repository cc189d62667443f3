"""``experiment=evolution``: replicator dynamics and a repeated-game tournament on the
empirical game.

The stage game is measured exactly as in ``experiment=prisoners_dilemma`` (its
:func:`~gtalign_sim.experiments.prisoners_dilemma.arms` and
:func:`~gtalign_sim.experiments.prisoners_dilemma.plan`): the forced user strategies
{DQ, VQ} × the two assistant policies of ``pd.policies`` (the cooperative, mutual-welfare
one first) on paired episodes; the cell means of the gains are the 2×2 ``(U, L)`` game.
On it, and on each textbook game of ``evolution.references`` (presets of
:mod:`gtalign_sim.game.presets`, labelled as references, not simulation results):

1. two-population replicator dynamics (nashpy) from an ``evolution.grid`` ² grid of
   starting mixes, with the Nash equilibria; for the measured game also on
   ``evolution.bootstrap`` paired bootstrap resamples (how often the same end is reached);
2. the game repeated for ``evolution.rounds`` rounds
   (:class:`~gtalign_sim.envs.matrix_game.MatrixGameEnv`): every entrant of
   ``evolution.strategies`` (tit-for-tat, grim trigger, always cooperate/defect, random,
   and the independent learners of :mod:`gtalign_sim.envs.learners`) against every other
   in both roles over ``evolution.seeds`` seeds.

Writes ``episodes.jsonl`` (streamed by the runner), ``metrics.json``, ``summary.md``,
``replicator.png`` and ``tournament.png`` (every format of ``plot_formats``) in the run
directory. Definitions: :mod:`gtalign_sim.eval.evolution` (dynamics) and
:mod:`gtalign_sim.eval.tournament` (repeated game).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .prisoners_dilemma import CELL_FIELDS, arms, plan
from .prisoners_dilemma import STRATEGIES as PD_STRATEGIES
from .runner import report_experiment, run_experiment
from .settings import Settings, container

__all__ = ["arms", "check", "plan", "report", "report_run", "run"]


_DEFAULTS: dict[str, Any] = {
    "grid": 5,
    "horizon": 10000.0,
    "bootstrap": 50,
    "references": ["prisoners_dilemma"],
    "rounds": 200,
    "seeds": 10,
    "tail": 0.25,
    "cooperation_threshold": 0.9,
    "epsilon": 0.1,
    "learning_rate": None,
}


def _number(node: Any, key: str, lo: float, hi: float, integer: bool, lo_open: bool = False) -> Any:
    value = node.get(key, _DEFAULTS[key])
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        bound = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
        raise ValueError(f"evolution.{key} must be {kind} in {bound}, got {value!r}")
    return int(value) if integer else float(value)


def check(cfg: Any) -> dict[str, Any]:
    """The validated ``evolution`` node (defaults filled in) and ``pd``'s two policies;
    a bad value raises a one-line ``ValueError`` naming the field."""
    from ..agents import ASSISTANTS
    from ..eval.tournament import STRATEGIES
    from ..game import PRESETS, get_preset

    pd = container(cfg.get("pd")) or {}
    policies = pd.get("policies") or []
    if len(policies) != 2 or any(p not in ASSISTANTS for p in policies):
        raise ValueError(
            f"pd.policies {policies} invalid: exactly two (the mutual-welfare one first) of "
            f"{sorted(ASSISTANTS)}"
        )
    node = container(cfg.get("evolution")) or {}
    if not isinstance(node, dict):
        raise ValueError(f"evolution must be a mapping, got {node!r}")
    unknown = sorted(set(node) - set(_DEFAULTS) - {"strategies"})
    if unknown:
        raise ValueError(f"evolution.{unknown[0]} unknown; valid keys: {sorted(_DEFAULTS)}")
    strategies = node.get("strategies", list(STRATEGIES))
    if (
        not isinstance(strategies, list)
        or len(strategies) < 2
        or len(set(strategies)) != len(strategies)
        or any(x not in STRATEGIES for x in strategies)
    ):
        raise ValueError(
            f"evolution.strategies {strategies!r} invalid: at least two distinct of "
            f"{list(STRATEGIES)}"
        )
    refs = node.get("references", _DEFAULTS["references"]) or []
    two = sorted(k for k in PRESETS if get_preset(k).shape == (2, 2))
    if not isinstance(refs, list) or len(set(refs)) != len(refs) or any(r not in two for r in refs):
        raise ValueError(f"evolution.references {refs!r} invalid: distinct 2×2 presets of {two}")
    return {
        "policies": list(policies),
        "strategies": list(strategies),
        "references": list(refs),
        "grid": _number(node, "grid", 1, 20, True),
        "horizon": _number(node, "horizon", 0, 1e7, False, lo_open=True),
        "bootstrap": _number(node, "bootstrap", 10, 10000, True),
        "rounds": _number(node, "rounds", 2, 100000, True),
        "seeds": _number(node, "seeds", 2, 1000, True),
        "tail": _number(node, "tail", 0, 1, False, lo_open=True),
        "cooperation_threshold": _number(node, "cooperation_threshold", 0, 1, False),
        "epsilon": _number(node, "epsilon", 0, 1, False),
        "learning_rate": (
            None
            if node.get("learning_rate") is None
            else _number(node, "learning_rate", 0, 1, False, lo_open=True)
        ),
    }


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play the stage game's cells on paired episodes (streamed to
    ``episodes.jsonl``), then analyse and write the run's files; returns the metrics.
    Run directory, ``resume=true`` and signals as in
    :func:`gtalign_sim.experiments.runner.run_experiment`."""
    check(cfg)  # before any work
    return run_experiment(cfg, arms, report, plan=plan, keep=CELL_FIELDS)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes (nothing is played)."""
    return report_experiment(cfg, path, report)


def _stage_game(s: Settings, cfg: Any, rd: Any, ev: dict[str, Any]) -> Any:
    """The :class:`~gtalign_sim.eval.empirical.EmpiricalGame` read back from the run."""
    from ..eval.empirical import EmpiricalGame
    from .rundir import iter_jsonl

    n = int((container(cfg.get("pd")) or {}).get("episodes_per_cell", 1000))
    policies = ev["policies"]
    u = np.full((len(PD_STRATEGIES), len(policies), n), np.nan)
    l = np.full_like(u, np.nan)
    for _, rec in iter_jsonl(rd.episodes):
        si, pi = PD_STRATEGIES.index(rec["strategy"]), policies.index(rec["assistant"])
        u[si, pi, rec["episode"]] = rec["user_welfare"]
        l[si, pi, rec["episode"]] = rec["llm_welfare"]
    if np.isnan(u).any() or np.isnan(l).any():
        raise RuntimeError(f"{rd.episodes}: some cells lack episodes")
    return EmpiricalGame(PD_STRATEGIES, tuple(policies), u, l)


def _analyse(
    name: str,
    source: str,
    user: np.ndarray,
    llm: np.ndarray,
    rows: list[str],
    cols: list[str],
    equilibria: list[dict[str, Any]],
    game_type: str,
    boot: list[tuple[np.ndarray, np.ndarray]],
    ev: dict[str, Any],
    seed: int,
    index: int,
) -> dict[str, Any]:
    """Replicator dynamics (and their bootstrap) and the tournament on one game."""
    from ..eval import evolution as evo
    from ..eval import tournament as tour
    from ..game import PayoffMatrix

    rep = evo.replicator_analysis(user, llm, rows, cols, ev["grid"], ev["horizon"])
    if boot:
        rep["bootstrap"] = evo.replicator_bootstrap(
            boot, rep["end_labels"], rows, cols, ev["grid"], ev["horizon"]
        )
    matrix = PayoffMatrix(  # labels may not hold '_' (cells are keyed '<row>_<col>')
        user, llm, [r.replace("_", "-") for r in rows], [c.replace("_", "-") for c in cols]
    )
    result = tour.tournament(
        matrix,
        ev["strategies"],
        ev["rounds"],
        ev["seeds"],
        seed,
        tail=ev["tail"],
        epsilon=ev["epsilon"],
        learning_rate=ev["learning_rate"],
    )
    n_dev = len(boot) if boot else ev["bootstrap"]
    dev = tour.deviations(result, (user, llm), boot, np.random.default_rng([seed, 2, index]), n_dev)
    return {
        "name": name,
        "source": source,
        "rows": rows,
        "cols": cols,
        "user": np.asarray(user).round(6).tolist(),
        "llm": np.asarray(llm).round(6).tolist(),
        "game_type": game_type,
        "equilibria": equilibria,
        "replicator": rep,
        "tournament": tour.summarize_tournament(
            result, ev["strategies"], dev, ev["cooperation_threshold"]
        ),
    }


def report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """The stage game from ``episodes.jsonl``, its matrix analysis, the dynamics and the
    tournament on it and on the references, metrics.json, the figures and summary.md
    (atomic writes)."""
    from ..eval.empirical import bootstrap_analysis
    from ..eval.evolution_plots import plot_replicator, plot_tournament
    from ..eval.metrics import write_json_atomic
    from ..eval.tidy import write_rows_csv
    from ..game import get_preset
    from .evolution_summary import metrics_rows, summary_markdown
    from .figures import FigureWriter
    from .rundir import write_text_atomic

    ev = check(cfg)
    out = rd.path
    game = _stage_game(s, cfg, rd, ev)
    n_boot = int((container(cfg.get("pd")) or {}).get("bootstrap", 1000))
    stage = bootstrap_analysis(game, n_boot=n_boot, seed=s.seed)
    rng = np.random.default_rng([s.seed, 1])
    boot = [
        (m.user, m.llm)
        for m in (
            game.matrix(rng.integers(0, game.n_episodes, game.n_episodes))
            for _ in range(ev["bootstrap"])
        )
    ]
    scenario = str(cfg.get("scenario_name") or "paper")
    games = [
        _analyse(
            "measured",
            f"simulation: scenario={scenario}, {game.n_episodes} paired episodes per cell",
            game.matrix().user,
            game.matrix().llm,
            list(game.strategies),
            list(game.policies),
            stage["equilibria"],
            stage["game_type"],
            boot,
            ev,
            s.seed,
            0,
        )
    ]
    for k, ref in enumerate(ev["references"], start=1):
        m = get_preset(ref)
        rep = m.analyze_dilemma(welfare="utilitarian")
        games.append(
            _analyse(
                ref,
                f"textbook reference (gtalign_sim.game.presets.{ref}), not a simulation result",
                m.user,
                m.llm,
                list(m.user_strategies),
                list(m.assistant_actions),
                [
                    {"user": x.round(6).tolist(), "assistant": y.round(6).tolist()}
                    for x, y in rep.equilibria
                ],
                rep.game_type,
                [],
                ev,
                s.seed,
                k,
            )
        )
    fig = FigureWriter(out, s.plots, s.plot_formats, s.plot_dpi)
    fig.add("replicator", "replicator", lambda p: plot_replicator(_panels(games), p))
    fig.add("tournament", "tournament", lambda p: plot_tournament(_panels(games), p))
    for g in games:
        g["replicator"].pop("paths")
    metrics = {
        "experiment": "evolution",
        "seed": s.seed,
        "scenario": scenario,
        "world": s.world.to_dict(),
        "pricing": dict(s.population.pricing),
        "settings": {k: v for k, v in ev.items() if k != "policies"},
        "stage_game": stage,
        "games": {g["name"]: g for g in games},
    }
    write_json_atomic(metrics, out / "metrics.json")
    write_rows_csv(metrics_rows(metrics, out.name), out / "metrics.csv")
    text = summary_markdown(metrics, fig.links, wall)
    write_text_atomic(out / "summary.md", text)
    if s.print_table:
        print(text)
        files = ["episodes.jsonl", "metrics.json", "metrics.csv", "summary.md", *fig.written]
        print(f"wrote {out}/: {', '.join(files)}")
    return metrics


def _panels(games: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figure panels: each game with its title and robustness note."""
    panels = []
    for g in games:
        if g["name"] == "measured":
            title = f"measured game ({g['source'].split(': ', 1)[1]})"
            b = g["replicator"].get("bootstrap")
            note = (
                f"bootstrap ({b['n']} resamples): {b['same_end_fraction']:.0%} of runs end "
                "where the point estimate's do"
                if b
                else ""
            )
        else:
            title, note = f"textbook reference: {g['name']}\n(not a simulation result)", ""
        panels.append({**g, "title": title, "note": note})
    return panels
