"""``experiment=train_assistant``: GTAlign's claim (iii) with *trained* policies.

For every reward variant of ``train_assistant.variants`` (:data:`gtalign_sim.train.REWARDS`:
``cobb_douglas`` √(U⁺·L⁺), ``linear`` (U+L)/2, ``user_only`` U, ``llm_only`` L) a policy
is trained with PPO (:func:`gtalign_sim.train.PPOTrainer`) on the run's own world,
population, user simulator and task bank, every variant from the same seed (the same
episodes, the same initial weights). The checkpoints live in the run directory
(``train/<variant>/checkpoint.pt`` and ``curve.csv``); each learned policy then plays the
shared episode plan as the arm ``learned_<variant>`` (:class:`gtalign_sim.train.LearnedAssistant`,
greedy) next to the baselines of ``train_assistant.baselines`` (the oracle — the exact
best response to √(U·L), required: the shares are of its welfare —, the L best response
``selfish_llm``, ``gtalign``, ``always_da``) on common random numbers.

Resume: a variant whose checkpoint is complete (all its updates, the same training
config) is not retrained; an interrupted one continues from its last checkpoint (written
every ``checkpoint_every`` updates) exactly as the uninterrupted run would have. The run
directory's own checks (``resume=true`` needs a matching config, a fresh run needs a
directory without a run) are made before any training; a run stopped while training
(before ``run.json`` exists) is continued by the same command without ``resume``.

The report (:mod:`~gtalign_sim.experiments.train_assistant_report`): the standard report
of :mod:`~gtalign_sim.experiments.clarification_game`; each policy's √(U·L) as a share
of the oracle's (ratio of paired means, delta-method CI); paired differences
``learned_cobb_douglas − learned_<other>`` of √(U·L) and U+L (paired t, Holm) with
verdicts; every learned policy against every baseline; the training-based Table 5;
``train_assistant.png`` (forests) and ``learning_curves.png``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .options import (
    batched_env_kwargs,
    experiment_node,
    int_fields,
    name_list,
    require_batched_world,
    tunable_fields,
)
from .runner import Arm, report_experiment, run_experiment
from .settings import Settings, validate

__all__ = [
    "LEARNED_PREFIX",
    "REFERENCE_BASELINE",
    "REFERENCE_VARIANT",
    "Options",
    "arms",
    "checkpoint_path",
    "learned_name",
    "options",
    "ppo_configs",
    "report_run",
    "run",
    "train_variants",
]

LEARNED_PREFIX = "learned_"
REFERENCE_VARIANT = "cobb_douglas"
"""The reward variant every other one is compared with."""
REFERENCE_BASELINE = "oracle"
"""The baseline whose √(U·L) the shares are of."""

_INTS: dict[str, tuple[int, int]] = {  # key: (minimum, default)
    "total_steps": (1, 40960),
    "n_envs": (1, 256),
    "rollout_steps": (1, 8),
    "eval_every": (0, 2),
    "eval_episodes": (1, 1000),
    "checkpoint_every": (0, 5),
}
_LISTS = ("variants", "baselines")
_MANAGED = {  # PPOConfig fields set by the experiment, not by train_assistant.ppo
    "seed",
    "reward",
    "env",
    "num_envs",
    "rollout_steps",
    "total_steps",
    "eval_every",
    "eval_episodes",
    "progress",
    "tensorboard",
    "time_budget_s",
}
_VOLATILE = ("progress", "tensorboard")  # config fields that do not change the policy


@dataclass(frozen=True)
class Options:
    """``cfg.train_assistant``, checked (see :func:`options`)."""

    variants: tuple[str, ...]
    baselines: tuple[str, ...]
    total_steps: int
    n_envs: int
    rollout_steps: int
    eval_every: int
    eval_episodes: int
    checkpoint_every: int
    ppo: dict[str, Any]


def learned_name(variant: str) -> str:
    """The arm (assistant name) of the policy trained on ``variant``."""
    return f"{LEARNED_PREFIX}{variant}"


def options(cfg: Any) -> Options:
    """``cfg.train_assistant`` checked (one-line ``ValueError`` naming the field):
    ``variants`` (distinct reward names, ``cobb_douglas`` included), ``baselines``
    (distinct built-in assistants, ``oracle`` included), the integer sizes of
    :data:`_INTS` and ``ppo`` (further :class:`~gtalign_sim.train.PPOConfig` fields)."""
    from ..agents import ASSISTANTS
    from ..train import REWARDS

    section = "train_assistant"
    node = experiment_node(cfg, section, [*_LISTS, *_INTS, "ppo"])
    variants = name_list(node, "variants", list(REWARDS), list(REWARDS), section)
    if REFERENCE_VARIANT not in variants:
        raise ValueError(
            f"train_assistant.variants {variants} invalid: needs {REFERENCE_VARIANT!r} "
            "(the reference the others are compared with)"
        )
    default_baselines = [REFERENCE_BASELINE, "selfish_llm", "gtalign", "always_da"]
    baselines = name_list(node, "baselines", sorted(ASSISTANTS), default_baselines, section)
    if REFERENCE_BASELINE not in baselines:
        raise ValueError(
            f"train_assistant.baselines {baselines} invalid: needs {REFERENCE_BASELINE!r} "
            "(the shares are of its mutual welfare)"
        )
    ints = int_fields(node, _INTS, section)
    ppo = node.get("ppo") or {}
    if not isinstance(ppo, dict):
        raise ValueError(f"train_assistant.ppo must be a mapping of PPOConfig fields, got {ppo!r}")
    from ..train import PPOConfig

    tunable_fields(ppo, PPOConfig, _MANAGED, f"{section}.ppo")
    return Options(tuple(variants), tuple(baselines), ppo=dict(ppo), **ints)


def _check_compatible(s: Settings) -> None:
    """The batched engine trains on the clarification game's own rules with the
    parametric, non-learning user: refuse anything else before any work."""
    require_batched_world(s, "train_assistant", "the batched engine the policies train on")


def ppo_configs(s: Settings, cfg: Any, o: Options | None = None) -> dict[str, Any]:
    """The :class:`~gtalign_sim.train.PPOConfig` of every variant (checked): the run's
    seed, world, population (pricing included), user spec and task bank settings."""
    from ..train import PPOConfig

    o = options(cfg) if o is None else o
    env = {
        **batched_env_kwargs(s, cfg),
        "families": list(s.families),
        "tasks_per_family": s.tasks_per_family,
        "task_seed": s.task_seed,
    }
    out = {}
    for v in o.variants:
        try:
            out[v] = PPOConfig(
                seed=s.seed,
                reward=v,
                num_envs=o.n_envs,
                rollout_steps=o.rollout_steps,
                total_steps=o.total_steps,
                eval_every=o.eval_every,
                eval_episodes=o.eval_episodes,
                progress=s.progress,
                env=env,
                **o.ppo,
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"train_assistant.ppo: {exc}") from None
    return out


def checkpoint_path(out: Path, variant: str) -> Path:
    """Where the policy trained on ``variant`` is kept in the run directory ``out``."""
    return Path(out) / "train" / variant / "checkpoint.pt"


def _same(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    def key(d: Mapping[str, Any]) -> str:
        return json.dumps({k: v for k, v in d.items() if k not in _VOLATILE}, sort_keys=True)

    return key(stored) == key(wanted)


def train_variants(
    s: Settings, configs: Mapping[str, Any], checkpoint_every: int, bank: Any = None
) -> dict[str, str]:
    """Train every variant into ``<output_dir>/train/<variant>/``; returns what happened
    to each (``trained``, ``resumed`` or ``reused``).

    A checkpoint holding all ``num_updates`` of the same config (progress aside) is
    reused as it is; one with fewer is continued (:meth:`PPOTrainer.resume
    <gtalign_sim.train.PPOTrainer.resume>`, exact); anything else is trained from the
    start. ``curve.csv`` is (re)written from the checkpoint's curve.
    """
    from ..tasks.sources import load_task_bank
    from ..train import PPOTrainer, load_checkpoint, write_csv

    if bank is None:
        bank = load_task_bank(s.tasks or {}, s.families, s.tasks_per_family, s.task_seed)
    done: dict[str, str] = {}
    for variant, config in configs.items():
        path = checkpoint_path(s.output_dir, variant)
        stored = load_checkpoint(path) if path.is_file() else None
        if stored is not None and _same(stored["config"], config.to_dict()):
            if int(stored["update"]) >= config.num_updates:
                if not (path.parent / "curve.csv").is_file():
                    write_csv(stored["curve"], path.parent / "curve.csv")
                done[variant] = "reused"
                if s.print_table:
                    print(f"train_assistant: {variant} reused ({path})")
                continue
            trainer = PPOTrainer.resume(path, tasks=bank, progress=config.progress)
            done[variant] = "resumed"
        else:
            trainer = PPOTrainer(config, tasks=bank)
            done[variant] = "trained"
        t = time.perf_counter()
        trainer.train(checkpoint=path, checkpoint_every=checkpoint_every)
        write_csv(trainer.curve, path.parent / "curve.csv")
        if s.print_table:
            last = trainer.curve[-1] if trainer.curve else {}
            print(
                f"train_assistant: {variant} {done[variant]} ({trainer.env_steps} env steps, "
                f"{time.perf_counter() - t:.1f}s); held-out √(U·L) "
                f"{last.get('eval_mutual', float('nan')):.4f}"
            )
    return done


def _learned_specs(s: Settings, o: Options) -> dict[str, dict[str, Any]]:
    return {
        learned_name(v): {
            "_target_": "gtalign_sim.train.LearnedAssistant",
            "checkpoint": str(checkpoint_path(s.output_dir, v)),
            "name": learned_name(v),
        }
        for v in o.variants
    }


def arms(s: Settings, cfg: Any) -> list[Arm]:
    """``learned_<variant>`` for every variant (the run's checkpoints, registered as
    plug-in assistants of ``s``), then every baseline; nothing forced."""
    o = options(cfg)
    specs = _learned_specs(s, o)
    clash = sorted(set(specs) & set(s.custom_assistants or {}))
    if clash:
        raise ValueError(f"assistants.custom: {clash} are train_assistant's learned policies")
    s.custom_assistants = {**(s.custom_assistants or {}), **specs}
    return [Arm(name) for name in (*specs, *o.baselines)]


def _check_run_dir(s: Settings, cfg: Any) -> None:
    """The run directory's checks, made before training writes into it."""
    from .rundir import RunDir, hashed_config

    rd = RunDir(s.output_dir)
    if s.resume:
        rd.check_resumable(hashed_config(cfg))
    elif rd.holds_a_run():
        raise ValueError(
            f"{rd.path} already holds a run: continue it with resume=true, or choose another "
            "hydra.run.dir / output_dir"
        )


def run(cfg: Any) -> dict[str, Any]:
    """Check everything, train the variants missing from the run directory, play every
    arm on the same episodes (streamed to ``episodes.jsonl``) and write the report;
    returns the metrics."""
    o = options(cfg)
    s = validate(cfg)
    _check_compatible(s)
    try:
        import torch  # noqa: F401
        import torchrl  # noqa: F401
    except ImportError as exc:
        raise ValueError(
            f"train_assistant needs torch and torchrl (pip install -e '.[train]'): {exc}"
        ) from None
    configs = ppo_configs(s, cfg, o)
    specs = _learned_specs(s, o)
    clash = sorted(set(specs) & set(s.custom_assistants or {}))
    if clash:
        raise ValueError(f"assistants.custom: {clash} are train_assistant's learned policies")
    _check_run_dir(s, cfg)
    train_variants(s, configs, o.checkpoint_every, bank=s.bank)
    return run_experiment(cfg, arms, _report)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its episodes and curves (nothing is
    played or trained)."""
    return report_experiment(cfg, path, _report)


def _report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    from .train_assistant_report import report

    return report(s, cfg, rd, wall, options(cfg))
