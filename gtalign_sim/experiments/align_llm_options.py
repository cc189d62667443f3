"""The ``align`` node of ``experiment=align_llm`` checked and turned into run configs:
:func:`options` returns the synthesis, SFT and GRPO configs of a run directory and the
evaluation options; every refusal is a one-line ``ValueError`` naming ``align.<field>``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .settings import Settings, container, validate

__all__ = ["STAGES", "Options", "check_compatible", "data_seed", "options"]

STAGES: tuple[str, ...] = ("data", "sft", "grpo")
"""The training stages, in order (folders of the run directory)."""
_DATA_STREAM = 11  # SeedSequence([seed, 11]): the synthesis seed, apart from the episodes
_MANAGED = ("model", "output_dir", "seed", "device")
_DATA_KEYS = {"episodes": "n_episodes", "planner": "planner", "n_candidates": "n_candidates"}
_DATA_KEYS |= {"response": "response", "n_particles": "n_particles"}
_EVAL_DEFAULTS: dict[str, Any] = {
    "episodes": 24,
    "max_tokens": 512,
    "temperature": 0.0,
    "fallback": "raw",
    "bootstrap": 1000,
    "bins": 10,
    "backend": {"name": "transformers"},
}


@dataclass(frozen=True)
class Options:
    """The validated ``align`` node and the run configs it makes."""

    profile: str
    model: str
    device: str
    synthesis: Any
    sft: Any
    grpo: Any
    eval: dict[str, Any]
    until: str | None = None


def data_seed(seed: int) -> int:
    """The synthesis seed of run seed ``seed`` (its episode seeds are not the evaluation's)."""
    import numpy as np

    return int(np.random.SeedSequence([int(seed), _DATA_STREAM]).generate_state(1)[0])


def _node(align: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = align.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"align.{key} must be a mapping, got {value!r}")
    return dict(value)


def _run_config(cls: Any, key: str, node: dict[str, Any], **managed: Any) -> Any:
    """``cls(**node, **managed)``; unknown or managed keys and refused values name
    ``align.<key>.<field>``."""
    names = [f.name for f in fields(cls)]
    if key == "grpo" and "mode" not in names:  # single-turn GRPO only in this trl layer
        mode = node.pop("mode", "single_turn")
        if mode != "single_turn":
            raise ValueError(
                f"align.grpo.mode {mode!r}: this GRPORunConfig has no mode field "
                "(single-turn GRPO only); use single_turn"
            )
    allowed = sorted(n for n in names if n not in _MANAGED)
    bad = sorted(set(node) - set(allowed))
    if bad:
        raise ValueError(f"align.{key}: unknown or managed keys {bad}; allowed: {allowed}")
    try:
        return cls(**node, **managed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"align.{key}: {exc}") from None


def _eval_options(node: dict[str, Any]) -> dict[str, Any]:
    from ..agents.llm import FALLBACKS
    from ..backends import BACKENDS, check_backend_spec

    bad = sorted(set(node) - set(_EVAL_DEFAULTS))
    if bad:
        raise ValueError(f"align.eval: unknown keys {bad}; allowed: {sorted(_EVAL_DEFAULTS)}")
    o = {**_EVAL_DEFAULTS, **node}
    for key, low in (("episodes", 2), ("max_tokens", 1), ("bootstrap", 20), ("bins", 2)):
        v = o[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"align.eval.{key} must be an integer >= {low}, got {v!r}")
    t = o["temperature"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < float("inf"):
        raise ValueError(f"align.eval.temperature must be a number >= 0, got {t!r}")
    if o["fallback"] not in FALLBACKS:
        raise ValueError(f"align.eval.fallback {o['fallback']!r} unknown; allowed: {FALLBACKS}")
    spec = o["backend"]
    if not isinstance(spec, dict) or spec.get("name") not in set(BACKENDS) - {"template"}:
        names = sorted(set(BACKENDS) - {"template"})
        raise ValueError(f"align.eval.backend.name must be one of {names}, got {spec!r}")
    if "model" in spec:
        raise ValueError("align.eval.backend.model is set per evaluated model; remove it")
    check_backend_spec({**spec, "model": "x"}, "align.eval.backend")
    return o


def _synthesis_env(s: Settings, cfg: Any) -> dict[str, Any]:
    """The run's simulator as :class:`~gtalign_sim.envs.ClarificationGameEnv` arguments."""
    env_cfg = cfg.get("env") or {}
    population = dict(container(cfg.get("population")) or {})
    population["pricing"] = dict(s.population.pricing)
    env = {
        "world": dict(container(env_cfg.get("world")) or {}),
        "population": population,
        "families": list(s.families),
        "tasks_per_family": s.tasks_per_family,
        "task_seed": s.task_seed,
        "user": dict(s.user_spec),
        "aggregator": s.aggregator,
        "assistant_reward": s.assistant_reward,
    }
    if s.bank is not None:  # a loaded task source (kept out of the digest: its spec is in)
        env["tasks"] = s.bank
    return env


def options(cfg: Any, s: Settings | None = None) -> Options:
    """``cfg.align`` checked (one-line ``ValueError`` naming ``align.<field>``) and turned
    into the synthesis, SFT and GRPO configs of the run directory ``s.output_dir``."""
    from ..protocol import INSTRUCTION_STYLES, PromptConfig
    from ..train.llm.common import DEVICES
    from ..train.llm.data import SynthesisConfig
    from ..train.llm.grpo import GRPORunConfig
    from ..train.llm.sft import SFTRunConfig

    s = validate(cfg) if s is None else s
    align = container(cfg.get("align")) or {}
    if not isinstance(align, dict):
        raise ValueError(
            f"align must be a mapping (a profile: align=cpu or align=gpu), got {align!r}"
        )
    allowed = [
        *("profile", "model", "device", "instructions"),
        *("data", "sft", "grpo", "eval", "until"),
    ]
    bad = sorted(set(align) - set(allowed))
    if bad:
        raise ValueError(f"align: unknown keys {bad}; allowed: {allowed}")
    model, device = align.get("model"), align.get("device", "cpu")
    if not isinstance(model, str) or not model:
        raise ValueError(f"align.model must be a folder, a hub id, tiny or smollm2; got {model!r}")
    if device not in DEVICES:
        raise ValueError(f"align.device {device!r} unknown; allowed: {list(DEVICES)}")
    until = align.get("until")
    if until is not None and until not in STAGES:
        raise ValueError(
            f"align.until {until!r} unknown; allowed: null (every stage and the evaluation) "
            f"or one of {list(STAGES)}"
        )
    instructions = align.get("instructions", "full")
    if instructions not in INSTRUCTION_STYLES:
        raise ValueError(
            f"align.instructions {instructions!r} unknown; allowed: {list(INSTRUCTION_STYLES)}"
        )
    data = _node(align, "data")
    bad = sorted(set(data) - set(_DATA_KEYS))
    if bad:
        raise ValueError(f"align.data: unknown keys {bad}; allowed: {sorted(_DATA_KEYS)}")
    try:
        synthesis = SynthesisConfig(
            seed=data_seed(s.seed),
            env=_synthesis_env(s, cfg),
            prompt=PromptConfig(instructions=instructions),
            **{_DATA_KEYS[k]: v for k, v in data.items()},
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"align.data: {exc}") from None
    out = Path(s.output_dir).absolute()  # absolute: its paths are relocatable (core.paths)
    common = {"seed": s.seed, "device": device}
    sft = _run_config(
        SFTRunConfig, "sft", _node(align, "sft"), model=model, output_dir=str(out / "sft"), **common
    )
    grpo = _run_config(
        GRPORunConfig,
        "grpo",
        _node(align, "grpo"),
        model=str(out / "sft"),
        output_dir=str(out / "grpo"),
        **common,
    )
    return Options(
        profile=str(align.get("profile", "custom")),
        model=model,
        device=device,
        synthesis=synthesis,
        sft=sft,
        grpo=grpo,
        eval=_eval_options(_node(align, "eval")),
        until=until,
    )


def check_compatible(s: Settings, cfg: Any) -> None:
    if s.backend["name"] != "template" or s.user_backend or s.assistant_backend:
        raise ValueError(
            "align_llm plays each model through align.eval.backend: leave backend=template "
            "and user_backend / assistant_backend null"
        )
    if s.user_spec.get("_target_") == "gtalign_sim.users.LLMUser":
        raise ValueError(
            "align_llm: user must be a simulated user (not LLMUser: it would "
            "share the evaluated model)"
        )
    if str(cfg.get("llm_agents", "auto")) == "on":
        raise ValueError(
            "align_llm: llm_agents must be auto or off (the models are the assistants)"
        )
