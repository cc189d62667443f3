"""``experiment=pricing_shift``: does reasoning over payoffs adapt to pricing (claim iv)?

GTAlign's claim (iv): an assistant that reasons over payoffs changes its behaviour when
the pricing changes — clarifying under a subscription turns into direct answers when the
user pays per token. Each assistant of ``assistants.names`` plays the same
``pricing_shift.episodes`` episodes (common random numbers: episode ``i`` is the same
task, user and luck in every arm) with the plan forced per episode (reset option
``pricing``): a subscription, and the per-token API at each price scale of
``pricing_shift.scales`` (its input and output prices times the scale, compute unchanged;
the arm's :class:`~gtalign_sim.core.WorldConfig` is the environment's, the users' and the
assistant's own). A subscription's marginal token costs the user nothing, so it is not
scaled. Every arm's key is ``{assistant, pricing, price_scale, steering}``.

The report (:mod:`~gtalign_sim.eval.pricing_stats`) gives, per arm, the first move's
action mix (mode, and mode × verbosity) overall and by question type, and the mean tokens
billed, U, L and √(U⁺·L⁺); per assistant and scale, the paired difference per-token −
subscription of each, the total variation distance between the two mixes (paired
bootstrap CI, and a paired permutation p-value: TV is biased above 0, the test is the
noise floor) and claim (iv)'s verdict from the DA and CQ shares (ties when the CI
contains 0).

**Steering** (``pricing_shift.steering``: the reference's additive transform and the
token-cost transform, :func:`~gtalign_sim.agents.steering.steer_matrix`, with the arm's
own prices). With ``pricing_shift.steering_played`` (the default), every assistant that
selects on a payoff matrix (:class:`~gtalign_sim.agents.GTAlignAssistant`: ``gtalign``,
``gtalign_cd``) also plays steered arms (key ``steering`` = the transform; unsteered arms
have ``"none"``) under the subscription and at each scale of
``pricing_shift.steering_scales`` (default: every scale). The whole episode is played
steered, so tokens, U, L and √(U·L) are measured, paired with the unsteered arm and with
the steered subscription (:mod:`~gtalign_sim.eval.pricing_played`). The counterfactual
first move — the unsteered arm's recorded first payoff matrix, steered for an arm's plan
and prices and re-selected with the assistant's own rule, nothing played — is analysed
for a steering not played at every scale (``steering_played=false``, or fewer
``steering_scales``), and counted against the played first move where both exist (they
agree but for ties the recorded matrix's rounding breaks: the first state is the same).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .runner import Arm, Plan, episode_plan, report_experiment, run_experiment
from .settings import Settings, bool_field, container, int_field

__all__ = [
    "PLANS",
    "STEERING",
    "Options",
    "arm_label",
    "arms",
    "options",
    "plan",
    "report",
    "report_run",
    "run",
    "scaled_world",
    "steered_modes",
]

PLANS: tuple[str, str] = ("subscription", "per_token_api")
"""The baseline plan and the plan whose prices are swept."""
STEERING: tuple[str, ...] = ("reference", "token_cost")
"""Steering transforms (played, and applied to the recorded payoff matrices)."""

_KEEP = (
    "assistant",
    "pricing",
    "price_scale",
    "steering",
    "episode",
    "seed",
    "task_id",
    "family",
    "strategy",
    "modes",
    "verbosities",
    "tokens",
    "turns",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "stop_reason",
    "failure",
    "decisions",
)


@dataclass(frozen=True)
class Options:
    """The validated ``pricing_shift`` node."""

    episodes: int
    scales: tuple[float, ...]
    bootstrap: int
    steering: tuple[str, ...]
    money_to_payoff: float | None
    steering_played: bool
    steering_scales: tuple[float, ...]


def _scales(node: Any, key: str, default: list[float], within: tuple[float, ...]) -> Any:
    raw = container(node.get(key, default))
    ok = isinstance(raw, list) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
        for x in raw
    )
    out = tuple(sorted({float(x) for x in raw})) if ok else ()
    if not ok or len(out) != len(raw) or (within and not set(out) <= set(within)):
        return None, raw
    return out, raw


def options(cfg: Any) -> Options:
    """Check ``cfg.pricing_shift``; a bad value raises a one-line ``ValueError`` naming
    the field and what is allowed."""
    node = cfg.get("pricing_shift") or {}
    try:
        episodes = int_field(node, "episodes", 2, 160)
        n_boot = int_field(node, "bootstrap", 20, 1000)
        played = bool_field(node, "steering_played", True)
    except ValueError as exc:
        raise ValueError(f"pricing_shift.{exc}") from None
    scales, raw = _scales(node, "scales", [0.25, 0.5, 1, 2, 4, 8], ())
    if scales is None or 1.0 not in scales:
        raise ValueError(
            f"pricing_shift.scales must be distinct numbers > 0 including 1 (list price), "
            f"got {raw!r}"
        )
    played_at, raw = _scales(node, "steering_scales", list(scales), scales)
    if played_at is None:
        raise ValueError(
            f"pricing_shift.steering_scales must be distinct numbers from pricing_shift.scales "
            f"{list(scales)}, got {raw!r}"
        )
    steering = container(node.get("steering", list(STEERING)))
    if (
        not isinstance(steering, list)
        or any(k not in STEERING for k in steering)
        or len(set(steering)) != len(steering)
    ):
        raise ValueError(
            f"pricing_shift.steering must be a list of distinct names from {list(STEERING)}, "
            f"got {steering!r}"
        )
    rate = node.get("money_to_payoff")
    if rate is not None and (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not (math.isfinite(rate) and rate >= 0)
    ):
        raise ValueError(
            f"pricing_shift.money_to_payoff must be null (the world's rate) or a number "
            f">= 0, got {rate!r}"
        )
    return Options(
        episodes,
        scales,
        n_boot,
        tuple(steering),
        None if rate is None else float(rate),
        played,
        played_at,
    )


def scaled_world(world: Any, scale: float) -> Any:
    """``world`` with the per-token API's input and output prices times ``scale``."""
    if scale == 1.0:
        return world
    pol = world.policy("per_token_api")
    params = dict(world.pricing.get("per_token_api", {}))
    params["price_per_input_token"] = pol.price_per_input_token * scale
    params["price_per_output_token"] = pol.price_per_output_token * scale
    return replace(world, pricing={**world.pricing, "per_token_api": params})


