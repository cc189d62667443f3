"""The user's own view, on arrays: what a learning user sees when it decides.

The AEC env's external user (``user_policy="external"``) decides twice: the question type
at the start (``0 = DQ, 1 = VQ``) and, after each assistant turn the rules let it answer,
whether to reply (``0 = reply, 1 = stop``). Its observation is
:data:`~gtalign_sim.envs.clarification.USER_FEATURES`; :func:`user_features` builds the
same rows for many episodes at once, so the batched engine can hand those decisions to a
:class:`UserAgent` (an independent learner, :class:`gtalign_sim.train.UserLearner`). A
test holds the rows equal to the AEC env's ``observe("user")`` at the same decisions.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..core.vocab import MODES, PRICING_PLANS
from .clarification import USER_FEATURES

__all__ = ["USER_PHASES", "UserAgent", "check_actions", "user_features"]

USER_PHASES: tuple[str, ...] = ("strategy", "reply")
"""The user's decisions: the question type (0 = DQ, 1 = VQ), then reply (0) or stop (1)."""

_COL = {name: i for i, name in enumerate(USER_FEATURES)}


@runtime_checkable
class UserAgent(Protocol):
    """Makes the users' decisions of a batched engine.

    ``__call__(phase, features, episodes)`` gets the :data:`USER_PHASES` name, the
    deciding episodes' :data:`USER_FEATURES` rows ``[k, F]`` (float32) and their episode
    ids ``[k]`` (unique per engine reset), and returns ``k`` actions in ``{0, 1}``.
    """

    def __call__(self, phase: str, features: np.ndarray, episodes: np.ndarray) -> np.ndarray:
        """The actions of the ``k`` deciding users."""
        ...


def user_features(
    *,
    phase: str,
    turns: np.ndarray,
    max_turns: int,
    ambiguity: np.ndarray,
    intent_is_default: np.ndarray,
    last_mode: np.ndarray,
    last_quality: np.ndarray,
    best_quality: np.ndarray,
    cols: dict[str, np.ndarray],
    pricing: np.ndarray,
) -> np.ndarray:
    """:data:`USER_FEATURES` rows ``[k, F]`` (float32), as the AEC env's ``observe("user")``.

    ``last_mode`` indexes :data:`~gtalign_sim.core.vocab.MODES` (``-1``: no assistant turn
    yet), ``pricing`` :data:`~gtalign_sim.core.vocab.PRICING_PLANS`; ``cols`` holds the
    profile columns ``effort_detail``, ``effort_answer``, ``time_cost``, ``patience`` and
    ``satisfaction``; every array has the ``k`` deciding episodes' entries.
    """
    if phase not in USER_PHASES:
        raise ValueError(f"phase {phase!r} unknown; allowed: {list(USER_PHASES)}")
    k = len(turns)
    out = np.zeros((k, len(USER_FEATURES)))
    rows = np.arange(k)
    out[:, _COL["phase_reply"]] = phase == "reply"
    out[:, _COL["turn"]] = np.asarray(turns, dtype=float) / max_turns
    out[:, _COL["ambiguity"]] = ambiguity
    out[:, _COL["intent_is_default"]] = intent_is_default
    has = np.asarray(last_mode) >= 0
    out[rows[has], _COL[f"last_mode_{MODES[0]}"] + np.asarray(last_mode)[has]] = 1.0
    out[:, _COL["last_quality"]] = last_quality
    out[:, _COL["best_quality"]] = best_quality
    for name in ("effort_detail", "effort_answer", "time_cost", "satisfaction"):
        out[:, _COL[name]] = cols[name]
    out[:, _COL["patience"]] = np.asarray(cols["patience"], dtype=float) / max_turns
    out[rows, _COL[f"pricing_{PRICING_PLANS[0]}"] + np.asarray(pricing)] = 1.0
    return out.astype(np.float32)


def check_actions(actions: Any, k: int, phase: str) -> np.ndarray:
    """A user agent's ``actions`` as ``k`` integers in ``{0, 1}`` (``ValueError`` otherwise)."""
    a = np.asarray(actions)
    if a.shape != (k,) or not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise ValueError(f"user_agent ({phase}): must return {k} integers, got {a.shape} {a.dtype}")
    if k and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"user_agent ({phase}): actions must be 0 or 1, got {a.min()}..{a.max()}")
    return a.astype(np.int64)
