"""Plugging your own assistant (and environment) into gtalign-sim.

An assistant is any class with ``reset(seed=None)`` and ``act(observation, info)``
returning a :class:`gtalign_sim.agents.Decision` (action ``mode * 3 + verbosity``). It
sees the public view only (``info`` holds the task's message, the history, whether the
question is detailed, the pricing plan and the turn). Declare it under
``assistants.custom`` and list its name in ``assistants.names``; the constructor receives
the keys you give plus whichever of ``world``, ``population``, ``seed`` and ``backend``
it accepts:

    python -m gtalign_sim.run experiment=clarification_game \
        'assistants.names=[gtalign,clarify_vague]' \
        '+assistants.custom.clarify_vague={_target_: custom_assistant.ClarifyVague}' \
        episodes_per_family=10

(run from this folder, or put the module on PYTHONPATH). An environment plug-in is a
subclass of ``gtalign_sim.envs.ClarificationGameEnv`` given as ``env._target_=...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gtalign_sim.agents import Decision
from gtalign_sim.users import encode_action


class ClarifyVague:
    """Asks a clarifying question when the opening question is vague, else answers."""

    name = "clarify_vague"

    def __init__(self, verbosity: int = 1) -> None:
        self.verbosity = int(verbosity)

    def reset(self, seed: int | None = None) -> None:
        """Nothing to reset: the policy is deterministic."""

    def act(self, observation: Mapping[str, Any], info: Mapping[str, Any]) -> Decision:
        """CQ on a vague opening question, DA otherwise (and after any reply)."""
        opening = info.get("turn", 0) == 0
        vague = info.get("question_type") == "VQ"
        return Decision(encode_action("CQ" if opening and vague else "DA", self.verbosity))
