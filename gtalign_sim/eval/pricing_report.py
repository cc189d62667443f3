"""summary.md of pricing arms (``experiment=pricing_shift``): the list-price comparison,
the price sweep, the played steering (steered per-token − steered subscription, and
steered − unsteered on the same plan), the counterfactual steering over the sweep and a
plain answer to claim (iv), from the metrics of :mod:`~gtalign_sim.eval.pricing_stats`
and :mod:`~gtalign_sim.eval.pricing_played`; and :func:`metrics_rows`, those metrics in
long form for ``metrics.csv``."""

from __future__ import annotations

from typing import Any

__all__ = ["metrics_rows", "summary_markdown"]


def _pp(ci: Any, signed: bool = True) -> str:
    """A share (or share difference) with its CI, in percent (points)."""
    if not ci or ci.get("mean") is None:
        return "–"
    f = "{:+.1f}" if signed else "{:.1f}"
    body = f.format(100 * ci["mean"]) + (" pp" if signed else "%")
    if ci.get("lo") is None:
        return body
    return f"{body} [{100 * ci['lo']:.1f}, {100 * ci['hi']:.1f}]"


def _num(ci: Any, digits: int = 3, signed: bool = False) -> str:
    if not ci or ci.get("mean") is None:
        return "–"
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    body = f.format(ci["mean"])
    if ci.get("lo") is None:
        return body
    return f"{body} [{ci['lo']:.{digits}f}, {ci['hi']:.{digits}f}]"


def _tv(ci: Any) -> str:
    p = ci.get("p_value")
    return _num(ci) + (f" (p={p:.3f})" if p is not None else "")


def _mix(arm: Any, qtype: str = "") -> str:
    """``DA/CQ/AQ`` shares in percent (``qtype``: on ``DQ`` or ``VQ`` questions only)."""
    shares = arm["by_type"][qtype] if qtype else arm["share"]
    return "/".join(
        "–" if shares[x]["mean"] is None else f"{100 * shares[x]['mean']:.0f}"
        for x in ("DA", "CQ", "AQ")
    )


