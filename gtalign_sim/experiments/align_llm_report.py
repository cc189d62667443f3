"""The report of ``experiment=align_llm``: base → SFT → GRPO on the same episodes.

Every model played each evaluation episode ``i`` twice, under a subscription and per
token (:data:`~gtalign_sim.experiments.align_llm.PLANS`). An episode's value of a metric
is the mean of its two plays; an episode counts only when both plays of every model
finished (failed plays are counted apart). Paired differences ``sft − base`` and
``grpo − sft`` are :func:`gtalign_sim.eval.comparisons.paired_difference` on those
per-episode values (t interval, paired t-test; an interval containing 0 is a tie).

Metrics: ``format_valid`` (share of the episode's turns whose reply parsed as the
four-block protocol and was played: ``decided_by == "model"``), ``format_score``,
``answer_quality`` (the judge's score of the final answer), U, L, √(U⁺·L⁺), ``turns``;
the action mix (all turns) by question type; the pricing response
(:func:`gtalign_sim.eval.pricing_stats.analyse`: first-mode mix per plan, per-token −
subscription shifts with paired bootstrap CIs, TV with a permutation p-value, claim (iv)'s
verdict) and the per-episode DA / CQ shift ``1[first mode under per-token] −
1[... under subscription]`` compared across models; and the calibration of the model's
own ``<payoff>`` blocks (:func:`gtalign_sim.eval.calibration.calibrate_record` with the
episode replayed, :func:`~gtalign_sim.eval.calibration_report.summarize`; a fallback's
matrix is not the model's and is left out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .settings import Settings

__all__ = ["METRICS", "episode_values", "report"]

METRICS: tuple[str, ...] = (
    "format_valid",
    "format_score",
    "answer_quality",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "turns",
    "da_shift",
    "cq_shift",
)
"""Per-episode metrics compared across models (shifts: per-token − subscription)."""
RANGES: dict[str, tuple[float, float]] = {
    "format_valid": (0.0, 1.0),
    "format_score": (0.0, 1.0),
    "answer_quality": (0.0, 1.0),
    "mutual_welfare": (0.0, float("inf")),
    "turns": (1.0, float("inf")),
}
"""The metrics' ranges: their confidence intervals are clipped to them."""
COMPARISONS: tuple[tuple[str, str], ...] = (("sft", "base"), ("grpo", "sft"))
PLAN_LABELS = ("subscription", "per_token_api@1")
"""The two plans' labels in the pricing statistics (per token at the list price)."""


def _play_values(rec: Mapping[str, Any]) -> dict[str, float]:
    decisions = rec.get("decisions") or []
    by_model = [(d.get("estimates") or {}).get("decided_by") == "model" for d in decisions]
    return {
        "format_valid": float(np.mean(by_model)) if by_model else float("nan"),
        "format_score": float(rec.get("format_score", float("nan"))),
        "answer_quality": float(rec["answer_quality"]),
        "user_welfare": float(rec["user_welfare"]),
        "llm_welfare": float(rec["llm_welfare"]),
        "mutual_welfare": float(rec["mutual_welfare"]),
        "turns": float(rec["turns"]),
    }


def episode_values(
    records: Mapping[str, Sequence[Mapping[str, Any]]], n: int
) -> dict[str, list[dict[str, Any]]]:
    """Per model, one record ``{"assistant": model, "episode": i, **METRICS}`` per episode
    that every model finished under both plans (values: the mean of the two plays;
    shifts: per-token − subscription of the first mode's indicator)."""
    plays: dict[str, dict[tuple[int, str], Mapping[str, Any]]] = {}
    for model, recs in records.items():
        plays[model] = {(int(r["episode"]), r["pricing"]): r for r in recs}
    ok = [
        i
        for i in range(n)
        if all(
            (i, p) in plays[m] and not plays[m][(i, p)].get("failure")
            for m in plays
            for p in ("subscription", "per_token_api")
        )
    ]
    out: dict[str, list[dict[str, Any]]] = {}
    for model in records:
        rows = []
        for i in ok:
            sub, tok = plays[model][(i, "subscription")], plays[model][(i, "per_token_api")]
            a, b = _play_values(sub), _play_values(tok)
            row: dict[str, Any] = {"assistant": model, "episode": i}
            row |= {k: (a[k] + b[k]) / 2 for k in a}
            for mode in ("DA", "CQ"):
                first = [bool(r.get("modes")) and r["modes"][0] == mode for r in (sub, tok)]
                row[f"{mode.lower()}_shift"] = float(first[1]) - float(first[0])
            rows.append(row)
        out[model] = rows
    return out


