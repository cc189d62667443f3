"""Runs that never lose or fake data: streamed episodes, run.json state, resume, signals.

The main tests run the real CLI in subprocesses and kill it (SIGKILL, SIGTERM, SIGINT);
a resumed run must produce the same episodes (as a set of lines) and the same
metrics.json, byte for byte, as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.experiments import clarification_game, prisoners_dilemma
from gtalign_sim.experiments.rundir import (
    JsonlWriter,
    config_diff,
    iter_jsonl,
    scan_episodes,
    write_text_atomic,
)

ROOT = Path(__file__).resolve().parents[1]
# 3 assistants x 40 episodes; `random` carries its generator across episodes, so a resume
# must replay its finished episodes to continue exactly
SMALL = [
    "experiment=clarification_game",
    "assistants.names=[always_da,always_aq,random]",
    "episodes_per_family=10",
    "plots=false",
    "progress=false",
    "print_table=false",
    "hydra/job_logging=disabled",
]
TOTAL = 120


def _cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "gtalign_sim.run", *SMALL, f"hydra.run.dir={out}", *extra]


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(out, *extra), cwd=ROOT, capture_output=True, text=True, timeout=120)


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _start_and_signal(out: Path, sig: int, after: int = 20) -> tuple[int, str]:
    """Start a run, send ``sig`` once ``after`` episodes are on disk; (exit code, stderr)."""
    proc = subprocess.Popen(
        _cmd(out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while _lines(out / "episodes.jsonl") < after:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no episodes streamed"
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def _state(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run (same seed) to compare against."""
    out = tmp_path_factory.mktemp("runs") / "reference"
    proc = _run(out)
    assert proc.returncode == 0, proc.stderr
    assert _state(out)["status"] == "complete"
    return out


