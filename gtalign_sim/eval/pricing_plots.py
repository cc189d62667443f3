"""Figures of pricing arms (``experiment=pricing_shift``) from its metrics dict.

Price scales are on a log₂ axis; the per-token arms are lines with their 95% bootstrap
bands, the subscription (which no price scale touches) a square with its interval at the
"sub." position and a dashed line across the axis. Each function draws one figure
(matplotlib Agg canvas) to the path given, in the format of its suffix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# _save: the shared saver (plot_dpi, and the format of the path's suffix)
from .plots import ACTION_COLORS, _save, assistant_color

__all__ = ["plot_mix_sweep", "plot_steering_sweep", "plot_welfare_sweep"]

_MODES = ("DA", "CQ", "AQ")
_OUTCOMES = (
    ("user_welfare", "U (user gain)"),
    ("llm_welfare", "L (provider gain)"),
    ("mutual_welfare", "√(U⁺·L⁺)"),
    ("tokens", "tokens billed per episode"),
)


def _figure(nrows: int, ncols: int, width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _series(blocks: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def arr(key: str) -> np.ndarray:
        return np.array([np.nan if b.get(key) is None else b[key] for b in blocks], float)

    return arr("mean"), arr("lo"), arr("hi")


def _line(
    ax: Any, x: np.ndarray, blocks: Sequence[Mapping[str, Any]], color: str, label: str
) -> None:
    mean, lo, hi = _series(blocks)
    ax.plot(x, mean, "o-", color=color, label=label, lw=1.6, ms=4)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)


def _baseline(ax: Any, x: np.ndarray, block: Mapping[str, Any], color: str) -> None:
    """The subscription: a marker with its CI at the "sub" position, dashed across."""
    (mean,), (lo,), (hi,) = _series([block])
    ax.axhline(mean, color=color, ls="--", lw=1.0, alpha=0.8)
    ax.errorbar(
        [_sub_x(x)], [mean], yerr=[[mean - lo], [hi - mean]], fmt="s", color=color, ms=4, capsize=2
    )


def _sub_x(x: np.ndarray) -> float:
    return float(x[0]) / 4.0


def _scale_axis(ax: Any, scales: Sequence[float]) -> None:
    ax.set_xscale("log", base=2)
    ticks = [_sub_x(np.asarray(scales, float)), *scales]
    ax.set_xticks(ticks, ["sub.", *(f"{k:g}×" for k in scales)])
    ax.minorticks_off()
    ax.set_xlabel("per-token price (× list price)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _mix_panel(
    ax: Any, arms: Mapping[str, Any], labels: Sequence[str], scales: Any, qtype: str = ""
) -> None:
    """DA/CQ/AQ shares vs price (``qtype`` ``"DQ"``/``"VQ"``: on those questions only)."""
    x = np.asarray(scales, float)

    def share(lab: str, mode: str) -> Mapping[str, Any]:
        return arms[lab]["by_type"][qtype][mode] if qtype else arms[lab]["share"][mode]

    for mode in _MODES:
        color = ACTION_COLORS[mode]
        _baseline(ax, x, share(labels[0], mode), color)
        _line(ax, x, [share(lab, mode) for lab in labels[1:]], color, mode)
    _scale_axis(ax, scales)
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")


def plot_mix_sweep(metrics: Mapping[str, Any], path: str | Path) -> Path | None:
    """First-mode shares (DA/CQ/AQ) vs the per-token price, one column per assistant, on
    all questions (top) and on vague ones (bottom); square and dashed: the subscription.
    ``None`` (nothing written) without analysed assistants."""
    per = {n: a for n, a in metrics["assistants"].items() if a.get("arms")}
    if not per:
        return None
    labels, scales = metrics["arms"], metrics["scales"]
    fig, axes = _figure(2, len(per), 3.2 * len(per) + 0.8, 6.6)
    for c, (name, a) in enumerate(per.items()):
        for r, qtype in enumerate(("", "VQ")):
            _mix_panel(axes[r][c], a["arms"], labels, scales, qtype)
        s = a["shift"]["1"]
        tv, vq = s["tv"], s["delta_by_type"]["VQ"]["DA"]
        axes[0][c].set_title(
            f"{name}: all questions\nTV at 1×: {tv['mean']:.2f} "
            f"(permutation p={tv.get('p_value', float('nan')):.3f})",
            fontsize=9,
        )
        axes[1][c].set_title(
            f"{name}: vague questions (VQ)\nΔDA at 1×: {100 * (vq['mean'] or 0):+.0f} pp",
            fontsize=9,
        )
    for r in range(2):
        axes[r][0].set_ylabel("share of first moves", fontsize=8)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(
        "First move vs per-token price (lines, 95% bootstrap bands); "
        "square and dashed: subscription",
        fontsize=10,
    )
    return _save(fig, path)


def plot_steering_sweep(metrics: Mapping[str, Any], path: str | Path) -> Path | None:
    """The counterfactual steered first-mode shares vs price: one row per steerable
    assistant, one column per steering kind (with the unsteered mix first). ``None``
    without a steerable assistant or steering kinds."""
    kinds = list(metrics["steering"]["kinds"])
    rows = {n: st for n, st in metrics["steered"].items() if all(k in st for k in kinds)}
    if not rows or not kinds:
        return None
    labels, scales = metrics["arms"], metrics["scales"]
    cols = ["none", *kinds]
    fig, axes = _figure(len(rows), len(cols), 3.2 * len(cols) + 0.8, 3.0 * len(rows) + 0.6)
    for r, (name, st) in enumerate(rows.items()):
        for c, kind in enumerate(cols):
            arms = metrics["assistants"][name]["arms"] if kind == "none" else st[kind]["arms"]
            _mix_panel(axes[r][c], arms, labels, scales)
            axes[r][c].set_title(f"{name}, {'no' if kind == 'none' else kind} steering", fontsize=9)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(
        "Steering the recorded payoff matrix: counterfactual first move vs per-token price",
        fontsize=10,
    )
    return _save(fig, path)


def plot_welfare_sweep(metrics: Mapping[str, Any], path: str | Path) -> Path | None:
    """U, L, √(U⁺·L⁺) and tokens vs the per-token price, one line per assistant;
    dashed: its subscription mean. ``None`` without analysed assistants."""
    per = {n: a for n, a in metrics["assistants"].items() if a.get("arms")}
    if not per:
        return None
    labels, x = metrics["arms"], np.asarray(metrics["scales"], float)
    fig, axes = _figure(2, 2, 9.5, 6.5)
    names = list(per)
    for ax, (key, title) in zip(axes.ravel(), _OUTCOMES, strict=True):
        for name, a in per.items():
            color = assistant_color(name, names)
            _baseline(ax, x, a["arms"][labels[0]][key], color)
            _line(ax, x, [a["arms"][lab][key] for lab in labels[1:]], color, name)
        _scale_axis(ax, metrics["scales"])
        ax.set_title(title, fontsize=9)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(
        "Outcomes vs per-token price (means, 95% bootstrap bands); square and dashed: subscription",
        fontsize=10,
    )
    return _save(fig, path)
