"""PNG plots of a metrics dict (:func:`gtalign_sim.eval.metrics.compute_metrics`).

Every function draws one ``matplotlib.figure.Figure`` (no pyplot global state, Agg
canvas), writes one PNG (8×5 in, 120 dpi) and returns its path; parent directories are
created. Assistants keep the same order (``metrics["assistants"]``) and colour in every
plot: built-in assistants have fixed Okabe–Ito colours, other names take colours from
Paul Tol's muted palette in order. The functions accept the full metrics dict or just
its ``assistant_metrics`` part.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import ACTION_MODES, STRATEGIES, assistant_order

__all__ = [
    "ACTION_COLORS",
    "ASSISTANT_COLORS",
    "PLOT_FILES",
    "assistant_color",
    "plot_action_mix",
    "plot_pricing_shift",
    "plot_welfare_bars",
    "plot_welfare_by_family",
    "plot_welfare_plane",
    "save_figure",
]

ASSISTANT_COLORS: dict[str, str] = {
    "oracle": "#000000",
    "gtalign": "#0072B2",
    "linear_welfare": "#CC79A7",
    "user_only": "#009E73",
    "selfish_llm": "#D55E00",
    "always_da": "#E69F00",
    "always_cq": "#56B4E9",
    "always_aq": "#F0E442",
    "random": "#999999",
}
"""Fixed colours of the built-in assistants (Okabe–Ito, colourblind-safe)."""

_EXTRA_COLORS = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
)

ACTION_COLORS: dict[str, str] = {
    "DA": "#0072B2",
    "CQ": "#D55E00",
    "AQ": "#009E73",
    "other": "#BBBBBB",
}
"""Colours of the first-action categories."""

PLOT_FILES: dict[str, str] = {
    "welfare_bars": "welfare_bars.png",
    "welfare_plane": "welfare_plane.png",
    "action_mix": "action_mix.png",
    "pricing_shift": "pricing_shift.png",
}
"""Default plot file names, linked by :func:`gtalign_sim.eval.report.summary_markdown`."""

_FIGSIZE = (8.0, 5.0)
_DPI = 120


# --------------------------------------------------------------------------- helpers


def _per_assistant(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    return metrics.get("assistant_metrics", metrics)


def _names(metrics: Mapping[str, Any]) -> list[str]:
    if "assistants" in metrics:
        return list(metrics["assistants"])
    return assistant_order(_per_assistant(metrics))


def assistant_color(name: str, names: Sequence[str] = ()) -> str:
    """Colour of ``name``: fixed for built-ins, else by its rank among the unknown ``names``."""
    if name in ASSISTANT_COLORS:
        return ASSISTANT_COLORS[name]
    unknown = [n for n in names if n not in ASSISTANT_COLORS]
    idx = unknown.index(name) if name in unknown else zlib.crc32(name.encode())
    return _EXTRA_COLORS[idx % len(_EXTRA_COLORS)]


def _figure(ncols: int = 1, sharey: bool = False) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained")
    axes = fig.subplots(1, ncols, sharey=sharey, squeeze=False)[0]
    return fig, axes


_dpi: ContextVar[int] = ContextVar("gtalign_plot_dpi", default=_DPI)


@contextmanager
def plot_dpi(dpi: int) -> Iterator[None]:
    """Raster resolution of the figures saved inside the block (PNG; vector formats ignore it)."""
    token = _dpi.set(int(dpi))
    try:
        yield
    finally:
        _dpi.reset(token)


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` to ``path``; the format follows the suffix (``.png``, ``.pdf``, ``.svg``)
    and the raster resolution is :func:`plot_dpi`'s (every plotting module saves here)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(p, dpi=_dpi.get(), format=p.suffix.lstrip(".") or "png")
    return p


def _f(x: Any) -> float:
    return float(x) if x is not None else float("nan")


def _no_data(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def _action_labels(per: Mapping[str, Any]) -> list[str]:
    has_other = any(
        "other" in (m.get("action_frequencies", {}).get("all") or {}) for m in per.values()
    )
    return [*ACTION_MODES, "other"] if has_other else list(ACTION_MODES)


def _stacked_mix(
    ax: Any,
    names: Sequence[str],
    freqs: Sequence[Mapping[str, Any] | None],
    labels: Sequence[str],
    counts: Sequence[int | None],
    legend: bool,
) -> None:
    """Stacked bars of action frequencies, one bar per assistant."""
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for label in labels:
        vals = np.array([(f or {}).get(label) or 0.0 for f in freqs], dtype=float)
        bars = ax.bar(
            x,
            vals,
            0.7,
            bottom=bottom,
            color=ACTION_COLORS.get(label, "#BBBBBB"),
            edgecolor="white",
            linewidth=0.6,
            label=label,
        )
        # many narrow bars: percentages turned upright so they stay inside their bar
        crowded = len(names) > 6
        for rect, v in zip(bars, vals, strict=True):
            if v >= (0.14 if crowded else 0.08):
                ax.text(
                    rect.get_x() + rect.get_width() / 2,
                    rect.get_y() + v / 2,
                    f"{100 * v:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=6 if crowded else 7,
                    rotation=90 if crowded else 0,
                    color="white",
                )
        bottom += vals
    ticks = []
    for xi, (name, f, n) in enumerate(zip(names, freqs, counts, strict=True)):
        if f is None or not any(v for v in f.values()):
            ax.text(xi, 0.5, "n=0", ha="center", va="center", fontsize=7, color="0.4")
            ticks.append(name)
        else:  # the count goes with the name, where it cannot collide with a neighbour's
            ticks.append(f"{name} (n={n})" if n is not None else name)
    ax.set_xticks(x, ticks, rotation=40, ha="right", fontsize=7)
    ax.set_ylim(0, 1.0)
    ax.set_yticks(np.linspace(0, 1, 6), [f"{int(100 * v)}%" for v in np.linspace(0, 1, 6)])
    if legend:
        ax.figure.legend(
            *ax.get_legend_handles_labels(),
            title="first action",
            fontsize=8,
            title_fontsize=8,
            loc="outside right upper",
        )


# --------------------------------------------------------------------------- plots


def plot_welfare_bars(metrics: Mapping[str, Any], path: str | Path) -> Path:
    """Grouped bars of mean user welfare U, LLM welfare L and mutual welfare √(U·L) per
    assistant (one group per welfare, one colour per assistant) with 95% CI error bars."""
    per = _per_assistant(metrics)
    names = _names(metrics)
    fig, (ax,) = _figure()
    groups = [
        ("user_welfare", "User welfare U"),
        ("llm_welfare", "LLM welfare L"),
        ("mutual_welfare", "Mutual welfare √(U·L)"),
    ]
    k = max(1, len(names))
    width = 0.8 / k
    x = np.arange(len(groups))
    top = 1.0
    for i, name in enumerate(names):
        stats = [per[name].get(key) or {} for key, _ in groups]
        means = np.array([_f(s.get("mean")) for s in stats])
        lo = np.array([_f(s.get("lo")) for s in stats])
        hi = np.array([_f(s.get("hi")) for s in stats])
        err = np.nan_to_num(np.vstack([means - lo, hi - means]), nan=0.0).clip(min=0.0)
        ax.bar(
            x - 0.4 + (i + 0.5) * width,
            np.nan_to_num(means),
            width,
            yerr=err,
            capsize=2,
            color=assistant_color(name, names),
            edgecolor="0.2",
            linewidth=0.5,
            error_kw={"elinewidth": 0.8, "ecolor": "0.2"},
            label=name,
        )
        if np.isfinite(hi).any():
            top = max(top, float(np.nanmax(hi)))
    if not names:
        _no_data(ax)
    ax.set_xticks(x, [label for _, label in groups])
    ax.set_ylabel("mean over episodes (95% CI)")
    ax.set_ylim(0, top * 1.05)
    ax.set_title("Welfare by assistant")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if names:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="assistant")
    return save_figure(fig, path)


def _frontier_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step line bounding the region dominated by ``points`` (already non-dominated)."""
    p = points[np.argsort(points[:, 0])]
    xs, ys = [p[0, 0]], [p[0, 1]]
    for u, l in p[1:]:
        xs += [xs[-1], u]
        ys += [l, l]
    return np.array(xs), np.array(ys)


