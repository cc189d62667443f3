"""Assistants and the planner: exactness against simulation, decisions, traces."""

from __future__ import annotations

import numpy as np
import pytest

from gtalign_sim.agents import (
    ASSISTANTS,
    ClairvoyantAssistant,
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
from gtalign_sim.envs.rollout import assistant_info, run_episode
from gtalign_sim.protocol import parse
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import TaskTables, UserProfile, WorldConfig, encode_action

CALIBRATION_BOUND = 0.15
"""Mean absolute error (welfare gains) of GTAlign's matrix against simulated truth: its
population prior over intents misses this user's reading on the vague row."""


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


def simulate_cell(env, task, profile, strategy, first, then, seeds):
    """Per-episode (U, L, mutual) of opening ``first`` then ``then``, one row per seed."""
    out = []
    for sd in seeds:
        env.reset(seed=int(sd), options={"task": task, "profile": profile, "strategy": strategy})
        action = first
        while not env.episode:
            env.step(action)
            action = then
        out.append([env.episode[k] for k in ("user_welfare", "llm_welfare", "mutual_welfare")])
    return np.array(out)


@pytest.mark.parametrize("family", ["math", "ambiguous_qa", "writing", "safety"])
def test_planner_expectation_matches_simulation(bank, family):
    """The planner's expectations of U, L and sqrt(U+ L+) equal the environment's means
    within 3 standard errors, per cell (gains spread over about [-0.5, 1]: SE ~ 0.04)."""
    task = next(t for t in bank if t.family == family and t.ambiguous and t.difficulty != "easy")
    intent = task.interpretations[-1].id
    profile = UserProfile(intent=intent, patience=3, pricing="per_token_api")
    env = ClarificationGameEnv(tasks=bank)
    seeds = np.random.SeedSequence(3).generate_state(150)
    then = encode_action("DA", 1)
    for strategy in ("DQ", "VQ"):
        planner = one_user_planner(task, profile, strategy)
        for mode in ("DA", "CQ", "AQ"):
            first = encode_action(mode, 1)
            res = planner.evaluate([], first, then)
            sim = simulate_cell(env, task, profile, strategy, first, then, seeds)
            mean, se = sim.mean(axis=0), sim.std(axis=0) / np.sqrt(len(sim))
            for name, exact, m, e in zip(
                ("U", "L", "mutual"), (res.user, res.llm, res.value), mean, se, strict=True
            ):
                assert abs(exact - m) <= 3 * e + 1e-9, (strategy, mode, name, exact, m, e)


def test_expectimax_beats_every_open_loop_single_plan(bank):
    task = next(t for t in bank if t.ambiguous)
    profile = UserProfile(intent=task.interpretations[0].id, patience=3)
    planner = one_user_planner(task, profile, "VQ", pricing="subscription")
    best = planner.best()
    for a in range(9):
        for b in planner.continuation_actions:
            res = planner.evaluate([], a, b)
            assert best.value >= res.value - 1e-9


def test_action_values_agree_with_best_and_evaluate(bank):
    task = next(t for t in bank if t.ambiguous and t.family == "writing")
    profile = UserProfile(intent=task.interpretations[-1].id, patience=3)
    planner = one_user_planner(task, profile, "VQ", pricing="per_token_api")
    rows = len(planner.rows)
    # one root, best continuation: the best first action's value is expectimax's
    values, mass = planner.action_values((), np.zeros(rows, dtype=int), 1, None)
    assert values.shape == (1, 9, 3) and mass[0] == pytest.approx(planner.rows.weight.sum())
    best = planner.best()
    assert values[0, :, 0].max() == pytest.approx(best.value)
    assert int(values[0, :, 0].argmax()) == best.actions[0]
    # fixed continuation: each first action's (objective, U, L) is evaluate()'s
    then = encode_action("DA", 0)
    values, _ = planner.action_values((), np.zeros(rows, dtype=int), 1, then)
    for a in range(9):
        res = planner.evaluate([], a, then)
        assert values[0, a] == pytest.approx([res.value, res.user, res.llm], abs=1e-12)
    # after a clarifying question the user has replied: conditioning keeps that path
    cq = encode_action("CQ", 1)
    after, mass_after = planner.action_values((cq,), np.zeros(rows, dtype=int), 1, then)
    assert 0 < mass_after[0] <= mass[0] and np.isfinite(after).all()


def test_gtalign_decision_has_matrix_belief_and_parseable_trace(bank):
    env = ClarificationGameEnv(tasks=bank)
    env.reset(seed=4)
    obs, _, _, _, info = env.last()
    d = GTAlignAssistant(n_particles=6).act(obs, info)
    assert 0 <= d.action < 9
    assert d.payoff is not None and d.payoff.shape == (2, 3)
    # the question type is observed: the belief is one-hot on it
    assert d.belief is not None and d.belief.sum() == pytest.approx(1.0)
    assert d.belief[["DQ", "VQ"].index(info["question_type"])] == 1.0
    parsed = parse(d.trace)
    assert parsed.format_score == 1.0
    assert parsed.chosen_cell[1] == d.mode
    assert np.abs(parsed.matrix.user).max() <= 5.0


@pytest.mark.parametrize(("question_type", "row"), [("DQ", 0), ("VQ", 1)])
def test_question_type_sets_the_belief_and_the_row(bank, question_type, row):
    a = GTAlignAssistant(n_particles=4)
    task = next(t for t in bank if t.ambiguous)
    info = {"task": task, "pricing": "subscription", "history": [], "question_type": question_type}
    d = a.act({}, info)
    assert d.belief.tolist() == [1.0 - row, float(row)]
    m = ["DA", "CQ", "AQ"].index(d.mode)
    # the estimates recorded are the observed row's cell of the chosen mode (payoff scale 5x)
    assert 5.0 * d.estimates["user"] == pytest.approx(d.payoff.user[row, m])
    assert 5.0 * d.estimates["llm"] == pytest.approx(d.payoff.llm[row, m])


def test_cell_estimates_are_the_planners_per_strategy_expectations(bank):
    a = GTAlignAssistant(n_particles=4)
    task = next(t for t in bank if t.ambiguous and t.family == "ambiguous_qa")
    planner = a.planner({"task": task, "pricing": "per_token_api", "history": []})
    est = a.cell_estimates(planner, [])
    assert est.shape == (2, 3, 3, 2)
    da = encode_action("DA", 1)
    for s in (0, 1):
        sub = planner.subset(planner.rows.strategy == s)
        for mode in ("DA", "CQ", "AQ"):
            for v in range(3):
                res = sub.evaluate([], encode_action(mode, v), da)
                cell = est[s, ["DA", "CQ", "AQ"].index(mode), v]
                assert cell == pytest.approx([res.user, res.llm], abs=1e-9), (s, mode, v)
    # a vague question is worth less to the user than a detailed one answered directly,
    # unless the assistant asks: then the detailed one is the one that wasted effort
    assert est[1, 0, 1, 0] < est[0, 0, 1, 0]
    assert est[1, 1, 1, 0] > est[0, 1, 1, 0]


def test_calibration_error_of_gtalign_estimate(bank):
    task = next(t for t in bank if t.family == "math")
    profile = UserProfile(intent=task.most_likely().id)
    truth = estimate_cell_payoffs(lambda: ClarificationGameEnv(tasks=bank), task, profile, 20)
    env = ClarificationGameEnv(tasks=bank)
    env.reset(seed=0, options={"task": task, "profile": profile})
    obs, _, _, _, info = env.last()
    d = GTAlignAssistant(n_particles=6).act(obs, info)
    # the payoff scale is 5x the welfare gains (measured: 0.09 overall)
    scale = {"factor": 5.0, "offset": 0.0}
    err = calibration_error(d.payoff, truth, scale=scale)
    assert 0.0 <= err["overall"] < CALIBRATION_BOUND
    # a detailed question states the intent: that row is estimated closely (measured: 0.014)
    dq = calibration_error(d.payoff.restrict(["DQ"]), truth.restrict(["DQ"]), scale=scale)
    assert dq["overall"] < 0.05


def test_oracle_plays_a_full_episode_with_the_privileged_view(bank):
    env = ClarificationGameEnv(tasks=bank)
    oracle = OracleAssistant(n_particles=4)
    rec = run_episode(env, oracle, seed=7)
    est = rec["decisions"][0]["estimates"]
    assert est["value"] >= 0.0 and np.isfinite([est["user"], est["llm"]]).all()
    assert rec["mutual_welfare"] == pytest.approx(
        np.sqrt(max(rec["user_welfare"], 0.0) * max(rec["llm_welfare"], 0.0))
    )
    # the oracle weighs question types with the users' own model, from the privileged view
    env.reset(seed=7)
    _, _, _, _, info = env.last()
    assert "privileged" not in info and "oracle" not in info
    priv = assistant_info(env, oracle, info)["privileged"]
    task, profiles = info["task"], oracle.particles(info["pricing"])
    w = oracle.strategy_weights(task, profiles, {**info, "privileged": priv})
    p_vq = env.user_sim.vague_probabilities(task, profiles, info["pricing"])
    assert w[..., 1] == pytest.approx(p_vq) and w.sum(axis=-1) == pytest.approx(1.0)
    assert np.all(oracle.strategy_weights(task, profiles, info) == 1.0)  # public view: uniform
    assert assistant_info(env, GTAlignAssistant(), info) is info


def test_clairvoyant_knows_the_hidden_user(bank):
    env = ClarificationGameEnv(tasks=bank)
    env.reset(seed=2)
    _, _, _, _, info = env.last()
    c = ClairvoyantAssistant()
    with pytest.raises(ValueError, match="privileged"):
        c.act({}, info)
    full = assistant_info(env, c, info)
    planner = c.planner(full, objective="mutual")
    # one profile (the true one); of its (intent, question type) rows only the true
    # intent with the observed type has weight
    assert len(planner.rows) == 2 * len(info["task"].interpretations)
    alive = planner.rows.weight > 0
    assert alive.sum() == 1
    intents = [it.id for it in info["task"].interpretations]
    assert intents[int(planner.rows.intent[alive][0])] == env.profile.intent
    assert planner.rows.strategy[alive][0] == ["DQ", "VQ"].index(info["question_type"])
    rec = run_episode(ClarificationGameEnv(tasks=bank), c, seed=2)
    # the plan's value is its expectation for this very user: the best action's value
    est = rec["decisions"][0]["estimates"]
    assert est["value"] == pytest.approx(planner.best().value)


def test_registry_and_baselines():
    assert {
        "gtalign",
        "gtalign_cd",
        "oracle",
        "clairvoyant",
        "always_da",
        "selfish_llm",
        "user_only",
        "linear_welfare",
        "random",
    } <= set(ASSISTANTS)
    with pytest.raises(ValueError, match="allowed"):
        build_assistant("genius")
    # the objective baselines are exact best responses (privileged) to U, L or U + L
    for name, objective in [
        ("oracle", "mutual"),
        ("selfish_llm", "llm"),
        ("user_only", "user"),
        ("linear_welfare", "sum"),
    ]:
        a = build_assistant(name, n_particles=2)
        assert isinstance(a, OracleAssistant) and a.privileged
        assert (a.name, a.objective) == (name, objective)
    with pytest.raises(ValueError, match="objective"):
        OracleAssistant("profit")
    cd = build_assistant("gtalign_cd")
    assert isinstance(cd, GTAlignAssistant) and not cd.privileged
    assert (cd.name, cd.rule, cd.welfare) == ("gtalign_cd", "max_welfare", "cobb_douglas")
    assert isinstance(build_assistant("clairvoyant"), ClairvoyantAssistant)
    assert not build_assistant("gtalign").privileged
    assert FixedAssistant("CQ", "elaborate").act({}, {}).action == encode_action("CQ", 2)
    r1 = [RandomAssistant(seed=3).act({"action_mask": np.ones(9)}, {}).action for _ in range(1)]
    r2 = [RandomAssistant(seed=3).act({"action_mask": np.ones(9)}, {}).action for _ in range(1)]
    assert r1 == r2
    with pytest.raises(ValueError, match="verbosity"):
        FixedAssistant("DA", "verbose")
