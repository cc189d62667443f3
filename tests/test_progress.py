"""Progress output: plain lines on a schedule when not a terminal (injected clock), a
rich bar on a terminal, nothing when disabled."""

from __future__ import annotations

import io

import pytest

from gtalign_sim.experiments.progress import DEFAULT_EVERY, Progress, format_duration, progress


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0  # any origin: only differences count

    def __call__(self) -> float:
        return self.t

    def at(self, seconds: float) -> None:
        self.t = 1000.0 + seconds


class TTYBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines_bar(
    total: int = 5000, every: float = DEFAULT_EVERY
) -> tuple[Progress, io.StringIO, Clock]:
    clock, out = Clock(), io.StringIO()
    return progress(True, total, "episodes", every=every, stream=out, clock=clock), out, clock


def test_plain_lines_every_30_seconds_with_time_left():
    bar, out, clock = lines_bar()
    assert bar.mode == "lines" and DEFAULT_EVERY == 30.0
    clock.at(10)
    bar.update(600)
    assert out.getvalue() == ""  # under 30 s since the start
    clock.at(41)
    bar.update(600)
    bar.describe("gtalign")
    clock.at(70)
    bar.update(100)  # 29 s after the last line: nothing
    clock.at(71.5)
    bar.update(100)
    clock.at(80)
    bar.update(3600)
    bar.close()
    bar.close()  # idempotent
    bar.update(5)  # after close: ignored
    assert out.getvalue().splitlines() == [
        "episodes 1200/5000 (24%) 00:41 elapsed, ~02:10 left",
        "episodes 1400/5000 (28%) 01:12 elapsed, ~03:04 left [gtalign]",
        "episodes 5000/5000 (100%) 01:20 elapsed [gtalign]",
    ]


def test_skipped_items_count_as_done_but_not_in_the_rate():
    bar, out, clock = lines_bar()
    bar.skip(4000)  # a resumed run's stored episodes
    clock.at(30)
    bar.update(100)
    # 900 left at 100 per 30 s; counting the skipped ones would promise ~00:07
    assert out.getvalue().splitlines() == ["episodes 4100/5000 (82%) 00:30 elapsed, ~04:30 left"]
    assert (bar.done, bar.played) == (4100, 100)


def test_no_rate_no_time_left_and_close_writes_only_news():
    bar, out, clock = lines_bar(total=10, every=5)
    clock.at(6)
    bar.skip(3)
    assert out.getvalue().splitlines() == ["episodes 3/10 (30%) 00:06 elapsed"]
    bar.close()  # nothing since that line
    assert len(out.getvalue().splitlines()) == 1
    quiet, out2, _ = lines_bar()
    quiet.close()  # nothing happened at all
    assert out2.getvalue() == ""


def test_disabled_writes_nothing():
    clock, out = Clock(), TTYBuffer()
    bar = progress(False, 10, "episodes", stream=out, clock=clock)
    with bar:
        bar.describe("x")
        clock.at(100)
        bar.update(10)
    assert bar.mode == "off" and out.getvalue() == "" and bar.done == 10


def test_terminal_gets_a_rich_bar():
    out = TTYBuffer()
    with progress(True, 3, "episodes", stream=out) as bar:
        assert bar.mode == "bar"
        bar.describe("gtalign")
        bar.update(3)
    text = out.getvalue()
    assert "gtalign" in text and "3/3" in text


def test_tty_flag_overrides_the_stream():
    assert progress(True, 1, "e", stream=TTYBuffer(), tty=False).mode == "lines"
    assert progress(True, 1, "e", stream=io.StringIO()).mode == "lines"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00"), (59.6, "01:00"), (130, "02:10"), (3600, "1:00:00"), (3725.2, "1:02:05")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"total": -1}, "progress: total must be an integer >= 0, got -1"),
        ({"total": 2.5}, "progress: total must be an integer >= 0, got 2.5"),
        ({"every": 0}, "progress: every must be a number of seconds > 0, got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"total": 10, "every": 30.0, **kwargs}
    with pytest.raises(ValueError) as info:
        progress(True, args["total"], "episodes", every=args["every"], stream=io.StringIO())
    assert str(info.value) == message
