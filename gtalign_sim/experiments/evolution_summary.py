"""``summary.md`` of ``experiment=evolution`` (from its metrics; nothing is computed here
but wording)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..eval.tidy import long_row as _row
from .prisoners_dilemma import matrix_table

__all__ = ["metrics_rows", "summary_markdown"]


def _ci(c: Mapping[str, float], digits: int = 3) -> str:
    if c["hi"] - c["lo"] < 10 ** -(digits + 1):
        return f"{c['mean']:.{digits}f}"
    return f"{c['mean']:.{digits}f} [{c['lo']:.{digits}f}, {c['hi']:.{digits}f}]"


def _pm(c: Mapping[str, float], digits: int = 3) -> str:
    half = (c["hi"] - c["lo"]) / 2
    return f"{c['mean']:.{digits}f}" + (f"±{half:.{digits}f}" if half >= 10**-digits else "")


def _pct(v: float) -> str:
    return "<1%" if 0 < v < 0.005 else f"{v:.0%}"


def _gain(g: Mapping[str, float]) -> str:
    fmt = "+.4f" if abs(g["mean"]) >= 1e-3 else "+.1e"
    if g["hi"] - g["lo"] < 1e-9:
        return f"{g['mean']:{fmt}}/round"
    return f"{g['mean']:{fmt}} [{g['lo']:{fmt}}, {g['hi']:{fmt}}]/round"


def _pairs(pairs: list[list[str]]) -> str:
    return ", ".join(f"({a}, {b})" for a, b in pairs) if pairs else "none"


def _stage(m: Mapping[str, Any]) -> list[str]:
    st = m["stage_game"]
    b = st["bootstrap"]
    lines = [
        "## The stage game (measured)",
        "",
        f"{st['episodes_per_cell']} paired episodes per cell, scenario={m['scenario']}, "
        f"pricing {m['pricing']}; mean gains ± 95% CI (1.96 SE):",
        "",
        *matrix_table(st),
    ]
    lines += [
        "",
        f"- game type **{st['game_type']}** (same in {b['same_type_fraction']:.0%} of "
        f"{b['n']} paired bootstrap resamples: {b['types']}); a social dilemma in "
        f"{b['dilemma_fraction']:.0%} of them; equilibria {st['equilibria']}.",
        "",
    ]
    return lines


def _replicator(g: Mapping[str, Any]) -> list[str]:
    r = g["replicator"]
    basins = ", ".join(f"{k} {_pct(v)}" for k, v in r["basins"].items())
    drifting = sum(r["drifting"])
    lines = [
        f"- **{g['name']}** ({g['source']}; type {g['game_type']}): from the "
        f"{r['grid']}×{r['grid']} starts the paths end at {basins} (t = {r['horizon']:g}"
        + (f"; {drifting} of them still drifting" if drifting else "; all settled")
        + ").",
    ]
    b = r.get("bootstrap")
    if b:
        ends = ", ".join(f"{k} {_pct(v)}" for k, v in b["end_labels"].items())
        lines.append(
            f"  On {b['n']} bootstrap resamples of the stage game {b['same_end_fraction']:.0%} "
            f"of the runs end where the point estimate's do (every start in "
            f"{b['all_starts_same_fraction']:.0%} of the resamples); all runs end at: {ends}."
        )
    return lines


def _tournament(g: Mapping[str, Any], rounds: int, seeds: int, tail: float) -> list[str]:
    t = g["tournament"]
    names = t["strategies"]
    by = {(p["user"], p["assistant"]): p for p in t["pairs"]}
    lines = [
        f"### {g['name']} ({g['source']})",
        "",
        "Payoff per round, `U (user) / L (assistant)`, mean ± 95% t-CI over seeds (no ± "
        "when every seed plays the same); rows: the user's strategy, columns: the "
        "assistant's.",
        "",
        "| user \\ assistant | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for a in names:
        cells = [f"{_pm(by[a, b]['U'])} / {_pm(by[a, b]['L'])}" for b in names]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"- mutual cooperation (cell {g['rows'][0]}/{g['cols'][0]}) in ≥ "
        f"{t['cooperation_threshold']:.0%} of the last {tail:.0%} of rounds: "
        f"{_pairs(t['cooperative'])}",
        f"- of those, sustained (no side gains by switching to another entrant: the 95% "
        f"interval of every switch's gain reaches 0 or below): {_pairs(t['sustained'])}",
        "- pairs with no profitable switch for either side (equilibria of the tournament "
        "game, ties included): "
        + (
            _pairs(t["equilibria"])
            if len(t["equilibria"]) <= 12
            else f"{len(t['equilibria'])} of {len(t['pairs'])} (most switches are ties)"
        ),
    ]
    broken = [by[a, b] for a, b in t["cooperative"] if [a, b] not in t["sustained"]]
    for p in broken:
        why = [
            f"the {who} gains by switching to "
            + ", ".join(f"{g['to']} ({_gain(g)})" for g in p[key]["profitable"][:2])
            + (
                f" and {len(p[key]['profitable']) - 2} more"
                if len(p[key]["profitable"]) > 2
                else ""
            )
            for who, key in (("user", "user_switch"), ("assistant", "assistant_switch"))
            if p[key]["profitable"]
        ]
        lines.append(f"  - ({p['user']}, {p['assistant']}) is not sustained: {'; '.join(why)}")
    if t["learners"]:
        lines += [
            "",
            f"Independent learners against each other ({rounds} rounds, {seeds} seeds): "
            f"share of cooperative actions over the last {tail:.0%} of rounds, mean "
            "[95% CI over seeds]:",
            "",
            f"| user | assistant | user plays {g['rows'][0]} | assistant plays "
            f"{g['cols'][0]} | U | L |",
            "|---|---|---|---|---|---|",
        ]
        for p in t["learners"]:
            lines.append(
                f"| {p['user']} | {p['assistant']} | {_ci(p['user_cooperation'], 2)} | "
                f"{_ci(p['assistant_cooperation'], 2)} | {_ci(p['U'])} | {_ci(p['L'])} |"
            )
    lines.append("")
    return lines


def summary_markdown(
    m: Mapping[str, Any], links: Mapping[str, str], wall: float | None = None
) -> str:
    """The run's summary: the stage game, the dynamics' ends and their robustness, the
    tournament tables, cooperative and sustained pairs, the learners, the figures."""
    cfg = m["settings"]
    lines = [
        "# Evolution: replicator dynamics and repeated play on the empirical game",
        "",
        f"Seed {m['seed']}" + (f", {wall:.1f} s wall time." if wall is not None else "."),
        "Games marked *textbook reference* are presets from `gtalign_sim.game.presets`, "
        "shown for contrast: they are not simulation results.",
        "",
        *_stage(m),
        "## Replicator dynamics (two populations, nashpy)",
        "",
        "x = share of users on the first strategy, y = share of assistants on the first "
        "(mutual-welfare) policy. An end is named by the corner it reaches (both shares "
        "within 0.01 of 0 or 1), `<strategy>/mixed` or `mixed/<policy>` on an edge (one "
        "population settled, the other split), else `mixed`; *drifting* ends still move "
        "(speed × t > 0.01): a near-neutral direction not settled within t.",
        "",
    ]
    for g in m["games"].values():
        lines += _replicator(g)
    if "replicator" in links:
        lines += ["", f"![replicator dynamics]({links['replicator']})"]
    lines += [
        "",
        f"## Repeated game: round-robin tournament ({cfg['rounds']} rounds, {cfg['seeds']} seeds)",
        "",
        "The stage game as `MatrixGameEnv` (memory 1). A switch's gain re-prices the "
        "pair's cell frequencies on bootstrap resamples of the stage game and the seeds, so "
        "a gain inside the measurement noise is a tie, not a profitable switch.",
        "",
    ]
    for g in m["games"].values():
        lines += _tournament(g, cfg["rounds"], cfg["seeds"], cfg["tail"])
    if "tournament" in links:
        lines += [f"![tournament]({links['tournament']})", ""]
    return "\n".join(lines)


_PAIR_KEYS = ("U", "L", "user_cooperation", "assistant_cooperation", "mutual_cooperation")


def metrics_rows(m: Mapping[str, Any], run: str) -> list[dict[str, Any]]:
    """Long-form rows (:data:`~gtalign_sim.eval.tidy.COLUMNS`) of an evolution run: the
    measured stage game (group ``game=measured,strategy=<s>``: ``user_welfare`` and
    ``llm_welfare`` per policy with 95% CI and ``n`` episodes per cell;
    ``price_of_anarchy`` with its bootstrap CI, ``dilemma_fraction``,
    ``same_type_fraction``); per game (group ``game=<name>``) the replicator's
    ``basin_share`` (``…,end=<label>``) and bootstrap ``same_end_fraction``,
    ``all_starts_same_fraction``; per tournament pair (assistant = the assistant's
    strategy, group ``game=<name>,user=<strategy>``; learners ``…,learners``) ``U``,
    ``L``, the cooperation rates and the best switch's gain ``user_switch_gain`` /
    ``assistant_switch_gain``, each with its CI."""
    st, rows = m["stage_game"], []
    n = st["episodes_per_cell"]
    for i, s in enumerate(st["strategies"]):
        for j, a in enumerate(st["policies"]):
            for side in ("user", "llm"):
                g = f"game=measured,strategy={s}"
                rows.append(
                    _row(
                        run,
                        a,
                        f"{side}_welfare",
                        g,
                        st[side][i][j],
                        [b[i][j] for b in st[f"{side}_ci95"]],
                        n,
                    )
                )
    b = st["bootstrap"]
    rows.append(
        _row(
            run,
            "",
            "price_of_anarchy",
            "game=measured",
            st["price_of_anarchy"],
            b["price_of_anarchy_ci95"],
            n,
        )
    )
    for key in ("dilemma_fraction", "same_type_fraction"):
        rows.append(_row(run, "", key, "game=measured", b[key], None, b["n"]))
    for name, game in m["games"].items():
        g, rep = f"game={name}", game["replicator"]
        for label, share in rep["basins"].items():
            rows.append(
                _row(run, "", "basin_share", f"{g},end={label}", share, None, len(rep["starts"]))
            )
        rb = rep.get("bootstrap") or {}
        for key in ("same_end_fraction", "all_starts_same_fraction"):
            if key in rb:
                rows.append(_row(run, "", key, g, rb[key], None, rb["n"]))
        t = game["tournament"]
        for part, suffix in (("pairs", ""), ("learners", ",learners")):
            for pair in t.get(part) or []:
                grp = f"{g},user={pair['user']}{suffix}"
                for key in _PAIR_KEYS:
                    c = pair[key]
                    rows.append(
                        _row(run, pair["assistant"], key, grp, c["mean"], (c["lo"], c["hi"]))
                    )
                for side in ("user", "assistant"):
                    c = (pair.get(f"{side}_switch") or {}).get("best")
                    if c:
                        rows.append(
                            _row(
                                run,
                                pair["assistant"],
                                f"{side}_switch_gain",
                                grp,
                                c["mean"],
                                (c["lo"], c["hi"]),
                            )
                        )
    return rows