def _action_mix(recs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Modes of every turn (and of the first) by question type: counts and shares."""
    out: dict[str, Any] = {}
    for which in ("all_turns", "first_move"):
        block = {}
        for t in ("DQ", "VQ"):
            modes = [
                m
                for r in recs
                if not r.get("failure") and r.get("strategy") == t
                for m in (r.get("modes") or [])[: None if which == "all_turns" else 1]
            ]
            counts = {m: modes.count(m) for m in ("DA", "CQ", "AQ")}
            total = sum(counts.values())
            shares = {m: (c / total if total else None) for m, c in counts.items()}
            block[t] = {"n": total, "counts": counts, "shares": shares}
        out[which] = block
    return out


def _pricing(recs: Sequence[Mapping[str, Any]], n: int, n_boot: int, rng: Any) -> dict[str, Any]:
    from ..eval import pricing_stats as ps

    panel = ps.Panel.empty(len(PLAN_LABELS), n)
    for r in recs:
        panel.add(0 if r["pricing"] == "subscription" else 1, int(r["episode"]), r)
    return ps.analyse(panel, list(PLAN_LABELS), [1.0], n_boot, rng, actions=False)


def _calibration(
    s: Settings, records: Mapping[str, Sequence[Mapping[str, Any]]], bins: int
) -> dict[str, Any]:
    """The models' own ``<payoff>`` blocks against the exact truth (episodes replayed)."""
    from ..eval.calibration import calibrate_record
    from ..eval.calibration_report import summarize
    from ..tasks.sources import load_task_bank
    from .align_llm_eval import ASSISTANT, PLANS
    from .runner import build_assistant, env_factory

    bank = s.bank
    if bank is None:
        bank = load_task_bank(s.tasks or {}, s.families, s.tasks_per_family, s.task_seed)
    rows: list[dict[str, Any]] = []
    left_out: dict[str, int] = {}
    for model, recs in records.items():
        asst = build_assistant(ASSISTANT, s, {"assistant": None})
        env = env_factory(s, bank, dict(s.user_spec), {"user": None})()
        decisions = [d for r in recs if not r.get("failure") for d in r.get("decisions") or []]
        left_out[model] = sum(
            (d.get("estimates") or {}).get("decided_by") != "model" for d in decisions
        )
        for rec in recs:
            play = 2 * int(rec["episode"]) + PLANS.index(rec["pricing"])  # one key per play
            for row in calibrate_record(rec, bank.get(rec["task_id"]), s.world, env, asst, True):
                if row["decided_by"] == "model":
                    rows.append({**row, "assistant": model, "episode": play})
    out = summarize(rows, bins=bins, order=list(records)) if rows else {}
    return {
        "decisions": {m: sum(r["assistant"] == m for r in rows) for m in records},
        "fallback_decisions_left_out": left_out,
        **out,
    }


def _difference_range(metric: str) -> tuple[float, float] | None:
    """The range of a difference of two values of ``metric`` (``None``: unbounded)."""
    if metric not in RANGES:
        return None
    low, high = RANGES[metric]
    return (low - high, high - low)


def report(
    s: Settings, s_eval: Settings, o: Any, out: Path, stages: Mapping[str, Any]
) -> dict[str, Any]:
    """metrics.json, metrics.csv, summary.md and the figures of the run in ``out``."""
    from ..eval.comparisons import paired_difference
    from ..eval.metrics import jsonable, write_json_atomic
    from ..eval.stats import clip_interval, mean_ci
    from .align_llm_eval import MODELS, model_path
    from .align_llm_summary import metrics_csv, plot_metrics, plot_mix, summary_markdown
    from .figures import FigureWriter
    from .rundir import iter_jsonl, write_text_atomic

    n = int(o.eval["episodes"])
    records = {m: [r for _, r in iter_jsonl(out / "eval" / m / "episodes.jsonl")] for m in MODELS}
    values = episode_values(records, n)
    flat = [row for m in MODELS for row in values[m]]
    metrics: dict[str, Any] = {
        "experiment": "align_llm",
        "profile": o.profile,
        "seed": s.seed,
        "episodes": n,
        "paired_episodes": len(values[MODELS[0]]),
        "plans": ["subscription", "per_token_api"],
        "stages": dict(stages),
        "models": {},
        "comparisons": {},
        "action_mix": {m: _action_mix(records[m]) for m in MODELS},
        "pricing": {},
        "steering": s_eval.llm.get("steering", "none"),
        "failures": {},
    }
    rng = np.random.default_rng([s.seed, 12])  # resampling: a stream apart from the episodes
    for m in MODELS:
        recs = records[m]
        failed = [r for r in recs if r.get("failure")]
        metrics["failures"][m] = {"failed": len(failed), "attempted": len(recs)}
        turns = [d for r in recs if not r.get("failure") for d in r.get("decisions") or []]
        valid = sum((d.get("estimates") or {}).get("decided_by") == "model" for d in turns)
        metrics["models"][m] = {
            "model": model_path(o, s, m),
            "n_turns": len(turns),
            "n_valid_turns": int(valid),
            **{k: mean_ci([row[k] for row in values[m]], bounds=RANGES.get(k)) for k in METRICS},
        }
        metrics["pricing"][m] = _pricing(recs, n, int(o.eval["bootstrap"]), rng)
    for a, b in COMPARISONS:
        metrics["comparisons"][f"{a} - {b}"] = {
            k: clip_interval(paired_difference(flat, a, b, k), _difference_range(k))
            for k in METRICS
        }
    metrics["calibration"] = _calibration(s_eval, records, int(o.eval["bins"]))
    metrics = jsonable(metrics)
    write_json_atomic(metrics, out / "metrics.json")
    write_text_atomic(out / "metrics.csv", metrics_csv(metrics))
    fig = FigureWriter(out, s.plots, s.plot_formats, s.plot_dpi)
    fig.add("metrics", "align_llm", lambda p: plot_metrics(metrics, p))
    fig.add("mix", "align_llm_mix", lambda p: plot_mix(metrics, p))
    text = summary_markdown(metrics, list(fig.links.values()))
    write_text_atomic(out / "summary.md", text)
    if s.print_table:
        print(text)
        files = ["metrics.json", "metrics.csv", "summary.md", *fig.written]
        print(f"wrote {out}/: {', '.join(files)}")
    return metrics