def plot_welfare_plane(
    records: Iterable[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    path: str | Path,
    max_points: int = 300,
    seed: int = 0,
) -> Path:
    """The (U, L) plane: episode points (≤ ``max_points`` per assistant, subsampled with
    ``numpy.random.default_rng(seed)``), each assistant's mean point with its label, the
    joint Pareto frontier of the mean points as a step line and iso-curves of √(U·L)."""
    from gtalign_sim.game.pareto import pareto_mask

    per = _per_assistant(metrics)
    names = _names(metrics)
    rng = np.random.default_rng(seed)
    pts: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for r in records:
        a = str(r.get("assistant"))
        u, l = r.get("user_welfare"), r.get("llm_welfare")
        if a in pts and u is not None and l is not None:
            uf, lf = float(u), float(l)
            if np.isfinite(uf) and np.isfinite(lf):
                pts[a].append((uf, lf))
    fig, (ax,) = _figure()
    all_xy = []
    for name in names:
        xy = np.asarray(pts[name], dtype=float).reshape(-1, 2)
        if len(xy) > max_points:
            xy = xy[rng.choice(len(xy), size=max_points, replace=False)]
        if len(xy):
            ax.scatter(
                xy[:, 0],
                xy[:, 1],
                s=9,
                alpha=0.18,
                color=assistant_color(name, names),
                linewidths=0,
            )
            all_xy.append(xy)
    means = []
    for name in names:
        u = (per[name].get("user_welfare") or {}).get("mean")
        l = (per[name].get("llm_welfare") or {}).get("mean")
        if u is None or l is None:
            continue
        means.append((name, float(u), float(l)))
        ax.scatter(
            [u],
            [l],
            s=130,
            color=assistant_color(name, names),
            edgecolors="black",
            linewidths=1.0,
            zorder=5,
            label=name,
        )
    if means:
        _means_inset(ax, means, per, names)
    if means:
        mp = np.array([[u, l] for _, u, l in means])
        front = mp[pareto_mask(mp)]
        xs, ys = _frontier_line(front)
        ax.plot(xs, ys, color="0.15", lw=1.4, ls="--", zorder=4, label="Pareto frontier (means)")
        all_xy.append(mp)
    if all_xy:
        xy = np.vstack(all_xy)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        pad = np.maximum(0.05, 0.08 * (hi - lo))
        lo, hi = np.clip(lo - pad, 0.0, None), np.minimum(hi + pad, 1.02)
    else:
        lo, hi = np.zeros(2), np.ones(2)
        _no_data(ax)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    gu, gl = np.meshgrid(
        np.linspace(max(lo[0], 1e-3), hi[0], 200), np.linspace(max(lo[1], 1e-3), hi[1], 200)
    )
    levels = np.round(np.arange(0.05, 1.0, 0.05 if (hi - lo).max() < 0.5 else 0.1), 2)
    cs = ax.contour(gu, gl, np.sqrt(gu * gl), levels=levels, colors="0.7", linewidths=0.7)
    ax.clabel(cs, fmt="√(U·L)=%.2f", fontsize=6, inline=True)
    ax.set_xlabel("user welfare U")
    ax.set_ylabel("LLM welfare L")
    ax.set_title("Assistants in the (U, L) plane: episodes (light) and means (large)")
    ax.grid(alpha=0.2)
    if means:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=0.6)
    return save_figure(fig, path)


