"""Plug-ins by import path: ``{"_target_": "package.module.ClassName", **kwargs}``.

One loader for every plug-in point (users, assistants, environments): the class is
imported, checked for the methods its role needs, and built with the spec's keyword
arguments plus the defaults it accepts (``world=...`` and the like). Every problem is a
one-line ``ValueError`` naming the config field (``user._target_``, ...).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["instantiate", "load_class"]


def load_class(path: Any, field: str, required: Sequence[str] = (), role: str = "") -> type:
    """Import ``"package.module.ClassName"``; check it has callable ``required`` methods.

    ``field`` names the config key in errors (``user._target_``); ``role`` the protocol.
    """
    if not isinstance(path, str) or "." not in path:
        raise ValueError(f"{field} must be an import path 'package.module.ClassName', got {path!r}")
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{field}={path!r}: cannot import module {module_name!r}: {exc}") from None
    try:
        cls = getattr(module, attr)
    except AttributeError:
        raise ValueError(
            f"{field}={path!r}: module {module_name!r} has no attribute {attr!r}"
        ) from None
    missing = [m for m in required if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(
            f"{field}={path!r} does not implement the {role or 'required'} protocol: missing "
            f"{missing} (required: {list(required)})"
        )
    return cls


def instantiate(cls: type, params: Mapping[str, Any], field: str, **defaults: Any) -> Any:
    """``cls(**params)`` plus each default whose name the constructor accepts (or any, when
    it takes ``**kwargs``); a bad signature is a ``ValueError`` naming ``field``."""
    params = dict(params)
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
        return cls(**params)
    except TypeError as exc:
        name = cls.__qualname__
        raise ValueError(f"{field}: cannot construct {name} with {sorted(params)}: {exc}") from None
