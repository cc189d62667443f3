"""``experiment=payoff_calibration``: how well each reasoning assistant's own payoff
estimates match the exact truth for the same state, by family and turn.

Every assistant of ``assistants.names`` (default: gtalign, gtalign_cd, oracle,
clairvoyant; with an LLM backend llm_gtalign joins, and its ``<payoff>`` blocks are
scored apart from its fallbacks) plays the same episodes (common random numbers). The
report rebuilds each decision's state from the record and the config — replaying the
episode from its seed with its task, hidden profile and opening forced, checked against
the record — and scores every estimate against the exact planner's truth for the actual
user (:mod:`gtalign_sim.eval.calibration`): GTAlign's 2×3 matrix per cell (the actual
row; the other row apart), the exact best responses' value of their choice, and the
regret of each matrix choice under the true matrix. Writes ``episodes.jsonl``,
``metrics.json``, ``summary.md``, ``calibration.png`` (reliability diagram) and
``calibration_by_turn.png``.

Config node ``calibration``: ``bins`` (reliability bins, ≥ 2) and ``replay`` (rebuild
the realized state; ``false``: the information state from the record's fields only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .runner import Arm, report_experiment, run_experiment
from .settings import Settings, bool_field, container, int_field

__all__ = ["arms", "options", "report", "report_run", "run", "summary_markdown"]

_KEYS = ("bins", "replay")


def options(cfg: Any) -> dict[str, Any]:
    """The validated ``calibration`` node: ``{"bins": int, "replay": bool}``."""
    node = container(cfg.get("calibration")) or {}
    if not isinstance(node, dict):
        raise ValueError(f"calibration must be a mapping with keys {list(_KEYS)}, got {node!r}")
    unknown = sorted(set(node) - set(_KEYS))
    if unknown:
        raise ValueError(f"calibration.{unknown[0]} unknown; allowed keys: {list(_KEYS)}")
    return {
        "bins": int_field({"calibration.bins": node.get("bins", 10)}, "calibration.bins", 2),
        "replay": bool_field(
            {"calibration.replay": node.get("replay", True)}, "calibration.replay", True
        ),
    }


def arms(s: Settings, cfg: Any = None) -> list[Arm]:
    """One arm per assistant of ``assistants.names``, nothing forced."""
    return [Arm(name) for name in s.assistants]


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play every assistant on the same episodes (streamed to
    ``episodes.jsonl``), then score the estimates; returns the metrics."""
    options(cfg)  # checked before any work
    return run_experiment(cfg, arms, report)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes (nothing is played)."""
    return report_experiment(cfg, path, report)


def _calibrate(
    s: Settings, opts: dict[str, Any], rd: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Calibration rows of every record, and the failed episodes per assistant."""
    from ..eval.calibration import calibrate_record
    from ..tasks.sources import load_task_bank
    from .rundir import iter_jsonl
    from .runner import build_assistant, env_factory

    bank = s.bank
    if bank is None:
        bank = load_task_bank(s.tasks or {}, s.families, s.tasks_per_family, s.task_seed)
    tools: dict[str, tuple[Any, Any]] = {}
    rows: list[dict[str, Any]] = []
    failures: dict[str, dict[str, Any]] = {}
    for _, rec in iter_jsonl(rd.episodes):
        name = str(rec["assistant"])
        f = failures.setdefault(name, {"failed": 0, "attempted": 0, "reasons": {}})
        f["attempted"] += 1
        if rec.get("failure"):
            f["failed"] += 1
            why = f"{rec['failure'].get('stage', '?')}: {rec['failure'].get('reason', '?')}"
            f["reasons"][why] = f["reasons"].get(why, 0) + 1
            continue
        if name not in tools:  # one environment per assistant, as the runner plays
            asst = build_assistant(name, s, {"assistant": None})
            # an LLM user is rebuilt on the template backend: a replay that does not
            # reproduce the record falls back to the information state
            env = env_factory(s, bank, dict(s.user_spec), {"user": None})()
            tools[name] = (env, asst)
        env, asst = tools[name]
        task = bank.get(rec["task_id"])
        for row in calibrate_record(rec, task, s.world, env, asst, opts["replay"]):
            label = name + (" [fallback]" if row["decided_by"] == "fallback" else "")
            rows.append({"assistant": label, **row})
    for f in failures.values():
        f["fraction"] = f["failed"] / f["attempted"] if f["attempted"] else 0.0
    return rows, failures