def arm_label(pricing: str, scale: float | None) -> str:
    """``subscription`` or ``per_token_api@<scale>`` (the report's arm names)."""
    return pricing if scale is None else f"{pricing}@{float(scale):g}"


def _plan_arms(
    name: str, scales: tuple[float, ...], worlds: dict[float, Any], steering: str, kw: Any
) -> list[Arm]:
    """``name`` under the subscription, then per token at each of ``scales``."""
    key = {"pricing": PLANS[0], "price_scale": None, "steering": steering}
    out = [Arm(name, key, {"pricing": PLANS[0]}, assistant_kwargs=kw)]
    for k in scales:
        key = {"pricing": PLANS[1], "price_scale": k, "steering": steering}
        out.append(Arm(name, key, {"pricing": PLANS[1]}, worlds[k], assistant_kwargs=kw))
    return out


def arms(s: Settings, cfg: Any) -> list[Arm]:
    """Per assistant: unsteered (``steering: none``) under the subscription and at every
    scale; then, with ``steering_played``, for an assistant that selects on a payoff
    matrix, each steering under the subscription and at each of ``steering_scales``."""
    o = options(cfg)
    worlds = {k: None if k == 1.0 else scaled_world(s.world, k) for k in o.scales}
    out = []
    for name in s.assistants:
        out += _plan_arms(name, o.scales, worlds, "none", {})
        if not o.steering_played or _payoff_assistant(name, s) is None:
            continue
        for kind in o.steering:
            kw: dict[str, Any] = {"steering": kind}
            if kind == "token_cost" and o.money_to_payoff is not None:
                kw["money_to_payoff"] = o.money_to_payoff
            out += _plan_arms(name, o.steering_scales, worlds, kind, kw)
    return out


