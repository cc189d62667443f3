"""Experiments: one module per experiment over the shared runner
(:mod:`~gtalign_sim.experiments.runner`), each with ``run(cfg)`` and
``report_run(cfg, path)`` (re-render a finished run)."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXPERIMENTS", "get_experiment"]

EXPERIMENTS: tuple[str, ...] = (
    "clarification_game",
    "prisoners_dilemma",
    "pricing_shift",
    "reward_ablation",
    "payoff_calibration",
    "dilemma_map",
    "compare",
    "evolution",
    "train_assistant",
    "learning_dilemma",
    "align_llm",
)
"""Experiments runnable with ``python -m gtalign_sim.run experiment=<name>``."""


def get_experiment(name: str) -> ModuleType:
    """The experiment module called ``name``; unknown names list the valid choices."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; valid choices: {list(EXPERIMENTS)}")
    return importlib.import_module(f"{__name__}.{name}")
