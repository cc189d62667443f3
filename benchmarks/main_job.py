"""Wall and CPU time of the main job, with a per-phase breakdown.

    python benchmarks/main_job.py [hydra overrides...]

Runs ``python -m gtalign_sim.run experiment=clarification_game`` in this process (with
``progress=false`` and a fresh run directory under the system temp folder unless the
overrides say otherwise) and times it, wrapping a few functions with timers:

* startup: from the start until the first episode begins (imports, config, task bank);
* play: all episodes, split into exclusive parts (a part excludes the parts it calls)
  - task tables: :meth:`TaskTables.build` (rendering and judging every answer variant),
  - user model: the users' DQ/VQ choice values (``parametric._strategy_values``, with
    the planner calls it makes),
  - planner: the assistants' :meth:`Planner.best` / ``action_values`` / ``evaluate``
    (expectimax),
  - rest of play: the environment, users' replies, rules, rendering, judging,
    building the planners' hypotheses;
* report: from the last episode's end until the run returns (metrics, summary, plots).

Each phase shows wall-clock and CPU seconds of this process; on a shared machine the
CPU figures move less. The timers cost a few microseconds per call.
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

_TOTALS: dict[str, list[float]] = {}  # name -> [wall, cpu] seconds, exclusive
_STACK: list[list[Any]] = []  # [name, wall and cpu at the start of the current segment]
_MARKS: dict[str, float] = {}


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _add(name: str, start: tuple[float, float], end: tuple[float, float]) -> None:
    tot = _TOTALS.setdefault(name, [0.0, 0.0])
    tot[0] += end[0] - start[0]
    tot[1] += end[1] - start[1]


def _timed(name: str, fn: Callable[..., Any], skip_inside: str | None = None) -> Callable[..., Any]:
    """``fn`` adding its *exclusive* wall and CPU time (minus timed callees) to ``name``.

    Recursive calls, and calls made while ``skip_inside`` is running, are not separated.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if any(f[0] in (name, skip_inside) for f in _STACK):
            return fn(*args, **kwargs)
        now = _clocks()
        if _STACK:
            _add(_STACK[-1][0], _STACK[-1][1], now)
        if name == "play":
            _MARKS.setdefault("play_start", now[0])
            _MARKS.setdefault("play_start_cpu", now[1])
        _STACK.append([name, now])
        try:
            return fn(*args, **kwargs)
        finally:
            end = _clocks()
            _add(name, _STACK.pop()[1], end)
            if _STACK:
                _STACK[-1][1] = end
            if name == "play":
                _MARKS["last_end"], _MARKS["last_end_cpu"] = end

    return wrapper


def _install() -> None:
    from gtalign_sim.core import expect
    from gtalign_sim.envs import rollout
    from gtalign_sim.users import parametric, world

    build = world.TaskTables.build.__func__  # type: ignore[attr-defined]
    world.TaskTables.build = classmethod(_timed("task tables", build))  # type: ignore[method-assign]
    parametric._strategy_values = _timed("user model", parametric._strategy_values)
    for method in ("best", "action_values", "evaluate"):
        timed = _timed("planner", getattr(expect.Planner, method), skip_inside="user model")
        setattr(expect.Planner, method, timed)
    rollout.run_episode = _timed("play", rollout.run_episode)


def main(argv: list[str]) -> int:
    """Run the main job with timers; print the breakdown; return its exit status."""
    start, start_cpu = _clocks()
    _install()
    overrides = list(argv)
    if not any(a.startswith("experiment=") for a in overrides):
        overrides.insert(0, "experiment=clarification_game")
    if not any(a.startswith("progress=") for a in overrides):
        overrides.append("progress=false")
    if not any(a.startswith("hydra.run.dir=") for a in overrides):
        overrides.append(f"hydra.run.dir={tempfile.mkdtemp(prefix='gtalign_main_job_')}")
    from gtalign_sim import run

    sys.argv = ["gtalign_sim.run", *overrides]
    status = 0
    try:
        run.main()
    except SystemExit as exc:  # hydra exits on errors; keep the timings
        status = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    end, end_cpu = _clocks()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    wall_total, cpu_total = end - start, end_cpu - start_cpu
    parts = ("task tables", "user model", "planner", "play")
    zero = [0.0, 0.0]
    play = [sum(_TOTALS.get(k, zero)[i] for k in parts) for i in (0, 1)]
    rows = [
        ("total", [wall_total, cpu_total]),
        (
            "  startup",
            [
                _MARKS.get("play_start", end) - start,
                _MARKS.get("play_start_cpu", end_cpu) - start_cpu,
            ],
        ),
        ("  play", play),
        ("    task tables", _TOTALS.get("task tables", zero)),
        ("    user model", _TOTALS.get("user model", zero)),
        ("    planner", _TOTALS.get("planner", zero)),
        ("    rest of play", _TOTALS.get("play", zero)),
        (
            "  report",
            [end - _MARKS.get("last_end", end), end_cpu - _MARKS.get("last_end_cpu", end_cpu)],
        ),
    ]
    print(f"main job ({' '.join(overrides)}), pid {os.getpid()}", file=sys.stderr)
    print(f"{'phase':<18}{'wall s':>9}{'cpu s':>9}", file=sys.stderr)
    for name, (wall, cpu_s) in rows:
        print(f"{name:<18}{wall:9.2f}{cpu_s:9.2f}", file=sys.stderr)
    print(f"(cpu: user {cpu.ru_utime:.2f} s + sys {cpu.ru_stime:.2f} s)", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