def plan(s: Settings, cfg: Any) -> Plan:
    """``pricing_shift.episodes`` episodes from the run seed, families in turn."""
    return episode_plan(s, options(cfg).episodes)


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play every arm on the same episodes (streamed to ``episodes.jsonl``),
    write metrics.json, summary.md and the figures; returns the metrics. Run directory,
    ``resume=true`` and signals as in :func:`~gtalign_sim.experiments.runner.run_experiment`."""
    options(cfg)  # checked before any work
    return run_experiment(cfg, arms, report, plan=plan, keep=_KEEP)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes (nothing is played)."""
    return report_experiment(cfg, path, report)


def _payoff_assistant(name: str, s: Settings) -> Any:
    """The assistant ``name`` when it selects on a payoff matrix (a
    :class:`~gtalign_sim.agents.GTAlignAssistant`, which takes ``steering``), else
    ``None`` (also for one that needs a backend to be built: an LLM assistant steers with
    its own ``llm.steering``)."""
    from ..agents import GTAlignAssistant
    from .runner import build_assistant

    try:
        a = build_assistant(name, s, {})
    except KeyError:
        return None
    return a if isinstance(a, GTAlignAssistant) else None


def _selector(name: str, s: Settings) -> Callable[[Any, Any], str] | None:
    """``(matrix, belief) -> mode`` with the assistant's own rule, or ``None`` when the
    assistant does not decide by a payoff matrix."""
    a = _payoff_assistant(name, s)
    if a is None:
        return None
    kwargs: dict[str, Any] = {}
    if a.rule == "max_welfare":  # as GTAlignAssistant.act
        kwargs = {"welfare": a.welfare or "cobb_douglas", "disagreement": (0.0, 0.0)}
    return lambda m, belief: m.select(a.rule, user_strategy=belief, **kwargs).action


def steered_modes(
    decision: dict[str, Any],
    pricing: str,
    world: Any,
    select: Callable[[Any, Any], str],
    kinds: tuple[str, ...],
    money_to_payoff: float | None,
) -> dict[str, str] | None:
    """The first mode re-selected from a recorded decision's payoff matrix: unsteered
    (``"none"``) and after each steering of ``kinds`` for ``pricing`` under ``world``'s
    prices (the played assistant's own :func:`~gtalign_sim.agents.steering.steer_matrix`,
    unrounded); ``None`` when the decision has no matrix."""
    from ..agents.steering import steer_matrix
    from ..game import PayoffMatrix

    if "payoff" not in decision or "belief" not in decision:
        return None
    m = PayoffMatrix.from_gtalign(decision["payoff"])
    belief = np.asarray(decision["belief"], float)
    out = {"none": select(m, belief)}
    for kind in kinds:
        out[kind] = select(steer_matrix(m, kind, pricing, world, money_to_payoff), belief)
    return out


