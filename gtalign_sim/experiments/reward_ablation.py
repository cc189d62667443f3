"""``experiment=reward_ablation``: the assistant's objective ablated (GTAlign's claim iii).

GTAlign claims (iii) that rewarding the Cobb–Douglas mutual welfare √(U·L) beats the
linear U+L, user-only U and LLM-only L rewards on social welfare. Here each objective's
exact best response (Game v1, :class:`~gtalign_sim.agents.OracleAssistant`, privileged
planning with the users' own model) plays the same episodes (common random numbers):
``oracle`` (√(U⁺·L⁺)), ``linear_welfare`` (U+L), ``user_only`` (U) and ``selfish_llm``
(L), plus, configurable, the paper's inference-time variants ``gtalign`` (the prompt's
rule: Pareto, then max U+L) and ``gtalign_cd`` (max √(U·L), the training reward's rule).

The report: per assistant, mean U and L (gains and levels), √(U·L) on gains, U+L, answer
quality, tokens, turns and format with 95% t intervals (the paper's Table 5 analogue);
paired differences ``other − Cobb–Douglas`` of √(U·L) and of U+L (paired t intervals,
Holm-adjusted p over each metric's comparisons) with the Cobb–Douglas side's outcome (win
or loss needs Holm p < 0.05, else tie); the Pareto analysis on matched episodes and the
standard report. Files: ``metrics.json`` (standard metrics, reference ``oracle``, plus
``reward_ablation``), ``summary.md``, ``reward_ablation.png`` (forests of the paired
differences, the (U, L) means), ``welfare_plane.png``, ``action_mix.png`` and, with
several pricing plans, ``pricing_shift.png``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .execution import failures_markdown
from .runner import Arm, report_experiment, run_experiment
from .settings import Settings, container

__all__ = [
    "COLUMNS",
    "INFERENCE",
    "OBJECTIVES",
    "PAIRED",
    "REFERENCE",
    "TABLE",
    "analyse",
    "arms",
    "comparisons",
    "options",
    "plot_ablation",
    "report",
    "report_run",
    "run",
]

OBJECTIVES: dict[str, str] = {
    "oracle": "Cobb–Douglas √(U·L)",
    "linear_welfare": "linear U+L",
    "user_only": "user-only U",
    "selfish_llm": "LLM-only L",
}
"""Exact best responses by the objective they maximise (the ablated rewards)."""

INFERENCE: dict[str, str] = {
    "gtalign": "prompt rule: Pareto, then max U+L",
    "gtalign_cd": "max √(U·L) (training reward's rule)",
}
"""The paper's inference-time variants (public information, the 2×3 payoff matrix)."""

REFERENCE = "oracle"
"""The Cobb–Douglas assistant every other arm is compared with."""

COLUMNS: tuple[str, ...] = (
    "user_welfare",
    "llm_welfare",
    "user_level",
    "llm_level",
    "mutual_welfare",
    "answer_quality",
    "tokens",
    "turns",
    "format_score",
)
"""Per-episode columns read from the records (``tokens``: the assistant's)."""
TABLE: tuple[str, ...] = (*COLUMNS[:5], "sum_welfare", *COLUMNS[5:])
"""Per-assistant summaries (``sum_welfare`` = U + L on gains, per episode)."""
PAIRED: tuple[str, ...] = ("mutual_welfare", "sum_welfare")
"""The social-welfare measures compared on paired episodes."""
_ALPHA = 0.05


def _names(cfg: Any, key: str, allowed: Mapping[str, str], default: Sequence[str]) -> list[str]:
    node = (cfg.get("reward_ablation") or {}).get(key)
    value = container(node) if node is not None else list(default)
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise ValueError(f"reward_ablation.{key} must be a list of names, got {value!r}")
    bad = [v for v in value if v not in allowed]
    if bad or len(set(value)) != len(value):
        raise ValueError(
            f"reward_ablation.{key} {value} invalid (unknown or repeated names); "
            f"valid choices: {list(allowed)}"
        )
    return value


def options(cfg: Any) -> tuple[list[str], list[str]]:
    """``(objectives, inference)`` of ``cfg.reward_ablation``, checked: ``objectives``
    holds ``oracle`` and at least one other of :data:`OBJECTIVES`; ``inference`` any of
    :data:`INFERENCE` (may be empty)."""
    objectives = _names(cfg, "objectives", OBJECTIVES, list(OBJECTIVES))
    if REFERENCE not in objectives or len(objectives) < 2:
        raise ValueError(
            f"reward_ablation.objectives {objectives} invalid: needs {REFERENCE!r} (the "
            f"Cobb–Douglas reference) and at least one of {list(OBJECTIVES)[1:]}"
        )
    return objectives, _names(cfg, "inference", INFERENCE, list(INFERENCE))


