"""The repeated 2×2 stage game: a round-robin tournament (``experiment=evolution``).

The stage game as :class:`~gtalign_sim.envs.matrix_game.MatrixGameEnv`
(``rounds`` rounds, memory 1) is played round-robin by :data:`STRATEGIES` in both roles
(index 0 is the cooperative action: the user's ``DQ``, the mutual-welfare policy), every
pair over ``seeds`` seeds (stochastic entrants draw from ``[seed, s, role, entrant]``, so a
seed is the same stream against every opponent: common random numbers). A pair's payoff per
round is its cell frequencies times the stage payoffs, so the same play can be re-priced
on bootstrap matrices: a unilateral switch to another entrant is *profitable* when the 95%
interval of its gain (joint bootstrap over the stage game's episodes and the seeds) lies
above 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "LEARNERS",
    "STRATEGIES",
    "deviations",
    "make_policy",
    "summarize_tournament",
    "tournament",
]

STRATEGIES: tuple[str, ...] = (
    "tit_for_tat",
    "grim_trigger",
    "always_cooperate",
    "always_defect",
    "random",
    "q_learning",
    "regret_matching",
)
"""Entrants of the tournament (both roles)."""

LEARNERS: tuple[str, ...] = ("q_learning", "regret_matching")
_STOCHASTIC = frozenset({"random", *LEARNERS})


def make_policy(
    name: str,
    own_payoffs: np.ndarray,
    rng: np.random.Generator,
    epsilon: float = 0.1,
    learning_rate: float | None = None,
) -> Any:
    """The entrant ``name`` for a role with payoffs ``own_payoffs[own, opponent]``
    (action 0 cooperates, 1 defects)."""
    from ..envs.learners import QLearner, RegretMatcher
    from ..envs.matrix_game import (
        AlwaysCooperate,
        AlwaysDefect,
        GrimTrigger,
        RandomPolicy,
        TitForTat,
    )

    if name == "tit_for_tat":
        return TitForTat(cooperate=0)
    if name == "grim_trigger":
        return GrimTrigger(cooperate=0, defect=1)
    if name == "always_cooperate":
        return AlwaysCooperate(0)
    if name == "always_defect":
        return AlwaysDefect(1)
    if name == "random":
        return RandomPolicy(rng)
    if name == "q_learning":
        return QLearner(own_payoffs, epsilon=epsilon, learning_rate=learning_rate, rng=rng)
    if name == "regret_matching":
        return RegretMatcher(own_payoffs, rng=rng)
    raise ValueError(f"unknown strategy {name!r}; valid choices: {list(STRATEGIES)}")


def tournament(
    game: Any,
    strategies: Sequence[str],
    rounds: int,
    seeds: int,
    seed: int,
    tail: float = 0.25,
    epsilon: float = 0.1,
    learning_rate: float | None = None,
) -> dict[str, np.ndarray]:
    """Every user entrant against every assistant entrant on ``game`` (a 2×2
    :class:`~gtalign_sim.game.PayoffMatrix`) over ``seeds`` seeds of ``rounds`` rounds.

    Returns arrays indexed ``[user entrant, assistant entrant, seed]``: ``freq`` (``…, 4``:
    the share of rounds in each cell, row-major), ``user``/``llm`` (payoff per round) and,
    over the last ``tail`` of the rounds, ``user_coop``/``llm_coop`` (share of cooperative
    actions) and ``mutual`` (share of rounds at cell (0, 0)). Pairs of deterministic
    entrants are played once and copied to every seed."""
    from ..envs.matrix_game import MatrixGameEnv, play_repeated

    if game.shape != (2, 2):
        raise ValueError(f"the tournament needs a 2×2 game, got {game.shape}")
    env = MatrixGameEnv(game, rounds=rounds, memory=1)
    u_own, l_own = np.asarray(game.user), np.asarray(game.llm).T
    n = len(strategies)
    shape = (n, n, seeds)
    out = {k: np.zeros(shape) for k in ("user", "llm", "user_coop", "llm_coop", "mutual")}
    out["freq"] = np.zeros((*shape, 4))
    k_tail = max(1, round(tail * rounds))
    for i, a in enumerate(strategies):
        for j, b in enumerate(strategies):
            fixed = a not in _STOCHASTIC and b not in _STOCHASTIC
            for s in range(seeds):
                if fixed and s > 0:
                    for arr in out.values():
                        arr[i, j, s] = arr[i, j, 0]
                    continue
                pu = make_policy(a, u_own, _stream(seed, s, 0, a), epsilon, learning_rate)
                pa = make_policy(b, l_own, _stream(seed, s, 1, b), epsilon, learning_rate)
                rec = play_repeated(env, pu, pa, seed=s)
                ua, aa = np.array(rec["user_actions"]), np.array(rec["assistant_actions"])
                out["freq"][i, j, s] = np.bincount(2 * ua + aa, minlength=4) / rounds
                out["user"][i, j, s] = rec["user_total"] / rounds
                out["llm"][i, j, s] = rec["assistant_total"] / rounds
                out["user_coop"][i, j, s] = np.mean(ua[-k_tail:] == 0)
                out["llm_coop"][i, j, s] = np.mean(aa[-k_tail:] == 0)
                out["mutual"][i, j, s] = np.mean((ua[-k_tail:] == 0) & (aa[-k_tail:] == 0))
    return out


def _stream(seed: int, s: int, role: int, name: str) -> np.random.Generator:
    """The generator of entrant ``name`` in ``role`` for seed index ``s`` (independent of
    the opponent and of the other entrants in the list)."""
    return np.random.default_rng([seed, s, role, STRATEGIES.index(name)])


def deviations(
    result: dict[str, np.ndarray],
    point: tuple[np.ndarray, np.ndarray],
    matrices: Sequence[tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator,
    n_boot: int,
) -> dict[str, np.ndarray]:
    """Gains from a unilateral switch of entrant, re-priced on bootstrap stage games.

    A pair's payoff per round is its mean cell frequencies times the stage payoffs. Each
    of ``n_boot`` draws takes a resample of the seeds and the next ``(user, llm)`` matrix
    of ``matrices`` (cycled; ``point`` when there are none). Returns
    ``user_gain_*[i2, i, j]`` (the user switching from entrant ``i`` to ``i2`` against
    ``j``) and ``llm_gain_*[j2, i, j]`` (the assistant switching from ``j`` to ``j2``):
    ``mean`` on ``point`` with every seed, ``lo``/``hi`` the 95% percentile interval."""
    freq = result["freq"]  # (n, n, S, 4)
    n, _, s_count, _ = freq.shape
    pool = list(matrices) or [point]
    ub = np.array([np.asarray(u, float).ravel() for u, _ in pool])
    lb = np.array([np.asarray(l, float).ravel() for _, l in pool])
    draws_u, draws_l = np.empty((n_boot, n, n)), np.empty((n_boot, n, n))
    for b in range(n_boot):
        f = freq[:, :, rng.integers(0, s_count, s_count)].mean(axis=2)  # (n, n, 4)
        draws_u[b], draws_l[b] = f @ ub[b % len(pool)], f @ lb[b % len(pool)]
    f0 = freq.mean(axis=2)
    u0 = f0 @ np.asarray(point[0], float).ravel()
    l0 = f0 @ np.asarray(point[1], float).ravel()
    # user: U(i2, j) - U(i, j) at [i2, i, j]; assistant: L(i, j2) - L(i, j) at [j2, i, j]
    gain_u = draws_u[:, :, None, :] - draws_u[:, None, :, :]
    gain_l = np.swapaxes(draws_l, 1, 2)[:, :, :, None] - draws_l[:, None, :, :]
    return {
        "user_gain_mean": u0[:, None, :] - u0[None, :, :],
        "user_gain_lo": np.percentile(gain_u, 2.5, axis=0),
        "user_gain_hi": np.percentile(gain_u, 97.5, axis=0),
        "llm_gain_mean": l0.T[:, :, None] - l0[None, :, :],
        "llm_gain_lo": np.percentile(gain_l, 2.5, axis=0),
        "llm_gain_hi": np.percentile(gain_l, 97.5, axis=0),
    }


_GAIN_TOL = 1e-12


def _ci(values: np.ndarray, share: bool = False) -> dict[str, float]:
    """Mean and 95% t interval over seeds (a share's interval clipped to [0, 1])."""
    from .stats import mean_ci

    c = {k: float(v) for k, v in mean_ci(values).items() if k in ("mean", "lo", "hi")}
    if share:
        c["lo"], c["hi"] = max(c["lo"], 0.0), min(c["hi"], 1.0)
    return {k: round(v, 6) for k, v in c.items()}


def _switches(
    dev: dict[str, np.ndarray], who: str, k: int, i: int, j: int, names: Sequence[str]
) -> dict[str, Any]:
    """The switches of ``who`` away from entrant ``k`` in pair ``(i, j)``: the best by its
    mean gain and every profitable one (95% interval above 0), best first."""
    mean, lo, hi = (dev[f"{who}_gain_{x}"][:, i, j] for x in ("mean", "lo", "hi"))
    alts = sorted((a for a in range(len(names)) if a != k), key=lambda a: -mean[a])

    def gain(a: int) -> dict[str, Any]:
        return {"to": names[a], "mean": round(float(mean[a]), 6),
                "lo": round(float(lo[a]), 6), "hi": round(float(hi[a]), 6)}  # fmt: skip

    return {
        "best": gain(alts[0]) if alts else None,
        "profitable": [gain(a) for a in alts if lo[a] > _GAIN_TOL],
    }


def summarize_tournament(
    result: dict[str, np.ndarray],
    strategies: Sequence[str],
    dev: dict[str, np.ndarray],
    threshold: float,
) -> dict[str, Any]:
    """Per pair (user entrant, assistant entrant): payoffs per round ``U``/``L``, the
    shares of cooperative actions and of mutual cooperation over the tail (each mean and
    95% t interval over seeds), mean cell shares, each side's best switch and the
    profitable ones. ``cooperative``: pairs whose mutual cooperation is ``>= threshold``;
    ``sustained``: those of them with no profitable switch for either side;
    ``equilibria``: every pair with none (an equilibrium of the tournament's game)."""
    names = list(strategies)
    pairs, cooperative, sustained, equilibria = [], [], [], []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            user_dev = _switches(dev, "user", i, i, j, names)
            llm_dev = _switches(dev, "llm", j, i, j, names)
            stable = not user_dev["profitable"] and not llm_dev["profitable"]
            rec = {
                "user": a,
                "assistant": b,
                "U": _ci(result["user"][i, j]),
                "L": _ci(result["llm"][i, j]),
                "user_cooperation": _ci(result["user_coop"][i, j], share=True),
                "assistant_cooperation": _ci(result["llm_coop"][i, j], share=True),
                "mutual_cooperation": _ci(result["mutual"][i, j], share=True),
                "cells": result["freq"][i, j].mean(axis=0).round(4).tolist(),
                "user_switch": user_dev,
                "assistant_switch": llm_dev,
                "equilibrium": stable,
            }
            pairs.append(rec)
            if stable:
                equilibria.append([a, b])
            if rec["mutual_cooperation"]["mean"] >= threshold:
                cooperative.append([a, b])
                if stable:
                    sustained.append([a, b])
    return {
        "strategies": names,
        "cooperation_threshold": threshold,
        "pairs": pairs,
        "cooperative": cooperative,
        "sustained": sustained,
        "equilibria": equilibria,
        "learners": [p for p in pairs if p["user"] in LEARNERS and p["assistant"] in LEARNERS],
    }
