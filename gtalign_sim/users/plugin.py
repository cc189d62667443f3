"""Loading user simulators by import path (``user._target_=my_pkg.MyUser``)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .base import UserSimulator

__all__ = ["build_user", "load_user_class"]

_REQUIRED = ("reset", "respond", "welfare_components")


def load_user_class(path: str) -> type:
    """Import ``"package.module.ClassName"`` and check it implements the protocol.

    Raises ``ValueError`` naming the path and what is wrong (bad path, missing module or
    attribute, or missing protocol methods).
    """
    if not isinstance(path, str) or "." not in path:
        raise ValueError(
            f"user._target_ must be an import path 'package.module.ClassName', got {path!r}"
        )
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"user._target_={path!r}: cannot import module {module_name!r}: {exc}"
        ) from None
    try:
        cls = getattr(module, attr)
    except AttributeError:
        raise ValueError(
            f"user._target_={path!r}: module {module_name!r} has no attribute {attr!r}"
        ) from None
    missing = [m for m in _REQUIRED if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(
            f"user._target_={path!r} does not implement the UserSimulator protocol: missing "
            f"{missing} (required: {list(_REQUIRED)}; see gtalign_sim.users.UserSimulator)"
        )
    return cls


def build_user(spec: Mapping[str, Any] | str | None, **defaults: Any) -> UserSimulator:
    """Instantiate a user simulator from ``{"_target_": path, **kwargs}`` or a path.

    ``defaults`` (e.g. ``world=...``) are passed when the class accepts them. ``None``
    means :class:`~gtalign_sim.users.ParametricUser`.
    """
    import inspect

    if spec is None:
        spec = {"_target_": "gtalign_sim.users.ParametricUser"}
    if isinstance(spec, str):
        spec = {"_target_": spec}
    params = dict(spec)
    target = params.pop("_target_", "gtalign_sim.users.ParametricUser")
    cls = load_user_class(target)
    try:
        sig = inspect.signature(cls)
        accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        names = set(sig.parameters)
    except (TypeError, ValueError):
        accepts_kwargs, names = True, set()
    for k, v in defaults.items():
        if k not in params and (accepts_kwargs or k in names):
            params[k] = v
    try:
        user = cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"user._target_={target!r}: cannot construct with {sorted(params)}: {exc}"
        ) from None
    if not isinstance(user, UserSimulator):
        raise ValueError(
            f"user._target_={target!r} built an object without the UserSimulator protocol "
            "(needs reset, respond, welfare_components and a 'state' attribute)"
        )
    return user
