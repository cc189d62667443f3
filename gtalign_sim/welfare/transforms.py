"""Pricing-aware payoff transforms for inference-time steering (no retraining).

The reference's procedure: generate up to ``</payoff>``, parse the matrix, transform it
for the deployment's pricing, select the cell again, then generate the response for
that action. Two transforms:

* :func:`reference_transform` — the reference's fixed additive bonuses.
* :func:`token_cost_transform` — deltas derived from each action's expected tokens and
  the money each side pays or earns under a :class:`~gtalign_sim.welfare.PricingPolicy`.

A property worth knowing: with equal money-to-payoff scales for both sides, a price is a
*transfer* — what the user pays the provider earns — so ``user + llm`` changes by the
compute cost alone, identically under every pricing policy. A rule that ranks cells by
``user + llm`` (such as the ``gtalign`` rule) then picks the same action whatever the
pricing; pricing steers it only when money counts differently for the two sides
(``provider_money_to_payoff`` ≠ ``money_to_payoff``) or under a product-type rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gtalign_sim.game import GTALIGN_ACTIONS, PayoffMatrix

from .pricing import Free, PerTokenAPI, PricingPolicy, Subscription, resolve_pricing

__all__ = [
    "DEFAULT_EXPECTED_TOKENS",
    "DEFAULT_MONEY_TO_PAYOFF",
    "DEFAULT_REFERENCE_OFFSET",
    "REFERENCE_LLM_BONUS",
    "REFERENCE_USER_BONUS",
    "reference_regime",
    "reference_transform",
    "token_cost_deltas",
    "token_cost_transform",
]

REFERENCE_USER_BONUS: Mapping[str, float] = {"DA": 0.0, "CQ": 0.5, "AQ": 1.0}
"""The reference's user bonuses when the provider bears the token cost (subscription)."""
REFERENCE_LLM_BONUS: Mapping[str, float] = {"DA": 1.0, "CQ": 0.0, "AQ": 0.5}
"""The reference's LLM bonuses when the user bears the token cost (per-token API)."""
DEFAULT_REFERENCE_OFFSET = -0.5
"""Offset added to every payoff of the side that bears the cost. The reference does not
publish its value; we read it as a flat cost to the paying side and use −0.5 (half the
largest bonus). A constant offset to one side changes no choice of a sum-based rule."""

DEFAULT_EXPECTED_TOKENS: Mapping[str, tuple[float, float]] = {
    "DA": (300.0, 400.0),
    "CQ": (700.0, 450.0),
    "AQ": (900.0, 600.0),
}
"""Expected ``(prompt, completion)`` tokens until the request is settled, per action.

DA: one turn (a ~300-token prompt, a ~400-token answer). CQ: a ~50-token question, then
the answer turn whose prompt re-sends the history (~400 tokens) — short itself, but
it costs an extra round trip. AQ: a brief answer plus a question (~250 tokens), then in
expectation the follow-up turn it invites (~600-token prompt, ~350-token reply): the
longest. Plain assistant turns; add the reasoning blocks' tokens for four-block output.
"""

DEFAULT_MONEY_TO_PAYOFF = 2000.0
"""Payoff units per dollar (1 unit = $0.0005). At the default small-model API prices a
default DA turn costs the user ≈ $0.00029 → −0.57, AQ ≈ $0.0005 → −0.99: deltas of the
size of the reference's 0.5/1 bonuses on the [-5, 5] payoff scale."""


def reference_regime(pricing: PricingPolicy | str | Mapping[str, Any]) -> str | None:
    """Which branch of the reference transform applies: ``"provider"``, ``"user"`` or ``None``.

    The built-in policies map by type, whatever their numbers: :class:`Subscription` →
    ``"provider"`` (the provider bears the token cost), :class:`PerTokenAPI` → ``"user"``,
    :class:`Free` → ``None`` (no change; the reference does not steer for it). Any other
    policy maps by :attr:`~PricingPolicy.who_pays_per_token` (``"none"`` → ``None``).
    """
    policy = resolve_pricing(pricing)
    if isinstance(policy, Subscription):
        return "provider"
    if isinstance(policy, PerTokenAPI):
        return "user"
    if isinstance(policy, Free):
        return None
    who = policy.who_pays_per_token
    return who if who in ("provider", "user") else None


def _per_action(matrix: PayoffMatrix, values: Mapping[str, float], what: str) -> np.ndarray:
    missing = [a for a in matrix.assistant_actions if a not in values]
    if missing:
        raise ValueError(
            f"{what} has no value for action(s) {missing}; matrix actions: "
            f"{list(matrix.assistant_actions)}, given: {sorted(values)}"
        )
    out = np.array([float(values[a]) for a in matrix.assistant_actions])
    if not np.isfinite(out).all():
        raise ValueError(f"{what} values must be finite, got {dict(values)}")
    return out


def _default_bonus(
    matrix: PayoffMatrix, default: Mapping[str, float], arg: str
) -> Mapping[str, float]:
    if not set(matrix.assistant_actions) <= set(default):
        raise ValueError(
            f"the reference bonuses are defined for the GTAlign actions {list(GTALIGN_ACTIONS)}, "
            f"but the matrix's actions are {list(matrix.assistant_actions)}; pass {arg}= "
            "explicitly (one value per action)"
        )
    return default


