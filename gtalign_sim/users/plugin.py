"""Loading user simulators by import path (``user._target_=my_pkg.MyUser``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.plugin import instantiate, load_class
from .base import UserSimulator

__all__ = ["build_user", "load_user_class"]

_REQUIRED = ("reset", "respond", "welfare_components")


def load_user_class(path: str) -> type:
    """Import ``"package.module.ClassName"`` and check it implements the protocol.

    Raises ``ValueError`` naming the path and what is wrong (bad path, missing module or
    attribute, or missing protocol methods).
    """
    return load_class(
        path, "user._target_", _REQUIRED, "UserSimulator (see gtalign_sim.users.UserSimulator)"
    )


def build_user(spec: Mapping[str, Any] | str | None, **defaults: Any) -> UserSimulator:
    """Instantiate a user simulator from ``{"_target_": path, **kwargs}`` or a path.

    ``defaults`` (e.g. ``world=...``) are passed when the class accepts them. ``None``
    means :class:`~gtalign_sim.users.ParametricUser`.
    """
    if spec is None:
        spec = {"_target_": "gtalign_sim.users.ParametricUser"}
    if isinstance(spec, str):
        spec = {"_target_": spec}
    params = dict(spec)
    target = params.pop("_target_", "gtalign_sim.users.ParametricUser")
    user = instantiate(load_user_class(target), params, "user._target_", **defaults)
    if not isinstance(user, UserSimulator):
        raise ValueError(
            f"user._target_={target!r} built an object without the UserSimulator protocol "
            "(needs reset, respond, welfare_components and a 'state' attribute)"
        )
    return user
