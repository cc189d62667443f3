"""The validated settings every experiment shares (:func:`validate`).

Everything is checked before any work starts: a bad value raises a one-line
``ValueError`` naming the field and the valid choices (the entry point prints it and
exits 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..core.vocab import FAMILIES

__all__ = [
    "Settings",
    "bool_field",
    "container",
    "fraction_field",
    "int_field",
    "seconds_field",
    "validate",
    "with_output_dir",
]


@dataclass
class Settings:
    """The validated settings of a run (everything is checked before any work starts)."""

    seed: int
    families: tuple[str, ...]
    episodes_per_family: int
    assistants: tuple[str, ...]
    n_particles: int
    oracle_particles: int
    gtalign_rule: str
    world: Any
    population: Any
    user_spec: dict[str, Any]
    aggregator: str
    assistant_reward: str
    tasks_per_family: int
    task_seed: int
    output_dir: Path
    backend: dict[str, Any]
    user_backend: dict[str, Any] | None
    assistant_backend: dict[str, Any] | None
    llm: dict[str, Any]
    judge: str
    judge_backend: dict[str, Any] | None
    parallel: int
    progress: bool
    plots: bool
    print_table: bool
    resume: bool = False
    fsync_lines: int = 64
    fsync_seconds: float = 2.0
    max_failed_fraction: float = 0.05
    experiment: str = "clarification_game"
    tasks: dict[str, Any] | None = None
    bank: Any = None
    custom_assistants: dict[str, dict[str, Any]] | None = None
    plot_formats: tuple[str, ...] = ("png",)
    plot_dpi: int = 150
    env_target: str = "gtalign_sim.envs.ClarificationGameEnv"


def container(node: Any) -> Any:
    """A plain Python value of a config node (resolved); other values unchanged."""
    if isinstance(node, DictConfig) or OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node


def fraction_field(cfg: Any, key: str, default: float) -> float:
    """``cfg[key]`` as a number in [0, 1]."""
    value = cfg.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{key} must be a number in [0, 1], got {value!r}")
    return float(value)


def int_field(cfg: Any, key: str, minimum: int, default: int | None = None) -> int:
    """``cfg[key]`` as an integer ``>= minimum`` (``default`` when absent)."""
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def bool_field(cfg: Any, key: str, default: bool) -> bool:
    """``cfg[key]`` as a strict boolean."""
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def seconds_field(cfg: Any, key: str, default: float) -> float:
    """``cfg[key]`` as a number of seconds ``>= 0``."""
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def with_output_dir(cfg: Any, path: str | Path) -> Any:
    """A copy of ``cfg`` (a ``DictConfig`` or a mapping) with ``output_dir`` set to ``path``."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(cfg):
        cfg = cfg.copy()
        OmegaConf.set_struct(cfg, False)
        cfg.output_dir = str(path)
        return cfg
    return {**cfg, "output_dir": str(path)}


