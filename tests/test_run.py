"""The Hydra runner: composition, validation, outputs, determinism, plug-in users."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.experiments import clarification_game, get_experiment

SMALL = [
    "episodes_per_family=2",
    "assistants.names=[gtalign,always_da,oracle]",
    "assistants.n_particles=4",
    "assistants.oracle_particles=4",
    "env.tasks_per_family=12",
    "progress=false",
    "plots=false",
    "print_table=false",
]


def compose_cfg(overrides, out: Path):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=["experiment=clarification_game", f"output_dir={out}", *overrides],
        )


def test_experiment_writes_outputs_and_is_deterministic(tmp_path):
    cfg_a = compose_cfg([*SMALL, "plots=true"], tmp_path / "a")
    metrics = clarification_game.run(cfg_a)
    for name in ("config.yaml", "episodes.jsonl", "metrics.json", "summary.md"):
        assert (tmp_path / "a" / name).stat().st_size > 0
    assert list((tmp_path / "a").glob("*.png"))
    assert set(metrics["assistants"]) == {"gtalign", "always_da", "oracle"}
    lines = (tmp_path / "a" / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 3 * 2 * 4
    rec = json.loads(lines[0])
    for key in (
        "task_id",
        "profile",
        "transcript",
        "actions",
        "tokens",
        "strategy",
        "user_welfare",
        "llm_welfare",
        "mutual_welfare",
        "user_level",
        "llm_level",
        "user_terms",
        "llm_terms",
        "ledger",
        "aggregate",
        "stop_reason",
        "assistant",
        "episode",
    ):
        assert key in rec
    assert "cue" not in rec  # the question type is observable (game v1)
    clarification_game.run(compose_cfg(SMALL, tmp_path / "b"))
    assert (tmp_path / "a" / "episodes.jsonl").read_text() == (
        tmp_path / "b" / "episodes.jsonl"
    ).read_text()


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("families=[poetry]", "valid choices"),
        ("assistants.names=[gtalign,genius]", "valid choices"),
        ("episodes_per_family=0", "episodes_per_family"),
        ("+pricing.plans.barter=1.0", "valid plan names"),
        ("welfare.aggregator=max", "valid choices"),
        ("assistants.gtalign_rule=vibes", "valid choices"),
        ("user._target_=no_such_module.User", "cannot import"),
    ],
)
def test_bad_values_fail_before_work(tmp_path, override, match):
    cfg = compose_cfg([*SMALL, override], tmp_path / "x")
    with pytest.raises(ValueError, match=match):
        clarification_game.validate(cfg)
    assert not (tmp_path / "x").exists()


def test_unknown_experiment_lists_choices():
    with pytest.raises(ValueError, match="clarification_game"):
        get_experiment("nope")


def test_cli_unknown_experiment_lists_choices():
    proc = subprocess.run(
        [sys.executable, "-m", "gtalign_sim.run", "experiment=nope", "hydra/job_logging=disabled"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "clarification_game" in proc.stderr + proc.stdout


def test_custom_user_from_outside_the_package(tmp_path, monkeypatch):
    pkg = tmp_path / "my_users"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            from gtalign_sim.users import BaseUser

            class AlwaysDetailed(BaseUser):
                def __init__(self, marker="x", **kwargs):
                    super().__init__(**kwargs)
                    self.marker = marker

                def choose_strategy(self, task, profile, rng):
                    return "DQ"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose_cfg(
        [*SMALL, "user._target_=my_users.AlwaysDetailed", "+user.marker=y"], tmp_path / "run"
    )
    clarification_game.run(cfg)
    recs = [json.loads(x) for x in (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()]
    assert recs and all(r["strategy"] == "DQ" for r in recs)


def test_protocol_violating_user_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "bad_users.py").write_text("class NotAUser:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose_cfg([*SMALL, "user._target_=bad_users.NotAUser"], tmp_path / "run")
    with pytest.raises(ValueError, match="protocol"):
        clarification_game.validate(cfg)
