"""Human-readable reports of a metrics dict: ``summary.md``, rich console tables, findings.

The experiments write a run's ``metrics.json``, plots and ``summary.md`` with these
(their ``report_run``; ``gtalign-sim report RUN_DIR`` re-renders a finished run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .plots import PLOT_FILES

__all__ = ["console_table", "findings", "print_summary", "summary_markdown"]

_DASH = "–"
_CONSOLE_LEGEND = (
    "Mutual ± 95% CI half-width · Qual. = answer quality · Tok. = assistant tokens · "
    "CQ% = first action CQ on detailed (DQ) / vague (VQ) questions"
)
_CONFIG_FIRST = ("n_episodes", "families", "seed")
_PLOT_CAPTIONS = {
    "welfare_bars": "Mean user, LLM and mutual welfare with 95% CIs",
    "welfare_plane": "Episodes and mean points in the (U, L) plane with the Pareto frontier",
    "action_mix": "First action on detailed (DQ) and vague (VQ) questions",
    "welfare_by_family": "Mutual welfare by task family (mean, 95% CI)",
    "pricing_shift": "First action by pricing plan",
}


# --------------------------------------------------------------------------- helpers


def _per(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    return metrics.get("assistant_metrics", metrics)


def _names(metrics: Mapping[str, Any]) -> list[str]:
    return list(metrics.get("assistants") or _per(metrics))


def _mean(m: Mapping[str, Any], key: str) -> float | None:
    return (m.get(key) or {}).get("mean")


def _half(stat: Mapping[str, Any] | None) -> float | None:
    if not stat or stat.get("lo") is None or stat.get("hi") is None:
        return None
    return (stat["hi"] - stat["lo"]) / 2.0


def _fmt(x: float | None, digits: int = 3) -> str:
    return _DASH if x is None else f"{x:.{digits}f}"


def _pct(x: float | None) -> str:
    return _DASH if x is None else f"{100.0 * x:.0f}%"


def _pm(stat: Mapping[str, Any] | None, digits: int = 3) -> str:
    """``mean ± half-width``; ``mean (n=1)`` when there is no interval."""
    if not stat or stat.get("mean") is None:
        return _DASH
    if (stat.get("n") or 0) < 2:
        return f"{_fmt(stat['mean'], digits)} (n={stat.get('n')})"
    hw = _half(stat)
    return _fmt(stat["mean"], digits) + ("" if hw is None else f" ± {_fmt(hw, digits)}")


def _pval(p: float | None) -> str:
    if p is None:
        return _DASH
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _rate(m: Mapping[str, Any], strategy: str, mode: str = "CQ") -> float | None:
    freqs = (m.get("action_frequencies") or {}).get(strategy) or {}
    return freqs.get(mode)


def _pricing_shift(
    block: Mapping[str, Any],
) -> tuple[float, tuple[str, Any], tuple[str, Any]] | None:
    """The largest total-variation distance between first-action mixes of two plans."""
    mixes = {
        p: (b.get("action_frequencies") or {}).get("all")
        for p, b in (block.get("by_pricing") or {}).items()
    }
    mixes = {p: m for p, m in mixes.items() if m}
    best = None
    plans = sorted(mixes)
    for i, a in enumerate(plans):
        for b in plans[i + 1 :]:
            keys = set(mixes[a]) | set(mixes[b])
            tv = 0.5 * sum(abs((mixes[a].get(k) or 0.0) - (mixes[b].get(k) or 0.0)) for k in keys)
            if best is None or tv > best[0]:
                best = (tv, (a, mixes[a]), (b, mixes[b]))
    return best


def _mix(freqs: Mapping[str, Any]) -> str:
    return "/".join(f"{k} {_pct(freqs.get(k) or 0.0)}" for k in ("DA", "CQ", "AQ"))


def _ask_rate(m: Mapping[str, Any], strategy: str) -> float | None:
    cq, aq = _rate(m, strategy, "CQ"), _rate(m, strategy, "AQ")
    return None if cq is None or aq is None else cq + aq


def _sorted_by_mutual(metrics: Mapping[str, Any]) -> list[str]:
    per = _per(metrics)

    def key(name: str) -> tuple[bool, float]:
        m = _mean(per[name], "mutual_welfare")
        return (m is None, -(m or 0.0))

    return sorted(_names(metrics), key=key)


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


# --------------------------------------------------------------------------- findings


def findings(metrics: Mapping[str, Any], max_findings: int = 5) -> list[str]:
    """Up to ``max_findings`` one-line findings computed from the numbers in ``metrics``.

    Candidates, in priority order, each emitted only when its data exist: the best
    assistant by mutual welfare and whose CIs overlap it; how many assistants the
    reference beats on matched episodes (paired CI excludes 0 and Holm-adjusted p < 0.05)
    with the largest margin,
    and any that beat it; the highest CQ rate on detailed questions; the Pareto frontier
    of the mean points; the spread of the reference's CQ rate across pricing plans; the
    reference's asking rate on vague vs detailed questions; token efficiency.
    """
    per = _per(metrics)
    names = _names(metrics)
    ref = metrics.get("reference")
    metric = metrics.get("comparison_metric", "mutual_welfare")
    out: list[str] = []
    if not names:
        return ["No episodes were recorded."]

    ranked = [n for n in _sorted_by_mutual(metrics) if _mean(per[n], "mutual_welfare") is not None]
    # intervals need n >= 2: rank the assistants that have one (all, if none has)
    ranked = [n for n in ranked if per[n]["mutual_welfare"]["n"] >= 2] or ranked
    if ranked:
        top = ranked[0]
        st = per[top]["mutual_welfare"]
        overlap = [
            n
            for n in ranked[1:]
            if per[n]["mutual_welfare"].get("hi") is not None
            and st.get("lo") is not None
            and per[n]["mutual_welfare"]["hi"] >= st["lo"]
        ]
        line = (
            f"{top} has the highest mean mutual welfare ({_fmt(st['mean'])}, 95% CI "
            f"[{_fmt(st['lo'])}, {_fmt(st['hi'])}])"
        )
        if len(ranked) == 1:
            line += "."
        elif overlap:
            line += f"; its CI overlaps {', '.join(overlap)}."
        else:
            line += "; it is above every other assistant's CI."
        out.append(line)

    comparison = metrics.get("comparison") or {}
    valid = {
        o: d for o, d in comparison.items() if d.get("lo") is not None and (d.get("n") or 0) >= 2
    }
    if ref and valid:
        # comparison holds other − reference: the reference wins where the other is
        # "lower" (CI excludes 0 and the Holm-adjusted p < 0.05 over all comparisons)
        def verdict(d: Mapping[str, Any]) -> str:
            if "verdict" in d:
                return str(d["verdict"])
            return "lower" if d["hi"] < 0 else "higher" if d["lo"] > 0 else "tie"

        wins = {o: d for o, d in valid.items() if verdict(d) == "lower"}
        losses = {o: d for o, d in valid.items() if verdict(d) == "higher"}
        if wins:
            o, d = max(wins.items(), key=lambda kv: -kv[1]["mean"])
            line = (
                f"{ref} beats {len(wins)} of {len(valid)} other assistants on {metric} "
                f"(paired 95% CI excludes 0, Holm-adjusted p < 0.05); largest margin: vs {o} by "
                f"{_fmt(-d['mean'])} [{_fmt(-d['hi'])}, {_fmt(-d['lo'])}] (n={d['n']})"
            )
        else:
            line = f"{ref} does not significantly beat any other assistant on {metric}"
        if losses:
            o, d = max(losses.items(), key=lambda kv: kv[1]["mean"])
            line += (
                f"; {', '.join(losses)} beat{'s' if len(losses) == 1 else ''} it "
                f"({o} by {_fmt(d['mean'])} [{_fmt(d['lo'])}, {_fmt(d['hi'])}])"
            )
        out.append(line + ".")

    # fixed-policy baselines (always_*) clarify by definition; report adaptive assistants
    adaptive = [n for n in names if not n.startswith("always_") and n != "random"] or names
    cq_dq = {n: _rate(per[n], "DQ") for n in adaptive if _rate(per[n], "DQ") is not None}
    cq_vq = {n: _rate(per[n], "VQ") for n in adaptive if _rate(per[n], "VQ") is not None}
    if cq_vq and max(cq_vq.values()) > 0:
        over = max(cq_vq, key=lambda n: cq_vq[n])
        line = (
            f"{over} asks a clarifying question first on {_pct(cq_vq[over])} of vague (VQ) "
            "questions"
        )
        if ref in cq_vq and ref != over:
            line += f" ({ref}: {_pct(cq_vq[ref])})"
        out.append(line + ".")
    if cq_dq:
        worst = max(cq_dq, key=lambda n: cq_dq[n])
        if cq_dq[worst] > 0:
            line = f"{worst} clarifies {_pct(cq_dq[worst])} of detailed (DQ) questions"
            if ref in cq_dq and ref != worst:
                line += f" ({ref}: {_pct(cq_dq[ref])})"
            out.append(line + ".")
        else:
            out.append("No assistant opens a detailed (DQ) question with a clarifying question.")

    pareto = metrics.get("pareto") or {}
    frontier = pareto.get("frontier") or []
    if len(pareto.get("assistants") or []) >= 2 and frontier:
        dominated = [n for n in pareto["assistants"] if n not in frontier]
        line = f"Pareto frontier of mean (U, L): {', '.join(frontier)}"
        line += f"; dominated: {', '.join(dominated)}." if dominated else "; none dominated."
        out.append(line)

    extra: list[str] = []
    shifts = {n: _pricing_shift(per[n]) for n in names}
    shifts = {n: v for n, v in shifts.items() if v is not None}
    if shifts:
        top = max(shifts, key=lambda n: shifts[n][0])
        tv, (pa, fa), (pb, fb) = shifts[top]
        line = (
            f"Pricing moves {top}'s first action most (total variation {tv:.2f}): "
            f"{_mix(fa)} under {pa} vs {_mix(fb)} under {pb}"
        )
        if ref in shifts and ref != top:
            line += f"; {ref}: {shifts[ref][0]:.2f}"
        extra.append(line + ".")
    if ref in per:
        vq, dq = _ask_rate(per[ref], "VQ"), _ask_rate(per[ref], "DQ")
        if vq is not None and dq is not None:
            extra.append(
                f"{ref} asks first (CQ or AQ) on {_pct(vq)} of vague and {_pct(dq)} of "
                "detailed questions."
            )
    eff = {n: per[n].get("efficiency") for n in names if per[n].get("efficiency") is not None}
    if len(eff) >= 2:
        best = max(eff, key=lambda n: eff[n])
        line = f"Most token-efficient: {best} ({eff[best]:.2f} answer quality per 1k tokens"
        line += f"; {ref}: {eff[ref]:.2f})." if ref in eff and ref != best else ")."
        extra.append(line)
    out += extra
    return out[:max_findings]


# --------------------------------------------------------------------------- markdown


def summary_markdown(
    metrics: Mapping[str, Any],
    config_summary: Mapping[str, Any] | None = None,
    title: str = "GTAlign simulation summary",
    plot_files: Mapping[str, str | Path | None] | None = None,
) -> str:
    """The Markdown text of ``summary.md``.

    Sections: what was run (``config_summary``; ``n_episodes``, ``families``, ``seed``
    first), findings (:func:`findings`), a per-assistant table (sorted by mutual welfare),
    the paired comparison vs the reference, mutual welfare by task family, the Pareto
    analysis and links to the plots. ``plot_files`` maps plot keys of
    :data:`~gtalign_sim.eval.plots.PLOT_FILES` to file names relative to the summary
    (``None`` entries are skipped); by default the standard names, with
    ``pricing_shift`` only when some assistant has two or more pricing plans.
    """
    per = _per(metrics)
    names = _names(metrics)
    ref = metrics.get("reference")
    lines = [f"# {title}", "", "## What was run", ""]
    cfg = dict(config_summary or {})
    cfg.setdefault("n_episodes", metrics.get("n_records"))
    cfg.setdefault("assistants", names)
    for key in [k for k in _CONFIG_FIRST if k in cfg] + [k for k in cfg if k not in _CONFIG_FIRST]:
        lines.append(f"- **{key}**: {_cell(cfg[key])}")
    lines += ["", "## Findings", ""]
    lines += [f"- {f}" for f in findings(metrics)]

    lines += ["", "## Per assistant", ""]
    lines.append(
        "Means with 95% t-interval half-widths for mutual welfare; first-action rates by "
        "user question type (DQ detailed, VQ vague); VQ share = fraction of users who asked "
        "vaguely; tokens = assistant tokens per episode."
    )
    lines.append("")
    header = [
        "Assistant",
        "n",
        "Mutual √(U·L)",
        "U",
        "L",
        "Answer quality",
        "Tokens",
        "Turns",
        "VQ share",
        "CQ% on VQ",
        "CQ% on DQ",
    ]
    rows = []
    for n in _sorted_by_mutual(metrics):
        m = per[n]
        rows.append(
            [
                f"**{n}**" if n == ref else n,
                str(m.get("n_episodes", _DASH)),
                _pm(m.get("mutual_welfare")),
                _fmt(_mean(m, "user_welfare")),
                _fmt(_mean(m, "llm_welfare")),
                _fmt(_mean(m, "answer_quality")),
                _fmt(_mean(m, "tokens"), 0),
                _fmt(_mean(m, "turns"), 2),
                _pct(m.get("user_strategy_share")),
                _pct(_rate(m, "VQ")),
                _pct(_rate(m, "DQ")),
            ]
        )
    lines += _table(header, rows)

    comparison = metrics.get("comparison") or {}
    if ref and comparison:
        metric = metrics.get("comparison_metric", "mutual_welfare")
        lines += ["", f"## Paired comparison vs {ref}", ""]
        lines.append(
            f"Per-episode differences `other − {ref}` of `{metric}` on matched episodes "
            f"(same task, user and randomness); negative = {ref} better. p(better) = share "
            f"of episodes where the other assistant scores higher."
        )
        lines.append("")
        rows = []
        for o in [n for n in _sorted_by_mutual(metrics) if n in comparison]:
            d = comparison[o]
            ci = f"[{_fmt(d.get('lo'))}, {_fmt(d.get('hi'))}]"
            rows.append(
                [
                    o,
                    _fmt(d.get("mean")),
                    ci,
                    _pct(d.get("p_better")),
                    _pval(d.get("p_value")),
                    str(d.get("n", 0)),
                ]
            )
        lines += _table(["Assistant", "Δ mean", "95% CI", "p(better)", "p-value", "n"], rows)

    families = sorted({f for n in names for f in (per[n].get("by_family") or {})})
    if families:
        lines += ["", "## Mutual welfare by task family", ""]
        rows = []
        for fam in families:
            cells = []
            for n in names:
                b = (per[n].get("by_family") or {}).get(fam)
                cells.append(_DASH if not b else f"{_fmt(b.get('mutual_welfare'))} ({b['n']})")
            rows.append([fam, *cells])
        lines += _table(["Family", *names], rows)
        lines += ["", "Cells: mean mutual welfare (episodes)."]

    pareto = metrics.get("pareto") or {}
    if pareto.get("assistants"):
        pn = pareto["assistants"]
        eps = pareto.get("eps")
        lines += ["", "## Pareto analysis (U, L)", ""]
        rp = pareto.get("reference_point") or [None, None]
        lines.append(
            f"Mean points; hypervolume w.r.t. the reference point (min U, min L) = "
            f"({_fmt(rp[0])}, {_fmt(rp[1])}) (joint: {_fmt(pareto.get('joint_hypervolume'), 4)}). "
            f"Frontier share (not ε-dominated by another assistant on the same episode, "
            f"ε = {eps}) and L∞ regret to the episode's frontier, over each assistant's "
            f"episodes ({pareto.get('n_matched_all', 0)} episodes were run by all)."
        )
        lines.append("")
        rows = []
        for n in pn:
            m = pareto["means"][n]
            rows.append(
                [
                    n,
                    _fmt(m["user_welfare"]),
                    _fmt(m["llm_welfare"]),
                    _fmt(m["mutual_welfare_of_means"]),
                    "yes" if pareto["on_frontier"].get(n) else "no",
                    _fmt(pareto["hypervolume"].get(n), 4),
                    _pct(pareto["frontier_share"].get(n)),
                    _fmt(pareto["mean_linf_regret"].get(n)),
                ]
            )
        lines += _table(
            [
                "Assistant",
                "mean U",
                "mean L",
                "√(Ū·L̄)",
                "On frontier",
                "Hypervolume",
                "Frontier share",
                "L∞ regret",
            ],
            rows,
        )
        dom = pareto.get("eps_dominance") or {}
        if len(pn) >= 2 and dom:
            lines += [
                "",
                f"ε-dominance on matched episodes (row ε-dominates column; ε = {eps}):",
                "",
            ]
            rows = []
            for a in pn:
                cells = []
                for b in pn:
                    d = (dom.get(a) or {}).get(b)
                    cells.append(_DASH if a == b or not d else _pct(d.get("fraction")))
                rows.append([a, *cells])
            lines += _table(["", *pn], rows)

    if plot_files is None:
        plans = {p for n in names for p in (per[n].get("by_pricing") or {})}
        plot_files = {k: v for k, v in PLOT_FILES.items() if k != "pricing_shift" or len(plans) > 1}
    links = [(k, v) for k, v in plot_files.items() if v is not None]
    if links:
        lines += ["", "## Plots", ""]
        for key, file in links:
            rel = Path(file).name if Path(file).is_absolute() else str(file)
            caption = _PLOT_CAPTIONS.get(key, key)
            lines += [f"### {caption}", "", f"![{caption}]({rel})", ""]
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- console


def console_table(metrics: Mapping[str, Any]) -> Any:
    """A ``rich.table.Table`` of the assistants sorted by mutual welfare (descending)."""
    from rich import box
    from rich.table import Table

    per = _per(metrics)
    ref = metrics.get("reference")
    names = _sorted_by_mutual(metrics)
    table = Table(
        title="Assistants by mutual welfare √(U·L)",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        padding=(0, 0, 0, 1),
    )
    table.add_column("Assistant", no_wrap=True, min_width=max([9, *map(len, names)]))
    table.add_column("Mutual ± CI", justify="right", no_wrap=True)
    for col in ("U", "L", "Qual.", "Tok.", "Turns", "CQ% DQ", "CQ% VQ"):
        table.add_column(col, justify="right", no_wrap=True)
    for n in names:
        m = per[n]
        table.add_row(
            f"[bold]{n}[/bold]" if n == ref else n,
            _pm(m.get("mutual_welfare")).replace(" ± ", "±"),
            _fmt(_mean(m, "user_welfare")),
            _fmt(_mean(m, "llm_welfare")),
            _fmt(_mean(m, "answer_quality")),
            _fmt(_mean(m, "tokens"), 0),
            _fmt(_mean(m, "turns"), 2),
            _pct(_rate(m, "DQ")),
            _pct(_rate(m, "VQ")),
        )
    return table


def print_summary(metrics: Mapping[str, Any], console: Any = None) -> None:
    """Print :func:`console_table` and the :func:`findings` to a ``rich`` console."""
    if console is None:
        from rich.console import Console

        console = Console()
    console.print(console_table(metrics))
    console.print(_CONSOLE_LEGEND, style="dim", highlight=False)
    for line in findings(metrics):
        console.print(f"• {line}", highlight=False)