def report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """metrics.json, calibration.png, calibration_by_turn.png and summary.md (atomic
    writes) from ``episodes.jsonl``."""
    from ..eval.calibration import PAYOFF_PER_GAIN
    from ..eval.calibration_report import metrics_rows, summarize
    from ..eval.metrics import jsonable, write_json_atomic
    from ..eval.tidy import write_rows_csv
    from .execution import failures_markdown
    from .rundir import atomic_path, write_text_atomic

    opts = options(cfg)
    rows, failures = _calibrate(s, opts, rd)
    metrics = {
        "experiment": "payoff_calibration",
        "seed": s.seed,
        "families": list(s.families),
        "episodes_per_assistant": s.episodes_per_family * len(s.families),
        "assistants": list(s.assistants),
        "pricing": dict(s.population.pricing),
        "world": s.world.to_dict(),
        "units": {
            "errors": "welfare gains (estimate − truth)",
            "payoff_per_gain": PAYOFF_PER_GAIN,
            "recorded_decimals": 3,
        },
        "truth": {
            "state": (
                "the replayed episode, verified against the record (else the information state)"
                if opts["replay"]
                else "the information state (the record's fields)"
            ),
            "matrix_cells": "the mode now, then a standard direct answer every later turn",
            "estimates": "the chosen action now, then the assistant's own plan",
        },
        **summarize(rows, bins=opts["bins"], order=s.assistants),
        "failures": failures,
    }
    metrics = jsonable(metrics)
    write_json_atomic(metrics, rd.path / "metrics.json")
    write_rows_csv(metrics_rows(metrics, rd.path.name), rd.path / "metrics.csv")
    images: list[str] = []
    if s.plots:
        from ..eval.calibration_plots import plot_by_turn, plot_reliability

        for name, draw in (
            ("calibration.png", plot_reliability),
            ("calibration_by_turn.png", plot_by_turn),
        ):
            with atomic_path(rd.path / name) as tmp:
                if draw(metrics, tmp) is not None:
                    images.append(name)
    text = summary_markdown(metrics, images, wall) + failures_markdown(failures)
    write_text_atomic(rd.path / "summary.md", text)
    if s.print_table:
        print(text)
        print(
            f"wrote {rd.path}/: episodes.jsonl, metrics.json, metrics.csv, summary.md, "
            + ", ".join(images)
        )
    return metrics


# ----------------------------------------------------------------------------- summary


def _num(x: Any, signed: bool = False) -> str:
    return "–" if x is None else (f"{x:+.3f}" if signed else f"{x:.3f}")


def _ci(v: Any, ci: Any, signed: bool = False) -> str:
    if v is None:
        return "–"
    if not ci:
        return _num(v, signed)
    return f"{_num(v, signed)} [{_num(ci[0], signed)}, {_num(ci[1], signed)}]"


def _sides(block: dict[str, Any]) -> str:
    cells = []
    for side in ("U", "L"):
        b = block[side]
        cells += [_ci(b["mae"], b["mae_ci"]), _ci(b["bias"], b["bias_ci"], True)]
    return " | ".join(cells)


_HEAD = "| MAE U | bias U | MAE L | bias L |"


