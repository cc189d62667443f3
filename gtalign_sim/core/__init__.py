"""The game's vocabulary, its parameters and its rules, written once (numpy only).

* :mod:`.vocab` — enums (modes, verbosities, strategies, reply kinds, families,
  difficulties, pricing plans, stop codes) and the action codec;
* :mod:`.world` — :class:`WorldConfig`, the mechanics' parameters (the defaults);
* :mod:`.rules` — the rules as pure vectorised functions (turn accounting, the user's
  reply decision, welfare on gains);
* :mod:`.expect` — exact expectations of those rules (the planner).
"""

from . import rules
from .expect import OBJECTIVES, Planner, PlanResult, Rows
from .vocab import (
    DIFFICULTIES,
    FAMILIES,
    MODES,
    N_ACTIONS,
    PRICING_PLANS,
    REPLY_KINDS,
    STRATEGIES,
    VERBOSITIES,
    Difficulty,
    Family,
    Mode,
    PricingPlan,
    ReplyKind,
    StopCode,
    Strategy,
    Verbosity,
    decode_action,
    encode_action,
)
from .world import PriceRates, WorldConfig

__all__ = [
    "DIFFICULTIES",
    "FAMILIES",
    "MODES",
    "N_ACTIONS",
    "OBJECTIVES",
    "PRICING_PLANS",
    "REPLY_KINDS",
    "STRATEGIES",
    "VERBOSITIES",
    "Difficulty",
    "Family",
    "Mode",
    "PlanResult",
    "Planner",
    "PriceRates",
    "PricingPlan",
    "ReplyKind",
    "Rows",
    "StopCode",
    "Strategy",
    "Verbosity",
    "WorldConfig",
    "decode_action",
    "encode_action",
    "rules",
]