def validate(cfg: Any) -> Settings:
    """Check the config and build the run's parts; errors list the valid choices."""
    fraction_field(cfg, "max_failed_fraction", 0.05)  # before anything else is built
    from ..agents import ASSISTANTS
    from ..game import SELECTION_RULES
    from ..users import PRICING_PLANS, UserPopulation, WorldConfig, load_user_class
    from ..welfare import AGGREGATORS

    families = tuple(container(cfg.get("families")) or ())
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        raise ValueError(f"families {list(families)} invalid; valid choices: {list(FAMILIES)}")
    acfg = cfg.get("assistants") or {}
    custom = _custom_assistants(container(acfg.get("custom")) or {}, ASSISTANTS)
    names = tuple(container(acfg.get("names")) or ())
    unknown = [n for n in names if n not in ASSISTANTS and n not in custom]
    if unknown or not names:
        raise ValueError(
            f"assistants.names {list(names)} invalid; valid choices: "
            f"{sorted(ASSISTANTS) + sorted(custom)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"assistants.names has duplicates: {list(names)}")
    rule = str(acfg.get("gtalign_rule", "gtalign"))
    if rule not in SELECTION_RULES:
        raise ValueError(
            f"assistants.gtalign_rule {rule!r} invalid; valid choices: {list(SELECTION_RULES)}"
        )
    plans = container((cfg.get("pricing") or {}).get("plans")) or {}
    bad_plans = [p for p in plans if p not in PRICING_PLANS]
    if bad_plans or not plans:
        raise ValueError(f"pricing.plans {plans} invalid; valid plan names: {list(PRICING_PLANS)}")
    aggregator = str((cfg.get("welfare") or {}).get("aggregator", "cobb_douglas"))
    if aggregator not in AGGREGATORS:
        raise ValueError(
            f"welfare.aggregator {aggregator!r} invalid; valid choices: {sorted(AGGREGATORS)}"
        )
    env_cfg = cfg.get("env") or {}
    env_target = _env_target(env_cfg.get("_target_"))
    world = WorldConfig.from_config(container(env_cfg.get("world")) or {})
    pop_cfg = dict(container(cfg.get("population")) or {})
    pop_cfg["pricing"] = plans
    population = UserPopulation.from_config(pop_cfg)
    user_spec = dict(container(cfg.get("user")) or {})
    load_user_class(user_spec.get("_target_", "gtalign_sim.users.ParametricUser"))
    reward = str(env_cfg.get("assistant_reward", "aggregate"))
    if reward not in ("aggregate", "llm"):
        raise ValueError(
            f"env.assistant_reward {reward!r} invalid; valid choices: ['aggregate', 'llm']"
        )
    from ..agents.llm import BACKEND_ERROR_POLICIES, FALLBACKS, STEERING
    from ..backends import BACKENDS, check_backend_spec
    from ..protocol import INSTRUCTION_STYLES

    def backend_spec(node: Any, key: str) -> dict[str, Any] | None:
        if node is None:
            return None
        spec = dict(container(node))
        if spec.get("name") not in BACKENDS:
            raise ValueError(
                f"{key}.name {spec.get('name')!r} invalid; valid choices: {list(BACKENDS)}"
            )
        check_backend_spec(spec, key)
        return spec

    backend = backend_spec(cfg.get("backend") or {"name": "template"}, "backend")
    assert backend is not None
    user_backend = backend_spec(cfg.get("user_backend"), "user_backend")
    assistant_backend = backend_spec(cfg.get("assistant_backend"), "assistant_backend")
    llm = dict(container(cfg.get("llm")) or {})
    if llm.get("steering", "none") not in STEERING:
        raise ValueError(
            f"llm.steering {llm.get('steering')!r} invalid; valid choices: {list(STEERING)}"
        )
    if llm.get("on_backend_error", "fail") not in BACKEND_ERROR_POLICIES:
        raise ValueError(
            f"llm.on_backend_error {llm.get('on_backend_error')!r} invalid; valid choices: "
            f"{list(BACKEND_ERROR_POLICIES)}"
        )
    if llm.get("fallback", "template") not in FALLBACKS:
        raise ValueError(
            f"llm.fallback {llm.get('fallback')!r} invalid; valid choices: {list(FALLBACKS)}"
        )
    if llm.get("instructions", "full") not in INSTRUCTION_STYLES:
        raise ValueError(
            f"llm.instructions {llm.get('instructions')!r} invalid; valid choices: "
            f"{list(INSTRUCTION_STYLES)}"
        )
    judge = str(cfg.get("judge", "rules"))
    if judge not in ("rules", "llm"):
        raise ValueError(f"judge {judge!r} invalid; valid choices: ['llm', 'rules']")
    judge_backend = backend_spec(cfg.get("judge_backend"), "judge_backend")
    mode = str(cfg.get("llm_agents", "auto"))
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"llm_agents {mode!r} invalid; valid choices: ['auto', 'off', 'on']")
    use_llm = mode == "on" or (mode == "auto" and backend["name"] != "template")
    if use_llm:
        default_user = user_spec.get("_target_", "gtalign_sim.users.ParametricUser")
        if default_user == "gtalign_sim.users.ParametricUser":
            user_spec = {**user_spec, "_target_": "gtalign_sim.users.LLMUser"}
        if "llm_gtalign" not in names:
            names = ("llm_gtalign", *names)
    from ..tasks.sources import check_task_spec, load_task_bank

    tasks = check_task_spec(container(cfg.get("tasks")) or {})
    tasks_per_family = int_field(env_cfg, "tasks_per_family", 1)
    task_seed = int_field(env_cfg, "task_seed", 0)
    bank = None
    if tasks["source"] != "generated":  # loaded now: a bad file fails before any work
        bank = load_task_bank(tasks, families, tasks_per_family, task_seed)
    out = cfg.get("output_dir") or "outputs/clarification_game"
    return Settings(
        seed=int_field(cfg, "seed", 0),
        families=families,
        episodes_per_family=int_field(cfg, "episodes_per_family", 1),
        assistants=names,
        n_particles=int_field(acfg, "n_particles", 1),
        oracle_particles=int_field(acfg, "oracle_particles", 1),
        gtalign_rule=rule,
        world=world,
        population=population,
        user_spec=user_spec,
        aggregator=aggregator,
        assistant_reward=reward,
        tasks_per_family=tasks_per_family,
        task_seed=task_seed,
        output_dir=Path(str(out)),
        backend=backend,
        user_backend=user_backend,
        assistant_backend=assistant_backend,
        llm=llm,
        judge=judge,
        judge_backend=judge_backend,
        parallel=int_field(cfg, "parallel", 1),
        progress=bool_field(cfg, "progress", True),
        plots=bool_field(cfg, "plots", True),
        print_table=bool_field(cfg, "print_table", True),
        resume=bool_field(cfg, "resume", False),
        fsync_lines=int_field(cfg, "fsync_lines", 1) if cfg.get("fsync_lines") is not None else 64,
        fsync_seconds=seconds_field(cfg, "fsync_seconds", 2.0),
        max_failed_fraction=fraction_field(cfg, "max_failed_fraction", 0.05),
        experiment=str(cfg.get("experiment_name") or "clarification_game"),
        tasks=tasks,
        bank=bank,
        custom_assistants=custom,
        env_target=env_target,
        plot_formats=_plot_formats(cfg),
        plot_dpi=int_field(cfg, "plot_dpi", 50, 150),
    )