def arms(s: Settings, cfg: Any) -> list[Arm]:
    """One arm per objective, then per inference-time variant; nothing forced."""
    objectives, inference = options(cfg)
    return [Arm(name) for name in (*objectives, *inference)]


def comparisons(objectives: Sequence[str], inference: Sequence[str]) -> list[dict[str, str]]:
    """The paired comparisons ``other − cd``: every other objective and every inference
    variant against the oracle, and ``gtalign − gtalign_cd`` (the Cobb–Douglas rule
    against the prompt's sum rule) when both variants run. ``kind`` is ``objective``,
    ``inference_vs_oracle`` or ``inference_rule``; claim (iii) is about the first and
    the last."""
    out = [{"other": o, "cd": REFERENCE, "kind": "objective"} for o in objectives if o != REFERENCE]
    out += [{"other": v, "cd": REFERENCE, "kind": "inference_vs_oracle"} for v in inference]
    if "gtalign" in inference and "gtalign_cd" in inference:
        out.append({"other": "gtalign", "cd": "gtalign_cd", "kind": "inference_rule"})
    return out


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play every arm on the same episodes (streamed to ``episodes.jsonl``),
    write the report; returns the metrics (run directory, resume and signals as in
    :func:`~gtalign_sim.experiments.runner.run_experiment`)."""
    options(cfg)  # checked before any work
    return run_experiment(cfg, arms, report)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes (nothing is played)."""
    return report_experiment(cfg, path, report)


# --------------------------------------------------------------------------- analysis


def _outcome(test: Mapping[str, Any]) -> str:
    """``win`` / ``loss`` / ``tie`` of the Cobb–Douglas side of ``other − cd``."""
    p = test.get("p_holm")
    if p is None or p >= _ALPHA or test.get("lo") is None:
        return "tie"
    if test["hi"] < 0:
        return "win"
    if test["lo"] > 0:
        return "loss"
    return "tie"


def analyse(
    groups: Mapping[str, Any], objectives: Sequence[str], inference: Sequence[str]
) -> dict[str, Any]:
    """The ablation block of ``metrics.json`` from per-assistant columns
    (:class:`~gtalign_sim.eval.columns.Columns` with :data:`COLUMNS`)."""
    import numpy as np

    from ..eval.columns import matched_rows
    from ..eval.stats import holm, mean_ci, paired_test

    def column(name: str, metric: str) -> np.ndarray:
        c = groups[name]
        if metric == "sum_welfare":
            return np.asarray(c.column("user_welfare")) + np.asarray(c.column("llm_welfare"))
        return np.asarray(c.column(metric), dtype=float)

    names = [n for n in (*objectives, *inference) if n in groups]
    table = {n: {"n": len(groups[n]), **{m: mean_ci(column(n, m)) for m in TABLE}} for n in names}
    comps = [c for c in comparisons(objectives, inference) if {c["other"], c["cd"]} <= set(names)]
    for metric in PAIRED:
        tests = []
        for c in comps:
            keys, (ko, kc) = matched_rows(groups, [c["other"], c["cd"]])
            a, b = column(c["other"], metric), column(c["cd"], metric)
            tests.append(paired_test([a[ko[k]] for k in keys], [b[kc[k]] for k in keys]))
        for c, t, p_holm in zip(comps, tests, holm([t["p_value"] for t in tests]), strict=True):
            c[metric] = {**t, "p_holm": p_holm, "outcome": _outcome({**t, "p_holm": p_holm})}
    claim = {
        f"{c['cd']} vs {c['other']}": {m: c[m]["outcome"] for m in PAIRED}
        for c in comps
        if c["kind"] != "inference_vs_oracle"
    }
    return {
        "reference": REFERENCE,
        "objectives": {n: OBJECTIVES[n] for n in objectives},
        "inference": {n: INFERENCE[n] for n in inference},
        "alpha": _ALPHA,
        "table": table,
        "comparisons": comps,
        "claim_iii": claim,
    }


