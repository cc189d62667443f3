"""Checks of an experiment's own config node, shared by the experiments that train.

Each raises a one-line ``ValueError`` naming ``<section>.<key>`` and what is allowed,
before any work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .settings import Settings, container

__all__ = [
    "BATCHED_ENV",
    "BATCHED_USER",
    "batched_env_kwargs",
    "experiment_node",
    "int_fields",
    "mapping_field",
    "name_list",
    "require_batched_world",
    "tunable_fields",
]

BATCHED_ENV = "gtalign_sim.envs.ClarificationGameEnv"
"""The env whose rules the batched engine follows."""
BATCHED_USER = "gtalign_sim.users.ParametricUser"
"""The user simulator the batched engine plays (with ``learn=false``)."""


def experiment_node(cfg: Any, section: str, allowed: Iterable[str]) -> dict[str, Any]:
    """``cfg.<section>`` as a dict, its keys among ``allowed``."""
    node = container(cfg.get(section)) or {}
    if not isinstance(node, dict):
        raise ValueError(f"{section} must be a mapping, got {node!r}")
    allowed = list(allowed)
    unknown = sorted(set(node) - set(allowed))
    if unknown:
        raise ValueError(f"{section}: unknown keys {unknown}; allowed: {allowed}")
    return node


def name_list(
    node: Mapping[str, Any],
    key: str,
    allowed: Sequence[str],
    default: Sequence[str],
    section: str,
) -> list[str]:
    """``node[key]`` (``default`` when absent): a non-empty list of distinct names from
    ``allowed``."""
    value = container(node.get(key)) if node.get(key) is not None else list(default)
    if (
        not isinstance(value, list)
        or not value
        or any(v not in allowed for v in value)
        or len(set(value)) != len(value)
    ):
        raise ValueError(
            f"{section}.{key} {value!r} invalid: a non-empty list of distinct names "
            f"from {list(allowed)}"
        )
    return value


def int_fields(
    node: Mapping[str, Any], spec: Mapping[str, tuple[int, int]], section: str
) -> dict[str, int]:
    """The integers of ``spec`` (``key: (minimum, default)``) read from ``node``."""
    out: dict[str, int] = {}
    for key, (minimum, default) in spec.items():
        v = node.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise ValueError(f"{section}.{key} must be an integer >= {minimum}, got {v!r}")
        out[key] = v
    return out


def mapping_field(node: Mapping[str, Any], key: str, section: str) -> dict[str, Any]:
    """``node[key]`` as a dict (``{}`` when absent)."""
    value = node.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{section}.{key} must be a mapping, got {value!r}")
    return dict(value)


def tunable_fields(
    given: Mapping[str, Any], cls: type, managed: Iterable[str], section: str
) -> None:
    """``given`` only sets fields of the dataclass ``cls`` that are not ``managed``."""
    from dataclasses import fields

    managed = set(managed)
    tunable = sorted(f.name for f in fields(cls) if f.name not in managed)
    bad = sorted(set(given) - set(tunable))
    if bad:
        raise ValueError(f"{section}: fields {bad} not allowed; allowed: {tunable}")


def require_batched_world(s: Settings, experiment: str, why: str) -> None:
    """The run's env and user are the ones the batched engine follows: the clarification
    game's own rules and the parametric, non-learning user (``why``: what needs it)."""
    if s.env_target != BATCHED_ENV:
        raise ValueError(
            f"{experiment}: env._target_ must be {BATCHED_ENV} ({why}), got {s.env_target!r}"
        )
    target = s.user_spec.get("_target_", BATCHED_USER)
    if target != BATCHED_USER or s.user_spec.get("learn"):
        raise ValueError(
            f"{experiment}: user must be {BATCHED_USER} with learn=false ({why}), got "
            f"{target} learn={s.user_spec.get('learn')}"
        )


def batched_env_kwargs(s: Settings, cfg: Any) -> dict[str, Any]:
    """The batched engine's world, population (the run's pricing mix) and user spec."""
    env_cfg = cfg.get("env") or {}
    population = dict(container(cfg.get("population")) or {})
    population["pricing"] = dict(s.population.pricing)
    return {
        "world": dict(container(env_cfg.get("world")) or {}),
        "population": population,
        "user": dict(s.user_spec),
    }