def reference_transform(
    matrix: PayoffMatrix,
    pricing: PricingPolicy | str | Mapping[str, Any],
    *,
    offset: float = DEFAULT_REFERENCE_OFFSET,
    user_bonus: Mapping[str, float] | None = None,
    llm_bonus: Mapping[str, float] | None = None,
    decimals: int | None = 1,
) -> PayoffMatrix:
    """The reference's additive steering transform.

    * Provider bears the cost (subscription): ``offset`` added to every LLM payoff and
      ``user_bonus`` (default DA +0, CQ +0.5, AQ +1) to the user's payoffs per action.
    * User bears the cost (per-token API): ``offset`` added to every user payoff and
      ``llm_bonus`` (default DA +1, CQ +0, AQ +0.5) to the LLM's payoffs per action.
    * :class:`Free` (or nobody pays per token): the matrix is returned unchanged.

    Bonuses are looked up by action label and must cover every action; with no explicit
    bonus, a matrix whose actions are not DA/CQ/AQ raises ``ValueError``. The result is
    rounded to ``decimals`` (``None``: no rounding).
    """
    if not math.isfinite(offset):
        raise ValueError(f"offset must be finite, got {offset!r}")
    regime = reference_regime(pricing)
    if regime is None:
        return matrix
    if regime == "provider":
        bonus = (
            user_bonus
            if user_bonus is not None
            else _default_bonus(matrix, REFERENCE_USER_BONUS, "user_bonus")
        )
        out = matrix.add(user=_per_action(matrix, bonus, "user_bonus"), llm=offset)
    else:
        bonus = (
            llm_bonus
            if llm_bonus is not None
            else _default_bonus(matrix, REFERENCE_LLM_BONUS, "llm_bonus")
        )
        out = matrix.add(user=offset, llm=_per_action(matrix, bonus, "llm_bonus"))
    return out if decimals is None else out.rounded(decimals)


def _check_scale(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return float(value)


def token_cost_deltas(
    matrix: PayoffMatrix,
    pricing: PricingPolicy | str | Mapping[str, Any],
    *,
    expected_tokens: Mapping[str, tuple[float, float]] | None = None,
    money_to_payoff: float = DEFAULT_MONEY_TO_PAYOFF,
    provider_money_to_payoff: float | None = None,
    marginal: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(user, llm)`` payoff deltas of :func:`token_cost_transform`, each ``(n, m)``.

    For each cell, ``(p, c) = expected_tokens[<strategy>_<action>]`` if that cell key is
    given, else ``expected_tokens[<action>]``; ``cost = pricing.turn_cost(p, c)`` (minus
    :meth:`~PricingPolicy.fixed_cost` when ``marginal``). Then
    ``Δuser = −money_to_payoff · cost.user_cost`` and
    ``Δllm = provider_money_to_payoff · cost.provider_net`` (revenue − compute).
    ``provider_money_to_payoff`` defaults to ``money_to_payoff``. A cell with no entry
    raises ``ValueError`` naming its action.
    """
    policy = resolve_pricing(pricing)
    table = DEFAULT_EXPECTED_TOKENS if expected_tokens is None else expected_tokens
    s_user = _check_scale(money_to_payoff, "money_to_payoff")
    s_llm = (
        s_user
        if provider_money_to_payoff is None
        else _check_scale(provider_money_to_payoff, "provider_money_to_payoff")
    )
    fixed = policy.fixed_cost()
    n, m = matrix.shape
    du = np.zeros((n, m))
    dl = np.zeros((n, m))
    for i, s in enumerate(matrix.user_strategies):
        for j, a in enumerate(matrix.assistant_actions):
            key = f"{s}_{a}"
            if key in table:
                tokens = table[key]
            elif a in table:
                tokens = table[a]
            else:
                raise ValueError(
                    f"expected_tokens has no entry for action {a!r} (nor cell {key!r}); "
                    f"given: {sorted(table)}"
                )
            try:
                p, c = tokens
            except (TypeError, ValueError):
                raise ValueError(
                    f"expected_tokens[{a!r}] must be a (prompt, completion) pair, got {tokens!r}"
                ) from None
            cost = policy.turn_cost(p, c)
            if marginal:
                cost = cost - fixed
            du[i, j] = -s_user * cost.user_cost + 0.0  # no -0.0
            dl[i, j] = s_llm * cost.provider_net
    return du, dl


def token_cost_transform(
    matrix: PayoffMatrix,
    pricing: PricingPolicy | str | Mapping[str, Any],
    *,
    expected_tokens: Mapping[str, tuple[float, float]] | None = None,
    money_to_payoff: float = DEFAULT_MONEY_TO_PAYOFF,
    provider_money_to_payoff: float | None = None,
    marginal: bool = True,
    decimals: int | None = None,
) -> PayoffMatrix:
    """Steer a matrix by the money each action's expected tokens cost or earn each side.

    The user's payoffs lose the user's cost, the LLM's gain the provider's net
    (revenue − compute), both in payoff units (``money_to_payoff`` per dollar for the
    user, ``provider_money_to_payoff`` for the provider, default the same). With
    ``marginal=True`` (default) only the token-dependent part of the cost counts: a
    subscription's amortised fee is sunk and moves no payoff. Works for any action
    labels covered by ``expected_tokens`` (default :data:`DEFAULT_EXPECTED_TOKENS`);
    see :func:`token_cost_deltas`. Rounded to ``decimals`` if given.
    """
    du, dl = token_cost_deltas(
        matrix,
        pricing,
        expected_tokens=expected_tokens,
        money_to_payoff=money_to_payoff,
        provider_money_to_payoff=provider_money_to_payoff,
        marginal=marginal,
    )
    out = matrix.add(user=du, llm=dl)
    return out if decimals is None else out.rounded(decimals)
