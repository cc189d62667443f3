"""Plots of empirical games (one ``matplotlib`` Figure each, Agg canvas, no pyplot state)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_empirical_game"]


def plot_empirical_game(analysis: Mapping[str, Any], path: str | Path) -> Path:
    """The measured game in the (U, L) gain plane: each cell's mean with its 95% interval,
    arrows for each side's best responses, equilibria circled; writes ``path`` (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    u, l = np.asarray(analysis["user"]), np.asarray(analysis["llm"])
    su, sl = np.asarray(analysis["user_se"]), np.asarray(analysis["llm_se"])
    strategies, policies = analysis["strategies"], analysis["policies"]
    fig = Figure(figsize=(6.4, 4.8), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pure = {
        (int(np.argmax(e["user"])), int(np.argmax(e["assistant"])))
        for e in analysis.get("equilibria", [])
        if max(e["user"]) > 0.999 and max(e["assistant"]) > 0.999
    }
    markers = "os^Dv<>"
    for i, s in enumerate(strategies):
        for j, p in enumerate(policies):
            ax.errorbar(
                u[i, j],
                l[i, j],
                xerr=1.96 * su[i, j],
                yerr=1.96 * sl[i, j],
                fmt=markers[j % len(markers)],
                color=f"C{i}",
                capsize=3,
                label=f"{s} × {p}",
            )
            if (i, j) in pure:
                ax.scatter(u[i, j], l[i, j], s=260, facecolors="none", edgecolors="k", lw=1.2)
    # user's deviations (arrows between rows) and assistant's (between columns)
    for j in range(len(policies)):
        i_best = int(np.argmax(u[:, j]))
        for i in range(len(strategies)):
            if i != i_best:
                ax.annotate(
                    "",
                    (u[i_best, j], l[i_best, j]),
                    (u[i, j], l[i, j]),
                    arrowprops={"arrowstyle": "->", "color": "0.5", "lw": 0.8},
                )
    for i in range(len(strategies)):
        j_best = int(np.argmax(l[i]))
        for j in range(len(policies)):
            if j != j_best:
                ax.annotate(
                    "",
                    (u[i, j_best], l[i, j_best]),
                    (u[i, j], l[i, j]),
                    arrowprops={"arrowstyle": "->", "color": "0.2", "ls": "--", "lw": 0.8},
                )
    b = analysis.get("bootstrap", {})
    ax.set_title(
        f"{analysis.get('game_type')} — dilemma in {b.get('dilemma_fraction', float('nan')):.0%}"
        f" of resamples, PoA {analysis.get('price_of_anarchy', float('nan')):.2f}",
        fontsize=10,
    )
    ax.set_xlabel("user gain U (mean, 95% CI)")
    ax.set_ylabel("provider gain L (mean, 95% CI)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    return out
