"""A plug-in environment: a subclass of the clarification game, ``env._target_=...``.

    python -m gtalign_sim.run experiment=clarification_game \
        env._target_=custom_env.ShortGameEnv episodes_per_family=10

(run from this folder, or put the module on PYTHONPATH). It is built with the same
arguments as :class:`gtalign_sim.envs.ClarificationGameEnv`; this one plays one-turn
conversations.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gtalign_sim.envs import ClarificationGameEnv


class ShortGameEnv(ClarificationGameEnv):
    """The clarification game cut to a single assistant turn."""

    def __init__(self, world: Any = None, **kwargs: Any) -> None:
        if world is not None:
            world = dataclasses.replace(world, max_turns=1)
        super().__init__(world=world, **kwargs)
