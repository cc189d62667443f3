"""Forest plots: one row per estimate, a point with its 95% interval, a reference line;
and the same estimates in a plane (two means with their intervals, :func:`plane_axis`).

The figure for effects that matter at the scale of their noise (paired differences of a
few thousandths, per-run means that differ by a percent): the x-axis spans the intervals
(and the reference line, when there is one), never a bar from 0. One
``matplotlib.figure.Figure`` per call (no pyplot state, Agg canvas, PNG at 150 dpi);
matplotlib is imported on first use.

>>> panel = Panel("Δ √(U·L) vs oracle", "difference", [Estimate("a − oracle", -0.002, -0.004, 0.0)])
>>> plot_forest([panel], "forest.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .plots import save_figure  # the one saver: format from the suffix, dpi from plot_dpi

__all__ = [
    "DPI",
    "Estimate",
    "Panel",
    "estimate",
    "forest_axis",
    "new_figure",
    "plane_axis",
    "plot_forest",
    "save_figure",
]

DPI = 150
_ROW_INCHES = 0.38


@dataclass(frozen=True)
class Estimate:
    """One row: ``label``, the point ``mean`` and its interval ``[lo, hi]`` (``None``:
    no interval drawn; ``mean`` ``None``: an empty row marked "no data"); ``note`` is
    written beside the row on the right-hand axis (e.g. a verdict), ``color`` any colour."""

    label: str
    mean: float | None
    lo: float | None = None
    hi: float | None = None
    color: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Panel:
    """One forest: ``estimates`` top to bottom, a vertical line at ``reference`` (``None``:
    none; 0 for differences)."""

    title: str
    xlabel: str
    estimates: Sequence[Estimate] = field(default_factory=tuple)
    reference: float | None = 0.0


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def estimate(
    label: str, stats: Mapping[str, Any] | None, color: str | None = None, note: str = ""
) -> Estimate:
    """An :class:`Estimate` from a summary dict ``{"mean", "lo", "hi", ...}`` (as
    :func:`~gtalign_sim.eval.stats.mean_ci` and ``paired_test`` return); missing or
    non-finite values become ``None``."""
    s = stats or {}
    return Estimate(
        label, _finite(s.get("mean")), _finite(s.get("lo")), _finite(s.get("hi")), color, note
    )


def new_figure(ncols: int, nrows_of_estimates: int, width: float = 4.4) -> tuple[Any, list[Any]]:
    """A figure with ``ncols`` side-by-side axes tall enough for ``nrows_of_estimates`` rows."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = max(3.2, 1.4 + _ROW_INCHES * nrows_of_estimates)
    fig = Figure(figsize=(width * ncols, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def forest_axis(ax: Any, panel: Panel, show_labels: bool = True) -> None:
    """Draw ``panel`` into ``ax``: rows top to bottom, points with horizontal interval
    bars, the reference line dashed, notes as labels on the right-hand axis."""
    from matplotlib.ticker import MaxNLocator

    rows = list(panel.estimates)
    ys = list(range(len(rows)))[::-1]
    xs: list[float] = [] if panel.reference is None else [float(panel.reference)]
    for y, e in zip(ys, rows, strict=True):
        color = e.color or "0.15"
        m = _finite(e.mean)
        if m is None:
            ax.text(
                0.5,
                y,
                "no data",
                transform=ax.get_yaxis_transform(),
                ha="center",
                va="center",
                color="0.5",
                fontsize=8,
            )
            continue
        lo, hi = _finite(e.lo), _finite(e.hi)
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [y, y], color=color, lw=1.8, solid_capstyle="butt")
            ax.plot([lo, hi], [y, y], "|", color=color, ms=8, mew=1.4)
            xs += [lo, hi]
        ax.plot([m], [y], "o", color=color, mec="black", mew=0.6, ms=6, zorder=3)
        xs.append(m)
    if panel.reference is not None:
        ax.axvline(float(panel.reference), color="0.3", lw=1.0, ls="--", zorder=1)
    if xs:
        lo_x, hi_x = min(xs), max(xs)
        pad = 0.08 * (hi_x - lo_x) if hi_x > lo_x else max(abs(hi_x) * 0.05, 1e-3)
        ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks(ys, [e.label for e in rows] if show_labels else [""] * len(rows))
    ax.tick_params(axis="y", labelsize=8, length=0)
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    if any(e.note for e in rows):  # notes as right-hand tick labels, clear of the bars
        right = ax.secondary_yaxis("right")
        right.set_yticks(ys, [e.note for e in rows])
        right.tick_params(labelsize=7, length=0, labelcolor="0.25")
    ax.set_xlabel(panel.xlabel, fontsize=9)
    ax.set_title(panel.title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def plane_axis(
    ax: Any, points: Sequence[tuple[Estimate, Estimate]], xlabel: str, ylabel: str, title: str
) -> None:
    """Each ``(x, y)`` pair of estimates as a point with its intervals in both directions
    (label and colour from ``x``), a legend to the right of ``ax``; pairs without both
    means are skipped."""
    for x, y in points:
        if _finite(x.mean) is None or _finite(y.mean) is None:
            continue
        xerr = None if x.lo is None or x.hi is None else [[x.mean - x.lo], [x.hi - x.mean]]
        yerr = None if y.lo is None or y.hi is None else [[y.mean - y.lo], [y.hi - y.mean]]
        ax.errorbar(
            [x.mean],
            [y.mean],
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            ms=6,
            capsize=2,
            color=x.color or "0.15",
            mec="black",
            mew=0.6,
            elinewidth=1.0,
            label=x.label,
        )
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title_fontsize=7)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def plot_forest(panels: Sequence[Panel], path: str | Path, title: str | None = None) -> Path:
    """One forest per panel, side by side (row labels only on the first panel when every
    panel has the same rows); writes ``path`` (format from its suffix) and returns it."""
    if not panels:
        raise ValueError("panels must hold at least one Panel")
    labels = [[e.label for e in p.estimates] for p in panels]
    same = all(lab == labels[0] for lab in labels)
    fig, axes = new_figure(len(panels), max(len(lab) for lab in labels))
    for i, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
        forest_axis(ax, panel, show_labels=i == 0 or not same)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)
