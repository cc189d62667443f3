"""Figures of ``experiment=evolution``: the replicator phase portrait and the tournament
heatmaps (one ``matplotlib`` Figure each, Agg canvas, no pyplot state)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .plots import save_figure as _save

__all__ = ["plot_replicator", "plot_tournament"]

_END_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#666666")


def _direction_field(user: np.ndarray, llm: np.ndarray, k: int = 13) -> tuple[np.ndarray, ...]:
    """Unit arrows of the replicator velocity on a ``k × k`` grid (nashpy's derivative)."""
    from nashpy.learning.replicator_dynamics import get_derivative_of_asymmetric_fitness

    v = np.linspace(0.04, 0.96, k)
    gx, gy = np.meshgrid(v, v)
    du, dv = np.zeros_like(gx), np.zeros_like(gy)
    for idx in np.ndindex(gx.shape):
        x, y = gx[idx], gy[idx]
        d = get_derivative_of_asymmetric_fitness(np.array([x, 1 - x, y, 1 - y]), 0.0, user, llm)
        du[idx], dv[idx] = d[0], d[2]
    norm = np.hypot(du, dv)
    norm[norm == 0] = 1.0
    return gx, gy, du / norm, dv / norm


def plot_replicator(panels: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """One phase portrait per game: the direction field, every path from the start grid
    (dot) to its end (cross, coloured by where it ends; hollow when still drifting), the
    Nash equilibria (red rings).

    A panel holds ``title``, ``rows``, ``cols``, ``user``, ``llm``, ``replicator`` (from
    :func:`~gtalign_sim.eval.evolution.replicator_analysis`, with ``paths``),
    ``equilibria`` (``{"user": mix, "assistant": mix}``) and an optional ``note``."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    n = len(panels)
    fig = Figure(figsize=(5.2 * n, 6.2), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, p in zip(axes, panels, strict=True):
        rows, cols = p["rows"], p["cols"]
        rep = p["replicator"]
        labels = sorted(set(rep["end_labels"]))
        color = {lab: _END_COLORS[k % len(_END_COLORS)] for k, lab in enumerate(labels)}
        gx, gy, du, dv = _direction_field(np.asarray(p["user"]), np.asarray(p["llm"]))
        ax.quiver(gx, gy, du, dv, color="0.75", angles="xy", scale=30, width=0.004)
        for path_xy, lab, moving in zip(
            rep["paths"], rep["end_labels"], rep["drifting"], strict=True
        ):
            ax.plot(path_xy[:, 0], path_xy[:, 1], color=color[lab], lw=1.1, alpha=0.8)
            ax.plot(*path_xy[0], "o", color=color[lab], ms=3)
            face = "white" if moving else color[lab]
            ax.plot(*path_xy[-1], "X", color=color[lab], mfc=face, ms=9, mec="k", mew=0.6)
        for e in p.get("equilibria", []):
            ax.plot(e["user"][0], e["assistant"][0], "o", ms=17, mfc="none", mec="red", mew=2)
        ax.set_xlim(-0.06, 1.06)
        ax.set_ylim(-0.07, 1.07)
        ax.set_aspect("equal")
        note = f"\n{p['note']}" if p.get("note") else ""
        ax.set_xlabel(f"share of users playing {rows[0]} (rest {rows[1]}){note}")
        ax.set_ylabel(f"share of assistants playing {cols[0]} (rest {cols[1]})")
        ax.set_title(p["title"], fontsize=10)
        handles = [
            Line2D([], [], color=color[lab], marker="X", ms=8, mec="k", label=f"ends at {lab}")
            for lab in labels
        ]
        if any(rep["drifting"]):
            handles.append(
                Line2D(
                    [], [], ls="", marker="X", ms=8, mfc="white", mec="k", label="still drifting"
                )
            )
        handles.append(
            Line2D([], [], ls="", marker="o", ms=11, mfc="none", mec="red", mew=2, label="Nash eq.")
        )
        for cx, row in ((1.0, rows[0]), (0.0, rows[1])):
            for cy, col in ((1.0, cols[0]), (0.0, cols[1])):
                ax.annotate(
                    f"{row}/{col}", (cx, cy), xytext=(0, 9 if cy else -13),
                    textcoords="offset points", ha="right" if cx else "left", fontsize=7,
                    color="0.3",
                )  # fmt: skip
        ax.legend(handles=handles, loc="best", fontsize=7.5, framealpha=0.9)
    fig.suptitle("Two-population replicator dynamics (nashpy) from a grid of starting mixes")
    return _save(fig, path)


def _heatmap(
    ax: Any, values: np.ndarray, names: Sequence[str], title: str, fmt: str, marks: Any
) -> None:
    im = ax.imshow(values, cmap="viridis", aspect="auto")
    span = np.nanmax(values) - np.nanmin(values)
    mid = np.nanmin(values) + span / 2
    for (i, j), v in np.ndenumerate(values):
        ax.text(
            j, i, format(v, fmt), ha="center", va="center", fontsize=6.5,
            color="black" if v > mid else "white",
        )  # fmt: skip
    for i, j in marks:
        ax.add_patch(_rect((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.8))
    short = [s.replace("_", " ") for s in names]
    ax.set_xticks(range(len(names)), short, rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), short, fontsize=7)
    ax.set_xlabel("assistant's strategy", fontsize=8)
    ax.set_ylabel("user's strategy", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)


def _rect(*args: Any, **kwargs: Any) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(*args, **kwargs)


def plot_tournament(panels: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Per game a row of heatmaps over (user's strategy, assistant's strategy): the
    user's payoff per round, the assistant's, and the share of mutual cooperation over the
    last rounds; red boxes mark the pairs that sustain cooperation (cooperate and no side
    gains by switching entrant). A panel holds ``title`` and ``tournament`` (from
    :func:`~gtalign_sim.eval.tournament.summarize_tournament`)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 4.9 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 3, squeeze=False)
    for row, p in zip(axes, panels, strict=True):
        t = p["tournament"]
        names = t["strategies"]
        k = len(names)
        grids = {key: np.full((k, k), np.nan) for key in ("U", "L", "mutual_cooperation")}
        for rec in t["pairs"]:
            i, j = names.index(rec["user"]), names.index(rec["assistant"])
            for key, grid in grids.items():
                grid[i, j] = rec[key]["mean"]
        marks = [(names.index(a), names.index(b)) for a, b in t["sustained"]]
        _heatmap(row[0], grids["U"], names, f"{p['title']}\nuser's payoff per round (U)",
                 ".3f", marks)  # fmt: skip
        _heatmap(row[1], grids["L"], names, "assistant's payoff per round (L)", ".3f", marks)
        _heatmap(
            row[2],
            grids["mutual_cooperation"],
            names,
            "share of rounds in mutual cooperation (last rounds)",
            ".2f",
            marks,
        )
    fig.suptitle("Repeated-game tournament (means over seeds; red box: cooperation sustained)")
    return _save(fig, path)
