"""Learning users (``gtalign_sim.train.UserLearner``), both sides learning
(``gtalign_sim.train.dilemma``) and ``experiment=learning_dilemma``.

Pins: the users' learner learns (its U beats its untrained start by a clear margin on
several seeds against a fixed assistant) and is a function of its seed; decisions are
settled by their own episode's U; the experiment's runs are paired (every condition's
run k has the same seed), its tables are the runs' numbers, a killed run continues to
the same result, and bad config is refused in one line before any work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require
from hydra import compose, initialize_config_module

from gtalign_sim.core.vocab import encode_action
from gtalign_sim.experiments import learning_dilemma as ld
from gtalign_sim.tasks import TaskBank

DA = encode_action("DA", 1)
TINY = [
    "learning_dilemma.seeds=2",
    "learning_dilemma.pretrain_steps=256",
    "learning_dilemma.updates=3",
    "learning_dilemma.n_envs=32",
    "learning_dilemma.rollout_steps=4",
    "learning_dilemma.eval_envs=50",
    "learning_dilemma.eval_steps=4",
    "env.tasks_per_family=8",
    "progress=false",
    "print_table=false",
]


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=["experiment=learning_dilemma", f"output_dir={out}", *TINY, *extra],
        )


@pytest.fixture(scope="module")
def bank() -> TaskBank:
    return TaskBank.build(per_family=8, seed=3)


def _users_against_da(bank: TaskBank, seed: int, updates: int) -> tuple[list[dict], dict]:
    from gtalign_sim.envs.batched import BatchedClarificationEngine
    from gtalign_sim.train.dilemma import ObservedEngine, evaluate_play, learn_together
    from gtalign_sim.train.users import UserLearner, UserLearnerConfig

    users = UserLearner(UserLearnerConfig(seed=seed))
    env = ObservedEngine(BatchedClarificationEngine(128, tasks=bank, user_agent=users), users)
    always_da = lambda obs, mask: np.full(len(obs), DA)  # noqa: E731
    before = evaluate_play(
        ObservedEngine(BatchedClarificationEngine(400, tasks=bank, user_agent=users), users),
        always_da,
        4,
        seed=99,
    )
    curve = learn_together(env, always_da, updates, rollout_steps=4, seed=seed)
    after = evaluate_play(
        ObservedEngine(BatchedClarificationEngine(400, tasks=bank, user_agent=users), users),
        always_da,
        4,
        seed=99,
    )
    return curve, {"before": before, "after": after}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learning_users_beat_their_untrained_selves(bank, seed) -> None:
    require("torch")
    require("torchrl")
    _, out = _users_against_da(bank, seed, updates=12)
    before, after = out["before"], out["after"]
    # an untrained user flips coins (DQ half the time, giving up after a wrong answer);
    # learned users ask vague questions of an assistant that always answers, stop giving
    # up, and gain far more than noise (400 held-out episodes; measured: +0.115..+0.140)
    assert before["gave_up_share"] > 0.05 and after["gave_up_share"] < 0.01
    assert before["dq_share"] > 0.45 and after["dq_share"] < 0.35
    assert after["user_welfare"] - before["user_welfare"] > 0.1


def test_learning_users_are_a_function_of_the_seed(bank) -> None:
    require("torch")
    a, _ = _users_against_da(bank, 5, updates=2)
    b, _ = _users_against_da(bank, 5, updates=2)
    c, _ = _users_against_da(bank, 6, updates=2)
    strip = lambda curve: [{k: v for k, v in r.items() if k != "wall_s"} for r in curve]  # noqa: E731
    assert strip(a) == strip(b)
    assert strip(a) != strip(c)


def test_decisions_are_settled_by_their_own_episode() -> None:
    require("torch")
    from gtalign_sim.train.users import UserLearner

    users = UserLearner()
    feats = np.zeros((3, 17), dtype=np.float32)
    users("strategy", feats, np.array([7, 8, 9]))
    users("reply", feats[:1], np.array([8]))
    info = {
        "_final_info": np.array([True, False, True]),
        "final_info": {"episode": np.array([8, 7, 9]), "user_welfare": np.array([0.5, 0.0, -0.25])},
    }
    assert users.observe(info) == 3  # episode 8's two decisions and episode 9's one
    assert sorted(s[3] for s in users._settled) == [-0.25, 0.5, 0.5]
    assert list(users._pending) == [7]
    users.learning = False
    assert users.observe(info) == 0


# ---------------------------------------------------------------- the experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("torch")
    require("torchrl")
    out = tmp_path_factory.mktemp("learning_dilemma")
    metrics = ld.run(_cfg(out))
    return out, metrics


def _runs(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*/seed*.json"))]


def test_runs_are_paired_by_seed_and_the_tables_are_their_numbers(run) -> None:
    from gtalign_sim.eval.stats import mean_ci, paired_test

    out, metrics = run
    runs = _runs(out)
    assert len(runs) == 2 * 3 * 2  # rewards × (reference, frozen, joint) × seeds
    seeds = ld.run_seeds(0, 2)
    assert {(r["run"], r["seed"]) for r in runs} == {(0, seeds[0]), (1, seeds[1])}
    by = {(r["reward"], r["mode"], r["run"]): r for r in runs}
    cell = metrics["conditions"]["cobb_douglas/joint"]["final"]["dq_share"]
    want = mean_ci([by["cobb_douglas", "joint", k]["final"]["dq_share"] for k in (0, 1)])
    assert cell == want
    diff = metrics["differences"]["cobb_douglas/frozen − llm_only/frozen"]["user_welfare"]
    a = [by["cobb_douglas", "frozen", k]["final"]["user_welfare"] for k in (0, 1)]
    b = [by["llm_only", "frozen", k]["final"]["user_welfare"] for k in (0, 1)]
    assert diff["mean"] == paired_test(a, b)["mean"]
    assert by["llm_only", "reference", 0]["curve"] == []
    assert len(by["llm_only", "joint", 0]["curve"]) == 3
    summary = (out / "summary.md").read_text()
    assert "| cobb_douglas/joint | " in summary
    assert "![learning curves](learning_dilemma.png)" in summary
    assert (out / "learning_dilemma.png").stat().st_size > 0
    header = (out / "curves.csv").read_text().splitlines()[0]
    assert header.startswith("reward,mode,run,update,episodes,dq_share,gave_up_share")
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_a_killed_run_continues_to_the_same_result(run, tmp_path) -> None:
    ref, metrics = run
    cmd = [
        sys.executable,
        "-m",
        "gtalign_sim.run",
        "experiment=learning_dilemma",
        f"hydra.run.dir={tmp_path}",
        *TINY,
    ]
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "runs").glob("*/seed*.json"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = len(list((tmp_path / "runs").glob("*/seed*.json")))
    assert 3 <= kept < 12
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # the same command again

    def finals(out: Path) -> dict:
        return {(r["reward"], r["mode"], r["run"]): r["final"] for r in _runs(out)}

    assert finals(tmp_path) == finals(ref)
    again = json.loads((tmp_path / "metrics.json").read_text())
    assert again["conditions"] == metrics["conditions"]
    with pytest.raises(ValueError, match="already holds a run"):
        ld.run(_cfg(tmp_path))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("learning_dilemma.rewards=[nash]", "learning_dilemma.rewards"),
        ("learning_dilemma.modes=[frozen,frozen]", "distinct names"),
        ("learning_dilemma.seeds=1", "learning_dilemma.seeds must be an integer >= 2"),
        ("+learning_dilemma.speed=2", "unknown keys ['speed']"),
        ("+learning_dilemma.users.lr=0", "users.lr must be > 0"),
        ("+learning_dilemma.users.depth=2", "unknown fields ['depth']"),
        ("+learning_dilemma.ppo.reward=linear", "fields ['reward'] not allowed"),
        ("+user.learn=true", "ParametricUser with learn=false"),
    ],
)
def test_bad_config_is_refused_in_one_line_before_any_work(tmp_path, override, message) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")) as info:
        ld.run(_cfg(tmp_path, override))
    assert "\n" not in str(info.value)
    assert not any(tmp_path.iterdir())


def test_report_re_renders_the_run_from_its_runs(run) -> None:
    from gtalign_sim import cli

    out, metrics = run
    (out / "summary.md").unlink()
    again = cli.report(out)
    assert again["conditions"] == metrics["conditions"]
    assert again["differences"] == metrics["differences"]
    assert (out / "summary.md").is_file()
