"""Pricing policies: who pays what, in dollars, for one assistant turn.

A :class:`PricingPolicy` turns a turn's token counts into a :class:`TurnCost`: what the
user pays, what the provider spends on compute and what it earns. Three policies:

* :class:`Subscription` — the user pays a flat monthly fee whatever the tokens; the
  provider pays compute per token. :meth:`Subscription.turn_cost` books an *amortised*
  share of the fee (``monthly_fee / turns_per_month``) on every turn, as both the user's
  cost and the provider's revenue; that share does not depend on tokens, so the marginal
  cost of a token falls on the provider alone.
* :class:`PerTokenAPI` — the user pays a price per input and per output token; the
  provider earns that price and pays compute.
* :class:`Free` — no money changes hands; the provider still pays compute (set the
  compute costs to 0 for a world where nobody pays anything).

Default numbers (dollars per token; ``per_million(x)`` is ``x`` dollars per 1M tokens)
are illustrative, of the order of public list prices for a small hosted model in 2025:
price $0.15 / $0.60 per 1M input / output tokens; compute assumed at a third of the
price ($0.05 / $0.20 per 1M); subscription $20 a month spread over 600 turns (20 a day).
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "DEFAULT_COMPUTE_COST_PER_INPUT_TOKEN",
    "DEFAULT_COMPUTE_COST_PER_OUTPUT_TOKEN",
    "DEFAULT_MONTHLY_FEE",
    "DEFAULT_PRICE_PER_INPUT_TOKEN",
    "DEFAULT_PRICE_PER_OUTPUT_TOKEN",
    "DEFAULT_TURNS_PER_MONTH",
    "PRICING_POLICIES",
    "Free",
    "PerTokenAPI",
    "PricingPolicy",
    "Subscription",
    "TurnCost",
    "get_pricing",
    "per_million",
    "pricing_from_config",
    "resolve_pricing",
]


def per_million(dollars: float) -> float:
    """Dollars per token from dollars per million tokens."""
    return dollars * 1e-6


DEFAULT_PRICE_PER_INPUT_TOKEN = per_million(0.15)
"""$0.15 per 1M input tokens (order of a small hosted model's list price)."""
DEFAULT_PRICE_PER_OUTPUT_TOKEN = per_million(0.60)
"""$0.60 per 1M output tokens."""
DEFAULT_COMPUTE_COST_PER_INPUT_TOKEN = per_million(0.05)
"""Assumed compute cost: a third of the input price."""
DEFAULT_COMPUTE_COST_PER_OUTPUT_TOKEN = per_million(0.20)
"""Assumed compute cost: a third of the output price."""
DEFAULT_MONTHLY_FEE = 20.0
"""A typical consumer chat subscription, dollars per month."""
DEFAULT_TURNS_PER_MONTH = 600.0
"""Turns a subscriber is assumed to use per month (20 a day) to amortise the fee."""


@dataclass(frozen=True)
class TurnCost:
    """Money moved by one turn, in dollars.

    Attributes:
        user_cost: What the user pays for the turn.
        provider_cost: What the provider spends (compute).
        provider_revenue: What the provider earns from the turn.
    """

    user_cost: float = 0.0
    provider_cost: float = 0.0
    provider_revenue: float = 0.0

    @property
    def provider_net(self) -> float:
        """Revenue minus compute cost (negative when the provider loses money)."""
        return self.provider_revenue - self.provider_cost

    def __add__(self, other: TurnCost) -> TurnCost:
        if not isinstance(other, TurnCost):
            return NotImplemented
        return TurnCost(
            self.user_cost + other.user_cost,
            self.provider_cost + other.provider_cost,
            self.provider_revenue + other.provider_revenue,
        )

    def __sub__(self, other: TurnCost) -> TurnCost:
        if not isinstance(other, TurnCost):
            return NotImplemented
        return TurnCost(
            self.user_cost - other.user_cost,
            self.provider_cost - other.provider_cost,
            self.provider_revenue - other.provider_revenue,
        )


def _check_tokens(prompt_tokens: float, completion_tokens: float) -> tuple[float, float]:
    """Token counts as floats; ``ValueError`` naming the argument unless each is a number
    (Python or numpy; not a bool, a string or ``None``), finite and ``>= 0``."""
    out = []
    for name, val in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens)):
        if isinstance(val, (bool, str, bytes)) or val is None:
            raise ValueError(f"{name} must be a number, got {val!r:.80}")
        try:
            as_float = float(val)
        except OverflowError:  # an int too large for a float
            as_float = math.inf
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {val!r:.80}") from None
        if not math.isfinite(as_float) or as_float < 0:
            raise ValueError(f"{name} must be finite and >= 0, got {val!r:.80}")
        out.append(as_float)
    return out[0], out[1]


