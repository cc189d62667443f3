"""Games and solution concepts (numpy only; nashpy for mixed equilibria).

The facade is :class:`PayoffMatrix`; every analysis is also available as a function.
"""

from .dilemma import GAME_TYPES, DilemmaReport, analyze_dilemma, classify_2x2, price_of_anarchy
from .dominance import (
    EliminationResult,
    dominated_strategies,
    dominates_strategy,
    iterated_elimination,
)
from .equilibria import (
    DegenerateGameWarning,
    best_responses,
    is_degenerate,
    is_nash,
    nash_equilibria,
    pure_nash_equilibria,
)
from .matrix import GTALIGN_ACTIONS, GTALIGN_STRATEGIES, PayoffFormatError, PayoffMatrix
from .pareto import dominates, pareto_mask
from .presets import PRESETS, get_preset
from .selection import SELECTION_RULES, Choice, select
from .social_welfare import (
    WELFARE_FUNCTIONS,
    ces,
    cobb_douglas,
    get_welfare,
    nash_product,
    rawlsian,
    utilitarian,
    weighted_linear,
)

__all__ = [
    "GAME_TYPES",
    "GTALIGN_ACTIONS",
    "GTALIGN_STRATEGIES",
    "PRESETS",
    "SELECTION_RULES",
    "WELFARE_FUNCTIONS",
    "Choice",
    "DegenerateGameWarning",
    "DilemmaReport",
    "EliminationResult",
    "PayoffFormatError",
    "PayoffMatrix",
    "analyze_dilemma",
    "best_responses",
    "ces",
    "classify_2x2",
    "cobb_douglas",
    "dominated_strategies",
    "dominates",
    "dominates_strategy",
    "get_preset",
    "get_welfare",
    "is_degenerate",
    "is_nash",
    "iterated_elimination",
    "nash_equilibria",
    "nash_product",
    "pareto_mask",
    "price_of_anarchy",
    "pure_nash_equilibria",
    "rawlsian",
    "select",
    "utilitarian",
    "weighted_linear",
]
