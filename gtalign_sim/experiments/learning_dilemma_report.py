"""The report of ``experiment=learning_dilemma`` (see :mod:`.learning_dilemma`).

``metrics.json``: per condition (``<reward>/<mode>``) the final value of every
:data:`METRICS` entry as a mean with its t interval over runs, and where play ended
(``end``); ``differences``: paired by run (common seeds), every other reward against
the reference reward in each mode, and each learning mode against ``reference`` (the
simulated users), each metric's family Holm-adjusted, with verdicts (``tie`` unless the
interval excludes 0 and ``p_holm < 0.05``). ``metrics.csv`` (one row per condition and
metric), ``curves.csv`` (every run's learning curve), ``summary.md`` and
``learning_dilemma.png`` (the curves, mean over runs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.vocab import MODES
from ..eval.stats import holm, mean_ci, paired_test
from ..eval.tidy import write_rows_csv
from .figures import FigureWriter
from .rundir import write_text_atomic
from .settings import Settings

__all__ = ["METRICS", "REFERENCE_REWARD", "end_of_play", "report"]

METRICS: tuple[str, ...] = (
    "dq_share",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "gave_up_share",
    "da_share",
    "cq_share",
    "aq_share",
    "da_share_vq",
    "cq_share_vq",
    "aq_share_vq",
)
REFERENCE_REWARD = "cobb_douglas"
_ALPHA = 0.05
_LABELS = {
    "dq_share": "users' DQ share",
    "user_welfare": "U",
    "llm_welfare": "L",
    "mutual_welfare": "√(U·L)",
    "gave_up_share": "gave up",
}


def _key(reward: str, mode: str) -> str:
    return f"{reward}/{mode}"


def end_of_play(final: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Where play ended: the users' side ``DQ`` / ``VQ`` when the DQ share's interval is
    above / below one half (``mixed`` otherwise) and the assistant's most played mode on
    vague questions, with its share."""
    dq = final["dq_share"]
    lo, hi = dq.get("lo"), dq.get("hi")
    users = "mixed"
    if lo is not None and lo > 0.5:
        users = "DQ"
    elif hi is not None and hi < 0.5:
        users = "VQ"
    shares = {m: final[f"{m.lower()}_share_vq"]["mean"] for m in MODES}
    shares = {m: v for m, v in shares.items() if v is not None}
    mode = max(shares, key=lambda m: shares[m]) if shares else None
    return {"users": users, "assistant_on_vq": mode, "share": shares.get(mode) if mode else None}


