"""Progress of a run: a rich bar on a terminal, a plain line every ``every`` seconds
otherwise (cluster logs, pipes), nothing when disabled.

::

    bar = progress(s.progress, total=n_episodes, desc="episodes")
    try:
        for arm in arms:
            bar.describe(arm.label)   # what is being played now
            bar.skip(n_stored)        # stored episodes of a resumed run: done, not timed
            ...
            bar.update()              # after each played episode
    finally:
        bar.close()

(or ``with progress(...) as bar:``). A plain line reads
``episodes 1200/5000 (24%) 00:41 elapsed, ~02:10 left [gtalign]``; the time left is
the remaining count at the rate of the episodes played since the start (skipped ones
excluded), so a resumed run does not promise an early finish. ``close`` writes a last
line when anything happened since the previous one. Lines and the bar go to ``stream``
(standard error by default), so standard output keeps only the run's results.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["DEFAULT_EVERY", "Progress", "format_duration", "progress"]

DEFAULT_EVERY: float = 30.0
"""Seconds between two plain progress lines when the stream is not a terminal."""


def format_duration(seconds: float) -> str:
    """``MM:SS`` under an hour, ``H:MM:SS`` from one (whole seconds, rounded)."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


class Progress:
    """Counts ``update``/``skip`` calls towards ``total`` and shows them (see the module).

    ``mode`` is ``"off"`` (``enabled`` false), ``"bar"`` (a rich bar: ``tty`` true, or
    ``stream`` is a terminal when ``tty`` is None) or ``"lines"``. ``clock`` (seconds,
    monotonic) is injectable for tests. Thread-safe.
    """

    def __init__(
        self,
        enabled: bool,
        total: int,
        desc: str,
        *,
        every: float = DEFAULT_EVERY,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"progress: total must be an integer >= 0, got {total!r}")
        if not every > 0:
            raise ValueError(f"progress: every must be a number of seconds > 0, got {every!r}")
        self.total = total
        self.desc = desc
        self.every = float(every)
        self.text = ""
        self.done = 0
        self.played = 0
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._start = clock()
        self._last_line = self._start
        self._shown = 0  # ``done`` at the last line
        self._lock = threading.Lock()
        self._closed = False
        self._bar: Any = None
        self._task: Any = None
        if not enabled:
            self.mode = "off"
        elif tty if tty is not None else _isatty(self._stream):
            self.mode = "bar"
            self._start_bar()
        else:
            self.mode = "lines"

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=self._stream),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.desc, total=self.total)

    # ----------------------------------------------------------------------- counting

    def update(self, n: int = 1) -> None:
        """``n`` more items finished (played: they count towards the rate)."""
        self._advance(n, played=True)

    def skip(self, n: int = 1) -> None:
        """``n`` items done without playing them (e.g. stored episodes of a resumed run):
        they count towards ``done`` but not towards the rate behind the time left."""
        self._advance(n, played=False)

    def _advance(self, n: int, played: bool) -> None:
        if n <= 0 or self._closed:
            return
        with self._lock:
            self.done += n
            if played:
                self.played += n
            if self.mode == "bar":
                self._bar.advance(self._task, n)
            elif self.mode == "lines" and self._clock() - self._last_line >= self.every:
                self._write_line()

    def describe(self, text: str) -> None:
        """What is being worked on now (shown in the bar, ``[text]`` in plain lines)."""
        with self._lock:
            self.text = str(text)
            if self.mode == "bar":
                self._bar.update(self._task, description=self.text)

    def close(self) -> None:
        """Stop the bar, or write the last plain line when anything happened since the
        previous one. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.mode == "bar":
                self._bar.stop()
            elif self.mode == "lines" and self.done != self._shown:
                self._write_line()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------- lines

    def line(self) -> str:
        """The plain progress line for now, e.g.
        ``episodes 1200/5000 (24%) 00:41 elapsed, ~02:10 left [gtalign]``."""
        elapsed = self._clock() - self._start
        pct = 100 if self.total == 0 else min(100, 100 * self.done // self.total)
        out = f"{self.desc} {self.done}/{self.total} ({pct}%) {format_duration(elapsed)} elapsed"
        remaining = self.total - self.done
        if remaining > 0 and self.played > 0 and elapsed > 0:
            out += f", ~{format_duration(remaining * elapsed / self.played)} left"
        if self.text:
            out += f" [{self.text.strip()}]"
        return out

    def _write_line(self) -> None:
        self._stream.write(self.line() + "\n")
        self._stream.flush()
        self._last_line = self._clock()
        self._shown = self.done


def progress(
    enabled: bool,
    total: int,
    desc: str,
    *,
    every: float = DEFAULT_EVERY,
    stream: TextIO | None = None,
    tty: bool | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Progress:
    """A :class:`Progress` over ``total`` items labelled ``desc``: a rich bar when
    ``stream`` (default standard error) is a terminal, else a plain line every ``every``
    seconds, nothing when ``enabled`` is false. Usable as a context manager."""
    return Progress(enabled, total, desc, every=every, stream=stream, tty=tty, clock=clock)