class PricingPolicy(ABC):
    """How one turn's tokens turn into money for the user and the provider.

    A plug-in implements :attr:`name` (a class attribute) and :meth:`turn_cost`.
    Built-in policies are frozen dataclasses whose fields are dollars (per token, or per
    month); every field must be finite and non-negative.
    """

    name: ClassVar[str] = "custom"

    @abstractmethod
    def turn_cost(self, prompt_tokens: float, completion_tokens: float) -> TurnCost:
        """The money moved by one turn with these token counts (``ValueError`` if < 0)."""

    def fixed_cost(self) -> TurnCost:
        """The part of a turn's cost that does not depend on tokens (``turn_cost(0, 0)``)."""
        return self.turn_cost(0.0, 0.0)

    def marginal_cost(self, prompt_tokens: float, completion_tokens: float) -> TurnCost:
        """The token-dependent part of a turn's cost: ``turn_cost(p, c) − fixed_cost()``."""
        return self.turn_cost(prompt_tokens, completion_tokens) - self.fixed_cost()

    @property
    def who_pays_per_token(self) -> str:
        """Who bears the marginal money cost of a token: ``"user"``, ``"provider"``, ``"none"``.

        ``"user"`` when the user's cost grows with tokens, else ``"provider"`` when the
        provider's compute cost does, else ``"none"``.
        """
        d = self.marginal_cost(1.0, 1.0)
        if d.user_cost > 0:
            return "user"
        if d.provider_cost > 0:
            return "provider"
        return "none"

    def to_config(self) -> dict[str, Any]:
        """``{"name": ..., <fields>}``; :func:`pricing_from_config` inverts it."""
        fields = dataclasses.asdict(self) if dataclasses.is_dataclass(self) else {}
        return {"name": self.name, **fields}

    def _validate(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            val = getattr(self, f.name)
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise ValueError(f"{type(self).__name__}.{f.name} must be a number, got {val!r}")
            if not math.isfinite(val) or val < 0:
                raise ValueError(
                    f"{type(self).__name__}.{f.name} must be finite and >= 0, got {val!r}"
                )

    def _compute(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (
            prompt_tokens * self.compute_cost_per_input_token  # type: ignore[attr-defined]
            + completion_tokens * self.compute_cost_per_output_token  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class Subscription(PricingPolicy):
    """Flat monthly fee for the user; compute per token for the provider.

    Each turn books ``fee_per_turn = monthly_fee / turns_per_month`` as the user's cost
    and the provider's revenue (an amortisation: the fee does not depend on what the
    turn does), and ``compute × tokens`` as the provider's cost.
    """

    name: ClassVar[str] = "subscription"

    monthly_fee: float = DEFAULT_MONTHLY_FEE
    turns_per_month: float = DEFAULT_TURNS_PER_MONTH
    compute_cost_per_input_token: float = DEFAULT_COMPUTE_COST_PER_INPUT_TOKEN
    compute_cost_per_output_token: float = DEFAULT_COMPUTE_COST_PER_OUTPUT_TOKEN

    def __post_init__(self) -> None:
        self._validate()
        if self.turns_per_month <= 0:
            raise ValueError(
                f"Subscription.turns_per_month must be > 0, got {self.turns_per_month!r}"
            )

    @property
    def fee_per_turn(self) -> float:
        """The amortised share of the monthly fee booked on each turn."""
        return self.monthly_fee / self.turns_per_month

    def turn_cost(self, prompt_tokens: float, completion_tokens: float) -> TurnCost:
        p, c = _check_tokens(prompt_tokens, completion_tokens)
        fee = self.fee_per_turn
        return TurnCost(user_cost=fee, provider_cost=self._compute(p, c), provider_revenue=fee)


@dataclass(frozen=True)
class PerTokenAPI(PricingPolicy):
    """The user pays per token; the provider earns that price and pays compute."""

    name: ClassVar[str] = "per_token_api"

    price_per_input_token: float = DEFAULT_PRICE_PER_INPUT_TOKEN
    price_per_output_token: float = DEFAULT_PRICE_PER_OUTPUT_TOKEN
    compute_cost_per_input_token: float = DEFAULT_COMPUTE_COST_PER_INPUT_TOKEN
    compute_cost_per_output_token: float = DEFAULT_COMPUTE_COST_PER_OUTPUT_TOKEN

    def __post_init__(self) -> None:
        self._validate()

    def turn_cost(self, prompt_tokens: float, completion_tokens: float) -> TurnCost:
        p, c = _check_tokens(prompt_tokens, completion_tokens)
        price = p * self.price_per_input_token + c * self.price_per_output_token
        return TurnCost(user_cost=price, provider_cost=self._compute(p, c), provider_revenue=price)


@dataclass(frozen=True)
class Free(PricingPolicy):
    """No money changes hands; the provider still pays compute (0 here: nobody pays)."""

    name: ClassVar[str] = "free"

    compute_cost_per_input_token: float = DEFAULT_COMPUTE_COST_PER_INPUT_TOKEN
    compute_cost_per_output_token: float = DEFAULT_COMPUTE_COST_PER_OUTPUT_TOKEN

    def __post_init__(self) -> None:
        self._validate()

    def turn_cost(self, prompt_tokens: float, completion_tokens: float) -> TurnCost:
        p, c = _check_tokens(prompt_tokens, completion_tokens)
        return TurnCost(user_cost=0.0, provider_cost=self._compute(p, c), provider_revenue=0.0)


PRICING_POLICIES: dict[str, type[PricingPolicy]] = {
    Subscription.name: Subscription,
    PerTokenAPI.name: PerTokenAPI,
    Free.name: Free,
}
"""Pricing policies by name."""


def get_pricing(name: str, **params: Any) -> PricingPolicy:
    """Build the policy called ``name`` with ``params`` (its dataclass fields).

    Raises ``ValueError`` listing the allowed names for an unknown name, and naming the
    field for an unknown or invalid parameter.
    """
    if name not in PRICING_POLICIES:
        raise ValueError(f"unknown pricing policy {name!r}; allowed: {sorted(PRICING_POLICIES)}")
    cls = PRICING_POLICIES[name]
    allowed = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown} for pricing policy {name!r}; allowed: "
            f"{sorted(allowed)}"
        )
    return cls(**params)


def pricing_from_config(config: Mapping[str, Any] | PricingPolicy) -> PricingPolicy:
    """Build a policy from ``{"name": <policy>, <field>: <value>, ...}``.

    A :class:`PricingPolicy` passes through unchanged; a missing or unknown name or an
    unknown field raises ``ValueError``.
    """
    if isinstance(config, PricingPolicy):
        return config
    if not isinstance(config, Mapping):
        raise ValueError(f"pricing config must be a mapping, got {type(config).__name__}")
    params = dict(config)
    if "name" not in params:
        raise ValueError(
            f"pricing config needs a 'name'; allowed names: {sorted(PRICING_POLICIES)}"
        )
    name = params.pop("name")
    return get_pricing(str(name), **params)


def resolve_pricing(pricing: PricingPolicy | str | Mapping[str, Any]) -> PricingPolicy:
    """A policy from a policy, a name (default parameters) or a config mapping."""
    if isinstance(pricing, str):
        return get_pricing(pricing)
    return pricing_from_config(pricing)
