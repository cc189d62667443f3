"""Phase diagrams of empirical games over a parameter grid (``experiment=dilemma_map``):
what each point's matrix says beyond its type name (:func:`incentives`,
:func:`structure`), the figure (one ``matplotlib`` Figure, Agg canvas, no pyplot state)
and the markdown.

Both read the ``metrics.json`` mapping the experiment writes: ``x``/``y`` (``param``,
``values``, ``meaning``), ``grid`` (lists indexed ``[y][x]``) and ``points`` (one
bootstrap analysis per grid point, with ``label``: its game type, or ``uncertain`` when
the type holds in fewer than ``stable`` of the resamples).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .tidy import long_row as _row

__all__ = [
    "TYPE_COLOURS",
    "incentives",
    "metrics_rows",
    "phase_summary",
    "plot_phase_diagram",
    "structure",
]

TYPE_COLOURS: dict[str, str] = {
    "prisoners_dilemma": "#d62728",
    "chicken": "#ff7f0e",
    "stag_hunt": "#9467bd",
    "harmony": "#2ca02c",
    "battle_of_the_sexes": "#8c564b",
    "coordination": "#1f77b4",
    "discoordination": "#e377c2",
    "other": "#9ecae1",
    "not_2x2": "#000000",
    "uncertain": "#d9d9d9",
}
"""One fixed colour per game type (the same in every run), grey for ``uncertain``."""


def _paired(diff: np.ndarray) -> dict[str, Any]:
    """Mean, SE and t-based 95% interval of paired per-episode differences."""
    from scipy import stats

    n = diff.size
    mean, se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.975, n - 1)) * se
    return {
        "mean": round(mean, 6),
        "se": round(se, 6),
        "ci95": [round(mean - half, 6), round(mean + half, 6)],
    }


def incentives(
    u: np.ndarray, l: np.ndarray, strategies: Sequence[str], policies: Sequence[str]
) -> dict[str, Any]:
    """Each side's paired gain from switching, per opponent choice, from per-episode gains
    ``(2, 2, N)``: the user's second − first strategy against each policy, the
    provider's second − first policy under each strategy."""
    return {
        "user_vq_minus_dq": {p: _paired(u[1, j] - u[0, j]) for j, p in enumerate(policies)},
        f"llm_{policies[1]}_minus_{policies[0]}": {
            s: _paired(l[i, 1] - l[i, 0]) for i, s in enumerate(strategies)
        },
    }


