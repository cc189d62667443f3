"""``experiment=dilemma_map``: the empirical game's type over a grid of two parameters.

At every point of a ``dilemma_map.x`` × ``dilemma_map.y`` grid the game of
``experiment=prisoners_dilemma`` is measured: each forced user strategy (DQ, VQ) meets
each of ``dilemma_map.policies`` (default the mutual-welfare and the provider's best
response) on the same episodes — the same plan at every grid point too, so neighbouring
points are paired. The mean gains form a 2×2 matrix whose type, dilemma flag and price
of anarchy (utilitarian, on gains) come with their stability over paired bootstrap
resamples (:func:`gtalign_sim.eval.empirical.bootstrap_analysis`); a point whose type
holds in fewer than ``dilemma_map.stable`` of the resamples is labelled ``uncertain``.

An axis is ``{param, values}``: ``price_scale`` (multiplies the per-token plan's prices,
not compute), ``effort_detail_scale`` (multiplies every persona's ``effort_detail``
range) or any numeric :class:`~gtalign_sim.core.WorldConfig` field (its value).
``dilemma_map.pricing`` is ``run`` (default: the run's mix of plans, e.g. the ``paper``
scenario's half subscription, half per token) or a plan forced on every user. Writes
``episodes.jsonl`` (keys ``assistant``, ``strategy``, ``x``, ``y``, ``episode``),
``metrics.json``, ``summary.md`` and ``dilemma_map.png``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from .prisoners_dilemma import CELL_FIELDS
from .runner import Arm, Plan, report_experiment, run_experiment
from .settings import Settings, container, fraction_field, int_field

__all__ = [
    "SCALES",
    "allowed_params",
    "arms",
    "plan",
    "point_world",
    "report",
    "report_run",
    "run",
]

STRATEGIES = ("DQ", "VQ")

SCALES: dict[str, str] = {
    "price_scale": "× the per-token plan's prices per input and output token (not compute)",
    "effort_detail_scale": "× every persona's effort_detail range (a detailed question's cost)",
}
"""Axis parameters that scale a quantity, with what they multiply."""

_KEEP = (*CELL_FIELDS, "x", "y")


def allowed_params() -> tuple[str, ...]:
    """Names an axis may vary: the scales, then WorldConfig's numeric fields."""
    from ..core import WorldConfig

    fields = [f.name for f in dataclasses.fields(WorldConfig) if f.type in ("int", "float")]
    return (*SCALES, *fields)


def point_world(world: Any, population: Any, param: str, value: float) -> tuple[Any, Any]:
    """``(world, population)`` with ``param`` set to ``value`` (or scaled by it)."""
    from ..core import WorldConfig

    if param == "price_scale":
        pol = world.policy("per_token_api")
        plan = {
            **world.pricing.get("per_token_api", {}),
            "price_per_input_token": pol.price_per_input_token * value,
            "price_per_output_token": pol.price_per_output_token * value,
        }
        return dataclasses.replace(
            world, pricing={**world.pricing, "per_token_api": plan}
        ), population
    if param == "effort_detail_scale":
        personas = tuple(
            dataclasses.replace(
                p, effort_detail=(p.effort_detail[0] * value, p.effort_detail[1] * value)
            )
            for p in population.personas
        )
        return world, dataclasses.replace(population, personas=personas)
    kind = {f.name: f.type for f in dataclasses.fields(WorldConfig)}[param]
    if kind == "int":
        if float(value) != int(value):
            raise ValueError(f"world.{param} must be an integer, got {value!r}")
        value = int(value)
    return dataclasses.replace(world, **{param: value}), population


