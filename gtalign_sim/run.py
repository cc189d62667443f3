"""The Hydra entry point: ``python -m gtalign_sim.run experiment=clarification_game``.

Also installed as the ``gtalign-sim`` console script. Configs live in
``gtalign_sim/conf`` (groups: env, population, pricing, welfare, user, assistants,
experiment); ``--cfg job`` prints the composed config, ``-m`` sweeps.

Runs stream into their directory (:mod:`gtalign_sim.experiments.rundir`): ``resume=true``
with ``hydra.run.dir=<dir>`` continues a stopped run; SIGINT/SIGTERM stop after the
current episode and exit 130/143.
"""

from __future__ import annotations

import sys
from typing import Any

import hydra
from omegaconf import DictConfig

from . import conf  # noqa: F401 - registers the generated config nodes


@hydra.main(version_base=None, config_path="conf", config_name="config")
def _app(cfg: DictConfig) -> Any:
    from .experiments import get_experiment

    experiment = get_experiment(str(cfg.get("experiment_name")))
    try:
        return experiment.run(cfg)
    except ValueError as exc:  # bad config values, refused resumes: one line, exit 2
        print(f"gtalign-sim: error: {exc}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Console-script entry point (the same as ``python -m gtalign_sim.run``)."""
    try:
        _app()
    except ValueError as exc:  # bad config values: one readable line, no traceback
        print(f"gtalign-sim: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