def _by_condition(runs: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in sorted(runs, key=lambda r: (r["reward"], r["mode"], r["run"])):
        out.setdefault(_key(r["reward"], r["mode"]), []).append(r)
    return out


def _differences(
    groups: Mapping[str, list[Mapping[str, Any]]], rewards: Sequence[str], modes: Sequence[str]
) -> dict[str, Any]:
    ref = REFERENCE_REWARD if REFERENCE_REWARD in rewards else rewards[0]
    pairs = [(_key(ref, m), _key(r, m)) for m in ("reference", *modes) for r in rewards if r != ref]
    pairs += [(_key(r, m), _key(r, "reference")) for r in rewards for m in modes]
    out: dict[str, Any] = {}
    for metric in METRICS:
        tests = []
        for a, b in pairs:
            va = [g["final"][metric] for g in groups[a]]
            vb = [g["final"][metric] for g in groups[b]]
            tests.append(paired_test(np.asarray(va, float), np.asarray(vb, float)))
        for (a, b), test, p in zip(pairs, tests, holm([t["p_value"] for t in tests]), strict=True):
            test["p_holm"] = p
            lo, hi = test["lo"], test["hi"]
            sig = p is not None and p < _ALPHA and lo is not None and (lo > 0 or hi < 0)
            test["verdict"] = ("higher" if test["mean"] > 0 else "lower") if sig else "tie"
            out.setdefault(f"{a} − {b}", {})[metric] = test
    return out


def _fmt(x: Any, digits: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _ci(m: Mapping[str, Any]) -> str:
    return f"{_fmt(m['mean'])} [{_fmt(m['lo'])}, {_fmt(m['hi'])}]"


def _summary(metrics: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    lines = [
        "# learning_dilemma",
        "",
        f"Learning users (one policy shared by the population, rewarded with U) against an "
        f"assistant trained on each reward; {metrics['runs']} runs per condition "
        "(mean [95% t interval over runs]); measured with learning off after training. "
        "`reference`: the simulated users against the pre-trained assistant.",
        "",
        "| condition | users' DQ share | U | L | √(U·L) | gave up | DA / CQ / AQ | ends at |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, c in metrics["conditions"].items():
        f, end = c["final"], c["end"]
        mix = " / ".join(_fmt(f[f"{m.lower()}_share"]["mean"], 2) for m in MODES)
        cell = f"({end['users']}, {end['assistant_on_vq']} on VQ {_fmt(end['share'], 2)})"
        lines.append(
            f"| {key} | {_ci(f['dq_share'])} | {_ci(f['user_welfare'])} | "
            f"{_ci(f['llm_welfare'])} | {_ci(f['mutual_welfare'])} | "
            f"{_fmt(f['gave_up_share']['mean'], 3)} | {mix} | {cell} |"
        )
    lines += [
        "",
        "## Paired differences (by run; Holm per metric)",
        "",
        "| difference | " + " | ".join(_LABELS[m] for m in _LABELS) + " |",
        "|---|" + "---|" * len(_LABELS),
    ]
    for name, d in metrics["differences"].items():
        cells = [f"{_ci(d[m])} {d[m]['verdict']}" for m in _LABELS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Training and measurement: {_fmt(metrics['run_wall_s'], 1)} s summed over runs.",
        "",
    ]
    lines += [f"![{k}]({v})" for k, v in figures.items()]
    return "\n".join(lines) + "\n"


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` as CSV text, columns in first-seen order (floats with ``repr``)."""
    import csv
    import io

    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _curve_rows(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in runs:
        for row in r["curve"]:
            rows.append({"reward": r["reward"], "mode": r["mode"], "run": r["run"], **row})
    return rows


def _plot(groups: Mapping[str, list[Mapping[str, Any]]], path: Path) -> Path | None:
    import matplotlib.pyplot as plt

    from ..eval.plots import save_figure

    panels = [
        ("dq_share", "users' DQ share"),
        ("user_welfare", "U (users)"),
        ("llm_welfare", "L (assistant)"),
        ("cq_share_vq", "assistant's CQ share on VQ"),
    ]
    learned = {k: g for k, g in groups.items() if g and g[0]["curve"]}
    if not learned:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    rewards = sorted({g[0]["reward"] for g in groups.values()})
    styles = {"frozen": "-", "joint": "--"}
    for ax, (metric, title) in zip(axes, panels, strict=True):
        for key, g in learned.items():
            color = f"C{rewards.index(g[0]['reward'])}"
            ys = np.array([[row.get(metric, np.nan) for row in r["curve"]] for r in g], float)
            x = np.arange(1, ys.shape[1] + 1)
            style = styles.get(g[0]["mode"], "-")
            ax.plot(x, np.nanmean(ys, axis=0), style, color=color, label=key)
            lo, hi = np.nanmin(ys, axis=0), np.nanmax(ys, axis=0)
            ax.fill_between(x, lo, hi, color=color, alpha=0.12)
        for r in rewards:
            ref = groups.get(_key(r, "reference"))
            if ref:
                level = float(np.mean([run["final"][metric] for run in ref]))
                ax.axhline(level, color=f"C{rewards.index(r)}", linestyle=":", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("update")
    axes[0].legend(fontsize=7)
    fig.suptitle("learning_dilemma: mean over runs (band: min–max; dotted: simulated users)")
    fig.tight_layout()
    return save_figure(fig, path)


def report(
    s: Settings, o: Any, runs: Sequence[Mapping[str, Any]], out: Path, wall: float | None
) -> dict[str, Any]:
    """Write ``metrics.json``, ``metrics.csv``, ``curves.csv``, ``summary.md`` and the
    figure for ``runs`` into ``out``; returns the metrics."""
    groups = _by_condition(runs)
    conditions = {}
    for key, g in groups.items():
        final = {m: mean_ci([r["final"][m] for r in g]) for m in METRICS}
        conditions[key] = {
            "reward": g[0]["reward"],
            "mode": g[0]["mode"],
            "final": final,
            "end": end_of_play(final),
        }
    metrics: dict[str, Any] = {
        "experiment": "learning_dilemma",
        "runs": o.seeds,
        "seeds": sorted({int(r["seed"]) for r in runs}),
        "conditions": conditions,
        "differences": _differences(groups, o.rewards, o.modes),
        "wall_s": wall,
        "run_wall_s": float(sum(r["wall_s"] for r in runs)),
    }
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2, allow_nan=True) + "\n")
    rows = [
        {"run": out.name, "assistant": k, "metric": m, "group": "all"}
        | {x: c["final"][m][x] for x in ("mean", "lo", "hi", "n")}
        for k, c in conditions.items()
        for m in METRICS
    ]
    write_rows_csv(rows, out / "metrics.csv")
    write_text_atomic(out / "curves.csv", _csv(_curve_rows(runs)))
    figs = FigureWriter(out, s.plots, s.plot_formats, s.plot_dpi)
    figs.add("learning curves", "learning_dilemma", lambda p: _plot(groups, p))
    text = _summary(metrics, figs.links)
    write_text_atomic(out / "summary.md", text)
    if s.print_table:
        print(text)
    return metrics
