"""Ground-truth payoffs: what each (strategy, mode) cell is really worth for one user.

:func:`user_planner` is the exact planner (:class:`gtalign_sim.core.Planner`) over a
single hypothesis — the actual user's profile, intent and question type — so its
expectations are the *true* expected gains of that user: exact expectations, over the
outcome draws, of the same rules the environment samples. :func:`exact_cell_payoffs`
builds the GTAlign 2×3 matrix from it (after any conversation prefix).
:func:`estimate_cell_payoffs` gets the same matrix by playing the environment many times
(Monte Carlo; kept as an independent check of the planner, it agrees within its sampling
error), and :func:`calibration_error` scores an assistant's matrix against either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..backends.template import MODES, VERBOSITIES
from ..core import Planner, Rows, WorldConfig
from ..game import PayoffMatrix
from ..users import TaskTables, encode_action
from .clarification import ClarificationGameEnv

__all__ = [
    "DIRECT_CONTINUATION",
    "calibration_error",
    "estimate_cell_payoffs",
    "exact_cell_payoffs",
    "user_planner",
]

DIRECT_CONTINUATION: int = encode_action("DA", 1)
"""The continuation of the GTAlign matrix's cells: a standard direct answer every turn."""

_STRATEGIES = ("DQ", "VQ")


def _strategy_index(strategy: str | int) -> int:
    if strategy in _STRATEGIES:
        return _STRATEGIES.index(str(strategy))
    if strategy in (0, 1) and not isinstance(strategy, bool):
        return int(strategy)
    raise ValueError(f"strategy must be one of {list(_STRATEGIES)} (or 0/1), got {strategy!r}")


def user_planner(
    task: Any,
    profile: Any,
    strategy: str | int,
    world: WorldConfig | None = None,
    objective: str | Callable[[Any, Any], Any] = "mutual",
    tables: TaskTables | None = None,
) -> Planner:
    """The exact planner for one known user: ``profile`` (with its ``intent``) having
    opened with ``strategy`` (``"DQ"``/``"VQ"``), under its own pricing plan.

    Its ``action_values``/``evaluate``/``tree`` are the user's true expected gains.
    """
    s = _strategy_index(strategy)
    ids = [it.id for it in task.interpretations]
    if profile.intent not in ids:
        raise ValueError(f"profile.intent {profile.intent!r} is not a reading of {task.id}: {ids}")
    prior = np.zeros(len(ids))
    prior[ids.index(profile.intent)] = 1.0
    sw = np.zeros((1, len(ids), 2))
    sw[..., s] = 1.0
    rows = Rows.build([profile], len(ids), prior, sw)
    rows = rows.select(rows.weight > 0)
    return Planner(
        tables if tables is not None else TaskTables.cached(task),
        world if world is not None else WorldConfig(),
        profile.pricing,
        rows,
        objective,
    )


def exact_cell_payoffs(
    task: Any,
    profile: Any,
    world: WorldConfig | None = None,
    verbosity: int | Sequence[int] = 1,
    continuation: int | None = None,
    prefix: Sequence[int] = (),
) -> PayoffMatrix:
    """The exact (U, L) gains of each (DQ/VQ, DA/CQ/AQ) cell for this user.

    Cell ``(s, m)``: the user opened with ``s``, the assistant took ``prefix`` and the
    user kept replying (averaged over the outcomes that allow it), then mode ``m`` at
    ``verbosity`` (one level, or one per mode), then ``continuation`` (default: a
    standard direct answer) on every later turn. Gains over the disagreement point, not
    the GTAlign [-5, 5] scale. Raises ``ValueError`` when ``prefix`` cannot happen.
    """
    levels = [int(verbosity)] * len(MODES) if np.ndim(verbosity) == 0 else list(verbosity)
    if len(levels) != len(MODES) or any(v not in range(len(VERBOSITIES)) for v in levels):
        raise ValueError(f"verbosity must be 0..2 or one per mode {list(MODES)}, got {verbosity}")
    cont = DIRECT_CONTINUATION if continuation is None else int(continuation)
    tables = TaskTables.cached(task)
    u = np.zeros((2, len(MODES)))
    l = np.zeros_like(u)
    for s in range(2):
        planner = user_planner(task, profile, s, world, tables=tables)
        values, mass = planner.action_values(
            list(prefix), np.zeros(len(planner.rows), dtype=int), 1, cont
        )
        if mass[0] <= 0:
            raise ValueError(f"prefix {list(prefix)} cannot happen after {_STRATEGIES[s]}")
        cols = [m * len(VERBOSITIES) + v for m, v in enumerate(levels)]
        u[s], l[s] = values[0, cols, 1], values[0, cols, 2]
    return PayoffMatrix(u, l)


def estimate_cell_payoffs(
    env_factory: Callable[[], ClarificationGameEnv],
    task: Any,
    profile: Any,
    n_samples: int = 64,
    seed: int = 0,
    verbosity: int = 1,
    continuation: int | None = None,
) -> PayoffMatrix:
    """Monte-Carlo (U, L) of each (DQ/VQ, DA/CQ/AQ) cell for this task and user.

    Plays each cell ``n_samples`` times with fresh outcome draws, then direct standard
    answers (or ``continuation``). Returns a :class:`PayoffMatrix` of mean gains over
    the disagreement point (not the GTAlign [-5, 5] scale); :func:`exact_cell_payoffs`
    is its exact expectation.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    cont = DIRECT_CONTINUATION if continuation is None else int(continuation)
    env = env_factory()
    seeds = np.random.SeedSequence(seed).generate_state(n_samples)
    u = np.zeros((2, len(MODES)))
    l = np.zeros_like(u)
    for si, strategy in enumerate(_STRATEGIES):
        for mi, mode in enumerate(MODES):
            first = encode_action(mode, verbosity)
            for sd in seeds:
                env.reset(
                    seed=int(sd),
                    options={"task": task, "profile": profile, "strategy": strategy},
                )
                action = first
                while not env.episode:
                    env.step(action)
                    action = cont
                u[si, mi] += env.episode["user_welfare"]
                l[si, mi] += env.episode["llm_welfare"]
    return PayoffMatrix(u / n_samples, l / n_samples)


def calibration_error(
    estimate: PayoffMatrix, truth: PayoffMatrix, scale: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Mean absolute error of an estimate against the truth, per side and overall.

    ``scale`` converts the estimate to welfare units first: ``{"factor": 5, "offset": 0}``
    maps the GTAlign [-5, 5] scale back to gains (``x / factor + offset``; see
    :func:`gtalign_sim.agents.model_based.to_payoff_scale`).
    """
    eu, el = np.asarray(estimate.user, float), np.asarray(estimate.llm, float)
    if scale:
        eu = eu / scale["factor"] + scale["offset"]
        el = el / scale["factor"] + scale["offset"]
    du = np.abs(eu - truth.user)
    dl = np.abs(el - truth.llm)
    return {
        "user": float(du.mean()),
        "llm": float(dl.mean()),
        "overall": float((du.mean() + dl.mean()) / 2),
    }
