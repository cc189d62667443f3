"""The parameters of the clarification game's mechanics (:class:`WorldConfig`).

The dataclass defaults ARE the defaults (the ``paper`` scenario): the Hydra config only
overrides them, and ``docs/model.md``'s table is checked against them by a test. Every
parameter's rationale is in ``docs/model.md``. Units: welfare units are fractions of the
value of a perfect answer to the user (worth 1); money is in dollars.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..welfare import get_pricing
from ..welfare.pricing import PricingPolicy, per_million
from .vocab import DIFFICULTIES, PRICING_PLANS, VERBOSITIES

__all__ = ["REMOVED_WORLD_KEYS", "PriceRates", "WorldConfig", "default_pricing"]


class PriceRates(NamedTuple):
    """Dollars per (input, output) token: what the user pays, the provider earns and
    spends. Every pricing plan is linear in tokens at the margin, so six numbers
    describe any turn."""

    user_in: float
    user_out: float
    revenue_in: float
    revenue_out: float
    compute_in: float
    compute_out: float


def default_pricing() -> dict[str, dict[str, float]]:
    """Per-plan parameters: a frontier-model API list price ($2.5 / $10 per 1M input /
    output tokens) and compute at about a third of it ($0.8 / $3.2)."""
    compute = {
        "compute_cost_per_input_token": per_million(0.8),
        "compute_cost_per_output_token": per_million(3.2),
    }
    return {
        "subscription": dict(compute),
        "per_token_api": {
            "price_per_input_token": per_million(2.5),
            "price_per_output_token": per_million(10.0),
            **compute,
        },
        "free": dict(compute),
    }


REMOVED_WORLD_KEYS: dict[str, str] = {
    "cue_dq": "the question type is observable in game v1 (docs/model.md, Information)",
    "cue_vq": "the question type is observable in game v1 (docs/model.md, Information)",
    "user_cost_cap": "U is reported as a gain over the disagreement point, uncapped",
    "provider_money_cap": "L counts money uncapped (money is a transfer)",
}
"""World keys of game v0 that no longer exist, with the reason (ignored with a warning)."""

_NONNEG = (
    "followup_effort",
    "redundant_question_cost",
    "wrong_answer_cost",
    "provider_success",
    "provider_error_cost",
    "provider_format",
    "provider_money_value",
    "provider_length_value",
    "retention_slope",
    "retention_value",
    "reasoning_tokens",
    "system_tokens",
)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of the game's mechanics (see ``docs/model.md`` for each rationale).

    Attributes:
        max_turns: assistant turns per episode at most (the horizon).
        skill: probability of executing an answer correctly, by task difficulty.
        verbosity_skill: added to ``skill`` for concise / standard / elaborate turns.
        followup_effort: answering an AQ follow-up costs this fraction of ``effort_answer``.
        redundant_question_cost: extra user cost of being asked what they already said.
        discount: value of quality that arrives one assistant turn later (per turn).
        wrong_answer_cost: the user's cost of each wrong answer received (time spent
            reading, checking or acting on it).
        system_tokens: tokens of the system prompt billed as input every turn.
        reasoning_tokens: hidden output tokens billed per assistant turn (the four-block
            protocol's thinking / payoff / analyze blocks), never read by the user.
        provider_success: the provider's value per unit of answer quality delivered
            (reputation), discounted like the user's.
        provider_error_cost: the provider's reputation cost per wrong answer delivered.
        provider_format: the provider's cost of a malformed reply, times ``1 − format``.
        provider_money_value: the provider's welfare units per dollar.
        provider_length_value: the provider's own taste for long output: the weight of
            the reference L's length band over everything the assistant wrote in the
            episode (:func:`~gtalign_sim.core.rules.length_taste`). 0 (off) by default;
            the reference L weighs it half its answer quality (RLHF reward models'
            verbosity bias), ``scenario=reference_l``.
        retention_base, retention_slope: the probability that the user comes back is
            ``clip(base + slope · U, 0, 1)`` for the episode's user gain ``U``.
        retention_value: the provider's value of a returning user (the margin of its
            future questions), in welfare units.
        pricing: plan name -> parameters of its :class:`~gtalign_sim.welfare.PricingPolicy`.
    """

    max_turns: int = 3
    skill: dict[str, float] = field(
        default_factory=lambda: {"easy": 0.95, "medium": 0.85, "hard": 0.70}
    )
    verbosity_skill: tuple[float, float, float] = (-0.05, 0.0, 0.03)
    followup_effort: float = 0.5
    redundant_question_cost: float = 0.05
    discount: float = 0.85
    wrong_answer_cost: float = 0.25
    system_tokens: int = 60
    reasoning_tokens: int = 150
    provider_success: float = 0.3
    provider_error_cost: float = 0.1
    provider_format: float = 0.3
    provider_money_value: float = 40.0
    provider_length_value: float = 0.0
    retention_base: float = 0.6
    retention_slope: float = 0.4
    retention_value: float = 0.3
    pricing: dict[str, dict[str, float]] = field(default_factory=default_pricing)

    def __post_init__(self) -> None:
        for name in ("max_turns", "system_tokens", "reasoning_tokens"):
            value = getattr(self, name)
            if not _is_int(value) or value < (1 if name == "max_turns" else 0):
                least = 1 if name == "max_turns" else 0
                raise ValueError(f"world.{name} must be an integer >= {least}, got {value!r}")
        for name in (*_NONNEG, "discount", "retention_base"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"world.{name} must be a number, got {value!r}")
        if sorted(self.skill) != sorted(DIFFICULTIES):
            raise ValueError(f"world.skill needs exactly the keys {list(DIFFICULTIES)}")
        for k, v in self.skill.items():
            if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                raise ValueError(f"world.skill.{k} must be in [0, 1], got {v!r}")
        if len(self.verbosity_skill) != len(VERBOSITIES):
            raise ValueError(f"world.verbosity_skill needs {len(VERBOSITIES)} values")
        for v in self.verbosity_skill:
            if not (math.isfinite(v) and -1.0 <= v <= 1.0):
                raise ValueError(f"world.verbosity_skill values must be in [-1, 1], got {v!r}")
        for name in _NONNEG:
            value = getattr(self, name)
            if isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ValueError(f"world.{name} must be a finite number >= 0, got {value!r}")
        for name in ("discount", "retention_base"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"world.{name} must be in [0, 1], got {value!r}")
        bad = [p for p in self.pricing if p not in PRICING_PLANS]
        if bad:
            raise ValueError(f"world.pricing plans {bad} unknown; allowed: {list(PRICING_PLANS)}")
        for plan in self.pricing:
            try:
                self.policy(plan)  # validates the parameters
            except (TypeError, ValueError) as exc:
                raise ValueError(f"world.pricing.{plan}: {exc}") from None

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> WorldConfig:
        """Build from a mapping of field values over the defaults.

        Unknown keys raise ``ValueError`` naming them and the allowed ones; keys of game
        v0 (:data:`REMOVED_WORLD_KEYS`) are ignored with a ``FutureWarning``.
        """
        if not config:
            return cls()
        allowed = {f.name for f in dataclasses.fields(cls)}
        config = dict(config)
        for key in [k for k in config if k in REMOVED_WORLD_KEYS]:
            warnings.warn(
                f"world.{key} was removed ({REMOVED_WORLD_KEYS[key]}); ignored",
                FutureWarning,
                stacklevel=2,
            )
            config.pop(key)
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(f"unknown world parameter(s) {unknown}; allowed: {sorted(allowed)}")
        kwargs: dict[str, Any] = {}
        for k, v in config.items():
            try:
                if k == "verbosity_skill":
                    v = tuple(float(x) for x in v)
                elif k == "skill":
                    v = {**cls().skill, **{str(a): float(b) for a, b in dict(v).items()}}
                elif k == "pricing":
                    merged = default_pricing()
                    for plan, params in dict(v).items():
                        merged[str(plan)] = {
                            **merged.get(str(plan), {}),
                            **{str(a): float(b) for a, b in dict(params or {}).items()},
                        }
                    v = merged
                elif k in ("max_turns", "system_tokens", "reasoning_tokens"):
                    f = float(v)
                    if isinstance(v, bool) or not math.isfinite(f) or f != int(f):
                        raise ValueError
                    v = int(f)
                else:
                    if isinstance(v, bool):
                        raise ValueError
                    v = float(v)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"world.{k}: cannot use {v!r} (wrong type)") from None
            kwargs[k] = v
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for records and configs)."""
        d = dataclasses.asdict(self)
        d["verbosity_skill"] = list(self.verbosity_skill)
        return d

    def policy(self, plan: str) -> PricingPolicy:
        """The pricing policy of ``plan`` with this world's parameters."""
        if plan not in PRICING_PLANS:
            raise ValueError(f"unknown pricing plan {plan!r}; allowed: {list(PRICING_PLANS)}")
        return get_pricing(plan, **dict(self.pricing.get(plan, {})))

    def p_correct(self, difficulty: str, verbosity: int) -> float:
        """Probability that an answer is executed correctly."""
        if difficulty not in self.skill:
            raise ValueError(f"unknown difficulty {difficulty!r}; allowed: {sorted(self.skill)}")
        return float(np.clip(self.skill[difficulty] + self.verbosity_skill[verbosity], 0.0, 1.0))

    def rates(self, plan: str) -> PriceRates:
        """Marginal dollars per input / output token under ``plan`` (:class:`PriceRates`)."""
        pol = self.policy(plan)
        c_in = pol.marginal_cost(1.0, 0.0)
        c_out = pol.marginal_cost(0.0, 1.0)
        return PriceRates(
            c_in.user_cost,
            c_out.user_cost,
            c_in.provider_revenue,
            c_out.provider_revenue,
            c_in.provider_cost,
            c_out.provider_cost,
        )
