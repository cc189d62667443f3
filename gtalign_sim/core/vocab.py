"""The game's vocabulary, defined once: modes, verbosities, strategies, reply kinds,
families, difficulties, pricing plans, stop codes, and the assistant's action codec.

Every module above this layer imports these; the string values are what records and
configs use. Enum members are ``str`` (or ``int``) subclasses, so they compare equal to
their values. The few names that lower layers already need are defined there once and
checked here: the payoff matrix's labels (``gtalign_sim.game``) and the task families and
difficulties (``gtalign_sim.tasks``).
"""

from __future__ import annotations

import enum

from ..game.matrix import GTALIGN_ACTIONS, GTALIGN_STRATEGIES
from ..tasks.base import DIFFICULTIES as _TASK_DIFFICULTIES
from ..tasks.base import FAMILIES as _TASK_FAMILIES

__all__ = [
    "DIFFICULTIES",
    "FAMILIES",
    "MODES",
    "N_ACTIONS",
    "PRICING_PLANS",
    "REPLY_KINDS",
    "STRATEGIES",
    "VERBOSITIES",
    "Difficulty",
    "Family",
    "Mode",
    "PricingPlan",
    "ReplyKind",
    "StopCode",
    "Strategy",
    "Verbosity",
    "decode_action",
    "encode_action",
]


class Mode(str, enum.Enum):
    """How the assistant responds: answer, clarify, or answer plus one follow-up."""

    DA = "DA"
    CQ = "CQ"
    AQ = "AQ"


class Verbosity(enum.IntEnum):
    """How long the assistant's turn is."""

    CONCISE = 0
    STANDARD = 1
    ELABORATE = 2


class Strategy(str, enum.Enum):
    """The user's opening: a detailed (DQ) or a vague (VQ) question."""

    DQ = "DQ"
    VQ = "VQ"


class ReplyKind(enum.IntEnum):
    """What a user's reply does (index order is the rules engine's code)."""

    CLARIFY = 0
    """Answers a clarifying question (states the intent)."""
    REDUNDANT = 1
    """Answers a clarifying question about what was already said."""
    FOLLOWUP = 2
    """Answers an AQ follow-up (cheaper than answering cold; states the intent)."""
    CORRECT_INTENT = 3
    """Corrects an answer that assumed the wrong reading (states the intent)."""
    RETRY = 4
    """Asks for another attempt (the intent was already known)."""


class StopCode(enum.IntEnum):
    """Why a conversation ends after an assistant turn (``CONTINUE``: it does not)."""

    CONTINUE = 0
    SATISFIED = 1
    PATIENCE_EXHAUSTED = 2
    MAX_TURNS = 3
    GAVE_UP = 4


class Family(str, enum.Enum):
    """Task families."""

    MATH = "math"
    AMBIGUOUS_QA = "ambiguous_qa"
    WRITING = "writing"
    SAFETY = "safety"


class Difficulty(str, enum.Enum):
    """Task difficulty."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class PricingPlan(str, enum.Enum):
    """How the user pays."""

    SUBSCRIPTION = "subscription"
    PER_TOKEN_API = "per_token_api"
    FREE = "free"


MODES: tuple[str, ...] = tuple(m.value for m in Mode)
VERBOSITIES: tuple[str, ...] = tuple(v.name.lower() for v in Verbosity)
STRATEGIES: tuple[str, ...] = tuple(s.value for s in Strategy)
REPLY_KINDS: tuple[str, ...] = tuple(k.name.lower() for k in ReplyKind)
FAMILIES: tuple[str, ...] = tuple(f.value for f in Family)
DIFFICULTIES: tuple[str, ...] = tuple(d.value for d in Difficulty)
PRICING_PLANS: tuple[str, ...] = tuple(p.value for p in PricingPlan)

# one vocabulary: the lower layers' names must be these (fails at import otherwise)
if (
    tuple(GTALIGN_ACTIONS),
    tuple(GTALIGN_STRATEGIES),
    tuple(_TASK_FAMILIES),
    tuple(_TASK_DIFFICULTIES),
) != (MODES, STRATEGIES, FAMILIES, DIFFICULTIES):  # pragma: no cover - a programming error
    raise ImportError("gtalign_sim.core.vocab disagrees with gtalign_sim.game / tasks")

N_ACTIONS = len(MODES) * len(VERBOSITIES)
"""The assistant's action space: mode × verbosity, index ``mode * 3 + verbosity``."""


def encode_action(mode: str, verbosity: int) -> int:
    """Action index of ``(mode, verbosity)``; raises ``ValueError`` naming the allowed values."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; allowed: {list(MODES)}")
    if isinstance(verbosity, bool) or verbosity not in range(len(VERBOSITIES)):
        raise ValueError(f"verbosity must be in 0..{len(VERBOSITIES) - 1}, got {verbosity!r}")
    return MODES.index(str(Mode(mode).value)) * len(VERBOSITIES) + int(verbosity)


def decode_action(action: int) -> tuple[str, int]:
    """``(mode, verbosity)`` of an action index in ``0..N_ACTIONS-1``."""
    a = int(action)
    if not 0 <= a < N_ACTIONS:
        raise ValueError(f"action must be in 0..{N_ACTIONS - 1}, got {action!r}")
    return MODES[a // len(VERBOSITIES)], a % len(VERBOSITIES)
