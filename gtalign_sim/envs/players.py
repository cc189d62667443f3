"""Who plays the user's side of ``clarification_game_v0``.

:func:`build_user_sim` checks the environment's ``user_policy`` and ``user`` arguments and
returns the simulator that keeps the episode's ledger: the configured one (a spec the
environment builds with its own world, or an instance built with that same world), or,
with ``user_policy="external"``, :class:`_ExternalUser`, whose choices are set by the
environment's caller before each call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backends.template import TemplateRenderer
from ..users import BaseUser, UserProfile, WorldConfig, build_user

__all__ = ["USER_POLICIES", "build_user_sim"]

USER_POLICIES = ("simulator", "external")
"""Who makes the user's moves: the configured simulator, or the environment's caller."""


class _ExternalUser(BaseUser):
    """A user whose decisions come from the environment's caller (multi-agent learning)."""

    def __init__(self, world: WorldConfig, renderer: TemplateRenderer) -> None:
        super().__init__(world, renderer)
        self.pending_strategy = "VQ"
        self.pending_continue = True

    def choose_strategy(self, task: Any, profile: UserProfile, rng: np.random.Generator) -> str:
        return self.pending_strategy

    def decide_continue(self, expected_gain: float, cost: float) -> bool:
        return self.pending_continue


def build_user_sim(
    user_policy: str, user: Any, world: WorldConfig, renderer: TemplateRenderer
) -> BaseUser:
    """The user simulator of an environment with ``world`` and ``renderer``.

    ``user_policy`` is one of :data:`USER_POLICIES`; ``user`` (ignored for ``"external"``)
    is ``None`` (the default simulator), an import path, a ``{"_target_": ...}`` mapping or
    a :class:`~gtalign_sim.users.BaseUser` built with ``world``. ``ValueError`` otherwise.
    """
    if user_policy not in USER_POLICIES:
        raise ValueError(f"user_policy {user_policy!r} unknown; allowed: {sorted(USER_POLICIES)}")
    if user_policy == "external":
        return _ExternalUser(world, renderer)
    if user is None or isinstance(user, (str, Mapping)):
        built = build_user(user, world=world, renderer=renderer)
        if not isinstance(built, BaseUser):
            raise ValueError(
                f"user {type(built).__name__} must subclass gtalign_sim.users.BaseUser "
                "(the rules engine keeps the episode's ledger there; plug-ins decide "
                "choose_strategy and decide_continue)"
            )
        return built
    if isinstance(user, BaseUser):
        if getattr(user, "world", world) != world:
            raise ValueError(
                "user: the simulator was built with another world than the "
                "environment's; pass its spec ({'_target_': ...}) so the environment "
                "builds it with its own world"
            )
        return user
    raise ValueError(
        "user must be None, an import path, a {'_target_': ...} mapping or a BaseUser instance"
    )
