"""Bad configuration is refused before any work: one line naming the field and the
allowed values, exit status 2, nothing written (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import gtalign_sim

CONF = Path(gtalign_sim.__file__).parent / "conf"

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


# --------------------------------------------------------------------------- Hydra's own

HYDRA_CASES = [
    (
        "episodes_per_famliy=3",
        "gtalign-sim: error: episodes_per_famliy=3: no such key; did you mean episodes_per_family?",
    ),
    (
        "pricing=nope",
        "gtalign-sim: error: pricing=nope: no such option; "
        "available: free, mixed, per_token_api, subscription",
    ),
    (
        "seed=[1",
        "gtalign-sim: error: seed=[1: bad override syntax: no viable alternative at input '[1'",
    ),
]

# the console script's code path (gtalign_sim.run:main called from a script)
CONSOLE_SCRIPT = "import sys; from gtalign_sim.run import main; sys.argv[0] = 'gtalign-sim'; main()"


def _run(args, tmp_path, env=None, entry=("-m", "gtalign_sim.run")):
    return subprocess.run(
        [sys.executable, *entry, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


@pytest.mark.parametrize(("override", "line"), HYDRA_CASES, ids=[c[0] for c in HYDRA_CASES])
def test_hydra_composition_error_is_one_line_exit_2(tmp_path, override, line):
    out = tmp_path / "run"
    proc = _run([f"hydra.run.dir={out}", "progress=false", override], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [line]
    assert proc.stdout == ""
    assert not out.exists()


def test_console_script_path_and_cfg_job_report_the_same_line(tmp_path):
    proc = _run(["--cfg", "job", "pricing=nope"], tmp_path, entry=("-c", CONSOLE_SCRIPT))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [HYDRA_CASES[1][1]]


def test_multirun_composition_error_is_one_line_exit_2(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _run(["-m", "pricing=free,nope", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [HYDRA_CASES[1][1]]
    assert not any(sweep.rglob("episodes.jsonl"))


def test_hydra_full_error_adds_the_traceback(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = _run(["--cfg", "job", "episodes_per_famliy=3"], tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "hydra.errors.ConfigCompositionException: Could not override" in proc.stderr
    assert lines[-1] == HYDRA_CASES[0][1]


def test_cfg_job_still_prints_the_config(tmp_path):
    proc = _run(["--cfg", "job", "pricing=free", "seed=7"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "\nseed: 7\n" in proc.stdout and "experiment_name: clarification_game" in proc.stdout


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("hydra.run.dirr=x", "hydra.run.dirr=x: no such key; did you mean hydra.run.dir?"),
        ("zzz_unknown=1", "zzz_unknown=1: no such key (to add a new key: +zzz_unknown=1)"),
        ("seed", "seed: bad override syntax: missing EQUAL at '<EOF>'"),
        (
            "seed=1,2",
            "seed=1,2: ambiguous value; write [a,b] for a list, quote it for a string, or "
            "add -m (--multirun) to sweep over it",
        ),
        (
            "hydra.job.chdir=maybe",
            "hydra.job.chdir=maybe: Value 'maybe' is not a valid bool (type str)",
        ),
        (
            "experiment=nope",
            "experiment=nope: no such option; available: "
            + ", ".join(sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))),
        ),
    ],
)
def test_config_error_line_in_process(override, line):
    """The same lines without a subprocess: compose with Hydra's loader, format."""
    from hydra import compose, initialize_config_module

    from gtalign_sim.run import config_error_line

    with (
        initialize_config_module("gtalign_sim.conf", version_base=None),
        pytest.raises(Exception) as info,
    ):
        compose("config", overrides=[override], return_hydra_config=True)
    assert config_error_line(info.value, [override]) == line


def test_errors_inside_the_experiment_are_not_config_errors(monkeypatch):
    """An OmegaConf error raised by the experiment is a bug: Hydra's report, not exit 2."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigAttributeError

    import gtalign_sim.experiments as experiments
    from gtalign_sim import run

    cfg = OmegaConf.create({"experiment_name": "clarification_game"})
    OmegaConf.set_struct(cfg, True)
    fake = SimpleNamespace(run=lambda c: c.no_such_key)
    monkeypatch.setattr(experiments, "get_experiment", lambda name: fake)
    with pytest.raises(ConfigAttributeError) as inside:
        run._run_task(cfg)
    assert run.config_error_line(inside.value) is None
    with pytest.raises(ConfigAttributeError) as outside:  # the same error while composing
        cfg.no_such_key  # noqa: B018
    assert run.config_error_line(outside.value) == (
        "no_such_key: Key 'no_such_key' is not in struct"
    )
    assert run.config_error_line(RuntimeError("boom")) is None