def _means_inset(ax: Any, means: list[tuple[str, float, float]], per: Any, names: Any) -> None:
    """A zoom on the leading assistants' mean points (√(U·L) within 0.03 of the best) with
    their 95% CIs: they crowd together in the full plane."""
    from gtalign_sim.game.pareto import pareto_mask

    best = max(np.sqrt(max(u, 0) * max(l, 0)) for _, u, l in means)
    means = [m for m in means if np.sqrt(max(m[1], 0) * max(m[2], 0)) >= best - 0.03]
    inset = ax.inset_axes([0.05, 0.05, 0.5, 0.5])
    for name, u, l in means:
        cu = per[name].get("user_welfare") or {}
        cl = per[name].get("llm_welfare") or {}
        xerr = [
            [u - (cu.get("lo") if cu.get("lo") is not None else u)],
            [(cu.get("hi") if cu.get("hi") is not None else u) - u],
        ]
        yerr = [
            [l - (cl.get("lo") if cl.get("lo") is not None else l)],
            [(cl.get("hi") if cl.get("hi") is not None else l) - l],
        ]
        color = assistant_color(name, names)
        inset.errorbar(
            [u],
            [l],
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            ms=5,
            color=color,
            mec="black",
            mew=0.6,
            elinewidth=0.8,
            capsize=1.5,
        )
        inset.annotate(name, (u, l), xytext=(3, 3), textcoords="offset points", fontsize=6)
    mp = np.array([[u, l] for _, u, l in means])
    xs, ys = _frontier_line(mp[pareto_mask(mp)])
    inset.plot(xs, ys, color="0.15", lw=1.0, ls="--")
    lo, hi = mp.min(axis=0), mp.max(axis=0)
    pad = np.maximum(0.01, 0.15 * (hi - lo))
    inset.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    inset.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    inset.tick_params(labelsize=6)
    inset.set_title("leading assistants: means ± 95% CI", fontsize=7)
    inset.grid(alpha=0.2)


