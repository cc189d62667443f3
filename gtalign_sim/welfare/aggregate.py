"""Mutual welfare: combining the user side ``U`` and the LLM side ``L`` into one reward.

The reference trains on the Cobb–Douglas aggregate ``√(U·L)``; its ablations use the
mean ``(U+L)/2`` and one side alone. Each aggregator reuses a welfare function of
:mod:`gtalign_sim.game.social_welfare`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gtalign_sim.game.social_welfare import cobb_douglas, weighted_linear

__all__ = ["AGGREGATORS", "DEFAULT_AGGREGATOR", "Aggregator", "aggregate", "get_aggregator"]

Aggregator = Callable[[ArrayLike, ArrayLike], Any]

DEFAULT_AGGREGATOR = "cobb_douglas"

AGGREGATORS: dict[str, Aggregator] = {
    "cobb_douglas": partial(cobb_douglas, user_weight=0.5, disagreement=(0.0, 0.0)),
    "linear": partial(weighted_linear, user_weight=0.5),
    "user_only": partial(weighted_linear, user_weight=1.0),
    "llm_only": partial(weighted_linear, user_weight=0.0),
}
"""Aggregators by name: ``cobb_douglas`` ``√(U·L)`` (gains below 0 count as 0),
``linear`` ``(U+L)/2``, ``user_only`` ``U``, ``llm_only`` ``L``."""


def get_aggregator(kind: str | Aggregator = DEFAULT_AGGREGATOR) -> Aggregator:
    """Resolve a name from :data:`AGGREGATORS` (or pass a callable ``f(u, l)`` through).

    Raises ``ValueError`` listing the allowed names for an unknown name.
    """
    if callable(kind):
        return kind
    if kind not in AGGREGATORS:
        raise ValueError(f"unknown aggregator {kind!r}; allowed: {sorted(AGGREGATORS)}")
    return AGGREGATORS[kind]


def aggregate(u: ArrayLike, l: ArrayLike, kind: str | Aggregator = DEFAULT_AGGREGATOR) -> Any:
    """Mutual welfare of ``U`` and ``L`` with the aggregator ``kind``.

    Scalars give a float; arrays (same shape) give an array. For non-negative inputs the
    ``cobb_douglas`` and ``linear`` aggregates lie between ``min(U, L)`` and ``max(U, L)``.
    """
    out = np.asarray(get_aggregator(kind)(u, l), dtype=float)
    return float(out) if out.ndim == 0 else out
