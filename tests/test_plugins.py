"""Plug-in assistants and environments by ``_target_``, exactly as plug-in users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = [
    "experiment=clarification_game",
    "episodes_per_family=3",
    "progress=false",
    "plots=false",
    "print_table=false",
]


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "examples") + os.pathsep + str(ROOT)}
    cmd = [sys.executable, "-m", "gtalign_sim.run", *BASE, f"hydra.run.dir={out}", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def _records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]


def test_a_plug_in_assistant_plays_next_to_the_built_in_ones(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _run(
        out,
        "assistants.names=[always_da,clarify_vague]",
        "+assistants.custom.clarify_vague={_target_: custom_assistant.ClarifyVague}",
    )
    assert proc.returncode == 0, proc.stderr
    recs = [r for r in _records(out) if r["assistant"] == "clarify_vague"]
    assert len(recs) == 12
    for r in recs:  # its rule, visible in every episode: CQ first exactly on vague openings
        assert (r["actions"][0] // 3 == 1) == (r["strategy"] == "VQ")
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["assistant_metrics"]) == {"always_da", "clarify_vague"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["assistants.names=[mine]", "+assistants.custom.mine={_target_: nowhere.Mine}"],
            "gtalign-sim: error: assistants.custom.mine._target_='nowhere.Mine': cannot import "
            "module 'nowhere': No module named 'nowhere'",
        ),
        (
            ["assistants.names=[mine]", "+assistants.custom.mine={_target_: json.JSONDecoder}"],
            "gtalign-sim: error: assistants.custom.mine._target_='json.JSONDecoder' does not "
            "implement the Assistant protocol: missing ['reset', 'act'] (required: "
            "['reset', 'act'])",
        ),
        (
            ["+assistants.custom.oracle={_target_: custom_assistant.ClarifyVague}"],
            "gtalign-sim: error: assistants.custom.oracle: 'oracle' is a built-in assistant; "
            "choose another name",
        ),
        (
            ["env._target_=gtalign_sim.users.ParametricUser"],
            "gtalign-sim: error: env._target_='gtalign_sim.users.ParametricUser' must be a "
            "subclass of gtalign_sim.envs.ClarificationGameEnv",
        ),
    ],
)
def test_bad_plug_ins_are_one_line_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    out = tmp_path / "run"
    proc = _run(out, *extra)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [message]
    assert not out.exists() or not (out / "episodes.jsonl").exists()


def test_a_plug_in_environment_is_used(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _run(out, "assistants.names=[always_cq]", "env._target_=custom_env.ShortGameEnv")
    assert proc.returncode == 0, proc.stderr
    # always-CQ asks first: in a one-turn game every episode ends after it (the horizon,
    # or the user's patience when that runs out first); the default game reaches turn 2
    recs = _records(out)
    assert {r["turns"] for r in recs} == {1}
    assert {r["stop_reason"] for r in recs} == {"max_turns", "patience_exhausted"}


def test_an_environment_refuses_a_user_built_for_another_world() -> None:
    from gtalign_sim.core import WorldConfig
    from gtalign_sim.envs import ClarificationGameEnv
    from gtalign_sim.users import ParametricUser

    user = ParametricUser(world=WorldConfig(max_turns=2))
    with pytest.raises(ValueError, match="built with another world than the environment's"):
        ClarificationGameEnv(user=user)
    env = ClarificationGameEnv(world=WorldConfig(max_turns=2), user=user)
    assert env.user_sim is user
