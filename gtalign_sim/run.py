"""The Hydra entry point: ``python -m gtalign_sim.run experiment=clarification_game``.

Also installed as the ``gtalign-sim`` console script (``gtalign-sim report RUN_DIR`` goes
to :mod:`gtalign_sim.cli`). Configs live in ``gtalign_sim/conf`` (groups: env,
population, pricing, welfare, user, assistants, experiment); ``--cfg job`` prints the
composed config, ``-m`` sweeps.

Runs stream into their directory (:mod:`gtalign_sim.experiments.rundir`): ``resume=true``
with ``hydra.run.dir=<dir>`` continues a stopped run; SIGINT/SIGTERM stop after the
current episode and exit 130/143.

Every configuration error, Hydra's own (an unknown key or group option, bad override
syntax) as well as a refused value, is one line on stderr, ``gtalign-sim: error: ...``,
and exit status 2; ``HYDRA_FULL_ERROR=1`` adds the full traceback before that line.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import hydra
from hydra.errors import (
    ConfigCompositionException,
    MissingConfigException,
    OverrideParseException,
    SearchPathException,
)
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from . import conf  # noqa: F401 - registers the generated config nodes
from .cli import PROG, one_line, quiet_library_loggers

__all__ = ["config_error_line", "main"]


def _fail(message: str) -> NoReturn:
    """``gtalign-sim: error: <message>`` on one stderr line, exit status 2."""
    sys.stderr.write(f"{PROG}: error: {one_line(message)}\n")
    sys.stderr.flush()
    raise SystemExit(2)


def _run_task(cfg: DictConfig) -> Any:
    quiet_library_loggers()  # again: Hydra has (re)configured logging for this job
    from .experiments import get_experiment

    try:
        experiment = get_experiment(str(cfg.get("experiment_name")))
        return experiment.run(cfg)
    except ValueError as exc:  # bad config values, refused resumes: one line, exit 2
        _fail(str(exc))


@hydra.main(version_base=None, config_path="conf", config_name="config")
def _app(cfg: DictConfig) -> Any:
    return _run_task(cfg)


# --------------------------------------------------------------------------- config errors


def _in_task(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while the experiment ran (not while Hydra composed)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is _run_task.__code__:
            return True
        tb = tb.tb_next
    return False


def _override_for(key: str, argv: Sequence[str]) -> str:
    """The command-line override that set ``key`` (``key=value``), else ``key``."""
    for arg in argv:
        name, eq, _ = arg.lstrip("+~").partition("=")
        if eq and name == key:
            return arg
    return key


def _unknown_key(exc: ConfigCompositionException, argv: Sequence[str]) -> str | None:
    cause = exc.__cause__
    if not isinstance(cause, (ConfigKeyError, ConfigAttributeError)) or not cause.full_key:
        return None
    key = str(cause.full_key)
    line = f"{_override_for(key, argv)}: no such key"
    parent = getattr(cause, "parent_node", None)
    known = [str(k) for k in parent] if isinstance(parent, DictConfig) else []
    close = difflib.get_close_matches(str(cause.key), known, n=3, cutoff=0.6)
    if close:
        prefix = key.rpartition(".")[0]
        names = [f"{prefix}.{c}" if prefix else c for c in close]
        return f"{line}; did you mean {' or '.join(names)}?"
    return f"{line} (to add a new key: +{_override_for(key, argv).lstrip('+')})"


_AMBIGUOUS = re.compile(r"^Ambiguous value for argument '(.+)'$")


def config_error_line(exc: BaseException, argv: Sequence[str] = ()) -> str | None:
    """The one-line message of a configuration error, or ``None`` when ``exc`` is none.

    Configuration errors: Hydra's composition errors (an unknown key or group option,
    bad override syntax, ambiguous or conflicting overrides, a missing config) and
    OmegaConf errors raised while Hydra composes (never inside the experiment, where
    they would be bugs). ``argv`` (the command-line overrides) lets the line quote the
    override that caused it.
    """
    if isinstance(exc, OverrideParseException):
        detail = [x for x in exc.message.splitlines() if x.strip()]
        detail = [x for x in detail if not x.startswith(("Error parsing override", "See http"))]
        reason = detail[0] if detail else "cannot be parsed"
        return f"{exc.override}: bad override syntax: {reason}"
    if isinstance(exc, MissingConfigException):
        if exc.options and exc.missing_cfg_file:
            group, _, option = exc.missing_cfg_file.rpartition("/")
            choice = f"{group}={option}" if group else option
            return f"{choice}: no such option; available: {', '.join(sorted(exc.options))}"
        return str(exc).strip().splitlines()[0]
    if isinstance(exc, ConfigCompositionException):
        unknown = _unknown_key(exc, argv)
        if unknown is not None:
            return unknown
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        ambiguous = _AMBIGUOUS.match(first)
        if ambiguous:
            return (
                f"{ambiguous.group(1)}: ambiguous value; write [a,b] for a list, quote it for "
                "a string, or add -m (--multirun) to sweep over it"
            )
        cause = exc.__cause__
        if isinstance(cause, OmegaConfBaseException) and cause.msg:
            merging = first.removeprefix("Error merging override ")
            return f"{merging if merging != first else first}: {cause.msg.splitlines()[0]}"
        return first
    if isinstance(exc, SearchPathException):
        return str(exc).strip().splitlines()[0]
    if isinstance(exc, OmegaConfBaseException) and not _in_task(exc):
        msg = (exc.msg or str(exc)).strip().splitlines()[0]
        return f"{exc.full_key}: {msg}" if exc.full_key else msg
    return None


def _full_error() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def _report_config_errors(
    func: Callable[[], Any], also: type[Exception] | tuple[type[Exception], ...] = ()
) -> Any:
    """``func()``; a configuration error (or an ``also`` exception) becomes one line and
    exit 2, after the traceback when ``HYDRA_FULL_ERROR=1``."""
    try:
        return func()
    except Exception as exc:
        line = config_error_line(exc, sys.argv[1:])
        if line is None and isinstance(exc, also):
            line = str(exc)
        if line is None:
            raise
        if _full_error():
            traceback.print_exc()
        _fail(line)


@contextmanager
def _config_errors_in_one_line() -> Iterator[None]:
    """While Hydra runs: configuration errors become one line and exit 2.

    Hydra reports every error of composition, run and multirun through
    ``hydra._internal.utils.run_and_report`` (a module global looked up per call); this
    wraps it so configuration errors are handled first and everything else keeps Hydra's
    report. Without that function (another Hydra) Hydra's own messages remain.
    """
    from hydra._internal import utils as hydra_utils

    original = getattr(hydra_utils, "run_and_report", None)
    if original is None:  # pragma: no cover - Hydra other than 1.3
        yield
        return

    def run_and_report(func: Callable[[], Any]) -> Any:
        return original(lambda: _report_config_errors(func))

    hydra_utils.run_and_report = run_and_report
    try:
        yield
    finally:
        hydra_utils.run_and_report = original


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Console-script entry point (the same as ``python -m gtalign_sim.run``):
    ``report RUN_DIR`` goes to :func:`gtalign_sim.cli.main`, everything else to Hydra."""
    if sys.argv[1:2] == ["report"]:
        from .cli import main as cli_main

        sys.exit(cli_main(sys.argv[1:]))
    quiet_library_loggers()
    with _config_errors_in_one_line():
        # Hydra's own argument checks (ValueError) and ``--help`` compose outside
        # run_and_report: their errors arrive here
        _report_config_errors(_app, also=ValueError)


if __name__ == "__main__":
    main()
