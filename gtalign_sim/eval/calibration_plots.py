"""Plots of payoff calibration (one ``matplotlib`` Figure each, Agg canvas, no pyplot state).

Both read the metrics of :func:`gtalign_sim.eval.calibration_report.summarize`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .calibration_report import SIDES

__all__ = ["plot_by_turn", "plot_reliability"]

_SIDE_NAMES = {"U": "user gain U", "L": "provider gain L"}


def _figure(nrows: int, ncols: int, size: tuple[float, float]) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _color(name: str, names: list[str]) -> str:
    from .plots import assistant_color

    return assistant_color(name.split(" ")[0], names)


def plot_reliability(metrics: Mapping[str, Any], path: str | Path) -> Path | None:
    """Estimated vs true value (equal-count bins, 95% intervals of the bin's mean truth)
    per side, one line per assistant, with the diagonal; writes ``path`` (PNG)."""
    rel = metrics.get("reliability") or {}
    if not rel:
        return None
    names = list(rel)
    fig, axes = _figure(1, 2, (11.0, 5.0))
    for ax, side in zip(axes[0], SIDES, strict=True):
        lo, hi = np.inf, -np.inf
        for k, name in enumerate(names):
            curve = rel[name].get(side) or []
            pts = [p for p in curve if p["true"] is not None]
            if not pts:
                continue
            x = np.array([p["est"] for p in pts])
            y = np.array([p["true"] for p in pts])
            ci = np.array([p["true_ci"] if p["true_ci"] else [p["true"]] * 2 for p in pts])
            ax.errorbar(
                x + 0.002 * (k - len(names) / 2),
                y,
                yerr=[y - ci[:, 0], ci[:, 1] - y],
                fmt="o-",
                ms=3.5,
                lw=1.2,
                capsize=2,
                color=_color(name, names),
                label=f"{name} ({rel[name]['of']})",
            )
            lo, hi = min(lo, x.min(), ci.min()), max(hi, x.max(), ci.max())
        if np.isfinite(lo):
            pad = 0.05 * (hi - lo or 1.0)
            ax.plot(
                [lo - pad, hi + pad],
                [lo - pad, hi + pad],
                "k--",
                lw=0.8,
                label="perfect calibration",
            )
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel(f"estimated {_SIDE_NAMES[side]} (bin mean)")
        ax.set_ylabel(f"true {_SIDE_NAMES[side]} (bin mean, 95% CI)")
        ax.set_title(f"{side}: points above the diagonal = underestimates")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Payoff calibration: assistants' own estimates vs the exact truth (gains)")
    fig.savefig(path)
    return Path(path)


def plot_by_turn(metrics: Mapping[str, Any], path: str | Path) -> Path | None:
    """MAE and bias (95% CIs) by turn and side: solid = the chosen action's estimate
    (every assistant), dashed = the actual row's matrix cells; writes ``path`` (PNG)."""
    chosen, cells = metrics.get("chosen") or {}, metrics.get("cells") or {}
    if not chosen:
        return None
    names = list(chosen)
    fig, axes = _figure(2, 2, (11.0, 7.0))
    turns_seen: set[int] = set()
    for col, side in enumerate(SIDES):
        for row, stat in enumerate(("mae", "bias")):
            ax = axes[row][col]
            for k, name in enumerate(names):
                for block, style, what in ((chosen, "o-", "choice"), (cells, "s--", "cells")):
                    by = (block.get(name) or {}).get("by_turn") or {}
                    pts = [(int(t), v[side]) for t, v in by.items() if v[side][stat] is not None]
                    if not pts:
                        continue
                    turns_seen.update(t for t, _ in pts)
                    x = np.array([t for t, _ in pts]) + 0.06 * (k - len(names) / 2)
                    y = np.array([v[stat] for _, v in pts])
                    ci = np.array([v[f"{stat}_ci"] or [v[stat]] * 2 for _, v in pts])
                    ax.errorbar(
                        x,
                        y,
                        yerr=[y - ci[:, 0], ci[:, 1] - y],
                        fmt=style,
                        ms=4,
                        lw=1.2,
                        capsize=2,
                        color=_color(name, names),
                        label=f"{name} ({what})",
                    )
            if stat == "bias":
                ax.axhline(0.0, color="k", lw=0.8)
            ax.set_ylabel(
                f"{'mean |error|' if stat == 'mae' else 'mean error (est − true)'} of {side}"
            )
            ax.set_xlabel("turn (assistant decision)")
            ax.grid(alpha=0.3)
    for ax in axes.ravel():
        ax.set_xticks(sorted(turns_seen) or [1])
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Payoff calibration by turn (gains; 95% CIs, episodes as clusters)")
    fig.savefig(path)
    return Path(path)