def _assert_same_run(out: Path, reference: Path) -> None:
    got = sorted((out / "episodes.jsonl").read_text().splitlines())
    want = sorted((reference / "episodes.jsonl").read_text().splitlines())
    assert len(got) == TOTAL
    assert got == want
    # metrics.json holds no wall time: identical bytes, not just equal values
    assert (out / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()
    state = _state(out)
    assert (state["status"], state["done"], state["total"]) == ("complete", TOTAL, TOTAL)


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, reference) -> None:
    out = tmp_path / "killed"
    code, _ = _start_and_signal(out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    kept = _lines(out / "episodes.jsonl")
    assert 0 < kept < TOTAL
    assert _state(out)["status"] == "running"  # killed: nobody could mark it
    assert not (out / "metrics.json").exists()
    proc = _run(out, "resume=true")
    assert proc.returncode == 0, proc.stderr
    _assert_same_run(out, reference)
    assert _state(out)["resumes"] == 1


def test_resume_drops_a_truncated_final_line(tmp_path, reference) -> None:
    out = tmp_path / "truncated"
    shutil.copytree(reference, out)
    lines = (out / "episodes.jsonl").read_text().splitlines(keepends=True)
    cut = lines[:57]
    cut.append(lines[57][: len(lines[57]) // 2])  # a write cut short mid-line
    (out / "episodes.jsonl").write_text("".join(cut))
    (out / "metrics.json").unlink()
    state = _state(out)
    write_text_atomic(out / "run.json", json.dumps({**state, "status": "running", "done": 57}))
    proc = _run(out, "resume=true")
    assert proc.returncode == 0, proc.stderr
    _assert_same_run(out, reference)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_after_the_episode_and_keeps_what_finished(tmp_path, sig, code) -> None:
    out = tmp_path / "stopped"
    rc, err = _start_and_signal(out, sig)
    assert rc == code, err
    state = _state(out)
    kept = [rec for _, rec in iter_jsonl(out / "episodes.jsonl")]
    assert state["status"] == "interrupted"
    assert signal.Signals(sig).name in state["reason"]
    assert state["done"] == len(kept) == _lines(out / "episodes.jsonl")  # no partial line
    assert 0 < len(kept) < TOTAL
    assert state["total"] == TOTAL
    assert "resume=true" in err


def test_resume_with_a_changed_config_is_refused_naming_the_key(tmp_path, reference) -> None:
    out = tmp_path / "changed"
    shutil.copytree(reference, out)
    before = (out / "episodes.jsonl").read_bytes()
    proc = _run(out, "resume=true", "episodes_per_family=11")
    assert proc.returncode == 2
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and "episodes_per_family: 10 -> 11" in err[0], proc.stderr
    assert (out / "episodes.jsonl").read_bytes() == before
    # a fresh run into a directory holding one is refused too (it would clobber it)
    args = [a for a in SMALL if not a.startswith("hydra")]
    with pytest.raises(ValueError, match="already holds a run"):
        clarification_game.run(_cfg(out, *args))
    assert (out / "episodes.jsonl").read_bytes() == before
    # output-only keys are not hashed: resuming a complete run just re-reports
    clarification_game.run(_cfg(out, *args, "resume=true", "plots=true"))
    assert (out / "welfare_by_assistant.png").exists()
    assert (out / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()
    assert (out / "episodes.jsonl").read_bytes() == before


# --------------------------------------------------------------------------- in process


def _cfg(out: Path, *overrides: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(config_name="config", overrides=[*overrides, f"output_dir={out}"])


def _cut(src: Path, dst: Path, keep: int) -> None:
    """``dst``: ``src`` stopped after ``keep`` episodes (as a kill would leave it)."""
    shutil.copytree(src, dst)
    lines = (dst / "episodes.jsonl").read_text().splitlines(keepends=True)
    (dst / "episodes.jsonl").write_text("".join(lines[:keep]))
    for name in ("metrics.json", "summary.md"):
        (dst / name).unlink()
    state = json.loads((dst / "run.json").read_text())
    (dst / "run.json").write_text(json.dumps({**state, "status": "running", "done": keep}))


def test_prisoners_dilemma_resumes_exactly(tmp_path) -> None:
    args = [
        "experiment=prisoners_dilemma",
        "pd.policies=[always_da,random]",
        "pd.episodes_per_cell=10",
        "pd.bootstrap=20",
        "progress=false",
        "plots=false",
        "print_table=false",
    ]
    full = tmp_path / "full"
    prisoners_dilemma.run(_cfg(full, *args))
    assert _state(full)["status"] == "complete"
    assert "wall_seconds" not in json.loads((full / "metrics.json").read_text())
    part = tmp_path / "part"
    _cut(full, part, 13)  # mid-cell: (DQ, random) has 3 of 10 done
    prisoners_dilemma.run(_cfg(part, *args, "resume=true"))
    assert sorted((part / "episodes.jsonl").read_text().splitlines()) == sorted(
        (full / "episodes.jsonl").read_text().splitlines()
    )
    assert (part / "metrics.json").read_bytes() == (full / "metrics.json").read_bytes()


def test_learning_users_resume_by_replaying_their_beliefs(tmp_path) -> None:
    args = [
        "experiment=clarification_game",
        "assistants.names=[always_cq,random]",
        "episodes_per_family=4",
        "+user.learn=true",
        "progress=false",
        "plots=false",
        "print_table=false",
    ]
    full = tmp_path / "full"
    clarification_game.run(_cfg(full, *args))
    part = tmp_path / "part"
    _cut(full, part, 21)  # the second assistant has 5 of 16 done: replayed, not skipped
    clarification_game.run(_cfg(part, *args, "resume=true"))
    assert (part / "episodes.jsonl").read_text() == (full / "episodes.jsonl").read_text()
    assert (part / "metrics.json").read_bytes() == (full / "metrics.json").read_bytes()


def test_resume_needs_a_run_directory(tmp_path) -> None:
    with pytest.raises(ValueError, match="nothing to resume"):
        clarification_game.run(_cfg(tmp_path / "none", *SMALL[:-1], "resume=true"))
    assert not (tmp_path / "none" / "run.json").exists()


def test_jsonl_reader_drops_only_a_partial_last_line(tmp_path) -> None:
    path = tmp_path / "e.jsonl"
    with JsonlWriter(path, sync_lines=2) as w:
        for i in range(5):
            w.write({"assistant": "a", "episode": i})
        assert w.syncs == 2
    with path.open("a") as fh:
        fh.write('{"assistant": "a", "episode": 5}')  # complete JSON, but no newline
    assert [r["episode"] for _, r in iter_jsonl(path)] == [0, 1, 2, 3, 4]
    keys = scan_episodes(path, ("assistant", "episode"), repair=True)
    assert sorted(keys) == [("a", i) for i in range(5)]
    assert path.read_text().endswith('"episode": 4}\n')  # the partial line is gone
    path.write_text('{"episode": 0}\n{"epi\n{"episode": 2}\n')
    with pytest.raises(ValueError, match=":2: not valid JSON"):
        list(iter_jsonl(path))
    path.write_text('{"assistant": "a", "episode": 0}\n' * 2)
    with pytest.raises(ValueError, match="twice"):
        scan_episodes(path, ("assistant", "episode"))


def test_config_diff_names_nested_keys() -> None:
    old = {"seed": 0, "assistants": {"names": ["a"], "n": 4}}
    new = {"seed": 1, "assistants": {"names": ["a"], "n": 4}, "extra": True}
    assert config_diff(old, new) == ['extra: "<absent>" -> true', "seed: 0 -> 1"]


def test_no_temporary_files_are_left(tmp_path, reference) -> None:
    leftovers = [p.name for p in reference.iterdir() if ".tmp" in p.name]
    assert leftovers == []
    assert os.access(reference / "metrics.json", os.R_OK)
