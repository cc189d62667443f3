"""Assistants: GTAlign, baselines, the oracle, and a registry to build them by name."""

from __future__ import annotations

from typing import Any

from .base import Assistant, Decision, FixedAssistant, RandomAssistant, past_actions
from .model_based import (
    ClairvoyantAssistant,
    GTAlignAssistant,
    ModelBasedAssistant,
    OracleAssistant,
)
from .planning import OBJECTIVES, Planner, PlanResult, Rows

__all__ = [
    "ASSISTANTS",
    "EXACT_BEST_RESPONSES",
    "OBJECTIVES",
    "Assistant",
    "ClairvoyantAssistant",
    "Decision",
    "FixedAssistant",
    "GTAlignAssistant",
    "ModelBasedAssistant",
    "OracleAssistant",
    "PlanResult",
    "Planner",
    "RandomAssistant",
    "Rows",
    "build_assistant",
    "past_actions",
]

ASSISTANTS: dict[str, Any] = {
    "always_da": lambda **kw: FixedAssistant("DA", **kw),
    "always_cq": lambda **kw: FixedAssistant("CQ", **kw),
    "always_aq": lambda **kw: FixedAssistant("AQ", **kw),
    "random": lambda **kw: RandomAssistant(**kw),
    "selfish_llm": lambda **kw: OracleAssistant("llm", **kw),
    "user_only": lambda **kw: OracleAssistant("user", **kw),
    "linear_welfare": lambda **kw: OracleAssistant("sum", **kw),
    "gtalign": lambda **kw: GTAlignAssistant(**kw),
    "gtalign_cd": lambda **kw: GTAlignAssistant(
        rule="max_welfare", welfare="cobb_douglas", name="gtalign_cd", **kw
    ),
    "oracle": lambda **kw: OracleAssistant(**kw),
    "clairvoyant": lambda **kw: ClairvoyantAssistant(**kw),
    "llm_gtalign": lambda **kw: _llm(**kw),
}
"""Built-in assistants by name (what ``assistants=[...]`` in configs accepts)."""

EXACT_BEST_RESPONSES = frozenset(
    {"oracle", "selfish_llm", "user_only", "linear_welfare", "clairvoyant"}
)
"""Privileged assistants that plan exactly (their particle count is ``oracle_particles``)."""

_MODEL_BASED = {
    "selfish_llm",
    "user_only",
    "linear_welfare",
    "gtalign",
    "gtalign_cd",
    "oracle",
    "clairvoyant",
    "llm_gtalign",
}


def _llm(**kw: Any) -> Assistant:
    from .llm import LLMAssistant

    return LLMAssistant(**kw)


def build_assistant(name: str, **kwargs: Any) -> Assistant:
    """Build a built-in assistant by name; ``world``/``population`` only reach model-based ones.

    Unknown names raise ``ValueError`` listing :data:`ASSISTANTS`.
    """
    if name not in ASSISTANTS:
        raise ValueError(f"unknown assistant {name!r}; allowed: {sorted(ASSISTANTS)}")
    if name not in _MODEL_BASED:
        drop = {"world", "population", "n_particles"} | ({"seed"} if name != "random" else set())
        kwargs = {k: v for k, v in kwargs.items() if k not in drop}
    return ASSISTANTS[name](**kwargs)