def _axis(cfg: Any, name: str, s: Settings | None) -> tuple[str, list[float]]:
    node = container((cfg.get("dilemma_map") or {}).get(name)) or {}
    allowed = allowed_params()
    param = node.get("param") if isinstance(node, dict) else None
    if param not in allowed:
        raise ValueError(
            f"dilemma_map.{name}.param {param!r} invalid; valid choices: {list(allowed)}"
        )
    values = node.get("values")
    ok = isinstance(values, list) and values and len(set(values)) == len(values)
    if not ok or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
        for v in values
    ):
        raise ValueError(
            f"dilemma_map.{name}.values must be a list of distinct finite numbers, got {values!r}"
        )
    if param in SCALES and min(values) < 0:
        raise ValueError(f"dilemma_map.{name}.values of {param} must be >= 0, got {values}")
    if s is not None:
        for v in values:
            try:
                point_world(s.world, s.population, param, v)
            except ValueError as exc:
                raise ValueError(f"dilemma_map.{name}.values: {exc}") from None
    return param, list(values)


def _options(cfg: Any, s: Settings | None = None) -> dict[str, Any]:
    """The validated ``dilemma_map`` node (axes checked against the run's world when
    ``s`` is given)."""
    from ..agents import ASSISTANTS
    from ..core.vocab import PRICING_PLANS

    dm = cfg.get("dilemma_map") or {}
    policies = list(container(dm.get("policies")) or [])
    if len(policies) != 2 or len(set(policies)) != 2 or any(p not in ASSISTANTS for p in policies):
        raise ValueError(
            f"dilemma_map.policies {policies} invalid: two different of {sorted(ASSISTANTS)}"
        )
    pricing = dm.get("pricing", "run")
    if pricing not in ("run", *PRICING_PLANS):
        raise ValueError(
            f"dilemma_map.pricing {pricing!r} invalid; valid choices: {['run', *PRICING_PLANS]}"
        )
    x, y = _axis(cfg, "x", s), _axis(cfg, "y", s)
    if x[0] == y[0]:
        raise ValueError(f"dilemma_map.x.param and dilemma_map.y.param are both {x[0]!r}")
    return {
        "x": x,
        "y": y,
        "policies": policies,
        "pricing": None if pricing == "run" else str(pricing),
        "episodes": int_field(dm, "episodes_per_cell", 2, 60),
        "bootstrap": int_field(dm, "bootstrap", 10, 100),
        "stable": fraction_field(dm, "stable", 0.8),
    }


def arms(s: Settings, cfg: Any) -> list[Arm]:
    """Every grid point × strategy × policy; the arms of a point share its world."""
    o = _options(cfg, s)
    (xp, xs), (yp, ys) = o["x"], o["y"]
    forced = {"pricing": o["pricing"]} if o["pricing"] else {}
    out = []
    for xv in xs:
        for yv in ys:
            world, pop = point_world(s.world, s.population, xp, xv)
            world, pop = point_world(world, pop, yp, yv)
            out += [
                Arm(
                    name, {"strategy": st, "x": xv, "y": yv}, {"strategy": st, **forced}, world, pop
                )
                for st in STRATEGIES
                for name in o["policies"]
            ]
    return out