def plot_action_mix(metrics: Mapping[str, Any], path: str | Path) -> Path:
    """Two panels (detailed DQ / vague VQ questions) of stacked first-action frequencies
    (DA / CQ / AQ) per assistant, so clarifying detailed questions stands out."""
    per = _per_assistant(metrics)
    names = _names(metrics)
    labels = _action_labels(per)
    fig, axes = _figure(ncols=2, sharey=True)
    titles = {"DQ": "Detailed questions (DQ)", "VQ": "Vague questions (VQ)"}
    for j, (ax, strat) in enumerate(zip(axes, STRATEGIES, strict=True)):
        freqs = [per[n].get("action_frequencies", {}).get(strat) for n in names]
        counts = [(per[n].get("action_counts", {}).get(strat) or {}).get("n") for n in names]
        if names:
            _stacked_mix(ax, names, freqs, labels, counts, legend=j == 0)
        else:
            _no_data(ax)
        ax.set_title(titles[strat], fontsize=10)
    axes[0].set_ylabel("share of episodes (first assistant action)")
    fig.suptitle("First action by user question type")
    return save_figure(fig, path)


def plot_welfare_by_family(metrics: Mapping[str, Any], path: str | Path) -> Path | None:
    """One panel per task family: each assistant's mean √(U·L) with its 95% CI, on an axis
    zoomed to the data (differences of a few hundredths stay visible). ``None`` (nothing
    written) without per-family data."""
    per = _per_assistant(metrics)
    names = _names(metrics)
    families = sorted({f for n in names for f in (per[n].get("by_family") or {})})
    if not names or not families:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.0 * len(families), 0.32 * len(names) + 1.4), layout="constrained")
    axes = fig.subplots(1, len(families), sharey=True, squeeze=False)[0]
    y = np.arange(len(names))[::-1]
    for ax, fam in zip(axes, families, strict=True):
        for yi, name in zip(y, names, strict=True):
            b = (per[name].get("by_family") or {}).get(fam) or {}
            m, lo, hi = (
                b.get(k) for k in ("mutual_welfare", "mutual_welfare_lo", "mutual_welfare_hi")
            )
            if m is None:
                continue
            color = assistant_color(name, names)
            if lo is not None and hi is not None:
                ax.plot([lo, hi], [yi, yi], color=color, lw=1.6)
            ax.plot([m], [yi], "o", color=color, ms=4)
        ax.set_title(f"{fam} (n={_family_n(per, names, fam)})", fontsize=9)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_xlabel("√(U·L), gains", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(y, names, fontsize=8)
    fig.suptitle("Mutual welfare by task family (mean, 95% CI)", fontsize=10)
    return save_figure(fig, path)


def _family_n(per: Mapping[str, Any], names: Sequence[str], fam: str) -> str:
    ns = {(per[n].get("by_family") or {}).get(fam, {}).get("n") for n in names} - {None}
    return str(ns.pop()) if len(ns) == 1 else "varies"


def plot_pricing_shift(
    metrics: Mapping[str, Any], path: str | Path, strategy: str = "all"
) -> Path | None:
    """One panel per pricing plan of stacked first-action frequencies per assistant
    (``strategy``: ``"all"``, ``"DQ"`` or ``"VQ"``). Returns ``None`` and writes nothing
    when fewer than two plans occur (the ``"unknown"`` plan counts as a plan)."""
    per = _per_assistant(metrics)
    names = _names(metrics)
    plans = sorted({p for n in names for p in (per[n].get("by_pricing") or {})})
    if len(plans) < 2:
        return None
    labels = _action_labels(per)
    fig, axes = _figure(ncols=len(plans), sharey=True)
    for j, (ax, plan) in enumerate(zip(axes, plans, strict=True)):
        blocks = [(per[n].get("by_pricing") or {}).get(plan) or {} for n in names]
        freqs = [(b.get("action_frequencies") or {}).get(strategy) for b in blocks]
        counts = [b.get("n") for b in blocks]
        _stacked_mix(ax, names, freqs, labels, counts, legend=j == 0)
        ax.set_title(plan, fontsize=10)
    axes[0].set_ylabel("share of episodes (first assistant action)")
    which = "all questions" if strategy == "all" else f"{strategy} questions"
    fig.suptitle(f"First action by pricing plan ({which})")
    return save_figure(fig, path)


_save = save_figure  # the name other plotting modules imported before it was public