def summary_markdown(m: dict[str, Any], images: list[str], wall: float | None = None) -> str:
    """summary.md: the list-price comparison, the sweep, steering, and the answer."""
    sub, k1 = m["arms"][0], "1"
    at1 = m["arms"][1 + m["scales"].index(1.0)]  # the priced plan at list price
    prices = m["prices_per_million"][at1]
    lines = [
        "# Pricing shift: does the first move follow the pricing plan? (claim iv)",
        "",
        f"Each assistant plays the same {m['episodes']} episodes (same tasks, users and "
        f"luck) under a subscription and under per-token pricing at "
        f"{', '.join(f'{k:g}×' for k in m['scales'])} the list price "
        f"(${prices['input']:g} / ${prices['output']:g} per 1M input / output tokens at 1×). "
        f"Intervals: 95% paired bootstrap ({m['bootstrap']} resamples); a difference whose "
        "interval contains 0 is a tie. TV: total variation distance between the two "
        "first-mode mixes, with a paired permutation p-value (TV is biased above 0)."
        + (f" Wall time {wall:.1f} s." if wall is not None else ""),
        "",
        "## At list price: per-token − subscription",
        "",
        "| assistant | n | mix DA/CQ/AQ % (sub → per-token) | ΔDA | ΔCQ | TV | Δtokens "
        "| ΔU | ΔL | Δ√(U·L) | claim (iv) | on VQ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in m["assistants"].items():
        if k1 not in a["shift"]:
            lines.append(f"| {name} | {a['n_paired']} | – |" + " – |" * 9)
            continue
        s, d = a["shift"][k1], a["shift"][k1]["delta_outcomes"]
        lines.append(
            f"| {name} | {a['n_paired']} | {_mix(a['arms'][sub])} → "
            f"{_mix(a['arms'][at1])} | {_pp(s['delta']['DA'])} | "
            f"{_pp(s['delta']['CQ'])} | {_tv(s['tv'])} | {_num(d['tokens'], 0, True)} | "
            f"{_num(d['user_welfare'], 3, True)} | {_num(d['llm_welfare'], 3, True)} | "
            f"{_num(d['mutual_welfare'], 3, True)} | {s['claim_iv']['verdict']} | "
            f"{s['claim_iv_vq']['verdict']} |"
        )
    lines += [
        "",
        "First actions (mode_verbosity, the three most frequent) at list price, by question type:",
        "",
        "| assistant | question | subscription | per-token |",
        "|---|---|---|---|",
    ]
    for name, a in m["assistants"].items():
        for t in ("DQ", "VQ"):
            if a.get("arms"):
                lines.append(
                    f"| {name} | {t} | {_top(a['arms'][sub]['action_by_type'][t])} | "
                    f"{_top(a['arms'][at1]['action_by_type'][t])} |"
                )
    lines += [
        "",
        "## The price sweep",
        "",
        "| assistant | arm | DA | CQ | AQ | VQ share | tokens | U | L | √(U·L) | TV vs sub "
        "| claim (iv) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in m["assistants"].items():
        for lab, arm in a["arms"].items():
            s = a["shift"].get(lab.split("@")[1]) if "@" in lab else None
            lines.append(
                f"| {name} | {lab} | "
                + " | ".join(_pp(arm["share"][x], False) for x in ("DA", "CQ", "AQ"))
                + f" | {_pp(arm['vq_share'], False)} | {_num(arm['tokens'], 0)} | "
                + " | ".join(_num(arm[v]) for v in ("user_welfare", "llm_welfare"))
                + f" | {_num(arm['mutual_welfare'])} | {_tv(s['tv']) if s else '–'} | "
                + f"{s['claim_iv']['verdict'] if s else '–'} |"
            )
    lines += _played(m)
    kinds = m["steering"]["kinds"]
    steered = {n: st for n, st in m["steered"].items() if any(k in st for k in kinds)}
    if steered:
        lines += [
            "",
            "## Steering over the sweep: the counterfactual first move",
            "",
            "The unsteered arm's recorded payoff matrix of each first move, transformed for "
            "the arm's plan and prices (reference: additive bonuses; token_cost: money of "
            f"each action's expected tokens at {m['steering']['money_to_payoff']:g} payoff "
            "units per dollar) and re-selected with the assistant's own rule; the rest of "
            "the episode is not played"
            + (" (the played arms above play it)" if m["played"] else "")
            + ". Re-selecting the unsteered matrix reproduces the recorded first mode in "
            + ", ".join(f"{100 * st['reproduced']:.1f}% ({n})" for n, st in steered.items())
            + " of episodes.",
            "",
            "| assistant | steering | arm | DA | CQ | AQ | ΔDA vs unsteered | TV vs sub "
            "| claim (iv) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, st in steered.items():
            for kind in (k for k in kinds if k in st):
                for lab, arm in st[kind]["arms"].items():
                    s = st[kind]["shift"].get(lab.split("@")[1]) if "@" in lab else None
                    lines.append(
                        f"| {name} | {kind} | {lab} | "
                        + " | ".join(_pp(arm["share"][x], False) for x in ("DA", "CQ", "AQ"))
                        + f" | {_pp(arm['vs_unsteered']['DA'])} | "
                        + f"{_tv(s['tv']) if s else '–'} | "
                        + f"{s['claim_iv']['verdict'] if s else '–'} |"
                    )
    lines += ["", "## Claim (iv)", "", _answer(m)]
    lines += [f"\n![{img}]({img})" for img in images]
    return "\n".join(lines) + "\n"


def _deltas(s: Any) -> str:
    """``ΔDA | ΔCQ | TV | Δtokens | ΔU | ΔL | Δ√(U·L)`` table cells of a paired shift."""
    d = s["delta_outcomes"]
    return (
        f"{_pp(s['delta']['DA'])} | {_pp(s['delta']['CQ'])} | {_tv(s['tv'])} | "
        f"{_num(d['tokens'], 0, True)} | {_num(d['user_welfare'], 3, True)} | "
        f"{_num(d['llm_welfare'], 3, True)} | {_num(d['mutual_welfare'], 3, True)}"
    )


def _played(m: dict[str, Any]) -> list[str]:
    """The played steering: claim (iv) under steering, then steered − unsteered."""
    rows = [(n, k, p) for n, d in m["played"].items() for k, p in d.items() if p.get("arms")]
    if not rows:
        return []
    cf = [c for _, _, p in rows for c in p["vs_counterfactual"].values() if c.get("n")]
    agree, n_cf = sum(c["agree"] for c in cf), sum(c["n"] for c in cf)
    head = "| ΔDA | ΔCQ | TV | Δtokens | ΔU | ΔL | Δ√(U·L) |"
    lines = [
        "",
        "## Steering, played",
        "",
        "The payoff-matrix assistants also play every episode steered: each of their "
        "decisions, from the first move to the end, selects on its payoff matrix transformed "
        "for the arm's plan and prices (reference: the reference's additive bonuses; "
        f"token_cost: each action's expected token money at "
        f"{m['steering']['money_to_payoff']:g} payoff units per dollar), so tokens, U, L and "
        "√(U·L) are measured. The played first move equals the counterfactual one (the "
        "unsteered arm's recorded first matrix, steered and re-selected) in "
        f"{agree} of {n_cf} paired episodes; re-selecting the unsteered recorded matrix "
        "reproduces the recorded first mode in "
        + ", ".join(
            f"{100 * st['reproduced']:.1f}% ({n})"
            for n, st in m["steered"].items()
            if "reproduced" in st
        )
        + " of episodes.",
        "",
        "Claim (iv) under steering — steered per-token − steered subscription (first-move "
        "mix DA/CQ/AQ % on detailed / vague questions, sub → per-token):",
        "",
        f"| assistant | steering | at | n | DQ | VQ {head} claim (iv) | on VQ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, kind, p in rows:
        sub = p["arms"][m["arms"][0]]
        for k, s in p["shift"].items():
            at = p["arms"][_at(m, k)]
            lines.append(
                f"| {name} | {kind} | {k}× | {p['n_paired']} | {_mix(sub, 'DQ')} → "
                f"{_mix(at, 'DQ')} | {_mix(sub, 'VQ')} → {_mix(at, 'VQ')} | {_deltas(s)} | "
                f"{s['claim_iv']['verdict']} | {s['claim_iv_vq']['verdict']} |"
            )
    lines += [
        "",
        "Steered − unsteered on the same plan and episodes (mix on detailed / vague "
        "questions, unsteered → steered):",
        "",
        f"| assistant | steering | arm | n | DQ | VQ {head} Δ(U+L) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, kind, p in rows:
        for lab, v in p["vs_unsteered"].items():
            if "delta" not in v:
                continue
            base, arm = v["unsteered"], p["arms"][lab]
            lines.append(
                f"| {name} | {kind} | {lab} | {v['n_paired']} | {_mix(base, 'DQ')} → "
                f"{_mix(arm, 'DQ')} | {_mix(base, 'VQ')} → {_mix(arm, 'VQ')} | {_deltas(v)} | "
                f"{_num(v['delta_outcomes']['total_welfare'], 3, True)} |"
            )
    return lines


def _at(m: dict[str, Any], scale: str) -> str:
    """The per-token arm's label at ``scale`` (e.g. ``per_token_api@1``)."""
    return next(lab for lab in m["arms"][1:] if lab.split("@")[1] == scale)


def _top(shares: Any, k: int = 3) -> str:
    """The ``k`` largest shares, e.g. ``DA_elaborate 61%, AQ_standard 20%``."""
    ranked = sorted(shares.items(), key=lambda kv: -(kv[1]["mean"] or 0.0))[:k]
    return ", ".join(f"{x} {100 * c['mean']:.0f}%" for x, c in ranked if c["mean"]) or "–"


def _shifted(delta: Any) -> str:
    """Where the first moves went: the mode whose share grew most, e.g. ``AQ +22.0 pp``."""
    mode = max(delta, key=lambda k: delta[k]["mean"] or 0.0)
    gain = delta[mode]["mean"] or 0.0
    return f"{mode} {100 * gain:+.1f} pp" if gain > 0 else "none"


def _bullet(name: str, s: Any, extra: str = "") -> str:
    c = s["claim_iv"]
    return (
        f"- **{name}**: {c['verdict']} — DA {_pp(s['delta']['DA'])} ({c['DA']}), "
        f"CQ {_pp(s['delta']['CQ'])} ({c['CQ']}); grew most: {_shifted(s['delta'])}" + extra
    )


def _answer(m: dict[str, Any]) -> str:
    """The plain answer: per assistant the verdict at list price (and over the sweep, with
    the price's effect on U, L and U + L), then with each steering."""
    lines = [
        "Claim (iv) predicts more direct answers (DA) and fewer clarifying questions (CQ) "
        "on the first move when the user pays per token. Per-token − subscription at list "
        "price (95% paired CIs; a CI containing 0 is a tie):",
        "",
    ]
    holds: dict[str, list[str]] = {"no steering": []}
    transfer = []
    for name, a in m["assistants"].items():
        s = a["shift"].get("1")
        if s is None:
            lines.append(f"- **{name}**: too few valid episodes")
            continue
        where = [k for k, x in a["shift"].items() if x["claim_iv"]["verdict"] == "holds"]
        d = s["delta_outcomes"]
        lines.append(
            _bullet(name, s)
            + f"; holds at {', '.join(f'{k}×' for k in where) or 'no'} price scale"
            + ("s" if len(where) != 1 else "")
            + f"; ΔU {_num(d['user_welfare'], 3, True)}, ΔL {_num(d['llm_welfare'], 3, True)},"
            f" Δ(U+L) {_num(d['total_welfare'], 3, True)}"
        )
        if s["claim_iv"]["verdict"] == "holds":
            holds["no steering"].append(name)
        du, dt = d["user_welfare"]["mean"], d["total_welfare"]["mean"]
        if du is not None and dt is not None and abs(dt) < 0.25 * abs(du):
            transfer.append(name)
    for name, d in m["played"].items():
        for kind, p in d.items():
            s = p.get("shift", {}).get("1")
            if s is None:
                continue
            dd, vu = s["delta_outcomes"], p["vs_unsteered"].get(_at(m, "1"), {})
            where = [k for k, x in p["shift"].items() if x["claim_iv"]["verdict"] == "holds"]
            extra = (
                f"; holds at {', '.join(f'{k}×' for k in where) or 'none'} of the "
                f"{len(p['shift'])} played price scale{'s' * (len(p['shift']) != 1)}; ΔU "
                f"{_num(dd['user_welfare'], 3, True)}, ΔL {_num(dd['llm_welfare'], 3, True)}, "
                f"Δ√(U·L) {_num(dd['mutual_welfare'], 3, True)}"
            )
            if "delta" in vu:
                extra += (
                    f"; steered − unsteered per token: DA {_pp(vu['delta']['DA'])}, √(U·L) "
                    f"{_num(vu['delta_outcomes']['mutual_welfare'], 3, True)}"
                )
            lines.append(_bullet(f"{name}, {kind} steering (played)", s, extra))
            key = f"{kind} steering (played)"
            holds.setdefault(key, []).extend([name] * (s["claim_iv"]["verdict"] == "holds"))
    for name, st in m["steered"].items():
        for kind in m["steering"]["kinds"]:
            s = st.get(kind, {}).get("shift", {}).get("1")
            if s is None or kind in m["played"].get(name, {}):
                continue  # played: its first move is the counterfactual one, and more
            lines.append(_bullet(f"{name}, {kind} steering", s, " (counterfactual first move)"))
            key = f"{kind} steering (counterfactual)"
            holds.setdefault(key, []).extend([name] * (s["claim_iv"]["verdict"] == "holds"))
    verdict = "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in holds.items())
    lines += ["", f"**Claim (iv) holds at list price for — {verdict}.**"]
    if transfer:
        lines.append(
            f"For {', '.join(transfer)} the per-token price is mostly a transfer from the "
            "user to the provider (U + L moves by less than a quarter of U's change): a rule "
            "that ranks cells by U + L barely sees the plan; only rules that weigh the two "
            "sides unequally (√(U·L), L) can shift, and the table shows which way they do."
        )
    return "\n".join(lines)


_ARM_VALUES = (
    "vq_share",
    "tokens",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "total_welfare",
)


def metrics_rows(m: dict[str, Any], run: str) -> list[dict[str, Any]]:
    """Long-form rows (columns :data:`~gtalign_sim.eval.tidy.COLUMNS`) of the metrics:
    ``assistant`` is the assistant, ``"<a>, <kind> steering"`` for a played steering and
    ``"<a>, <kind> steering (counterfactual)"`` for the counterfactual first move. Per arm
    (group ``arm=<label>``, ``…,type=DQ|VQ`` by question type): ``share_<mode>``,
    ``action_share_<mode_verbosity>``, ``vq_share``, ``tokens``, the welfare means and
    (counterfactual) ``delta_share_<mode>`` vs unsteered; per shift (group
    ``arm=<per-token>,vs=<subscription>`` or ``arm=<label>,vs=unsteered``):
    ``delta_share_<mode>``, ``delta_<outcome>``, ``delta_vq_share``, ``tv``, ``action_tv``
    and their ``*_p_value``; ``reproduced``, ``counterfactual_agreement`` and
    ``failed_fraction``. ``n`` is the number of paired episodes (empty by question type)."""
    rows: list[dict[str, Any]] = []

    def add(who: str, metric: str, group: str, ci: Any, n: Any = None) -> None:
        ci = ci if isinstance(ci, dict) else {"mean": ci}
        rows.append(
            {
                "run": run,
                "assistant": who,
                "metric": metric,
                "group": group,
                "mean": ci.get("mean"),
                "lo": ci.get("lo"),
                "hi": ci.get("hi"),
                "n": n,
            }
        )

    def shares(who: str, prefix: str, group: str, block: Any, n: Any) -> None:
        for x, ci in (block or {}).items():
            add(who, f"{prefix}_{x}", group, ci, n)

    def arms(who: str, a: dict[str, Any], n: Any) -> None:
        for lab, arm in (a.get("arms") or {}).items():
            g = f"arm={lab}"
            for key, prefix in (("share", "share"), ("action_share", "action_share")):
                shares(who, prefix, g, arm.get(key), n)
            for key, prefix in (("by_type", "share"), ("action_by_type", "action_share")):
                for t, block in (arm.get(key) or {}).items():
                    shares(who, prefix, f"{g},type={t}", block, None)
            shares(who, "delta_share", f"{g},vs=unsteered", arm.get("vs_unsteered"), n)
            for key in _ARM_VALUES:
                if key in arm:
                    add(who, key, g, arm[key], n)

    def shift(who: str, group: str, s: dict[str, Any], n: Any) -> None:
        shares(who, "delta_share", group, s.get("delta"), n)
        for t, block in (s.get("delta_by_type") or {}).items():
            shares(who, "delta_share", f"{group},type={t}", block, None)
        for key in ("tv", "action_tv"):
            if key in s:
                add(who, key, group, s[key], n)
                add(who, f"{key}_p_value", group, s[key].get("p_value"), n)
        shares(who, "delta", group, s.get("delta_outcomes"), n)
        if "delta_vq_share" in s:
            add(who, "delta_vq_share", group, s["delta_vq_share"], n)

    def analysed(who: str, a: dict[str, Any], n: Any) -> None:
        arms(who, a, n)
        for k, s in (a.get("shift") or {}).items():
            shift(who, f"arm={_at(m, k)},vs={m['arms'][0]}", s, n)

    for name, a in m["assistants"].items():
        analysed(name, a, a["n_paired"])
    for name, d in m["played"].items():
        for kind, p in d.items():
            who = f"{name}, {kind} steering"
            analysed(who, p, p["n_paired"])
            for lab, v in (p.get("vs_unsteered") or {}).items():
                if "delta" in v:
                    shift(who, f"arm={lab},vs=unsteered", v, v["n_paired"])
            for lab, c in (p.get("vs_counterfactual") or {}).items():
                if c.get("n"):
                    add(who, "counterfactual_agreement", f"arm={lab}", c["agree"] / c["n"], c["n"])
    for name, st in m["steered"].items():
        if "reproduced" in st:
            add(name, "reproduced", "all", st["reproduced"], st["n_paired"])
        for kind in m["steering"]["kinds"]:
            if kind in st:
                analysed(f"{name}, {kind} steering (counterfactual)", st[kind], st["n_paired"])
    for who, f in m["failures"].items():
        if f["attempted"]:
            add(who, "failed_fraction", "all", f["failed"] / f["attempted"], f["attempted"])
    return rows
