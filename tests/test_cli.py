"""``gtalign-sim report RUN_DIR``: dispatch from every entry point, one-line errors
(exit 2), and a real run re-rendered from its episodes; the entry points' logging."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest
from omegaconf import DictConfig, OmegaConf

import gtalign_sim.experiments as experiments
from gtalign_sim import cli

CONSOLE_SCRIPT = "import sys; from gtalign_sim.run import main; sys.argv[0] = 'gtalign-sim'; main()"


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "episodes.jsonl").write_text('{"assistant": "gtalign", "episode": 0}\n')
    (d / "config.yaml").write_text("experiment_name: clarification_game\nseed: 3\n")
    state = {"status": "complete", "done": 1, "total": 1, "config": {}}
    (d / "run.json").write_text(json.dumps(state))
    return d


@pytest.fixture
def fake(monkeypatch):
    """A stand-in experiment module recording its ``report_run`` calls."""
    calls = []

    def report_run(cfg, path):
        calls.append((cfg, path))
        return {"ok": True}

    module = SimpleNamespace(report_run=report_run)
    names = []

    def get_experiment(name):
        names.append(name)
        return module

    monkeypatch.setattr(experiments, "get_experiment", get_experiment)
    return SimpleNamespace(calls=calls, names=names, module=module)


def test_report_calls_the_experiments_report_run(run_dir, fake, capsys):
    assert cli.report_main([str(run_dir)]) == 0
    assert fake.names == ["clarification_game"]
    [(cfg, path)] = fake.calls
    assert path == run_dir
    assert isinstance(cfg, DictConfig) and OmegaConf.is_struct(cfg)
    assert OmegaConf.to_container(cfg) == {"experiment_name": "clarification_game", "seed": 3}
    assert capsys.readouterr().err == ""


def test_every_entry_point_dispatches_report(run_dir, fake, monkeypatch):
    from gtalign_sim import __main__ as module_main
    from gtalign_sim import run

    assert cli.main(["report", str(run_dir)]) == 0
    assert module_main.main(["report", str(run_dir)]) == 0
    monkeypatch.setattr(sys, "argv", ["gtalign-sim", "report", str(run_dir)])
    with pytest.raises(SystemExit) as info:
        run.main()
    assert info.value.code == 0
    assert [p for _, p in fake.calls] == [run_dir] * 3


def test_anything_else_goes_to_hydra_with_its_arguments(monkeypatch):
    from gtalign_sim import run

    seen = []
    monkeypatch.setattr(run, "main", lambda: seen.append(list(sys.argv[1:])))
    monkeypatch.setattr(sys, "argv", ["gtalign-sim", "--cfg", "job"])
    assert cli.main(["seed=1", "pricing=free"]) == 0
    assert seen == [["seed=1", "pricing=free"]]
    assert sys.argv == ["gtalign-sim", "--cfg", "job"]  # restored


def test_experiment_name_from_run_json(run_dir, fake):
    (run_dir / "config.yaml").write_text("seed: 3\n")
    state = json.loads((run_dir / "run.json").read_text())
    state["config"] = {"experiment_name": "prisoners_dilemma"}
    (run_dir / "run.json").write_text(json.dumps(state))
    assert cli.report_main([str(run_dir)]) == 0
    assert fake.names == ["prisoners_dilemma"]


def test_partial_reports_an_unfinished_run(run_dir, fake, capsys):
    state = {"status": "interrupted", "done": 40, "total": 120}
    (run_dir / "run.json").write_text(json.dumps(state))
    assert cli.report_main([str(run_dir)]) == 2
    assert fake.calls == []
    assert capsys.readouterr().err == (
        f"gtalign-sim: error: {run_dir}: the run is interrupted (40/120 episodes); continue it "
        "with resume=true hydra.run.dir=<dir>, or report what is there with --partial\n"
    )
    assert cli.report_main([str(run_dir), "--partial"]) == 0
    assert len(fake.calls) == 1


def _no_episodes(d):
    (d / "episodes.jsonl").unlink()


def _no_config(d):
    (d / "config.yaml").unlink()


def _bad_yaml(d):
    (d / "config.yaml").write_text("seed: [1\n")


def _a_list(d):
    (d / "config.yaml").write_text("- 1\n")


def _unnamed(d):
    (d / "config.yaml").write_text("seed: 3\n")


def _unknown(d):
    (d / "config.yaml").write_text("experiment_name: nope\n")


ERRORS = [
    (None, "{d}/missing: no such run directory"),
    (_no_episodes, "{d}: no episodes.jsonl (not a run directory, or nothing was played)"),
    (_no_config, "{d}: no config.yaml (the run's resolved config)"),
    (_bad_yaml, "{d}/config.yaml: cannot read: "),
    (_a_list, "{d}/config.yaml: expected a mapping, got a list"),
    (_unnamed, "{d}: neither config.yaml nor run.json names the experiment_name"),
    (_unknown, f"unknown experiment 'nope'; valid choices: {list(experiments.EXPERIMENTS)}"),
]


@pytest.mark.parametrize(("damage", "message"), ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_errors_are_one_line_exit_2(run_dir, damage, message, capsys):
    target = run_dir / "missing" if damage is None else run_dir
    if damage is not None:
        damage(run_dir)
    assert cli.report_main([str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.startswith("gtalign-sim: error: " + message.format(d=run_dir))


def test_experiment_without_report_run_and_report_run_refusals(run_dir, fake, capsys):
    del fake.module.report_run
    assert cli.report_main([str(run_dir)]) == 2
    assert capsys.readouterr().err == (
        "gtalign-sim: error: experiment 'clarification_game' cannot re-render a run "
        "(it has no report_run)\n"
    )

    def refuse(cfg, path):
        raise ValueError("plots: cannot use 'maybe'\nsecond line")

    fake.module.report_run = refuse
    assert cli.report_main([str(run_dir)]) == 2
    assert capsys.readouterr().err == (
        "gtalign-sim: error: plots: cannot use 'maybe'; second line\n"
    )


@pytest.mark.parametrize("entry", [("-m", "gtalign_sim"), ("-c", CONSOLE_SCRIPT)])
def test_subprocess_entry_points(tmp_path, entry):
    proc = subprocess.run(
        [sys.executable, *entry, "report", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"gtalign-sim: error: {tmp_path / 'nope'}: no such run directory\n"
    assert proc.stdout == ""


# --------------------------------------------------------------------------- logging


def test_http_loggers_are_quieted_by_entry_points_not_imports(monkeypatch):
    code = (
        "import logging, gtalign_sim, gtalign_sim.run, gtalign_sim.cli, gtalign_sim.eval; "
        "import gtalign_sim.backends.openai_backend; "
        "print([logging.getLogger(n).level for n in gtalign_sim.cli.HTTP_LOGGERS])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[0, 0, 0]"

    from gtalign_sim import run

    for name in cli.HTTP_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    fake = SimpleNamespace(run=lambda cfg: {"ran": True})
    monkeypatch.setattr(experiments, "get_experiment", lambda name: fake)
    assert run._run_task(OmegaConf.create({"experiment_name": "x"})) == {"ran": True}
    assert cli.HTTP_LOGGERS == ("httpx", "httpx2", "httpcore")
    assert [logging.getLogger(n).level for n in cli.HTTP_LOGGERS] == [logging.WARNING] * 3
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


# --------------------------------------------------------------------------- end to end


def _has_report_run() -> bool:
    return hasattr(experiments.get_experiment("clarification_game"), "report_run")


@pytest.mark.skipif(not _has_report_run(), reason="clarification_game has no report_run yet")
def test_report_re_renders_a_real_run(tmp_path):
    out = tmp_path / "run"
    played = subprocess.run(
        [
            sys.executable,
            "-m",
            "gtalign_sim.run",
            "assistants=quick",
            "families=[math]",
            "episodes_per_family=3",
            "progress=false",
            "print_table=false",
            f"hydra.run.dir={out}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert played.returncode == 0, played.stderr
    episodes = (out / "episodes.jsonl").read_bytes()
    metrics = json.loads((out / "metrics.json").read_text())
    summary = (out / "summary.md").read_text().splitlines()
    images = sorted(p.name for p in out.glob("*.png"))
    assert images  # plots=true by default
    for p in [out / "metrics.json", out / "summary.md", *out.glob("*.png")]:
        p.unlink()

    proc = subprocess.run(
        [sys.executable, "-m", "gtalign_sim", "report", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "episodes.jsonl").read_bytes() == episodes  # nothing played or appended
    assert json.loads((out / "metrics.json").read_text()) == metrics
    again = (out / "summary.md").read_text().splitlines()
    # the wall time of the run is the only thing a report cannot know
    assert again == [x for x in summary if not x.startswith("- **wall_seconds**")]
    assert sorted(p.name for p in out.glob("*.png")) == images