def _plot_formats(cfg: Any) -> tuple[str, ...]:
    from .figures import PLOT_FORMATS

    formats = container(cfg.get("plot_formats", ["png"]))
    if isinstance(formats, str):
        formats = [formats]
    if (
        not isinstance(formats, list)
        or not formats
        or any(f not in PLOT_FORMATS for f in formats)
        or len(set(formats)) != len(formats)
    ):
        raise ValueError(
            f"plot_formats {formats!r} invalid: a list of distinct formats from "
            f"{list(PLOT_FORMATS)}"
        )
    return tuple(formats)


_ENV = "gtalign_sim.envs.ClarificationGameEnv"


def _env_target(target: Any) -> str:
    """``env._target_``: the clarification game's environment or a subclass of it."""
    from ..core.plugin import load_class
    from ..envs.clarification import ClarificationGameEnv

    target = target or _ENV
    cls = load_class(target, "env._target_")
    if not (isinstance(cls, type) and issubclass(cls, ClarificationGameEnv)):
        raise ValueError(f"env._target_={target!r} must be a subclass of {_ENV}")
    return str(target)


def _custom_assistants(custom: Any, builtin: Any) -> dict[str, dict[str, Any]]:
    """``assistants.custom``: ``{name: {_target_: path, **kwargs}}``, each class checked."""
    from ..core.plugin import load_class

    if not isinstance(custom, dict):
        raise ValueError(f"assistants.custom must map names to specs, got {custom!r}")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in custom.items():
        field = f"assistants.custom.{name}"
        if name in builtin:
            raise ValueError(f"{field}: {name!r} is a built-in assistant; choose another name")
        if not isinstance(spec, dict) or "_target_" not in spec:
            raise ValueError(f"{field} must be a mapping with a _target_ import path")
        load_class(spec["_target_"], f"{field}._target_", ("reset", "act"), "Assistant")
        out[str(name)] = dict(spec)
    return out