def _verdict(diffs: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """A side's preference from its paired differences (second − first choice), one
    per choice of the other side: a difference counts when its 95% interval excludes 0."""
    signs = {(d["ci95"][0] > 0) - (d["ci95"][1] < 0) for d in diffs}
    if signs == {1}:
        return f"{names[1]} dominant"
    if signs == {-1}:
        return f"{names[0]} dominant"
    if signs == {0}:
        return "indifferent within noise"
    if signs == {0, 1}:
        return f"weakly {names[1]}"
    if signs == {0, -1}:
        return f"weakly {names[0]}"
    return "depends on the other side"


def structure(
    user: Any,
    llm: Any,
    inc: Mapping[str, Any],
    strategies: Sequence[str],
    policies: Sequence[str],
) -> dict[str, Any]:
    """What the type name leaves out: each side's preference (from the paired incentives
    ``inc`` of :func:`incentives`) and the mean matrices' pure equilibria ``(2, 2)``, each
    with whether another cell Pareto-dominates it."""
    u, l = np.asarray(user, float), np.asarray(llm, float)
    pts = [(u[i, j], l[i, j]) for i in range(2) for j in range(2)]
    eqs = [
        (i, j)
        for i in range(2)
        for j in range(2)
        if u[i, j] >= u[1 - i, j] - 1e-12 and l[i, j] >= l[i, 1 - j] - 1e-12
    ]
    llm_key = f"llm_{policies[1]}_minus_{policies[0]}"
    return {
        "user": _verdict(list(inc["user_vq_minus_dq"].values()), strategies),
        "llm": _verdict(list(inc[llm_key].values()), policies),
        "pure_equilibria": [
            {
                "cell": [strategies[i], policies[j]],
                "efficient": not any(a > u[i, j] and b > l[i, j] for a, b in pts),
            }
            for i, j in eqs
        ],
    }


def _poa(p: Mapping[str, Any]) -> str:
    ci = p["bootstrap"].get("price_of_anarchy_ci95")
    text = "∞" if p["price_of_anarchy"] is None else f"{p['price_of_anarchy']:.3f}"
    return text + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _axes_labels(ax: Any, metrics: Mapping[str, Any], ylabel: bool) -> None:
    xs, ys = metrics["x"]["values"], metrics["y"]["values"]
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_ylim(-0.5, len(ys) - 0.5)
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    ax.set_xlabel(metrics["x"]["param"], fontsize=9)
    if ylabel:
        ax.set_ylabel(metrics["y"]["param"], fontsize=9)


def plot_phase_diagram(metrics: Mapping[str, Any], path: str | Path) -> Path:
    """Two panels over the grid; writes ``path`` (PNG). Left: each point's game type as a
    colour (hatched grey: uncertain, the point estimate's type in brackets), its
    stability over resamples and its pure equilibria. Right: the fraction of resamples
    in which the game is a social dilemma (an equilibrium Pareto-dominated by a cell),
    with the price of anarchy and its 95% interval."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    xs, ys = metrics["x"]["values"], metrics["y"]["values"]
    at = {(p["x"], p["y"]): p for p in metrics["points"]}
    width = max(5.0, 1.45 * len(xs) + 1.2)
    fig = Figure(figsize=(2 * width + 2.2, max(3.6, 0.95 * len(ys) + 2.0)), dpi=150)
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    seen: list[str] = []
    frac = np.array([[at[(x, y)]["bootstrap"]["dilemma_fraction"] for x in xs] for y in ys])
    image = ax2.imshow(frac, origin="lower", cmap="Reds", vmin=0, vmax=1, aspect="auto")
    for i, xv in enumerate(xs):
        for j, yv in enumerate(ys):
            p = at[(xv, yv)]
            label = p["label"]
            seen += [label] if label not in seen else []
            ax.add_patch(
                Rectangle(
                    (i - 0.5, j - 0.5),
                    1,
                    1,
                    facecolor=TYPE_COLOURS.get(label, "#ffffff"),
                    edgecolor="white",
                    hatch="///" if label == "uncertain" else None,
                    lw=1.5,
                )
            )
            name = p["game_type"].replace("_", " ")
            eq = "\n".join("·".join(e["cell"]) for e in p["structure"]["pure_equilibria"])
            ax.text(
                i,
                j,
                f"{name if label != 'uncertain' else f'({name}?)'}\n"
                f"{p['stability']:.0%} of resamples\nNE {eq or 'mixed only'}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if label in ("prisoners_dilemma", "not_2x2") else "black",
            )
            ci = p["bootstrap"].get("price_of_anarchy_ci95")
            poa = "∞" if p["price_of_anarchy"] is None else f"{p['price_of_anarchy']:.2f}"
            ax2.text(
                i,
                j,
                f"{frac[j, i]:.0%}\nPoA {poa}" + (f"\n[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if frac[j, i] > 0.6 else "black",
            )
    _axes_labels(ax, metrics, ylabel=True)
    _axes_labels(ax2, metrics, ylabel=False)
    ax.legend(
        handles=[
            Patch(
                facecolor=TYPE_COLOURS[t],
                hatch="///" if t == "uncertain" else None,
                label=t.replace("_", " "),
            )
            for t in TYPE_COLOURS
            if t in seen
        ],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=7,
        title=f"type (≥{metrics['stable']:.0%})",
        title_fontsize=7,
    )
    ax.set_title("game type (label stable in ≥ threshold of resamples)", fontsize=9)
    ax2.set_title("social dilemma: share of resamples; price of anarchy", fontsize=9)
    fig.colorbar(image, ax=ax2, fraction=0.04, pad=0.02)
    pricing = ", ".join(f"{k} {v:g}" for k, v in metrics["pricing"].items())
    fig.suptitle(
        f"{' / '.join(metrics['strategies'])} × {' / '.join(metrics['policies'])}, "
        f"{metrics['episodes_per_cell']} paired episodes per cell, "
        f"{metrics['bootstrap']} resamples, pricing {pricing}\n"
        f"x: {metrics['x']['meaning']}; y: {metrics['y']['meaning']}",
        fontsize=8,
    )
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    return out


def _diff(d: Mapping[str, Any]) -> str:
    return f"{d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"


def _cells(m: Sequence[Sequence[float]], se: Sequence[Sequence[float]]) -> str:
    return " / ".join(f"{m[i][j]:.3f}±{1.96 * se[i][j]:.3f}" for i in range(2) for j in range(2))


def _structure(p: Mapping[str, Any]) -> str:
    st = p["structure"]
    eqs = "; ".join(
        f"({', '.join(e['cell'])}){'' if e['efficient'] else ' Pareto-dominated'}"
        for e in st["pure_equilibria"]
    )
    return f"user: {st['user']}; provider: {st['llm']}; pure NE {eqs or 'none'}"


def phase_summary(metrics: Mapping[str, Any], images: Sequence[str], wall: float | None) -> str:
    """summary.md: the grid of labels, what was found, one row per point with the
    matrices, the PoA and each side's paired incentives."""
    m = metrics
    xs, ys, pols, st = m["x"]["values"], m["y"]["values"], m["policies"], m["strategies"]
    at = {(p["x"], p["y"]): p for p in m["points"]}
    lines = [
        f"# Dilemma map: {m['x']['param']} × {m['y']['param']}",
        "",
        f"{m['episodes_per_cell']} paired episodes per cell (the same episodes at every point), "
        f"{m['bootstrap']} paired bootstrap resamples per point, seed {m['seed']}, pricing "
        f"{m['pricing']}" + (f", {wall:.1f} s wall time." if wall is not None else "."),
        f"x: `{m['x']['param']}` {m['x']['meaning']}; y: `{m['y']['param']}` {m['y']['meaning']}.",
        "A point is labelled with its game type when that type holds in at least "
        f"{m['stable']:.0%} of the resamples, else `uncertain` (the point estimate's type in "
        "brackets). `other` is any 2×2 game the ordinal types do not name (e.g. the two "
        "sides ranking the outcomes differently, or a side indifferent between its choices "
        "in some case); the per-point table gives its structure.",
        "",
        f"| {m['y']['param']} \\ {m['x']['param']} | " + " | ".join(f"{v:g}" for v in xs) + " |",
        "|---|" + "---|" * len(xs),
    ]
    for yv in reversed(ys):
        row = []
        for xv in xs:
            p = at[(xv, yv)]
            name = p["label"] if p["label"] != "uncertain" else f"uncertain ({p['game_type']})"
            row.append(f"{name} {p['stability']:.0%}")
        lines.append(f"| **{yv:g}** | " + " | ".join(row) + " |")
    dilemmas = [p for p in m["points"] if p["bootstrap"]["dilemma_fraction"] >= 0.5]
    lines += [
        "",
        f"- game types found (stable): **{', '.join(m['types_found']) or 'none'}**",
        "- points that are a social dilemma in at least half the resamples: "
        + (
            ", ".join(
                f"({p['x']:g}, {p['y']:g}) {p['bootstrap']['dilemma_fraction']:.0%}"
                for p in dilemmas
            )
            or "none"
        ),
        "",
        f"Cells in the order {st[0]}/{pols[0]}, {st[0]}/{pols[1]}, {st[1]}/{pols[0]}, "
        f"{st[1]}/{pols[1]} (mean gain ± 95%); incentives are paired differences with 95% "
        "intervals; the structure is the point estimate's.",
        "",
        "| x | y | type (stability) | dilemma | PoA [95%] | U | L "
        f"| user VQ−DQ vs {pols[0]} / {pols[1]} "
        f"| provider {pols[1]}−{pols[0]} on {st[0]} / {st[1]} | structure |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in m["points"]:
        inc = p["incentives"]
        ud = inc["user_vq_minus_dq"]
        ld = inc[f"llm_{pols[1]}_minus_{pols[0]}"]
        lines.append(
            f"| {p['x']:g} | {p['y']:g} | {p['game_type']} ({p['stability']:.0%}) | "
            f"{p['bootstrap']['dilemma_fraction']:.0%} | {_poa(p)} | "
            f"{_cells(p['user'], p['user_se'])} | {_cells(p['llm'], p['llm_se'])} | "
            f"{_diff(ud[pols[0]])} / {_diff(ud[pols[1]])} | "
            f"{_diff(ld[st[0]])} / {_diff(ld[st[1]])} | {_structure(p)} |"
        )
    lines += [f"\n![{img}]({img})" for img in images]
    return "\n".join(lines) + "\n"


def metrics_rows(m: Mapping[str, Any], run: str) -> list[dict[str, Any]]:
    """Long-form rows (:data:`~gtalign_sim.eval.tidy.COLUMNS`) of a dilemma map, group
    ``<x param>=<x>,<y param>=<y>`` per point: per cell ``user_welfare``/``llm_welfare``
    (assistant = the policy, ``…,strategy=<s>``, 95% CI, ``n`` episodes per cell); the
    incentives ``user_vq_minus_dq`` (per policy) and ``llm_<a>_minus_<b>`` (per
    strategy); ``price_of_anarchy`` (bootstrap CI), ``price_of_stability``,
    ``dilemma_fraction`` and ``same_type_fraction`` (``n`` resamples)."""
    rows, n = [], m["episodes_per_cell"]
    for p in m["points"]:
        g = f"{m['x']['param']}={p['x']:g},{m['y']['param']}={p['y']:g}"
        for i, s in enumerate(m["strategies"]):
            for j, a in enumerate(m["policies"]):
                for side in ("user", "llm"):
                    ci = [b[i][j] for b in p[f"{side}_ci95"]]
                    rows.append(
                        _row(run, a, f"{side}_welfare", f"{g},strategy={s}", p[side][i][j], ci, n)
                    )
        for key, block in p["incentives"].items():
            for k, d in block.items():
                who, grp = (k, g) if k in m["policies"] else ("", f"{g},strategy={k}")
                rows.append(_row(run, who, key, grp, d["mean"], d["ci95"], n))
        b = p["bootstrap"]
        rows.append(
            _row(
                run, "", "price_of_anarchy", g, p["price_of_anarchy"], b["price_of_anarchy_ci95"], n
            )
        )
        rows.append(_row(run, "", "price_of_stability", g, p["price_of_stability"], None, n))
        for key in ("dilemma_fraction", "same_type_fraction"):
            rows.append(_row(run, "", key, g, b[key], None, b["n"]))
    return rows
