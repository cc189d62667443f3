"""Environments: the clarification game (PettingZoo AEC + a Gymnasium view) and
matrix games (PettingZoo Parallel) over any :class:`~gtalign_sim.game.PayoffMatrix`,
and a batched numpy engine of the clarification game (:mod:`.batched`, a Gymnasium
vector env) on the same rules.

Modules follow PettingZoo's layout: ``clarification`` and ``matrix_game`` each have
module-level ``env()``, ``raw_env()`` (and ``parallel_env()`` for matrix games).
"""

from . import clarification as clarification_game_v0
from . import matrix_game as matrix_game_v0
from .batched import BatchedClarificationEngine
from .batched_vector import ClarificationVectorEnv
from .clarification import ASSISTANT_FEATURES, USER_FEATURES, ClarificationGameEnv
from .gym_wrapper import ENV_ID, ClarificationAssistantEnv
from .matrix_game import (
    AlwaysCooperate,
    AlwaysDefect,
    GrimTrigger,
    MatrixGameEnv,
    Policy,
    RandomPolicy,
    TitForTat,
    gtalign_game,
    play_repeated,
    prisoners_dilemma,
)

__all__ = [
    "ASSISTANT_FEATURES",
    "ENV_ID",
    "USER_FEATURES",
    "AlwaysCooperate",
    "AlwaysDefect",
    "BatchedClarificationEngine",
    "ClarificationAssistantEnv",
    "ClarificationGameEnv",
    "ClarificationVectorEnv",
    "GrimTrigger",
    "MatrixGameEnv",
    "Policy",
    "RandomPolicy",
    "TitForTat",
    "clarification_game_v0",
    "gtalign_game",
    "matrix_game_v0",
    "play_repeated",
    "prisoners_dilemma",
]
