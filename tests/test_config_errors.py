"""Bad configuration is refused before any work: one line naming the field and the
allowed values, exit status 2, nothing written (real subprocesses)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    ("+backend.api_key=sk-SECRET-123", "backend.api_key: secrets are not accepted inline"),
    ("backend=openai +backend.max_retires=0", "unknown key(s) ['max_retires'] for backend"),
    ("seed=1.5", "seed must be an integer >= 0, got 1.5"),
    ("progress=maybe", "progress must be true or false, got 'maybe'"),
    ("population.personas=[{name:casul,weight:0.5}]", "'casul' is not a default persona"),
    ("env.world.discount=nan", "world.discount must be in [0, 1]"),
    ("env.world.max_turns=abc", "world.max_turns: cannot use 'abc'"),
    ("max_failed_fraction=2", "max_failed_fraction must be a number in [0, 1]"),
]


@pytest.mark.parametrize(("override", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path, override, message):
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gtalign_sim.run",
            "experiment=clarification_game",
            f"hydra.run.dir={out}",
            "progress=false",
            *override.split(" "),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("gtalign-sim: error: "), proc.stderr
    assert message in lines[0]
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert written in ([], ["run.log"])
    for p in out.glob("*"):
        assert "SECRET" not in p.read_text()