def report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """metrics.json, the figures and summary.md from episodes.jsonl (streamed, atomic)."""
    from ..eval import plots, summary_markdown
    from ..eval.columns import Columns
    from ..eval.metrics import MetricsAccumulator, write_json_atomic
    from ..eval.tidy import write_metrics_csv
    from .figures import FigureWriter
    from .rundir import iter_jsonl, write_text_atomic

    objectives, inference = options(cfg)
    out = rd.path
    acc = MetricsAccumulator()
    groups: dict[str, Columns] = {}
    strings: dict[str, str] = {}
    for _, rec in iter_jsonl(rd.episodes):
        acc.add(rec)
        if not rec.get("failure"):
            groups.setdefault(str(rec["assistant"]), Columns(COLUMNS)).append(rec, strings)
    for c in groups.values():
        c.sort_by_episode()  # the same sums whatever order a resumed run wrote in
    metrics = acc.result(reference=REFERENCE, canonical=True)
    del acc
    metrics["reward_ablation"] = ablation = analyse(groups, objectives, inference)
    write_json_atomic(metrics, out / "metrics.json")
    write_metrics_csv(metrics, out / "metrics.csv", run=out.name)
    fig = FigureWriter(out, s.plots, s.plot_formats, s.plot_dpi)
    fig.add("reward_ablation", "reward_ablation", lambda p: plot_ablation(ablation, p))
    fig.add(
        "welfare_plane",
        "welfare_plane",
        lambda p: plots.plot_welfare_plane((rec for _, rec in iter_jsonl(rd.episodes)), metrics, p),
    )
    fig.add("action_mix", "action_mix", lambda p: plots.plot_action_mix(metrics, p))
    if len(s.population.pricing) > 1:
        fig.add("pricing_shift", "pricing_shift", lambda p: plots.plot_pricing_shift(metrics, p))
    images = fig.links
    head = _ablation_markdown(ablation, metrics["pareto"], s, wall, images.get("reward_ablation"))
    config_summary = {
        "experiment": "reward_ablation",
        "seed": s.seed,
        "families": list(s.families),
        "episodes_per_assistant": s.episodes_per_family * len(s.families),
        "pricing": dict(s.population.pricing),
        "oracle_particles": s.oracle_particles,
    }
    standard = summary_markdown(
        metrics,
        config_summary,
        title="Standard report (every arm; reference: oracle)",
        plot_files={k: v for k, v in images.items() if k != "reward_ablation"},
    )
    write_text_atomic(
        out / "summary.md",
        head + "\n" + standard + failures_markdown(metrics.get("failures") or {}),
    )
    if s.print_table:
        print(head)
        print(
            f"wrote {out}/: episodes.jsonl, metrics.json, metrics.csv, summary.md, "
            + ", ".join(fig.written)
        )
    return metrics


# --------------------------------------------------------------------------- figure


def plot_ablation(a: Mapping[str, Any], path: str | Path) -> Path:
    """``reward_ablation.png``: forests of the paired differences of √(U·L) and of U+L
    (``other − Cobb–Douglas side``, 95% CI, zero line, the outcome noted), and the mean
    (U, L) gains of every assistant with their 95% intervals."""
    from ..eval.forest import Panel, estimate, forest_axis, new_figure, plane_axis, save_figure
    from ..eval.plots import assistant_color

    names = list(a["table"])
    comps = a["comparisons"]
    fig, axes = new_figure(3, max(len(comps), len(names)))
    for i, metric in enumerate(PAIRED):
        rows = []
        for c in comps:
            note = {"win": f"{c['cd']} better", "loss": f"{c['other']} better", "tie": "tie"}
            rows.append(
                estimate(
                    f"{c['other']} − {c['cd']}",
                    c[metric],
                    assistant_color(c["other"], names),
                    note[c[metric]["outcome"]],
                )
            )
        title = "Δ √(U·L) on gains" if metric == "mutual_welfare" else "Δ (U+L) on gains"
        panel = Panel(title, "paired difference, 95% CI (Holm outcome)", rows)
        forest_axis(axes[i], panel, show_labels=i == 0)
    points = [
        (
            estimate(n, a["table"][n]["user_welfare"], assistant_color(n, names)),
            estimate(n, a["table"][n]["llm_welfare"], assistant_color(n, names)),
        )
        for n in names
    ]
    plane_axis(
        axes[2], points, "mean user gain U (95% CI)", "mean LLM gain L (95% CI)", "(U, L) means"
    )
    return save_figure(fig, path)


# --------------------------------------------------------------------------- summary.md


def _pm(stat: Mapping[str, Any], digits: int = 3) -> str:
    if stat.get("mean") is None:
        return "–"
    if stat.get("lo") is None or (stat.get("n") or 0) < 2:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {(stat['hi'] - stat['lo']) / 2:.{digits}f}"


