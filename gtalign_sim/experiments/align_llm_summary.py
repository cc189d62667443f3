"""What ``experiment=align_llm`` writes for people: ``metrics.csv`` (one row per model
metric, paired difference and pricing TV), the figures (metrics by model; first move by
model, plan and question type) and ``summary.md``, all rendered from ``metrics.json``'s
content (:func:`~gtalign_sim.experiments.align_llm_report.report` computes it)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .align_llm_report import METRICS, PLAN_LABELS

__all__ = ["metrics_csv", "plot_metrics", "plot_mix", "summary_markdown"]


def metrics_csv(m: Mapping[str, Any]) -> str:
    """``metrics.csv``: a row per model metric (mean, CI, n), per paired difference (with
    its p-value and verdict) and per model's pricing TV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["kind", "name", "metric", "mean", "lo", "hi", "n", "p_value", "verdict"])
    for name, block in m["models"].items():
        for k in METRICS:
            c = block[k]
            w.writerow(["model", name, k, c["mean"], c["lo"], c["hi"], c["n"], "", ""])
    for name, block in m["comparisons"].items():
        for k in METRICS:
            d = block[k]
            w.writerow(
                [
                    "difference",
                    name,
                    k,
                    d["mean"],
                    d["lo"],
                    d["hi"],
                    d["n"],
                    d["p_value"],
                    d["verdict"],
                ]
            )
    for name, p in m["pricing"].items():
        tv = ((p.get("shift") or {}).get("1") or {}).get("tv")
        if tv:
            w.writerow(
                [
                    "pricing_tv",
                    name,
                    "first_mode_tv",
                    tv["mean"],
                    tv["lo"],
                    tv["hi"],
                    p["n_paired"],
                    tv.get("p_value"),
                    "",
                ]
            )
    return buf.getvalue()


_PLOTTED = ("format_valid", "answer_quality", "user_welfare", "llm_welfare", "mutual_welfare")


def plot_metrics(m: Mapping[str, Any], path: Path) -> Path | None:
    """Bars with CIs of the plotted metrics by model, saved at ``path``."""
    from matplotlib.figure import Figure

    from ..eval.plots import save_figure

    names = list(m["models"])
    fig = Figure(figsize=(3.0 * len(_PLOTTED), 3.2), layout="constrained")
    axes = fig.subplots(1, len(_PLOTTED), squeeze=False)[0]
    for ax, k in zip(axes, _PLOTTED, strict=True):
        for x, name in enumerate(names):
            c = m["models"][name][k]
            if c["mean"] is None:
                continue
            err = [
                [c["mean"] - (c["lo"] if c["lo"] is not None else c["mean"])],
                [(c["hi"] if c["hi"] is not None else c["mean"]) - c["mean"]],
            ]
            ax.errorbar([x], [c["mean"]], yerr=err, fmt="o", capsize=4)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(k.replace("_", " "))
    fig.suptitle(f"align_llm: base → SFT → GRPO, {m['paired_episodes']} paired episodes (95% CI)")
    return save_figure(fig, path)


def plot_mix(m: Mapping[str, Any], path: Path) -> Path | None:
    """The first move's DA / CQ / AQ shares by model, plan and question type, at ``path``."""
    from matplotlib.figure import Figure

    from ..eval.plots import save_figure

    bars = []
    for name, p in m["pricing"].items():
        for lab in PLAN_LABELS:
            arm = (p.get("arms") or {}).get(lab)
            for t in ("DQ", "VQ"):
                if arm:
                    shares = {x: arm["by_type"][t][x]["mean"] or 0.0 for x in ("DA", "CQ", "AQ")}
                    bars.append((f"{name}\n{lab.split('@')[0][:9]}\n{t}", shares))
    if not bars:
        return None
    fig = Figure(figsize=(max(6.0, 0.7 * len(bars)), 3.6), layout="constrained")
    ax = fig.subplots()
    bottom = np.zeros(len(bars))
    for mode in ("DA", "CQ", "AQ"):
        h = np.array([b[1][mode] for b in bars])
        ax.bar(range(len(bars)), h, bottom=bottom, label=mode)
        bottom += h
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=7)
    ax.set_ylabel("share of first moves")
    ax.legend(ncols=3, fontsize=8)
    ax.set_title("First move by model, pricing plan and question type")
    return save_figure(fig, path)


# ----------------------------------------------------------------------------- summary


def _f(x: Any, signed: bool = False) -> str:
    return "–" if x is None else (f"{x:+.3f}" if signed else f"{x:.3f}")


def _ci(c: Mapping[str, Any], signed: bool = False) -> str:
    return f"{_f(c['mean'], signed)} [{_f(c['lo'], signed)}, {_f(c['hi'], signed)}]"


