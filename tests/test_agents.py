"""Assistants and the planner: exactness against simulation, decisions, traces."""

from __future__ import annotations

import numpy as np
import pytest

from gtalign_sim.agents import (
    ASSISTANTS,
    FixedAssistant,
    GTAlignAssistant,
    OracleAssistant,
    Planner,
    RandomAssistant,
    Rows,
    build_assistant,
)
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.ground_truth import calibration_error, estimate_cell_payoffs
from gtalign_sim.envs.rollout import run_episode
from gtalign_sim.protocol import parse
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import TaskTables, UserProfile, WorldConfig, encode_action


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=15, seed=1)


def one_user_planner(task, profile, strategy, pricing="per_token_api", objective="mutual"):
    world = WorldConfig()
    prior = np.array([it.prior for it in task.interpretations])
    t_idx = [it.id for it in task.interpretations].index(profile.intent)
    sw = np.zeros((1, len(prior), 2))
    sw[0, t_idx, 0 if strategy == "DQ" else 1] = 1.0
    rows = Rows.build([profile], len(prior), np.ones_like(prior), sw)
    return Planner(TaskTables.build(task), world, pricing, rows, objective)


@pytest.mark.parametrize("family", ["math", "ambiguous_qa", "writing", "safety"])
def test_planner_expectation_matches_simulation(bank, family):
    task = next(t for t in bank if t.family == family and t.ambiguous and t.difficulty != "easy")
    intent = task.interpretations[-1].id
    profile = UserProfile(intent=intent, patience=3, pricing="per_token_api")
    env_factory = lambda: ClarificationGameEnv(tasks=bank)  # noqa: E731
    truth = estimate_cell_payoffs(env_factory, task, profile, n_samples=150, seed=3)
    for si, strategy in enumerate(("DQ", "VQ")):
        planner = one_user_planner(task, profile, strategy)
        for mi, mode in enumerate(("DA", "CQ", "AQ")):
            res = planner.evaluate([], encode_action(mode, 1), encode_action("DA", 1))
            assert res.user == pytest.approx(truth.user[si, mi], abs=0.03), (strategy, mode)
            assert res.llm == pytest.approx(truth.llm[si, mi], abs=0.03), (strategy, mode)


def test_expectimax_beats_every_open_loop_single_plan(bank):
    task = next(t for t in bank if t.ambiguous)
    profile = UserProfile(intent=task.interpretations[0].id, patience=3)
    planner = one_user_planner(task, profile, "VQ", pricing="subscription")
    best = planner.best()
    for a in range(9):
        for b in planner.continuation_actions:
            res = planner.evaluate([], a, b)
            assert best.value >= res.value - 1e-9


def test_gtalign_decision_has_matrix_belief_and_parseable_trace(bank):
    env = ClarificationGameEnv(tasks=bank)
    env.reset(seed=4)
    obs, _, _, _, info = env.last()
    d = GTAlignAssistant(n_particles=6).act(obs, info)
    assert 0 <= d.action < 9
    assert d.payoff is not None and d.payoff.shape == (2, 3)
    assert d.belief is not None and d.belief.sum() == pytest.approx(1.0)
    parsed = parse(d.trace)
    assert parsed.format_score == 1.0
    assert parsed.chosen_cell[1] == d.mode
    assert np.abs(parsed.matrix.user).max() <= 5.0


def test_cue_moves_the_belief(bank):
    a = GTAlignAssistant(n_particles=4)
    task = next(iter(bank))
    info = {"task": task, "pricing": "subscription", "history": []}
    lo = a.belief(a.planner({**info, "cue": 0.1}))
    hi = a.belief(a.planner({**info, "cue": 0.9}))
    assert lo[1] > 0.8 and hi[0] > 0.8


def test_calibration_error_of_gtalign_estimate(bank):
    task = next(t for t in bank if t.family == "math")
    profile = UserProfile(intent=task.most_likely().id)
    truth = estimate_cell_payoffs(lambda: ClarificationGameEnv(tasks=bank), task, profile, 20)
    env = ClarificationGameEnv(tasks=bank)
    env.reset(seed=0, options={"task": task, "profile": profile})
    obs, _, _, _, info = env.last()
    d = GTAlignAssistant(n_particles=6).act(obs, info)
    err = calibration_error(d.payoff, truth, scale={"factor": 10.0, "offset": 0.5})
    assert 0.0 <= err["overall"] < 0.5


def test_oracle_plays_a_full_episode(bank):
    env = ClarificationGameEnv(tasks=bank)
    rec = run_episode(env, OracleAssistant(n_particles=4), seed=7)
    assert 0.0 <= rec["decisions"][0]["estimates"]["value"] <= 1.0
    assert 0.0 <= rec["mutual_welfare"] <= 1.0


def test_registry_and_baselines():
    assert {"gtalign", "oracle", "always_da", "selfish_llm", "random"} <= set(ASSISTANTS)
    with pytest.raises(ValueError, match="allowed"):
        build_assistant("genius")
    assert FixedAssistant("CQ", "elaborate").act({}, {}).action == encode_action("CQ", 2)
    r1 = [RandomAssistant(seed=3).act({"action_mask": np.ones(9)}, {}).action for _ in range(1)]
    r2 = [RandomAssistant(seed=3).act({"action_mask": np.ones(9)}, {}).action for _ in range(1)]
    assert r1 == r2
    with pytest.raises(ValueError, match="verbosity"):
        FixedAssistant("DA", "verbose")