def report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """metrics.json, summary.md and the figures from ``episodes.jsonl`` (streamed;
    atomic writes)."""
    from ..agents.model_based import to_payoff_scale
    from ..eval import pricing_played as pl
    from ..eval import pricing_stats as ps
    from ..eval.metrics import write_json_atomic
    from ..eval.pricing_report import metrics_rows, summary_markdown
    from ..eval.tidy import write_rows_csv
    from .execution import failures_markdown
    from .rundir import iter_jsonl, write_text_atomic

    o = options(cfg)
    labels = [arm_label(PLANS[0], None), *(arm_label(PLANS[1], k) for k in o.scales)]
    played = [arm_label(PLANS[0], None), *(arm_label(PLANS[1], k) for k in o.steering_scales)]
    worlds = [s.world, *(scaled_world(s.world, k) for k in o.scales)]
    plans = [PLANS[0], *(PLANS[1] for _ in o.scales)]
    rate = (
        float(to_payoff_scale(s.world.provider_money_value))
        if o.money_to_payoff is None
        else o.money_to_payoff
    )
    panels = {n: ps.Panel.empty(len(labels), o.episodes, o.steering) for n in s.assistants}
    steered: dict[tuple[str, str], ps.Panel] = {}  # played steered arms
    selectors = {n: _selector(n, s) for n in s.assistants}
    for _, rec in iter_jsonl(rd.episodes):
        name, kind = rec["assistant"], rec.get("steering", "none")
        lab = arm_label(rec["pricing"], rec["price_scale"])
        if kind != "none":
            panel = steered.setdefault((name, kind), ps.Panel.empty(len(played), o.episodes))
            panel.add(played.index(lab), int(rec["episode"]), rec)
            continue
        j, steer = labels.index(lab), None
        sel = selectors.get(name)
        if sel is not None and rec.get("failure") is None and rec.get("decisions"):
            steer = steered_modes(rec["decisions"][0], plans[j], worlds[j], sel, o.steering, rate)
        panels[name].add(j, int(rec["episode"]), rec, steer)
    rng = np.random.default_rng([s.seed, 9])  # resampling: a stream apart from the episodes
    metrics: dict[str, Any] = {
        "experiment": "pricing_shift",
        "seed": s.seed,
        "episodes": o.episodes,
        "scales": list(o.scales),
        "arms": labels,
        "bootstrap": o.bootstrap,
        "world": s.world.to_dict(),
        "prices_per_million": {
            lab: ps.prices(w.policy(p)) for lab, w, p in zip(labels, worlds, plans, strict=True)
        },
        "steering": {
            "kinds": list(o.steering),
            "money_to_payoff": rate,
            "played": o.steering_played,
            "played_arms": played if o.steering_played else [],
        },
        "assistants": {},
        "steered": {},
        "played": {},
        "failures": {},
    }
    for name, panel in panels.items():
        metrics["failures"][name] = panel.failures()
        metrics["assistants"][name] = ps.analyse(panel, labels, o.scales, o.bootstrap, rng)
        if panel.steerable:  # the counterfactual where a steering is not played throughout
            full = {k for n, k in steered if n == name} if played == labels else set()
            metrics["steered"][name] = ps.analyse_steering(
                panel, labels, o.scales, o.bootstrap, rng, [k for k in o.steering if k not in full]
            )
    for (name, kind), panel in steered.items():  # after the above: their numbers stay put
        metrics["failures"][f"{name}, {kind} steering"] = panel.failures()
        metrics["played"].setdefault(name, {})[kind] = pl.analyse_played(
            panels[name], labels, panel, played, kind, o.bootstrap, rng
        )
    metrics["claim_iv"] = {  # at list price; None: too few valid episodes
        n: (m["shift"].get("1") or {}).get("claim_iv", {}).get("verdict")
        for n, m in metrics["assistants"].items()
    }
    metrics["claim_iv_steered"] = {  # played steering at list price
        n: {k: (p["shift"].get("1") or {}).get("claim_iv", {}).get("verdict") for k, p in d.items()}
        for n, d in metrics["played"].items()
    }
    write_json_atomic(metrics, rd.path / "metrics.json")
    write_rows_csv(metrics_rows(metrics, rd.path.name), rd.path / "metrics.csv")
    from ..eval import pricing_plots as pp
    from .figures import FigureWriter

    fig = FigureWriter(rd.path, s.plots, s.plot_formats, s.plot_dpi)
    fig.add("mix", "pricing_shift", lambda p: pp.plot_mix_sweep(metrics, p))
    fig.add("welfare", "pricing_welfare", lambda p: pp.plot_welfare_sweep(metrics, p))
    fig.add("steering", "pricing_steering", lambda p: pp.plot_steering_sweep(metrics, p))
    images = list(fig.links.values())
    text = summary_markdown(metrics, images, wall) + failures_markdown(metrics["failures"])
    write_text_atomic(rd.path / "summary.md", text)
    if s.print_table:
        print(text)
        files = ["episodes.jsonl", "metrics.json", "metrics.csv", "summary.md", *fig.written]
        print(f"wrote {rd.path}/: {', '.join(files)}")
    return metrics
