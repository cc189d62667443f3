"""Payoff calibration: an assistant's own payoff estimates against the exact truth.

:func:`calibrate_record` takes one episode record and returns, per decision that
carries estimates, the estimate and the truth of every estimated cell.

**The state.** With an environment (``env``) the episode is *replayed*: the environment
is reset with the record's seed (its outcome draws) and its task, hidden profile (intent
included) and opening strategy forced, then stepped with the recorded actions (an LLM's
own text and billed tokens where the record says the model wrote the reply). Before each
decision the user simulator's ledger is the realized state. The replay must reproduce
the record (actions, transcript, both welfares); when it does not, or without ``env``,
the state is the *information state* rebuilt from the record's fields alone: the actual
user after the recorded actions, averaged over the earlier outcomes that let the
conversation go on (what the planner's ``condition`` does). At turn 1 the two coincide.

**The truth** is the exact planner (:func:`gtalign_sim.envs.ground_truth.user_planner`)
for the actual user, of the same quantity the assistant estimated: a matrix cell is
"this mode now, then a standard direct answer every later turn" (how GTAlign's matrix is
defined); an exact best response's estimate of its choice is "this action, then its own
plan" (the plan re-derived from the assistant at that state, which must reproduce the
recorded action). ``info_*`` always holds the information-state truth, so
``est − info`` is the error about the user and ``info − true`` the unobserved luck of
the earlier turns.

**Cells.** The actual row (the user's real opening) is compared at the realized state.
The other row — the same user having opened the other way, same actions so far — is
exact only as an information state; it is compared with that, and reported apart. Each
column is valued at the verbosity the assistant's estimate used: the chosen action's for
its column; for the others the one whose estimate reproduces the recorded cell, when the
assistant exposes its per-verbosity estimates (``cell_estimates``; ``v_source``
``recovered``), otherwise the chosen action's (``assumed``).

**Units.** Matrices are recorded on the GTAlign payoff scale (:data:`PAYOFF_PER_GAIN` ×
gains, rounded to 3 decimals: ≤ 1e-4 in gains); an LLM's ``<payoff>`` block is asked for
[-5, 5] with 0 neutral, read the same way. Everything here is in gains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..agents.model_based import to_payoff_scale
from ..core import OBJECTIVES, rules
from ..core.vocab import MODES, N_ACTIONS, VERBOSITIES
from ..envs.ground_truth import DIRECT_CONTINUATION, user_planner
from ..envs.rollout import assistant_info
from ..game import PayoffMatrix
from ..users import TaskTables, UserProfile

__all__ = ["PAYOFF_PER_GAIN", "STRATEGIES", "calibrate_record", "profile_of"]

PAYOFF_PER_GAIN: float = float(to_payoff_scale(1.0))
"""GTAlign payoff units per unit of welfare gain (the matrices' scale)."""

STRATEGIES: tuple[str, ...] = ("DQ", "VQ")
_NV = len(VERBOSITIES)
_ALL = tuple(range(N_ACTIONS))
_WELFARE_TOL = 1e-6  # recorded format scores are rounded to 6 decimals


def profile_of(record: Mapping[str, Any]) -> UserProfile:
    """The hidden profile (intent included) stored in an episode record."""
    p = dict(record["profile"])
    p["length_band"] = tuple(p["length_band"])
    return UserProfile(**p)


@dataclasses.dataclass
class _Move:
    """What ``env.step`` takes: an action, the model's own text (or ``None``: the
    environment renders it) and the decision's estimates (billed tokens, format)."""

    action: int
    text: str | None
    estimates: dict[str, Any]


class _Truth:
    """Exact planners for the actual user in the actual and the other opening."""

    def __init__(self, task: Any, profile: UserProfile, strategy: str, world: Any) -> None:
        tables = TaskTables.cached(task)
        self.s = STRATEGIES.index(strategy)
        self.actual = user_planner(task, profile, self.s, world, tables=tables)
        self.other = user_planner(task, profile, 1 - self.s, world, tables=tables)

    @staticmethod
    def pooled(planner: Any, prefix: Sequence[int]) -> Any:
        """The information state: paths after ``prefix`` on which the user replied."""
        return planner.condition(list(prefix))

    def realized(self, ledger: rules.Ledger) -> Any:
        """The realized state: one path holding the replayed ledger."""
        st = self.actual.initial_paths()
        led = ledger.map(lambda x: np.atleast_1d(np.asarray(x)).copy())
        return dataclasses.replace(st, led=led)

    @staticmethod
    def direct(planner: Any, st: Any) -> np.ndarray:
        """``(9, 2)`` expected (U, L) of each action now, then direct standard answers
        (NaN when no path is alive)."""
        mass = float(st.prob.sum()) if len(st) else 0.0
        if mass <= 0:
            return np.full((N_ACTIONS, 2), np.nan)
        node = np.zeros(len(st), dtype=int)
        total = planner.tree(st, node, 1, _ALL, (DIRECT_CONTINUATION,))[0]
        return total[:, 1:] / mass

    @staticmethod
    def plan(
        planner: Any, st: Any, first: int, policy: Callable[[list[int]], int], prefix: list[int]
    ) -> np.ndarray:
        """Expected (U, L) of ``first`` now, then ``policy``'s action at each later turn."""
        mass = float(st.prob.sum()) if len(st) else 0.0
        if mass <= 0:
            return np.full(2, np.nan)
        seq, total = [int(first)], np.zeros(3)
        while True:
            ends, _, st, _ = planner.step(st, np.zeros(len(st), dtype=int), 1, [seq[-1]])
            total += ends[0]
            if not len(st):
                return total[1:] / mass
            seq.append(int(policy(prefix + seq)))


def _policy(assistant: Any, info: Mapping[str, Any] | None) -> Callable[[list[int]], int] | None:
    """The assistant's own plan as ``prefix -> next action``, for exact best responses
    (an ``objective`` and a ``planner(info, objective=, condition=)``)."""
    objective = getattr(assistant, "objective", None)
    make = getattr(assistant, "planner", None)
    if info is None or make is None or not isinstance(objective, str):
        return None
    if objective not in OBJECTIVES:
        return None
    planner = make(info, objective=objective, condition=True)
    return lambda prefix: int(planner.best(list(prefix)).actions[0])


def _column_verbosities(
    assistant: Any,
    info: Mapping[str, Any] | None,
    prefix: Sequence[int],
    recorded: np.ndarray,
    action: int,
) -> tuple[list[int], list[str], bool | None]:
    """Each column's verbosity and where it comes from; whether the assistant's
    re-estimate reproduced the recorded matrix (``None``: not checkable)."""
    mc, vc = divmod(int(action), _NV)
    levels, source = [vc] * len(MODES), ["assumed"] * len(MODES)
    source[mc] = "chosen"
    estimate = getattr(assistant, "cell_estimates", None)
    make = getattr(assistant, "planner", None)
    if info is None or estimate is None or make is None:
        return levels, source, None
    cells = np.round(PAYOFF_PER_GAIN * np.asarray(estimate(make(info), list(prefix))), 3)
    ok = True
    for m in range(len(MODES)):
        match = [w for w in range(_NV) if np.array_equal(cells[:, m, w, :], recorded[:, m, :])]
        if m == mc:
            ok &= vc in match
        elif match:
            levels[m], source[m] = match[0], "recovered"
        else:
            ok = False
    return levels, source, ok


def _same(replayed: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether a replayed episode reproduces the stored record."""
    if not replayed or replayed.get("failure") is not None:
        return False
    if list(replayed["actions"]) != list(record["actions"]):
        return False
    if [t["text"] for t in replayed["transcript"]] != [t["text"] for t in record["transcript"]]:
        return False
    return all(
        abs(float(replayed[k]) - float(record[k])) <= _WELFARE_TOL
        for k in ("user_welfare", "llm_welfare")
    )


def calibrate_record(
    record: Mapping[str, Any],
    task: Any,
    world: Any,
    env: Any = None,
    assistant: Any = None,
    replay: bool = True,
) -> list[dict[str, Any]]:
    """One row per decision of ``record`` that carries estimates (see the module
    docstring): its cells (matrix decisions), its chosen cell, and for matrices the
    regret of the choice under the true matrix.

    ``task`` is the record's task and ``world`` the game's mechanics. ``env`` (an
    environment of the run's configuration) replays the episode when ``replay``;
    otherwise (or when the replay does not reproduce the record) the state is the
    information state and the assistant's view is rebuilt from the record, with
    ``env.user_sim`` as the users' model. ``assistant`` (built like the run's) enables
    the re-derivations (column verbosities, the exact best responses' plans); without it
    only matrix decisions are scored. Failed episodes give no rows.
    """
    if record.get("failure") or record.get("user_welfare") is None:
        return []
    profile = profile_of(record)
    truth = _Truth(task, profile, str(record["strategy"]), world)
    actions = [int(a) for a in record["actions"]]
    decisions = list(record.get("decisions") or [])
    texts = [t["text"] for t in record["transcript"] if t["role"] == "assistant"]
    replaying = env is not None and replay
    if replaying:
        env.reset(
            seed=int(record["seed"]),
            options={"task": task, "profile": profile, "strategy": str(record["strategy"])},
        )
    rows: list[dict[str, Any]] = []
    for k, (a, d) in enumerate(zip(actions, decisions, strict=False)):
        live = replaying and not env.episode
        ledger = env.user_sim.state.ledger if live else None
        if live:
            info = assistant_info(env, assistant, env.infos["assistant"])
        else:
            info = _record_view(record, task, k, assistant, getattr(env, "user_sim", None))
        row = _decision(truth, k, actions[:k], a, d, ledger, info, assistant)
        if row is not None:
            rows.append({"episode": int(record["episode"]), "family": record["family"], **row})
        if live:
            est = dict(d.get("estimates") or {})
            own = est.get("decided_by") == "model" and k < len(texts)
            env.step(_Move(a, texts[k] if own else None, est))
    replayed = replaying and _same(env.episode, record)
    for row in rows:
        row["state"] = "replay" if replayed else "record"
        if not replayed:  # no verified realized state: the information state is the truth
            for part in (row["chosen"], *row.get("cells", [])):
                part["true_u"], part["true_l"] = part["info_u"], part["info_l"]
            if row.get("regret") is not None:
                row["regret"] = row["regret_info"]
        row.pop("regret_info", None)
    return rows


def _record_view(
    record: Mapping[str, Any], task: Any, k: int, assistant: Any, user_model: Any
) -> dict[str, Any]:
    """The assistant's view at decision ``k`` as far as its planning reads it, rebuilt
    from the record (privileged assistants also get the profile, intent and users' model)."""
    profile = profile_of(record)
    info: dict[str, Any] = {
        "task": task,
        "pricing": profile.pricing,
        "question_type": record["strategy"],
        "turn": k,
        "history": [],
    }
    if getattr(assistant, "privileged", False):
        info["privileged"] = {
            "user_model": user_model,
            "profile": profile,
            "intent": profile.intent,
        }
    return info


def _decision(
    truth: _Truth,
    k: int,
    prefix: list[int],
    action: int,
    d: Mapping[str, Any],
    ledger: rules.Ledger | None,
    info: Mapping[str, Any] | None,
    assistant: Any,
) -> dict[str, Any] | None:
    est = d.get("estimates") or {}
    base: dict[str, Any] = {
        "turn": k + 1,
        "action": int(action),
        "decided_by": est.get("decided_by"),
    }
    pooled = truth.pooled(truth.actual, prefix)
    real = truth.realized(ledger) if ledger is not None else pooled
    if d.get("payoff") is not None:
        try:
            m = PayoffMatrix.from_gtalign(d["payoff"])
        except ValueError:
            return None
        recorded = np.stack([m.user, m.llm], axis=-1)  # (2, 3, 2) payoff units
        gains = recorded / PAYOFF_PER_GAIN
        levels, source, ok = _column_verbosities(assistant, info, prefix, recorded, action)
        t_real = truth.direct(truth.actual, real)
        t_info = truth.direct(truth.actual, pooled)
        t_other = truth.direct(truth.other, truth.pooled(truth.other, prefix))
        cells = []
        for row, (s, tr, ti) in (
            ("actual", (truth.s, t_real, t_info)),
            ("other", (1 - truth.s, t_other, t_other)),
        ):
            for mi, mode in enumerate(MODES):
                a = mi * _NV + levels[mi]
                cells.append(
                    {
                        "row": row,
                        "col": mode,
                        "v_source": source[mi],
                        "chosen": row == "actual" and mi == action // _NV,
                        **_pair(gains[s, mi], tr[a], ti[a]),
                    }
                )
        mc = action // _NV
        cols = [mi * _NV + levels[mi] for mi in range(len(MODES))]
        return {
            **base,
            "kind": "matrix",
            "assistant_ok": ok,
            "cells": cells,
            "chosen": _pair(gains[truth.s, mc], t_real[action], t_info[action]),
            "regret": _regret(t_real[cols], mc),
            "regret_info": _regret(t_info[cols], mc),
        }
    if "user" not in est or "llm" not in est:
        return None
    policy = _policy(assistant, info)
    if policy is None:
        return None
    ok = policy(prefix) == int(action)
    t_info = truth.plan(truth.actual, pooled, action, policy, prefix)
    t_real = (
        truth.plan(truth.actual, real, action, policy, prefix) if ledger is not None else t_info
    )
    chosen = _pair(np.array([est["user"], est["llm"]], float), t_real, t_info)
    return {**base, "kind": "estimate", "assistant_ok": ok, "chosen": chosen, "regret": None}


def _pair(est: np.ndarray, true: np.ndarray, info: np.ndarray) -> dict[str, float | None]:
    def f(x: Any) -> float | None:
        return float(x) if np.isfinite(x) else None

    return {
        "est_u": f(est[0]),
        "est_l": f(est[1]),
        "true_u": f(true[0]),
        "true_l": f(true[1]),
        "info_u": f(info[0]),
        "info_l": f(info[1]),
    }


def _regret(values: np.ndarray, chosen: int) -> dict[str, Any] | None:
    """Regret of the chosen column under the true row ``values`` (3, 2), in mutual
    welfare √(U⁺·L⁺) and in U + L, and whether the choice is the best."""
    if not np.isfinite(values).all():
        return None
    out: dict[str, Any] = {}
    for name, score in (
        ("mutual", rules.mutual(values[:, 0], values[:, 1])),
        ("sum", values[:, 0] + values[:, 1]),
    ):
        gap = float(np.max(score) - score[chosen])
        out[name] = gap
        out[f"best_{name}"] = gap <= 1e-12
    return out
