"""Welfare: what a completion is worth to each side, and what tokens cost whom.

**Decomposition (the reference's reward).** A four-block completion is worth

* to the user ``U = ε + 0.5·Q_user + 0.2·band(response words; 20, 500)
  + 0.3·exp(−chars before <response> / 500)`` — answer quality, a response of
  readable length, and little waiting on reasoning;
* to the LLM ``L = ε + 0.2·format + 0.2·payoff_quality + 0.4·Q_llm
  + 0.2·band(output words; 500, 1000)`` — protocol compliance, a payoff matrix that
  tells the players apart, answer quality, and an output of reasoned length;

with ``band`` a soft logistic window (:func:`logistic_band`), ``Q`` the task's
answer-quality score in ``[0, 1]`` (:func:`safety_quality` splits a safety verdict
into the two sides' ``Q``), and the weights in :class:`UserWelfareCoefficients` /
:class:`LLMWelfareCoefficients`. The training reward is the Cobb–Douglas aggregate
``√(U·L)`` (:func:`aggregate`; ablations ``linear``, ``user_only``, ``llm_only``). A
completion that does not parse scores 0 on every count, with the reason recorded
(:func:`score_completion`).

**Pricing.** :mod:`.pricing` turns a turn's tokens into money for the user and the
provider (:class:`Subscription`, :class:`PerTokenAPI`, :class:`Free`);
:mod:`.transforms` turns pricing into payoff changes for inference-time steering, with
the reference's fixed bonuses (:func:`reference_transform`) or from expected tokens and
prices (:func:`token_cost_transform`).
"""

from .aggregate import AGGREGATORS, DEFAULT_AGGREGATOR, Aggregator, aggregate, get_aggregator
from .completion import (
    LLM_TERM_NAMES,
    USER_TERM_NAMES,
    CompletionScore,
    score_completion,
    score_parsed,
)
from .pricing import (
    PRICING_POLICIES,
    Free,
    PerTokenAPI,
    PricingPolicy,
    Subscription,
    TurnCost,
    get_pricing,
    per_million,
    pricing_from_config,
    resolve_pricing,
)
from .terms import (
    LLMWelfareCoefficients,
    UserWelfareCoefficients,
    WelfareTerms,
    llm_welfare,
    logistic_band,
    payoff_quality,
    reasoning_score,
    safety_quality,
    user_welfare,
    word_count,
)
from .tokens import count_tokens
from .transforms import (
    DEFAULT_EXPECTED_TOKENS,
    DEFAULT_MONEY_TO_PAYOFF,
    DEFAULT_REFERENCE_OFFSET,
    REFERENCE_LLM_BONUS,
    REFERENCE_USER_BONUS,
    reference_regime,
    reference_transform,
    token_cost_deltas,
    token_cost_transform,
)

__all__ = [
    "AGGREGATORS",
    "DEFAULT_AGGREGATOR",
    "DEFAULT_EXPECTED_TOKENS",
    "DEFAULT_MONEY_TO_PAYOFF",
    "DEFAULT_REFERENCE_OFFSET",
    "LLM_TERM_NAMES",
    "PRICING_POLICIES",
    "REFERENCE_LLM_BONUS",
    "REFERENCE_USER_BONUS",
    "USER_TERM_NAMES",
    "Aggregator",
    "CompletionScore",
    "Free",
    "LLMWelfareCoefficients",
    "PerTokenAPI",
    "PricingPolicy",
    "Subscription",
    "TurnCost",
    "UserWelfareCoefficients",
    "WelfareTerms",
    "aggregate",
    "count_tokens",
    "get_aggregator",
    "get_pricing",
    "llm_welfare",
    "logistic_band",
    "payoff_quality",
    "per_million",
    "pricing_from_config",
    "reasoning_score",
    "reference_regime",
    "reference_transform",
    "resolve_pricing",
    "safety_quality",
    "score_completion",
    "score_parsed",
    "token_cost_deltas",
    "token_cost_transform",
    "user_welfare",
    "word_count",
]
