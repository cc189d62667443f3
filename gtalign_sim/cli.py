"""The ``gtalign-sim`` command line: ``report`` here, everything else to Hydra.

``gtalign-sim report RUN_DIR`` (also ``python -m gtalign_sim report RUN_DIR``)
re-renders a finished run's ``metrics.json``, ``summary.md`` and plots from its
``episodes.jsonl`` (or the experiment's ``RUN_DATA``) and ``config.yaml``, playing
nothing: the experiment named by ``experiment_name`` in ``config.yaml`` (else in
``run.json``) does it with its ``report_run(cfg, path)``. Any other arguments are Hydra
overrides for :func:`gtalign_sim.run.main`. Errors are one line,
``gtalign-sim: error: ...``, exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["HTTP_LOGGERS", "PROG", "load_run", "main", "one_line", "quiet_library_loggers"]

PROG = "gtalign-sim"

HTTP_LOGGERS: tuple[str, ...] = ("httpx", "httpx2", "httpcore")
"""Loggers that write one INFO line per HTTP request (``openai`` sends through ``httpx2``
or ``httpx``, depending on its version); entry points raise them to WARNING."""

log = logging.getLogger(__name__)


def quiet_library_loggers() -> None:
    """Raise the per-request HTTP loggers (:data:`HTTP_LOGGERS`) to WARNING, so a run's
    output has no line per LLM call. Called by the entry points, never on import."""
    for name in HTTP_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def one_line(message: str) -> str:
    """``message`` with its lines joined by ``"; "`` (an error is one stderr line)."""
    return "; ".join(x.strip() for x in str(message).splitlines() if x.strip())


def _error(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {one_line(message)}\n")
    return 2


def _experiment_name(path: Path, cfg: Any) -> str:
    name = cfg.get("experiment_name") if hasattr(cfg, "get") else None
    if name:
        return str(name)
    state = path / "run.json"
    if state.is_file():
        try:
            name = (json.loads(state.read_text(encoding="utf-8")).get("config") or {}).get(
                "experiment_name"
            )
        except (ValueError, AttributeError):
            name = None
    if not name:
        raise ValueError(f"{path}: neither config.yaml nor run.json names the experiment_name")
    return str(name)


def _run_data(name: str) -> str:
    """Where a run of experiment ``name`` keeps its results: the module's ``RUN_DATA``,
    ``episodes.jsonl`` by default (an unknown name: checked later, in one line)."""
    import importlib

    from .experiments import EXPERIMENTS

    if name not in EXPERIMENTS:
        return "episodes.jsonl"
    module = importlib.import_module(f"gtalign_sim.experiments.{name}")
    return str(getattr(module, "RUN_DATA", "episodes.jsonl"))


def load_run(run_dir: str | Path, partial: bool = False) -> tuple[Any, str, Path]:
    """The run in ``run_dir`` as ``(cfg, experiment_name, path)``, checked before any work.

    ``cfg`` is the run's ``config.yaml`` (a struct-mode ``DictConfig``, as Hydra hands
    it to the experiment). Raises ``ValueError`` (one line) when the directory, its
    ``episodes.jsonl`` or its ``config.yaml`` is missing or unreadable, when no
    experiment is named, or, unless ``partial``, when ``run.json`` says the run is not
    complete (``running``, ``interrupted``, ``failed``).
    """
    from omegaconf import DictConfig, OmegaConf

    path = Path(run_dir)
    if not path.is_dir():
        raise ValueError(f"{path}: no such run directory")
    if not (path / "config.yaml").is_file():
        raise ValueError(f"{path}: no config.yaml (the run's resolved config)")
    try:
        cfg = OmegaConf.load(path / "config.yaml")
    except Exception as exc:  # yaml errors have no common base class worth naming
        raise ValueError(f"{path / 'config.yaml'}: cannot read: {one_line(str(exc))}") from exc
    if not isinstance(cfg, DictConfig):
        raise ValueError(f"{path / 'config.yaml'}: expected a mapping, got a list")
    OmegaConf.set_struct(cfg, True)
    name = _experiment_name(path, cfg)
    data = _run_data(name)
    if not (path / data).exists():
        raise ValueError(f"{path}: no {data} (not a run directory, or nothing was played)")
    if not partial and (path / "run.json").is_file():
        try:
            state = json.loads((path / "run.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path / 'run.json'}: not JSON ({exc})") from exc
        status = state.get("status")
        if status != "complete":
            raise ValueError(
                f"{path}: the run is {status} ({state.get('done', '?')}/"
                f"{state.get('total', '?')} episodes); continue it with resume=true "
                "hydra.run.dir=<dir>, or report what is there with --partial"
            )
    return cfg, name, path


def report(run_dir: str | Path, partial: bool = False) -> dict[str, Any]:
    """Re-render ``metrics.json``, ``summary.md`` and the plots of the run in
    ``run_dir`` from its episodes (nothing is played); returns the metrics.

    Checks as :func:`load_run`, then calls the experiment's ``report_run(cfg, path)``;
    an unknown experiment, or one without ``report_run``, is a ``ValueError``.
    """
    from .experiments import get_experiment

    cfg, name, path = load_run(run_dir, partial)
    experiment = get_experiment(name)
    report_run = getattr(experiment, "report_run", None)
    if report_run is None:
        raise ValueError(f"experiment {name!r} cannot re-render a run (it has no report_run)")
    log.info("re-rendering %s (%s) from %s", path, name, path / "episodes.jsonl")
    return report_run(cfg, path)


def _report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} report",
        description="Re-render metrics.json, summary.md and the plots of a finished run "
        "from its episodes.jsonl and config.yaml, without playing anything.",
    )
    parser.add_argument("run_dir", help="the run directory (holds episodes.jsonl, config.yaml)")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="also report a run that is not complete (interrupted, failed or running)",
    )
    return parser


def report_main(argv: Sequence[str]) -> int:
    """``gtalign-sim report RUN_DIR [--partial]``; returns the exit status."""
    args = _report_parser().parse_args(list(argv))
    quiet_library_loggers()
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    logging.getLogger("gtalign_sim").setLevel(logging.INFO)
    try:
        report(args.run_dir, partial=args.partial)
    except ValueError as exc:
        return _error(str(exc))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``report ...`` runs :func:`report_main`; anything else is handed to
    Hydra (:func:`gtalign_sim.run.main`) as its command line. Returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["report"]:
        return report_main(args[1:])
    from .run import main as hydra_main

    saved = sys.argv
    sys.argv = [saved[0] if saved else PROG, *args]  # Hydra parses sys.argv
    try:
        hydra_main()
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
