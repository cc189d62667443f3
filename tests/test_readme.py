"""The README's (and docs/*.md's) snippets run as pasted.

Rules, applied to every fenced block in ``README.md`` and ``docs/*.md``:

* A ```` ```python ```` block runs in a fresh interpreter (``sys.executable -c``, in an
  empty temporary directory) and must exit 0. When the block shows output with
  ``# -> text`` comments, its stdout must be exactly those texts, one per line, in order.
* A block preceded by ``<!-- no-run: reason -->`` is not run; it is reported as a skip
  with its reason, and :data:`NO_RUN_EXPECTED` pins how many there are, so none is
  skipped silently.
* In a ```` ```bash ```` block every command line (continuations joined, comments dropped,
  split on ``&&``, ``||`` and ``;``) that is ``python -m gtalign_sim.run …`` or
  ``gtalign-sim …`` is run as ``sys.executable -m gtalign_sim.run`` with ``--cfg job``
  appended (composition only: override typos and unknown keys exit 2) and must exit 0;
  a preceding ``cd DIR`` on the same line is honoured. Not run, by rule: other commands
  (installs, venvs, pytest, mutmut), multiruns (``-m``/``--multirun``) and command lines
  with a pipe; the multiruns and pipes are counted in :data:`BASH_SKIPS_EXPECTED`. A
  gtalign command may not contain ``...``/``…`` or a redirection (``<``, ``>``): pasted,
  those fail or do something else.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NO_RUN_EXPECTED = 0
"""Blocks marked ``<!-- no-run: … -->`` across all files."""
BASH_SKIPS_EXPECTED = 1
"""gtalign command lines not run by rule (multirun or pipe): README's ``-m`` sweep."""
TIMEOUT_S = 60

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_NO_RUN = re.compile(r"^\s*<!--\s*no-run\b:?\s*(.*?)\s*-->\s*$")
_OUTPUT = re.compile(r"#\s*->\s?(.*)$")


@dataclass(frozen=True)
class Block:
    """A fenced block: file, 1-based line of its opening fence, language, dedented text."""

    path: Path
    line: int
    lang: str
    text: str
    no_run: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = len(m.group(1)), m.group(2), i
        prev = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        mark = _NO_RUN.match(prev)
        i += 1
        body = []
        while i < len(lines) and not _FENCE.match(lines[i]):
            head, tail = lines[i][:indent], lines[i][indent:]
            body.append(tail if not head.strip() else lines[i].lstrip())
            i += 1
        out.append(Block(path, start + 1, lang, "\n".join(body) + "\n", mark and mark.group(1)))
        i += 1
    return out


BLOCKS = [b for p in FILES for b in _blocks(p)]
PYTHON = [b for b in BLOCKS if b.lang == "python"]
BASH = [b for b in BLOCKS if b.lang in ("bash", "sh", "shell")]


def _expected_stdout(code: str) -> str | None:
    shown = [m.group(1).rstrip() for ln in code.splitlines() if (m := _OUTPUT.search(ln))]
    return "\n".join(shown) + "\n" if shown else None


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_snippet_runs_as_pasted(block: Block, tmp_path: Path) -> None:
    if block.no_run is not None:
        pytest.skip(f"marked no-run: {block.no_run}")
    proc = subprocess.run(
        [sys.executable, "-c", block.text],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"{block.id} exited {proc.returncode}:\n{proc.stderr}"
    expected = _expected_stdout(block.text)
    if expected is not None:
        assert proc.stdout == expected, block.id


@dataclass(frozen=True)
class Command:
    """One gtalign command from a bash block: where it is, its cwd and its arguments."""

    where: str
    cwd: Path
    args: list[str]


def _gtalign_args(segment: list[str]) -> list[str] | None:
    """The arguments of a gtalign command (``python -m gtalign_sim.run`` or ``gtalign-sim``)."""
    if segment[:1] == ["gtalign-sim"]:
        return segment[1:]
    if segment[:1] in (["python"], ["python3"]) and segment[1:3] == ["-m", "gtalign_sim.run"]:
        return segment[3:]
    return None


def _commands(block: Block) -> tuple[list[Command], list[str]]:
    """The gtalign commands of a bash block, and the ones skipped by rule (with why)."""
    run, skipped = [], []
    logical: list[tuple[int, str]] = []  # (markdown line, the line with continuations joined)
    for k, raw in enumerate(block.text.splitlines(), start=block.line + 1):
        if logical and logical[-1][1].endswith("\\"):
            logical[-1] = (logical[-1][0], logical[-1][1][:-1] + " " + raw)
        else:
            logical.append((k, raw))
    for n, line in logical:
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        cwd, segment = ROOT, []
        for tok in [*lex, "&&"]:
            if tok not in ("&&", "||", ";"):
                segment.append(tok)
                continue
            where = f"{block.path.relative_to(ROOT)}:{n}: {' '.join(segment)}"
            if len(segment) == 2 and segment[0] == "cd":
                cwd = cwd / segment[1]
            elif "|" in segment:
                piped = [s for s in " ".join(segment).split("|") if _gtalign_args(s.split())]
                if piped:
                    skipped.append(f"{where} (pipe)")
            elif (args := _gtalign_args(segment)) is not None:
                if "-m" in args or "--multirun" in args:
                    skipped.append(f"{where} (multirun)")
                else:
                    run.append(Command(where, cwd, args))
            segment = []
    return run, skipped


COMMANDS = [c for b in BASH if b.no_run is None for c in _commands(b)[0]]


def test_bash_skips_are_the_documented_ones() -> None:
    skipped = [s for b in BASH if b.no_run is None for s in _commands(b)[1]]
    assert len(skipped) == BASH_SKIPS_EXPECTED, skipped
    assert len(COMMANDS) >= 9  # the README alone has nine: the parser did not lose them


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.where.split(": ")[0] for c in COMMANDS])
def test_bash_command_composes(cmd: Command) -> None:
    bad = [a for a in cmd.args if a in ("...", "…") or (a and set(a) <= set("<>&();"))]
    assert not bad, f"{cmd.where}: {bad} does not run as pasted"
    args = cmd.args if "--cfg" in cmd.args else [*cmd.args, "--cfg", "job"]
    proc = subprocess.run(
        [sys.executable, "-m", "gtalign_sim.run", *args],
        cwd=cmd.cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"{cmd.where} exited {proc.returncode}:\n{proc.stderr}"


def test_no_run_marks_are_counted() -> None:
    marked = [f"{b.id}: {b.no_run}" for b in BLOCKS if b.no_run is not None]
    assert len(marked) == NO_RUN_EXPECTED, marked
    assert all(b.no_run for b in BLOCKS if b.no_run is not None), "a no-run mark needs a reason"


def test_readme_opens_with_its_figure() -> None:
    """Title, then the image (a PNG under 300 KB), then a caption naming a command that
    composes and makes the figure (the file's name is the run's own output name)."""
    paras = re.split(r"\n\s*\n", (ROOT / "README.md").read_text())
    assert paras[0].startswith("# ") and "\n" not in paras[0].strip()
    m = re.fullmatch(r"!\[[^\]]+\]\((docs/figures/([\w.-]+\.png))\)", paras[1].strip())
    assert m, paras[1]
    png = ROOT / m.group(1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size < 300_000
    caption = " ".join(paras[2].split())
    assert f"`{m.group(2)}`" in caption
    cmd = re.search(r"`python -m gtalign_sim\.run ([^`]+)`", caption)
    assert cmd, caption
    proc = subprocess.run(
        [sys.executable, "-m", "gtalign_sim.run", *shlex.split(cmd.group(1)), "--cfg", "job"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