def summary_markdown(m: Mapping[str, Any], images: Sequence[str]) -> str:
    """The run's summary: stages, per-model metrics, paired differences, pricing
    response, action mix and calibration."""
    lines = [
        f"# align_llm ({m['profile']} profile): base → SFT → GRPO in the simulator",
        "",
        f"{m['paired_episodes']} of {m['episodes']} episodes paired (every model finished them "
        "under a subscription and per token); an episode's value is the mean of its two plays. "
        "95% t intervals, clipped to what a metric can take (a share to [0, 1], √(U·L) to ≥ 0); "
        "a difference whose interval contains 0 is a tie.",
        "",
        "## Stages",
        "",
        "| stage | this run | wall s | notes |",
        "|---|---|---|---|",
    ]
    for name, st in m["stages"].items():
        notes = ", ".join(
            f"{k} {v}"
            for k, v in st.items()
            if k not in ("this_run", "wall_seconds", "stage", "digest", "status")
        )
        lines.append(
            f"| {name} | {st.get('this_run', '–')} | {st.get('wall_seconds', '–')} | {notes} |"
        )
    lines += ["", "## Models", "", "| metric | " + " | ".join(m["models"]) + " |"]
    lines.append("|---" * (1 + len(m["models"])) + "|")
    for k in METRICS:
        lines.append(
            f"| {k} | "
            + " | ".join(_ci(b[k], k.endswith("shift")) for b in m["models"].values())
            + " |"
        )
    lines.append(
        "| valid turns / turns | "
        + " | ".join(f"{b['n_valid_turns']}/{b['n_turns']}" for b in m["models"].values())
        + " |"
    )
    lines += ["", "## Paired differences", "", "| metric | " + " | ".join(m["comparisons"]) + " |"]
    lines.append("|---" * (1 + len(m["comparisons"])) + "|")
    for k in METRICS:
        cells = [f"{_ci(d[k], True)} {d[k]['verdict']}" for d in m["comparisons"].values()]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines += ["", "## Pricing response (first move, per token − subscription)", ""]
    lines += [
        "| model | paired | Δ DA share | Δ CQ share | TV [95% CI] | p (permutation) | claim (iv) |"
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for name, p in m["pricing"].items():
        sh = (p.get("shift") or {}).get("1")
        if not sh:
            lines.append(f"| {name} | {p['n_paired']} | – | – | – | – | – |")
            continue
        d, tv = sh["delta"], sh["tv"]
        lines.append(
            f"| {name} | {p['n_paired']} | {_ci(d['DA'], True)} | {_ci(d['CQ'], True)} | {_ci(tv)} "
            f"| {_f(tv.get('p_value'))} | {sh['claim_iv']['verdict']} |"
        )
    if m.get("steering", "none") == "none":
        lines += [
            "",
            "The prompts do not name the pricing plan and `llm.steering` is `none`, so a model "
            "cannot tell the plans apart: its response is 0 by construction. "
            "`llm.steering=reference` (or `token_cost`) measures the paper's inference-time "
            "pricing steering of the model's own `<payoff>`.",
        ]
    lines += [
        "",
        "## Action mix, all turns, by question type",
        "",
        "| model | type | n | DA | CQ | AQ |",
    ]
    lines.append("|---|---|---|---|---|---|")
    for name, mix in m["action_mix"].items():
        for t, b in mix["all_turns"].items():
            sh = " | ".join(_f(b["shares"][x]) for x in ("DA", "CQ", "AQ"))
            lines.append(f"| {name} | {t} | {b['n']} | {sh} |")
    cal = m["calibration"]
    lines += ["", "## Calibration of the models' own <payoff> blocks", ""]
    lines.append(
        "Decisions scored (the model's reply parsed): "
        + ", ".join(f"{k} {v}" for k, v in cal["decisions"].items())
        + "; fallback decisions left out: "
        + ", ".join(f"{k} {v}" for k, v in cal["fallback_decisions_left_out"].items())
        + "."
    )
    cells = cal.get("cells") or {}
    if cells:
        lines += [
            "",
            "| model | cells | MAE U | bias U | MAE L | bias L |",
            "|---|---|---|---|---|---|",
        ]
        for name, b in cells.items():
            u, l_ = b["all"]["U"], b["all"]["L"]
            lines.append(
                f"| {name} | {u['n']} | {_f(u['mae'])} | {_f(u['bias'], True)} | {_f(l_['mae'])} "
                f"| {_f(l_['bias'], True)} |"
            )
    failed = {k: v for k, v in m["failures"].items() if v["failed"]}
    if failed:
        lines += [
            "",
            "Failed plays (kept out): "
            + ", ".join(f"{k} {v['failed']}/{v['attempted']}" for k, v in failed.items()),
        ]
    lines += [f"\n![{img}]({img})" for img in images]
    return "\n".join(lines) + "\n"