def plan(s: Settings, cfg: Any) -> Plan:
    """``dilemma_map.episodes_per_cell`` episodes from the run seed, the same at every point."""
    from ..envs.rollout import episode_seeds

    return [
        (i, seed, {}) for i, seed in enumerate(episode_seeds(s.seed, _options(cfg)["episodes"]))
    ]


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play every grid point's cells on the same episodes (streamed to
    ``episodes.jsonl``), analyse and write the run's files; returns the metrics."""
    _options(cfg)  # the node's own checks before anything is built
    return run_experiment(cfg, arms, report, plan=plan, keep=_KEEP)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes (nothing is played)."""
    return report_experiment(cfg, path, report)


def _clean(obj: Any) -> Any:
    """JSON-safe: non-finite floats become ``None``."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """Per-point empirical games from ``episodes.jsonl``, their bootstrap analyses,
    metrics.json, the phase diagram and summary.md (atomic writes)."""
    from ..eval.empirical import EmpiricalGame, bootstrap_analysis
    from ..eval.metrics import write_json_atomic
    from ..eval.phase_plots import incentives, metrics_rows, phase_summary, structure
    from ..eval.tidy import write_rows_csv
    from .rundir import atomic_path, iter_jsonl, write_text_atomic

    o = _options(cfg, s)
    (xp, xs), (yp, ys), pols, n = o["x"], o["y"], o["policies"], o["episodes"]
    u = np.full((len(xs), len(ys), 2, 2, n), np.nan)
    l = np.full_like(u, np.nan)
    for _, r in iter_jsonl(rd.episodes):
        if r.get("failure"):
            f = r["failure"]
            raise RuntimeError(
                f"episode {r['episode']} of ({r['strategy']}, {r['assistant']}) at "
                f"{xp}={r['x']}, {yp}={r['y']} failed: {f.get('stage')}: {f.get('reason')}"
            )
        at = (
            xs.index(r["x"]),
            ys.index(r["y"]),
            STRATEGIES.index(r["strategy"]),
            pols.index(r["assistant"]),
        )
        u[(*at, r["episode"])], l[(*at, r["episode"])] = r["user_welfare"], r["llm_welfare"]
    if np.isnan(u).any() or np.isnan(l).any():
        raise RuntimeError(f"{rd.episodes}: some cells lack episodes")
    points = []
    for i, xv in enumerate(xs):
        for j, yv in enumerate(ys):
            game = EmpiricalGame(STRATEGIES, tuple(pols), u[i, j], l[i, j])
            a = bootstrap_analysis(game, n_boot=o["bootstrap"], seed=s.seed)
            b = a["bootstrap"]
            stable = b["same_type_fraction"] >= o["stable"]
            inc = incentives(u[i, j], l[i, j], STRATEGIES, pols)
            points.append(
                {
                    "x": xv,
                    "y": yv,
                    "label": a["game_type"] if stable else "uncertain",
                    "stability": b["same_type_fraction"],
                    **{
                        k: v
                        for k, v in a.items()
                        if k not in ("strategies", "policies", "episodes_per_cell")
                    },
                    "incentives": inc,
                    "structure": structure(a["user"], a["llm"], inc, STRATEGIES, pols),
                }
            )
    at = {(p["x"], p["y"]): p for p in points}

    def grid(key: str) -> list[list[Any]]:
        return [[at[(xv, yv)][key] for xv in xs] for yv in ys]

    metrics = _clean(
        {
            "experiment": "dilemma_map",
            "seed": s.seed,
            "x": {"param": xp, "values": xs, "meaning": SCALES.get(xp, f"world.{xp}")},
            "y": {"param": yp, "values": ys, "meaning": SCALES.get(yp, f"world.{yp}")},
            "strategies": list(STRATEGIES),
            "policies": pols,
            "episodes_per_cell": n,
            "bootstrap": o["bootstrap"],
            "stable": o["stable"],
            "pricing": {o["pricing"]: 1.0} if o["pricing"] else dict(s.population.pricing),
            "world": s.world.to_dict(),
            "types_found": sorted({p["label"] for p in points} - {"uncertain"}),
            "grid": {k: grid(k) for k in ("label", "game_type", "stability", "price_of_anarchy")}
            | {
                "dilemma_fraction": [
                    [at[(xv, yv)]["bootstrap"]["dilemma_fraction"] for xv in xs] for yv in ys
                ]
            },
            "points": points,
        }
    )
    write_json_atomic(metrics, rd.path / "metrics.json")
    write_rows_csv(metrics_rows(metrics, rd.path.name), rd.path / "metrics.csv")
    images = []
    if s.plots:
        from ..eval.phase_plots import plot_phase_diagram

        with atomic_path(rd.path / "dilemma_map.png") as tmp:
            plot_phase_diagram(metrics, tmp)
        images.append("dilemma_map.png")
    text = phase_summary(metrics, images, wall)
    write_text_atomic(rd.path / "summary.md", text)
    if s.print_table:
        print(text)
        print(
            f"wrote {rd.path}/: episodes.jsonl, metrics.json, metrics.csv, summary.md, "
            + ", ".join(images)
        )
    return metrics
