"""Figures of pricing arms (``experiment=pricing_shift``) from its metrics dict.

Price scales are on a log₂ axis; the per-token arms are lines with their 95% bootstrap
bands, the subscription (which no price scale touches) a square with its interval at the
"sub." position and a dashed line across the axis; played steered arms are diamonds.
Each function draws one figure (matplotlib Agg canvas) to the path given, in the format
of its suffix.
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


def _played_points(ax: Any, arms: Mapping[str, Any], labels: Sequence[str], scales: Any) -> None:
    """The played steered arms' first-mode shares: diamonds with their 95% intervals at
    the subscription position and at each played scale."""
    x = np.asarray(scales, float)
    pos = {labels[0]: _sub_x(x), **{lab: k for lab, k in zip(labels[1:], x, strict=True)}}
    for mode in _MODES:
        at = [lab for lab in arms if lab in pos]
        mean, lo, hi = _series([arms[lab]["share"][mode] for lab in at])
        ax.errorbar(
            [pos[lab] for lab in at],
            mean,
            yerr=np.vstack([mean - lo, hi - mean]),
            fmt="D",
            color=ACTION_COLORS[mode],
            mec="black",
            ms=6,
            capsize=3,
            zorder=5,
        )


def _delta_panel(
    ax: Any,
    played: Mapping[str, Any],
    keys: Sequence[str],
    labels: Sequence[str],
    scales: Any,
    colors: Mapping[str, str],
) -> None:
    """Played steered − unsteered mean of each of ``keys`` vs price, one colour per
    steering (square: subscription; open markers, dotted: the second key), with 95%
    intervals."""
    x = np.asarray(scales, float)
    pos = {labels[0]: _sub_x(x), **{lab: k for lab, k in zip(labels[1:], x, strict=True)}}
    series = [(kind, key) for kind in played for key in keys]
    for i, (kind, key) in enumerate(series):  # side by side: 2^±0.08 apart on the log axis
        v = played[kind]["vs_unsteered"]
        at = [lab for lab in v if "delta_outcomes" in v[lab]]
        mean, lo, hi = _series([v[lab]["delta_outcomes"][key] for lab in at])
        xs = np.array([pos[lab] for lab in at]) * 2 ** (0.08 * (i - (len(series) - 1) / 2))
        sub = np.array(["@" not in lab for lab in at])
        first = key == keys[0]
        style = {"color": colors[kind], "capsize": 2, "ms": 4, "mfc": None if first else "white"}
        err = np.vstack([mean - lo, hi - mean])
        ax.errorbar(xs[~sub], mean[~sub], yerr=err[:, ~sub], fmt="o", ls="-" if first else ":",
                    label=f"{kind} {_NAMES[key]}", **style)  # fmt: skip
        ax.errorbar(xs[sub], mean[sub], yerr=err[:, sub], fmt="s", **style)
    ax.axhline(0.0, color="black", lw=0.8)
    _scale_axis(ax, scales)
    ax.legend(fontsize=6, loc="best")


_NAMES = {"user_welfare": "ΔU", "llm_welfare": "ΔL", "mutual_welfare": "Δ√(U·L)"}


def plot_steering_sweep(metrics: Mapping[str, Any], path: str | Path) -> Path | None:
    """Steered first-mode shares vs price, one row per steerable assistant: the
    unsteered mix, then per steering kind the played steered arms (lines where played at
    every scale, else diamonds over the counterfactual first move's lines); with played
    arms, two last columns of steered − unsteered Δ√(U·L), and ΔU and ΔL, vs price (paired
    95% intervals). ``None`` without a steerable assistant or steering kinds."""
    kinds = list(metrics["steering"]["kinds"])
    played = metrics.get("played") or {}
    rows = [n for n, st in metrics["steered"].items() if "reproduced" in st]
    if not rows or not kinds:
        return None
    labels, scales = metrics["arms"], metrics["scales"]
    cols = ["none", *kinds] + (["mutual", "sides"] if played else [])
    fig, axes = _figure(len(rows), len(cols), 3.2 * len(cols) + 0.8, 3.0 * len(rows) + 0.6)
    colors = {k: c for k, c in zip(kinds, ("tab:purple", "tab:olive"), strict=False)}
    for r, name in enumerate(rows):
        mine = {k: p for k, p in played.get(name, {}).items() if p.get("arms")}
        cf = metrics["steered"][name]
        for c, kind in enumerate(cols):
            ax = axes[r][c]
            if kind in ("mutual", "sides"):
                keys = ("mutual_welfare",) if kind == "mutual" else ("user_welfare", "llm_welfare")
                _delta_panel(ax, mine, keys, labels, scales, colors)
                what = " and ".join(_NAMES[k] for k in keys)
                ax.set_title(f"{name}: {what},\nplayed steered − unsteered", fontsize=9)
                continue
            what = "no steering" if kind == "none" else f"{kind} steering"
            if kind == "none":
                _mix_panel(ax, metrics["assistants"][name]["arms"], labels, scales)
            elif kind in cf:  # counterfactual lines, played points
                _mix_panel(ax, cf[kind]["arms"], labels, scales)
                if kind in mine:
                    _played_points(ax, mine[kind]["arms"], labels, scales)
                what += "\nlines: counterfactual" + ("; ◆: played" if kind in mine else "")
            elif kind in mine:  # played at every scale
                _mix_panel(ax, mine[kind]["arms"], labels, scales)
                what += ", played"
            ax.set_title(f"{name}, {what}", fontsize=9)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(
        "Steering the payoff matrix: first move vs per-token price (95% bands; square: "
        "subscription)",
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