def summary_markdown(m: dict[str, Any], images: list[str], wall: float | None = None) -> str:
    """The run's summary: reconstruction, error tables with 95% CIs, choices under the
    true matrix, paired comparisons and computed findings."""
    lines = [
        "# Payoff calibration: the assistants' own payoff estimates vs the exact truth",
        "",
        f"{m['episodes_per_assistant']} paired episodes per assistant ({', '.join(m['families'])}),"
        f" seed {m['seed']}, pricing {m['pricing']}"
        + (f", {wall:.1f} s wall time." if wall is not None else "."),
        "",
        "Errors are estimate − truth in welfare **gains** (matrices are recorded on the GTAlign "
        f"scale, {m['units']['payoff_per_gain']:g} × gains, 3 decimals; divided back). The truth "
        "is the exact planner for the actual user (hidden profile and intent) at the decision's "
        f"state ({m['truth']['state']}), of the quantity estimated — matrix cells: "
        f"{m['truth']['matrix_cells']}; the exact best responses' value of their choice: "
        f"{m['truth']['estimates']}. 95% CIs treat episodes as clusters; bias = mean error.",
        "",
        "## Reconstruction of the decisions' states",
        "",
        "| assistant | decisions by turn | replayed, verified | information state only "
        "| assistant re-derived ok / mismatch | column verbosity |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in m["reconstruction"].items():
        lines.append(
            f"| {name} | {r['by_turn']} | {r['replayed']} | {r['information_state_only']} "
            f"| {r['assistant_verified']} / {r['assistant_mismatch']} "
            f"| {r['column_verbosity'] or '–'} |"
        )
    if m["cells"]:
        lines += ["", "## Matrix cells, actual row, by family and turn", ""]
        lines += [
            "| assistant | family | turn | cells " + _HEAD,
            "|---|---|---|---" + "|---" * 4 + "|",
        ]
        for name, b in m["cells"].items():
            for fam, by in b["by_family_turn"].items():
                for turn, blk in by.items():
                    lines.append(f"| {name} | {fam} | {turn} | {blk['U']['n']} | {_sides(blk)} |")
            lines.append(f"| **{name}** | all | all | {b['all']['U']['n']} | {_sides(b['all'])} |")
        lines += ["", "### By column (all turns)", "", "| assistant | column | cells " + _HEAD]
        lines.append("|---|---|---" + "|---" * 4 + "|")
        for name, b in m["cells"].items():
            for col, blk in b["by_col"].items():
                lines.append(f"| {name} | {col} | {blk['U']['n']} | {_sides(blk)} |")
        lines += [
            "",
            "### The other row (the same user had opened the other way; information state)",
            "",
            "| assistant | turn | cells " + _HEAD,
            "|---|---|---" + "|---" * 4 + "|",
        ]
        for name, b in m["other_row"].items():
            for turn, blk in b["by_turn"].items():
                lines.append(f"| {name} | {turn} | {blk['U']['n']} | {_sides(blk)} |")
    lines += [
        "",
        "## The chosen action's estimate (every reasoning assistant)",
        "",
        "`vs info`: MAE against the information-state truth (what the record alone pins down).",
        "",
        "| assistant | turn | decisions " + _HEAD + " MAE U vs info | MAE L vs info |",
        "|---|---|---" + "|---" * 6 + "|",
    ]
    for name, b in m["chosen"].items():
        for turn, blk in [*b["by_turn"].items(), ("all", b["all"])]:
            lines.append(
                f"| {name} | {turn} | {blk['U']['n']} | {_sides(blk)} "
                f"| {_num(blk['U']['mae_info'])} | {_num(blk['L']['mae_info'])} |"
            )
    if m["regret"]:
        lines += [
            "",
            "## Choices under the true matrix (actual row)",
            "",
            "| assistant | turn | decisions | best by √(U⁺L⁺) | regret √(U⁺L⁺) "
            "| best by U+L | regret U+L |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, b in m["regret"].items():
            for turn, blk in [*b["by_turn"].items(), ("all", b["all"])]:
                mu, su = blk["mutual"], blk["sum"]
                cols = [
                    _ci(mu["best_rate"], mu["best_rate_ci"]),
                    _ci(mu["regret"], mu["regret_ci"]),
                    _ci(su["best_rate"], su["best_rate_ci"]),
                    _ci(su["regret"], su["regret_ci"]),
                ]
                lines.append(f"| {name} | {turn} | {blk['n']} | " + " | ".join(cols) + " |")
    paired = m.get("paired") or {}
    if paired:
        lines += [
            "",
            "## Paired comparisons (turn 1, same episodes; absolute errors)",
            "",
            "| quantity | assistant − reference | side | difference [95% CI] | verdict |",
            "|---|---|---|---|---|",
        ]
        for what, p in paired.items():
            label = "chosen cell |error|" if what == "chosen" else "actual-row MAE"
            for name, sides in p["vs"].items():
                for side, d in sides.items():
                    verdict = (
                        "tie"
                        if d["tie"]
                        else ("smaller error" if d["diff"] < 0 else "larger error")
                    )
                    lines.append(
                        f"| {label} | {name} − {p['reference']} | {side} "
                        f"| {_ci(d['diff'], d['ci'], True)} | {verdict} |"
                    )
    lines += ["", "## Findings", "", *_findings(m)]
    lines += [f"\n![{img}]({img})" for img in images]
    return "\n".join(lines) + "\n"


def _findings(m: dict[str, Any]) -> list[str]:
    out = []
    for name, b in m["chosen"].items():
        u, l = b["all"]["U"], b["all"]["L"]
        if u["mae"] is None:
            continue
        if max(u["mae"], l["mae"]) < 1e-4:
            out.append(
                f"- **{name}**: its estimates are exact (MAE < 1e-4, the records' rounding)."
            )
            continue
        parts = []
        for side, st in (("U", u), ("L", l)):
            ci = st["bias_ci"]
            bias = _ci(st["bias"], ci, True)
            if ci and (ci[0] > 0 or ci[1] < 0):
                word = "overestimates" if st["bias"] > 0 else "underestimates"
                parts.append(f"{word} {side} (bias {bias})")
            else:
                parts.append(f"has no detectable bias on {side} ({bias})")
        out.append(
            f"- **{name}**: the chosen action's estimate is off by {u['mae']:.3f} (U) and "
            f"{l['mae']:.3f} (L) on average; it {' and '.join(parts)}."
        )
    for name, b in m["regret"].items():
        mu = b["all"]["mutual"]
        if mu["best_rate"] is not None:
            out.append(
                f"- **{name}**: under the true matrix its choice is the best column by √(U⁺L⁺) in "
                f"{mu['best_rate']:.0%} of decisions (mean regret {mu['regret']:.4f})."
            )
    return out or ["- no assistant recorded payoff estimates."]
