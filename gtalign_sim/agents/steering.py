"""Inference-time pricing steering of an assistant's payoff matrix, shared by the
model-based GTAlign assistant and the LLM assistant (which steers its own ``<payoff>``).

``reference``: the reference implementation's additive transform (bonuses per action
by who bears the token cost); ``token_cost``: each action's expected money for both
sides under the world's pricing plan, converted at the world's money rate. Both use the
world's own prices (:meth:`~gtalign_sim.core.WorldConfig.policy`), so a price sweep
reaches them.
"""

from __future__ import annotations

from typing import Any

from ..game import PayoffMatrix

__all__ = ["STEERING", "steer_matrix"]

STEERING: tuple[str, ...] = ("none", "reference", "token_cost")
"""Steering modes."""


def steer_matrix(
    matrix: PayoffMatrix,
    steering: str,
    pricing: str,
    world: Any,
    money_to_payoff: float | None = None,
    decimals: int | None = None,
) -> PayoffMatrix:
    """``matrix`` steered for the user's ``pricing`` plan under ``world``'s prices.

    ``money_to_payoff`` (payoff units per dollar) defaults to the world's money value on
    the payoff scale (``5 × provider_money_value``: payoffs are 5 × gains).
    """
    from ..welfare import reference_transform, token_cost_transform
    from .model_based import to_payoff_scale

    if steering not in STEERING:
        raise ValueError(f"steering {steering!r} unknown; allowed: {list(STEERING)}")
    if steering == "none":
        return matrix
    policy = world.policy(pricing)
    if steering == "reference":
        return reference_transform(matrix, policy, decimals=decimals)
    rate = money_to_payoff
    if rate is None:
        rate = float(to_payoff_scale(world.provider_money_value))
    return token_cost_transform(matrix, policy, money_to_payoff=rate, decimals=decimals)
