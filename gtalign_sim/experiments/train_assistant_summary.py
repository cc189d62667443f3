"""The sections heading ``summary.md`` of ``experiment=train_assistant``: the acceptance
figures, claim (iii) with learned policies, shares of the oracle, the training-based
Table 5, learned policies against the baselines and the training runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .settings import Settings

__all__ = ["summary_head"]

_WORDS = {"win": "Cobb–Douglas wins", "loss": "Cobb–Douglas loses", "tie": "tie"}
_TABLE = (
    ("user_welfare", 3),
    ("llm_welfare", 3),
    ("mutual_welfare", 3),
    ("sum_welfare", 3),
    ("answer_quality", 3),
    ("tokens", 0),
    ("turns", 2),
)


def _pm(stat: Mapping[str, Any] | None, digits: int = 3) -> str:
    stat = stat or {}
    if stat.get("mean") is None:
        return "–"
    if stat.get("lo") is None or (stat.get("n") or 0) < 2:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {(stat['hi'] - stat['lo']) / 2:.{digits}f}"


def _diff(t: Mapping[str, Any], digits: int = 4) -> str:
    if t.get("mean") is None:
        return "–"
    lo, hi = t.get("lo"), t.get("hi")
    if lo is None or hi is None:
        return f"{t['mean']:+.{digits}f}"
    return f"{t['mean']:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def _share(t: Mapping[str, Any] | None) -> str:
    t = t or {}
    if t.get("mean") is None:
        return "–"
    if t.get("lo") is None:
        return f"{t['mean']:.2%}"
    return f"{t['mean']:.2%} [{t['lo']:.2%}, {t['hi']:.2%}]"


def _p(p: float | None) -> str:
    return "–" if p is None else ("<0.0001" if p < 1e-4 else f"{p:.4f}")


def _num(x: Any, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def summary_head(
    a: Mapping[str, Any], s: Settings, wall: float | None, links: Mapping[str, str]
) -> str:
    """The Markdown sections of the ``train_assistant`` block ``a`` (see
    :func:`~gtalign_sim.experiments.train_assistant_report.analyse`)."""
    ref, oracle = a["reference"], a["oracle"]
    acc, tc = a["acceptance"], a["training_config"]
    n = s.episodes_per_family * len(s.families)
    lines = [
        "# Trained assistants: Cobb–Douglas vs linear, user-only and LLM-only rewards",
        "",
        f"PPO policies, one per reward variant, each trained for {tc['total_steps']} env "
        f"steps ({tc['n_envs']} envs × {tc['rollout_steps']} steps per update) from the same "
        f"seed {tc['seed']}, then played greedily on {n} paired episodes (common random "
        f"numbers) with the baselines, pricing {dict(s.population.pricing)}, oracle "
        f"particles {s.oracle_particles}"
        + (f"; {wall:.1f} s wall time for the episodes and report." if wall is not None else "."),
        "",
        "## Acceptance",
        "",
        f"- {ref} reaches **{_share(a['share_of_oracle'].get(ref))}** of {oracle}'s "
        f"√(U·L) (ratio of paired means, delta-method 95% CI): the {acc['share_threshold']:.0%} "
        f"bar is {'**reached**' if acc['share_reached'] else '**not reached**'}"
        + (" (the whole interval above it)." if acc["share_ci_above"] else "."),
    ]
    for c in a["comparisons"]:
        t = c["mutual_welfare"]
        lines.append(
            f"- {ref} − {c['other']}: Δ √(U·L) {_diff(t)}, p_holm {_p(t.get('p_holm'))}: "
            f"**{_WORDS[t['outcome']]}**"
        )
    lines += [
        "",
        "## Claim (iii) with learned policies (Cobb–Douglas − other, paired t, Holm)",
        "",
        f"Win or loss needs the Holm-adjusted p (over each metric's comparisons) below "
        f"{a['alpha']}; anything else is a tie. *same play*: the share of episodes on which "
        "the two policies took exactly the same actions.",
        "",
        "| comparison | Δ √(U·L) [95% CI] | p_holm | outcome | Δ U+L [95% CI] | p_holm "
        "| outcome | same play | n |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in a["comparisons"]:
        m, l = c["mutual_welfare"], c["sum_welfare"]
        same = c.get("same_actions")
        lines.append(
            f"| {c['cd']} − {c['other']} | {_diff(m)} | {_p(m.get('p_holm'))} | {m['outcome']} "
            f"| {_diff(l)} | {_p(l.get('p_holm'))} | {l['outcome']} "
            f"| {_num(same, '.1%')} | {m['n']} |"
        )
    verdict: dict[str, list[str]] = {"win": [], "tie": [], "loss": []}
    for c in a["comparisons"]:
        verdict[c["mutual_welfare"]["outcome"]].append(c["other"])
    if a["comparisons"]:
        lines += [
            "",
            "**Verdict on √(U·L)**: the Cobb–Douglas reward's policy is better than "
            + (", ".join(verdict["win"]) or "none")
            + "; tied with "
            + (", ".join(verdict["tie"]) or "none")
            + "; worse than "
            + (", ".join(verdict["loss"]) or "none")
            + ".",
        ]
    lines += [
        "",
        f"## Share of {oracle}'s mutual welfare (ratio of paired means, 95% CI)",
        "",
        "| policy | share of √(U·L) | n |",
        "|---|---|---|",
    ]
    for name, t in a["share_of_oracle"].items():
        lines.append(f"| {name} | {_share(t)} | {t.get('n')} |")
    lines += [
        "",
        "## Training-based Table 5 (means ± 95% t half-widths)",
        "",
        "U, L: gains over no interaction; √(U·L) per episode on gains; tokens: the assistant's.",
        "",
        "| policy | reward | n | U | L | √(U·L) | U+L | answer quality | tokens | turns |",
        "|---|---|---|" + "---|" * 7,
    ]
    for name, row in a["table"].items():
        reward = a["policies"][name]["reward"] or "(baseline)"
        cells = [_pm(row[m], d) for m, d in _TABLE]
        lines.append(f"| {name} | {reward} | {row['n']} | " + " | ".join(cells) + " |")
    baselines = list(dict.fromkeys(v["baseline"] for v in a["vs_baselines"]))
    if baselines:
        lines += [
            "",
            "## Learned policies against the baselines (Δ √(U·L), learned − baseline, "
            "Holm over the whole table)",
            "",
            "| learned | " + " | ".join(baselines) + " |",
            "|---|" + "---|" * len(baselines),
        ]
        by = {(v["learned"], v["baseline"]): v["mutual_welfare"] for v in a["vs_baselines"]}
        for name in dict.fromkeys(v["learned"] for v in a["vs_baselines"]):
            cells = [
                f"{_diff(by[(name, b)])} {by[(name, b)]['outcome']}" if (name, b) in by else "–"
                for b in baselines
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Training (last held-out evaluation of the greedy policy, its own episodes)",
        "",
        "| variant | updates | env steps | training s | held-out √(U·L) | U | L |",
        "|---|---|---|---|---|---|---|",
    ]
    for v, t in a["training"].items():
        if t is None:
            lines.append(f"| {v} | no curve.csv | | | | | |")
            continue
        lines.append(
            f"| {v} | {t['updates']} | {t['env_steps']} | {_num(t['train_seconds'], '.1f')} "
            f"| {_num(t['eval_mutual'], '.4f')} | {_num(t['eval_user'], '.4f')} "
            f"| {_num(t['eval_llm'], '.4f')} |"
        )
    for key, text in (
        ("train_assistant", "shares of the oracle and paired differences"),
        ("learning_curves", "learning curves"),
    ):
        if key in links:
            lines += ["", f"![{text}]({links[key]})"]
    return "\n".join(lines) + "\n"