def _diff(t: Mapping[str, Any]) -> str:
    if t.get("mean") is None:
        return "–"
    return f"{t['mean']:+.4f} [{t['lo']:+.4f}, {t['hi']:+.4f}]"


def _p(p: float | None) -> str:
    return "–" if p is None else ("<0.0001" if p < 1e-4 else f"{p:.4f}")


_WORDS = {"win": "Cobb–Douglas wins", "loss": "Cobb–Douglas loses", "tie": "tie"}


def _ablation_markdown(
    a: Mapping[str, Any],
    pareto: Mapping[str, Any],
    s: Settings,
    wall: float | None,
    figure: str | None,
) -> str:
    n = s.episodes_per_family * len(s.families)
    lines = [
        "# Reward ablation: Cobb–Douglas vs linear, user-only and LLM-only objectives",
        "",
        f"{n} paired episodes per assistant (common random numbers), seed {s.seed}, "
        f"pricing {dict(s.population.pricing)}, oracle particles {s.oracle_particles}"
        + (f", {wall:.1f} s wall time." if wall is not None else "."),
        "",
        "## Claim (iii): Cobb–Douglas mutual welfare beats the other objectives",
        "",
        f"Outcome of the Cobb–Douglas side on paired episodes; win or loss needs the "
        f"Holm-adjusted p below {a['alpha']}, anything else is a tie.",
        "",
    ]
    for c in a["comparisons"]:
        if c["kind"] == "inference_vs_oracle":
            continue
        what = "objective" if c["kind"] == "objective" else "inference rule"
        parts = [
            f"{'√(U·L)' if m == 'mutual_welfare' else 'U+L'}: **{_WORDS[c[m]['outcome']]}** "
            f"(Δ {_diff(c[m])}, p_holm {_p(c[m]['p_holm'])})"
            for m in PAIRED
        ]
        lines.append(f"- {c['cd']} vs {c['other']} ({what}): " + "; ".join(parts))
    verdict = {"win": [], "tie": [], "loss": []}
    for key, v in a["claim_iii"].items():
        verdict[v["mutual_welfare"]].append(key.split(" vs ")[1])
    lines.append(
        "- **Verdict on √(U·L)**: claim (iii) holds against "
        + (", ".join(verdict["win"]) or "none")
        + "; tie against "
        + (", ".join(verdict["tie"]) or "none")
        + "; contradicted against "
        + (", ".join(verdict["loss"]) or "none")
        + "."
    )
    dom = pareto.get("eps_dominance") or {}
    if dom:
        pairs = [
            f"{c['cd']} over {c['other']} {dom[c['cd']][c['other']]['fraction']:.0%}, "
            f"reverse {dom[c['other']][c['cd']]['fraction']:.0%}"
            for c in a["comparisons"]
            if c["kind"] != "inference_vs_oracle" and c["cd"] in dom and c["other"] in dom
        ]
        lines += [
            f"- Pareto: frontier of the mean (U, L) points: {', '.join(pareto['frontier'])}; "
            f"ε-dominance on matched episodes (ε = {pareto['eps']}): " + "; ".join(pairs) + ".",
        ]
    lines += [
        "",
        "## Per assistant (Table 5 analogue; means ± 95% t half-widths)",
        "",
        "U, L: gains over no interaction; levels clip((gain + 1)/2, 0, 1). "
        "√(U·L) per episode on gains; tokens: assistant tokens.",
        "",
        "| assistant | objective | n | U | L | U level | L level | √(U·L) | U+L "
        "| answer quality | tokens | turns | format |",
        "|---|---|---|" + "---|" * 10,
    ]
    labels = {**a["objectives"], **a["inference"]}
    for name, row in a["table"].items():
        cells = [_pm(row[m], 0 if m == "tokens" else 2 if m == "turns" else 3) for m in TABLE]
        lines.append(f"| {name} | {labels[name]} | {row['n']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Paired differences (other − Cobb–Douglas side), Holm over each metric's family",
        "",
        "| comparison | Δ √(U·L) [95% CI] | p | p_holm | Δ U+L [95% CI] | p | p_holm | n |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in a["comparisons"]:
        m, l = c["mutual_welfare"], c["sum_welfare"]
        lines.append(
            f"| {c['other']} − {c['cd']} | {_diff(m)} | {_p(m['p_value'])} | "
            f"{_p(m['p_holm'])} | {_diff(l)} | {_p(l['p_value'])} | {_p(l['p_holm'])} "
            f"| {m['n']} |"
        )
    if figure:
        lines += ["", f"![paired differences and (U, L) means]({figure})"]
    return "\n".join(lines) + "\n"
