"""The report of ``experiment=train_assistant`` (see
:mod:`~gtalign_sim.experiments.train_assistant`): analysis, figures and ``summary.md``.

Everything is read back from the run directory — ``episodes.jsonl`` (streamed) and the
variants' ``train/<variant>/curve.csv`` — so a finished run re-renders without torch.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .settings import Settings

__all__ = [
    "ALPHA",
    "COLUMNS",
    "PAIRED",
    "SHARE_THRESHOLD",
    "TABLE",
    "analyse",
    "plot_forests",
    "plot_learning_curves",
    "report",
    "training_summary",
]

ALPHA = 0.05
SHARE_THRESHOLD = 0.97
"""The acceptance bar: the Cobb–Douglas policy's share of the oracle's √(U·L)."""
COLUMNS: tuple[str, ...] = (
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "answer_quality",
    "tokens",
    "turns",
)
"""Per-episode columns read from the records (``tokens``: the assistant's)."""
TABLE: tuple[str, ...] = (*COLUMNS[:3], "sum_welfare", *COLUMNS[3:])
"""The training-based Table 5 (``sum_welfare`` = U + L on gains, per episode)."""
PAIRED: tuple[str, ...] = ("mutual_welfare", "sum_welfare")
_LABEL = {"mutual_welfare": "√(U·L)", "sum_welfare": "U+L"}


def _column(groups: Mapping[str, Any], name: str, metric: str) -> Any:
    import numpy as np

    c = groups[name]
    if metric == "sum_welfare":
        return np.asarray(c.column("user_welfare")) + np.asarray(c.column("llm_welfare"))
    return np.asarray(c.column(metric), dtype=float)


def _paired(groups: Mapping[str, Any], a: str, b: str, metric: str) -> tuple[Any, Any]:
    """``(a's values, b's values)`` of ``metric`` on the episodes both played."""
    import numpy as np

    from ..eval.columns import matched_rows

    keys, (ka, kb) = matched_rows(groups, [a, b])
    xa, xb = _column(groups, a, metric), _column(groups, b, metric)
    return np.array([xa[ka[k]] for k in keys]), np.array([xb[kb[k]] for k in keys])


def _verdict(t: Mapping[str, Any], words: tuple[str, str] = ("win", "loss")) -> str:
    """``words[0]`` when ``a − b`` is positive with Holm p < α, ``words[1]`` when
    negative, else ``tie``."""
    p = t.get("p_holm")
    if p is None or p >= ALPHA or t.get("lo") is None:
        return "tie"
    return words[0] if t["lo"] > 0 else words[1] if t["hi"] < 0 else "tie"


def _holm_family(tests: list[dict[str, Any]], words: tuple[str, str]) -> None:
    from ..eval.stats import holm

    for t, p in zip(tests, holm([t["p_value"] for t in tests]), strict=True):
        t["p_holm"] = p
        t["outcome"] = _verdict(t, words)


def analyse(
    groups: Mapping[str, Any],
    learned: Mapping[str, str],
    baselines: Sequence[str],
    reference: str,
    oracle: str = "oracle",
    actions: Mapping[str, Mapping[Any, Any]] | None = None,
) -> dict[str, Any]:
    """The ``train_assistant`` block of ``metrics.json`` from per-assistant
    :class:`~gtalign_sim.eval.columns.Columns` (:data:`COLUMNS`).

    ``learned`` maps each learned arm to its reward variant, ``reference`` is the
    Cobb–Douglas arm; ``actions`` (arm → episode → action sequence) gives the share of
    episodes each other variant plays exactly like the reference.
    """
    from ..eval.stats import mean_ci, paired_test, ratio_ci

    names = [n for n in (*learned, *baselines) if n in groups]
    table = {
        n: {"n": len(groups[n]), **{m: mean_ci(_column(groups, n, m)) for m in TABLE}}
        for n in names
    }
    shares = {}
    if oracle in groups:
        for n in names:
            if n != oracle:
                x, y = _paired(groups, n, oracle, "mutual_welfare")
                shares[n] = ratio_ci(x, y)
    others = [n for n in learned if n != reference and n in groups and reference in groups]
    comps: list[dict[str, Any]] = [{"cd": reference, "other": n} for n in others]
    for metric in PAIRED:
        tests = [paired_test(*_paired(groups, reference, c["other"], metric)) for c in comps]
        _holm_family(tests, ("win", "loss"))
        for c, t in zip(comps, tests, strict=True):
            c[metric] = t
    for c in comps:
        ref_play, other_play = (actions or {}).get(reference), (actions or {}).get(c["other"])
        if ref_play and other_play:
            common = set(ref_play) & set(other_play)
            same = sum(ref_play[k] == other_play[k] for k in common)
            c["same_actions"] = same / len(common) if common else None
    vs = [
        {"learned": n, "baseline": b}
        for n in learned
        if n in groups
        for b in baselines
        if b in groups
    ]
    tests = [
        paired_test(*_paired(groups, v["learned"], v["baseline"], "mutual_welfare")) for v in vs
    ]
    _holm_family(tests, ("higher", "lower"))
    for v, t in zip(vs, tests, strict=True):
        v["mutual_welfare"] = t
    ref_share = shares.get(reference) or {}
    return {
        "reference": reference,
        "oracle": oracle,
        "alpha": ALPHA,
        "policies": {n: {"reward": learned.get(n), "learned": n in learned} for n in names},
        "table": table,
        "share_of_oracle": shares,
        "comparisons": comps,
        "vs_baselines": vs,
        "claim_iii": {
            f"{c['cd']} vs {c['other']}": {m: c[m]["outcome"] for m in PAIRED} for c in comps
        },
        "acceptance": {
            "share_threshold": SHARE_THRESHOLD,
            "share": ref_share.get("mean"),
            "share_reached": ref_share.get("mean") is not None
            and ref_share["mean"] >= SHARE_THRESHOLD,
            "share_ci_above": ref_share.get("lo") is not None
            and ref_share["lo"] >= SHARE_THRESHOLD,
            "mutual_welfare_vs": {c["other"]: c["mutual_welfare"]["outcome"] for c in comps},
        },
    }


def training_summary(out: Path, variants: Sequence[str]) -> dict[str, Any]:
    """Per variant, from its ``curve.csv``: updates, env steps, training seconds and the
    last held-out evaluation of the greedy policy (``None`` when the file is missing)."""
    from ..train.curves import read_csv

    res: dict[str, Any] = {}
    for v in variants:
        path = Path(out) / "train" / v / "curve.csv"
        if not path.is_file():
            res[v] = None
            continue
        rows = read_csv(path)
        evals = [r for r in rows if r.get("eval_mutual") is not None]
        last, ev = (rows[-1] if rows else {}), (evals[-1] if evals else {})
        res[v] = {
            "updates": int(last.get("update") or 0),
            "env_steps": int(last.get("env_steps") or 0),
            "train_seconds": last.get("wall_s"),
            "eval_mutual": ev.get("eval_mutual"),
            "eval_user": ev.get("eval_user"),
            "eval_llm": ev.get("eval_llm"),
            "curve": str(path.relative_to(out)),
        }
    return res


def report(s: Settings, cfg: Any, rd: Any, wall: float | None, o: Any) -> dict[str, Any]:
    """The standard report (:func:`clarification_game.report`) plus the ``train_assistant``
    block of ``metrics.json``, ``train_assistant.png``, ``learning_curves.png`` and the
    sections heading ``summary.md``; everything from the run directory's files."""
    from ..eval.columns import Columns
    from ..eval.metrics import write_json_atomic
    from . import clarification_game
    from .figures import FigureWriter
    from .rundir import iter_jsonl, write_text_atomic
    from .train_assistant import REFERENCE_BASELINE, REFERENCE_VARIANT, learned_name
    from .train_assistant_summary import summary_head

    out = rd.path
    learned = {learned_name(v): v for v in o.variants}
    arm_names = (*learned, *o.baselines)
    standard_s = dataclasses.replace(s, assistants=arm_names, experiment="train_assistant")
    metrics = clarification_game.report(standard_s, cfg, rd, wall)
    groups: dict[str, Columns] = {}
    strings: dict[str, str] = {}
    actions: dict[str, dict[Any, str]] = {n: {} for n in learned}
    for _, rec in iter_jsonl(rd.episodes):
        if rec.get("failure"):
            continue
        name = str(rec["assistant"])
        groups.setdefault(name, Columns(COLUMNS)).append(rec, strings)
        if name in actions:
            actions[name][rec.get("episode")] = json.dumps(rec.get("actions"))
    for c in groups.values():
        c.sort_by_episode()  # the same sums whatever order a resumed run wrote in
    block = analyse(
        groups, learned, o.baselines, learned_name(REFERENCE_VARIANT), REFERENCE_BASELINE, actions
    )
    block["training"] = training_summary(out, o.variants)
    block["training_config"] = {
        "seed": s.seed,
        "total_steps": o.total_steps,
        "n_envs": o.n_envs,
        "rollout_steps": o.rollout_steps,
        "eval_every": o.eval_every,
        "eval_episodes": o.eval_episodes,
        "ppo": dict(o.ppo),
    }
    metrics["train_assistant"] = block
    write_json_atomic(metrics, out / "metrics.json")
    fig = FigureWriter(out, s.plots, s.plot_formats, s.plot_dpi)
    fig.add("train_assistant", "train_assistant", lambda p: plot_forests(block, p))
    fig.add(
        "learning_curves",
        "learning_curves",
        lambda p: plot_learning_curves(out, o.variants, block, p),
    )
    head = summary_head(block, s, wall, fig.links)
    standard = (out / "summary.md").read_text(encoding="utf-8")
    standard = standard.replace(
        "# Clarification game: assistants compared", "# Standard report (every arm)", 1
    ).replace("- **experiment**: clarification_game", "- **experiment**: train_assistant", 1)
    write_text_atomic(out / "summary.md", head + "\n" + standard)
    if s.print_table:
        print(head)
        if fig.written:
            print(f"wrote {out}/: {', '.join(fig.written)}")
    return metrics


# --------------------------------------------------------------------------- figures


def plot_forests(a: Mapping[str, Any], path: str | Path) -> Path | None:
    """``train_assistant.png``: each policy's share of the oracle's √(U·L) (95% CI, lines
    at 1 and at the 97% bar), and the paired differences Cobb–Douglas − other of √(U·L)
    and of U+L with their Holm verdicts."""
    from ..eval.forest import Panel, estimate, forest_axis, new_figure
    from ..eval.plots import assistant_color, save_figure

    shares = a["share_of_oracle"]
    if not shares:
        return None
    names = list(a["table"])
    comps = a["comparisons"]

    def short(name: str) -> str:  # the reward variant of a learned arm
        return a["policies"].get(name, {}).get("reward") or name

    share_rows = [
        estimate(n, shares[n], assistant_color(n, names), f"{shares[n]['mean']:.1%}")
        for n in shares
        if shares[n].get("mean") is not None
    ]
    panels = [
        Panel(f"share of {a['oracle']}'s √(U·L)", "ratio of paired means, 95% CI", share_rows, 1.0)
    ]
    for metric in PAIRED if comps else ():
        rows = [
            estimate(
                f"{short(c['cd'])} − {short(c['other'])}",
                c[metric],
                assistant_color(c["other"], names),
                c[metric]["outcome"],
            )
            for c in comps
        ]
        panels.append(Panel(f"Δ {_LABEL[metric]} on gains", "paired difference, 95% CI", rows))
    fig, axes = new_figure(len(panels), max(len(p.estimates) for p in panels))
    for i, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
        forest_axis(ax, panel)
        if i == 0:
            ax.axvline(SHARE_THRESHOLD, color="tab:red", lw=0.9, ls=":")
            lo, hi = ax.get_xlim()
            ax.set_xlim(min(lo, SHARE_THRESHOLD - 0.002), max(hi, 1.002))
    fig.suptitle("Learned policies (PPO) against the oracle; Cobb–Douglas reward vs others")
    return save_figure(fig, path)


def plot_learning_curves(
    out: Path, variants: Sequence[str], a: Mapping[str, Any], path: str | Path
) -> Path | None:
    """``learning_curves.png``: per variant, the training batches' √(U·L), and the greedy
    policy's held-out √(U·L), U and L against env steps. The held-out episodes are the
    trainer's; next to the √(U·L) curves, at the right-hand edge, the final policies'
    √(U·L) on the experiment's paired episodes (95% CI) and the oracle's on the same
    episodes (mean, 95% band): those are comparable with each other, not with the
    curves."""
    from matplotlib.figure import Figure

    from ..eval.plots import save_figure
    from ..train.curves import read_csv

    curves = {}
    for v in variants:
        p = Path(out) / "train" / v / "curve.csv"
        if p.is_file():
            curves[v] = read_csv(p)
    if not curves:
        return None
    fig = Figure(figsize=(14.0, 4.0), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = (
        (axes[0], "mutual_welfare", "-", "training batches: √(U·L) (sampled policy)"),
        (axes[1], "eval_mutual", "-", "held-out √(U·L) (greedy); ■ final, paired episodes"),
        (axes[2], "eval_user", "-", "held-out U (solid) and L (dashed)"),
        (axes[2], "eval_llm", "--", None),
    )
    for i, (v, rows) in enumerate(curves.items()):
        for ax, key, ls, _ in panels:
            pts = [(r["env_steps"], r[key]) for r in rows if r.get(key) is not None]
            if pts:
                label = v if ls == "-" else None
                ax.plot(*zip(*pts, strict=True), ls=ls, color=f"C{i}", lw=1.3, label=label)
    # the paired evaluation episodes (other episodes than the curves'): the final
    # policies at the right-hand edge and the oracle's band, comparable with each other
    ax, table = axes[1], a["table"]
    names = {p["reward"]: n for n, p in a["policies"].items() if p["learned"]}
    x_end = max(r["env_steps"] for rows in curves.values() for r in rows)
    for i, v in enumerate(curves):
        stat = table.get(names.get(v, ""), {}).get("mutual_welfare") or {}
        if stat.get("mean") is not None and stat.get("lo") is not None:
            err = [[stat["mean"] - stat["lo"]], [stat["hi"] - stat["mean"]]]
            x = x_end * (1.03 + 0.015 * i)
            ax.errorbar([x], [stat["mean"]], yerr=err, fmt="s", ms=4, color=f"C{i}", capsize=2)
    oracle = table.get(a["oracle"], {}).get("mutual_welfare") or {}
    if oracle.get("mean") is not None:
        label = "oracle, paired episodes (95% CI)"
        ax.axhline(oracle["mean"], color="0.2", lw=1.0, ls="--", label=label)
        if oracle.get("lo") is not None:
            ax.axhspan(oracle["lo"], oracle["hi"], color="0.5", alpha=0.15, lw=0)
    for ax, _, _, title in panels:
        if title:
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("env steps (assistant turns)", fontsize=9)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
            ax.legend(fontsize=8, title="reward", title_fontsize=8)
    fig.suptitle("PPO learning curves, one per reward variant (same seed)", fontsize=11)
    return save_figure(fig, path)
