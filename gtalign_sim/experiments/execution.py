"""The run-directory protocol of every experiment and its failure accounting.

:func:`execute` keeps ``run.json``'s state, appends each finished episode to
``episodes.jsonl`` (flushed at once), resumes, stops cleanly on SIGINT/SIGTERM and
writes derived files atomically; :func:`check_failures` turns too many failed episodes
into exit status 3.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from .settings import Settings

__all__ = ["TooManyFailures", "check_failures", "execute", "failures_markdown"]


def execute(
    s: Settings,
    cfg: Any,
    total: int,
    key_fields: tuple[str, ...],
    play: Callable[[Callable[[dict[str, Any]], None], Any, Any], None],
    report: Callable[[Any, float], dict[str, Any]],
    may_skip_state: bool,
) -> dict[str, Any]:
    """The run-directory protocol shared by the experiments: state in ``run.json``,
    episodes appended and flushed as they finish, resume, signals, atomic outputs.

    ``play(sink, done, stop)`` plays what is missing from ``done`` (stored keys to line
    digests), handing each new record to ``sink`` and calling ``stop.check()`` between
    episodes; ``report(rundir, wall_seconds)`` writes the derived files from
    ``episodes.jsonl`` and returns the metrics. ``may_skip_state``: whether the runner
    replays stored episodes (so state carried between episodes, as of learning users, is
    rebuilt); when it does not, resuming a run with learning users is refused.
    """
    from .rundir import (
        Interrupted,
        JsonlWriter,
        RunDir,
        hashed_config,
        scan_episodes,
        stop_on_signals,
        write_config,
    )

    start = time.perf_counter()
    rd = RunDir(s.output_dir)
    config = hashed_config(cfg)
    done: dict[tuple[Any, ...], bytes] = {}
    if s.resume:
        state = rd.check_resumable(config)
        if s.user_spec.get("learn") and not may_skip_state:
            raise ValueError(
                "resume refused: users learn across episodes (user.learn=true) and this "
                "backend's episodes are not replayed, so their beliefs cannot be restored"
            )
        done = scan_episodes(rd.episodes, key_fields, repair=True)
        if len(done) > total:
            raise ValueError(f"resume refused: {rd.episodes} holds {len(done)} > {total} episodes")
        if state.get("status") == "complete" and len(done) < total:
            raise ValueError(f"{rd.path}: run.json says complete but episodes are missing")
    elif rd.holds_a_run():
        old = rd.read_state() or {}
        raise ValueError(
            f"{rd.path} already holds a run (status {old.get('status', 'unknown')}, "
            f"{old.get('done', '?')}/{old.get('total', '?')} episodes): continue it with "
            "resume=true, or choose another hydra.run.dir / output_dir"
        )
    rd.start(config, total=total, done=len(done), resume=s.resume)
    if not (s.resume and (rd.path / "config.yaml").exists()):
        write_config(rd.path, cfg)
    writer = JsonlWriter(rd.episodes, s.fsync_lines, s.fsync_seconds)
    count = len(done)

    def sink(rec: dict[str, Any]) -> None:
        nonlocal count
        syncs = writer.syncs
        writer.write(rec)
        count += 1
        if writer.syncs != syncs:  # run.json's count follows what is on disk
            rd.save(done=count)

    try:
        try:
            with stop_on_signals() as stop:
                play(sink, done, stop)
        finally:
            writer.close()
        if count != total:
            raise RuntimeError(f"played {count} of {total} episodes")
        metrics = report(rd, time.perf_counter() - start)
    except (Interrupted, KeyboardInterrupt) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        reason = str(exc) if isinstance(exc, Interrupted) else "KeyboardInterrupt"
        rd.finish("interrupted", count, reason=reason)
        print(
            f"gtalign-sim: {reason}; kept {count}/{total} episodes in {rd.episodes} "
            "(continue with resume=true)",
            file=sys.stderr,
        )
        raise SystemExit(code) from None
    except BaseException as exc:
        rd.finish("failed", count, reason=f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise
    rd.finish("complete", count, wall_seconds=round(time.perf_counter() - start, 1))
    return metrics


def failures_markdown(failures: Mapping[str, Mapping[str, Any]]) -> str:
    """A ``## Failed episodes`` section (empty when nothing failed)."""
    rows = [
        f"| {name} | {f['failed']}/{f['attempted']} | "
        + "; ".join(f"{r} ×{n}" for r, n in f["reasons"].items())
        + " |"
        for name, f in failures.items()
        if f["failed"]
    ]
    if not rows:
        return ""
    head = [
        "",
        "## Failed episodes (kept out of every metric above)",
        "",
        "| assistant | failed | causes |",
        "|---|---|---|",
    ]
    return "\n".join([*head, *rows, ""])


class TooManyFailures(SystemExit):
    """The run finished but too many episodes failed (exit status 3)."""


def check_failures(failures: Mapping[str, Mapping[str, Any]], max_fraction: float) -> None:
    """Raise :class:`TooManyFailures` (after printing one line per cause) when every
    episode failed or the failed share exceeds ``max_fraction``."""
    failed = sum(int(f["failed"]) for f in failures.values())
    total = sum(int(f["attempted"]) for f in failures.values())
    if not total or (failed < total and failed <= max_fraction * total):
        if failed:
            print(f"gtalign-sim: {failed}/{total} episodes failed (kept out of the metrics)")
        return
    what = "all" if failed == total else f"{failed}/{total} ({failed / total:.0%})"
    print(f"gtalign-sim: error: {what} episodes failed", file=sys.stderr)
    for name, f in failures.items():
        for reason, n in f["reasons"].items():
            print(
                f"gtalign-sim:   {name}: {reason} on {n / f['attempted']:.0%} of episodes",
                file=sys.stderr,
            )
    raise TooManyFailures(3)
