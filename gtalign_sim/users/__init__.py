"""Simulated users: hidden profiles, populations, the simulator protocol and plug-ins.

The default simulator is :class:`ParametricUser`; any class with ``reset``,
``respond`` and ``welfare_components`` (see :class:`UserSimulator`) can replace it,
loaded by import path with :func:`load_user_class`.
"""

from .base import BaseUser, StopReason, Turn, UserMessage, UserSimulator, UserState
from .llm_user import LLMUser, clean_user_text
from .parametric import ParametricUser, strategy_values
from .plugin import build_user, load_user_class
from .profile import DEFAULT_PERSONAS, PRICING_PLANS, Persona, UserPopulation, UserProfile
from .scripted import SCRIPT_EXHAUSTED, ScriptedUser
from .world import (
    N_ACTIONS,
    TaskTables,
    WorldConfig,
    decode_action,
    encode_action,
    length_misfit,
)

__all__ = [
    "DEFAULT_PERSONAS",
    "N_ACTIONS",
    "PRICING_PLANS",
    "SCRIPT_EXHAUSTED",
    "BaseUser",
    "LLMUser",
    "ParametricUser",
    "Persona",
    "ScriptedUser",
    "StopReason",
    "TaskTables",
    "Turn",
    "UserMessage",
    "UserPopulation",
    "UserProfile",
    "UserSimulator",
    "UserState",
    "WorldConfig",
    "build_user",
    "clean_user_text",
    "decode_action",
    "encode_action",
    "length_misfit",
    "load_user_class",
    "strategy_values",
]
