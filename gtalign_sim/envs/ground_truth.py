"""Ground-truth payoffs: what each (strategy, mode) cell is really worth, by simulation.

For a given task and hidden user, :func:`estimate_cell_payoffs` plays every cell of the
GTAlign matrix — the user opening with DQ or VQ, the assistant answering with DA, CQ or
AQ, then direct standard answers — many times with fresh outcome randomness and
returns the mean (U, L) per cell. An assistant's own payoff matrix can then be scored
against it (:func:`calibration_error`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..backends.template import MODES
from ..game import PayoffMatrix
from ..users import encode_action
from .clarification import ClarificationGameEnv

__all__ = ["calibration_error", "estimate_cell_payoffs"]


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

    Returns a :class:`PayoffMatrix` of mean gains over the disagreement point (not the
    GTAlign [-5, 5] scale).
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    cont = encode_action("DA", 1) if continuation is None else int(continuation)
    env = env_factory()
    seeds = np.random.SeedSequence(seed).generate_state(n_samples)
    u = np.zeros((2, len(MODES)))
    l = np.zeros_like(u)
    for si, strategy in enumerate(("DQ", "VQ")):
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
