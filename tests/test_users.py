"""User profiles, populations, the choice model, welfare on gains and plug-in loading."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gtalign_sim.agents import FixedAssistant
from gtalign_sim.backends.template import TemplateRenderer
from gtalign_sim.core import REPLY_KINDS, rules
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import run_episode
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import (
    DEFAULT_PERSONAS,
    ParametricUser,
    Persona,
    TaskTables,
    UserPopulation,
    UserProfile,
    WorldConfig,
    build_user,
    encode_action,
    length_misfit,
    load_user_class,
    strategy_values,
)
from gtalign_sim.welfare import count_tokens

# Dirichlet pseudo-counts (DA, CQ, AQ) concentrated on one opening mode
_ALMOST_NOT = 1e-6
GUESSES = {"DQ": [1.0, _ALMOST_NOT, _ALMOST_NOT], "VQ": [1.0, _ALMOST_NOT, _ALMOST_NOT]}
CLARIFIES = {"DQ": [1.0, _ALMOST_NOT, _ALMOST_NOT], "VQ": [_ALMOST_NOT, 1.0, _ALMOST_NOT]}


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=4, seed=0)


@pytest.fixture(scope="module")
def task(bank):
    return next(t for t in bank if t.ambiguous and t.family == "ambiguous_qa")


def test_population_sampling_is_reproducible_and_valid():
    pop = UserPopulation()
    a = pop.sample_many(np.random.default_rng(0), 50)
    b = pop.sample_many(np.random.default_rng(0), 50)
    assert a == b
    names = {p.name for p in DEFAULT_PERSONAS}
    assert {p.persona for p in a} <= names
    assert {p.pricing for p in a} == {"subscription", "per_token_api"}
    for p in a:
        assert p.length_band[0] <= p.length_band[1]
        assert p.patience >= 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patience": 0}, "patience"),
        ({"effort_detail": -1.0}, "effort_detail"),
        ({"pricing": "barter"}, "allowed"),
        ({"length_band": (50.0, 10.0)}, "length_band"),
        ({"satisfaction": 0.0}, "satisfaction"),
    ],
)
def test_profile_validation_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UserProfile(**kwargs)


def test_population_config_and_errors():
    pop = UserPopulation.from_config(
        {
            "personas": [{"name": "casual", "weight": 1.0, "patience": [3, 3]}],
            "pricing": {"free": 1.0},
        }
    )
    p = pop.sample(np.random.default_rng(1))
    assert p.persona == "casual" and p.patience == 3 and p.pricing == "free"
    with pytest.raises(ValueError, match="allowed"):
        UserPopulation.from_config({"personas": [{"name": "x", "height": [1, 2]}]})
    with pytest.raises(ValueError, match="allowed"):
        UserPopulation(pricing={"barter": 1.0})
    with pytest.raises(ValueError, match="lo <= hi"):
        Persona(name="bad", patience=(3, 1))


def test_choice_model_responds_to_belief_and_costs(task):
    default = task.most_likely().id
    other = next(it.id for it in task.interpretations if it.id != default)

    def p_vague(prior, intent, effort_detail):
        profile = UserProfile(intent=intent, effort_detail=effort_detail, patience=3)
        return ParametricUser(belief_prior=prior).p_vague(task, profile)

    # a user whose vague question would be answered for the wrong reading...
    cheap, costly = p_vague(GUESSES, other, 0.01), p_vague(GUESSES, other, 0.4)
    assert costly > cheap  # detail costs more -> more vague questions
    assert cheap < 0.1  # ...asks in detail when detail is cheap
    # a user whose reading is the one assumed gains exactly the effort of detail by
    # asking vaguely (subscription: the shorter question costs no money)
    gains = ParametricUser(belief_prior=GUESSES).expected_gains(
        task, UserProfile(intent=default, effort_detail=0.1, patience=3)
    )
    assert gains[1] - gains[0] == pytest.approx(0.1, abs=1e-4)
    assert p_vague(GUESSES, default, 0.1) > 0.5
    # if vague questions get clarified, vagueness costs a round whatever the reading
    clarified = [p_vague(CLARIFIES, i, 0.1) for i in (default, other)]
    assert max(clarified) < 0.5
    assert clarified[0] < p_vague(GUESSES, default, 0.1)
    assert clarified[1] > p_vague(GUESSES, other, 0.1)  # but it beats a wrong guess


def test_strategy_values_and_the_oracles_choice_model_match_the_user(task):
    profiles = [
        UserProfile(persona="student", effort_detail=0.05, patience=2),
        UserProfile(persona="expert", effort_detail=0.3, patience=1, vague_bias=0.5),
    ]
    world = WorldConfig()
    vals = strategy_values(task, profiles, world, "subscription")
    n_t = len(task.interpretations)
    assert vals.shape == (2, n_t, 2, 9)
    # a vague question answered directly pays off only for the reading assumed
    da = encode_action("DA", 1)
    default = [it.id for it in task.interpretations].index(task.most_likely().id)
    others = [t for t in range(n_t) if t != default]
    assert (vals[:, default, 1, da, None] > vals[:, others, 1, da] + 0.3).all()
    user = ParametricUser(world)
    pv = user.vague_probabilities(task, profiles, "subscription")
    assert pv.shape == (2, n_t)
    for k, p in enumerate(profiles):
        for t, it in enumerate(task.interpretations):
            assert pv[k, t] == pytest.approx(user.p_vague(task, p.with_intent(it.id)), abs=1e-12)


def test_task_tables_reply_tokens_follow_reply_kinds(task):
    tables = TaskTables.cached(task)
    ids = [it.id for it in task.interpretations]
    assert tables.reply_tokens.shape == (len(REPLY_KINDS), len(ids))
    renderer = TemplateRenderer()
    for k, kind in enumerate(REPLY_KINDS):
        for t, tid in enumerate(ids):
            text = renderer.user_reply(task, tid, kind)
            assert tables.reply_tokens[k, t] == count_tokens(text), (kind, tid)


def test_parametric_user_learns_reputation(task):
    user = ParametricUser(learn=True)
    profile = UserProfile(persona="student", intent=task.most_likely().id, effort_detail=0.1)
    before = user.belief.copy()
    assert before == pytest.approx(np.full((2, 3), 1 / 3))
    p_before = user.p_vague(task, profile)
    rng = np.random.default_rng(0)
    record = {
        "strategy": "VQ",
        "actions": [encode_action("CQ", 1), encode_action("DA", 1)],
        "profile": profile.to_dict(),
        "user_welfare": 0.3,
    }
    for _ in range(10):
        user.choose_strategy(task, profile, rng)
        user.observe_episode(record)
    assert user.belief[1, 1] > 0.6 > before[1, 1]  # vague questions get clarified
    assert user.belief[0] == pytest.approx(before[0])  # nothing learnt about DQ
    b = user.belief_of("student", "subscription")
    assert b[1].argmax() == encode_action("CQ", 1) and b.sum(axis=1) == pytest.approx([1, 1])
    assert user.belief_of("expert", "subscription") == pytest.approx(np.full((2, 9), 1 / 9))
    # the episode went worse than expected: a negative correction of VQ's gain
    res = user.residual_of("student", "subscription")
    assert res[0] == 0.0 and res[1] < 0.0
    # its reading is the one assumed, so a clarified vague question only costs it a round
    assert p_before > 0.5 > user.p_vague(task, profile)
    frozen = ParametricUser(learn=False)
    frozen.observe_episode(record)
    assert np.allclose(frozen.belief, before) and not frozen.counts
    with pytest.raises(ValueError, match="belief_prior"):
        ParametricUser(belief_prior={"DQ": [1, 1]})
    with pytest.raises(ValueError, match="belief_prior"):
        ParametricUser(belief_prior={"DQ": [1, 1, 1], "VQ": [1, 0, 1]})
    with pytest.raises(ValueError, match="recency"):
        ParametricUser(recency=0.0)


def _ledger(**values):
    led = rules.Ledger.start(detailed=True, known=True, effort_detail=0.15, question_tokens=20)
    return dataclasses.replace(led, **{k: np.asarray(float(v)) for k, v in values.items()})


def test_welfare_gains_terms_sum_and_disagreement_point():
    world = WorldConfig()
    led = _ledger(
        q_user=0.85,
        time=0.08,
        reading=0.04,
        money=0.02,
        misfit=0.01,
        wrong=1,
        q_llm=0.85,
        errors=1,
        revenue=0.004,
        compute=0.0015,
    )
    u, terms = rules.user_gain(led, world)
    # 0.85 − 0.15 − 0.08 − 0.04 − 0.02 − 0.01 − 0.25 (one wrong answer)
    assert float(u) == pytest.approx(0.30)
    assert set(terms) == set(rules.USER_TERMS)
    assert sum(float(v) for v in terms.values()) == pytest.approx(float(u))
    l_val, lt = rules.provider_gain(led, u, world)
    # 0.3·0.85 − 0.1·1 + 40·(0.004 − 0.0015) + 0.3·(0.4·0.30)
    assert float(l_val) == pytest.approx(0.291)
    assert set(lt) == set(rules.LLM_TERMS)
    assert sum(float(v) for v in lt.values()) == pytest.approx(float(l_val))
    assert float(rules.mutual(u, l_val)) == pytest.approx(np.sqrt(0.30 * 0.291))
    assert float(rules.level(u)) == pytest.approx(0.65)
    # a malformed reply costs the provider its format penalty
    l_bad, _ = rules.provider_gain(led, u, world, format_score=0.0)
    assert float(l_val - l_bad) == pytest.approx(world.provider_format)
    # no interaction is the disagreement point: zero gain on both sides
    nothing = rules.Ledger.start(detailed=False, known=False, effort_detail=0.2, question_tokens=9)
    u0, _ = rules.user_gain(nothing, world)
    l0, _ = rules.provider_gain(nothing, u0, world)
    assert float(u0) == 0.0 and float(l0) == 0.0 and float(rules.level(u0)) == 0.5


def test_welfare_gains_are_uncapped():
    world = WorldConfig()
    # costs beyond the answer's value make the gain negative (no cap): mutual is 0
    u, _ = rules.user_gain(_ledger(q_user=0.0, effort=2.0, time=1.0), world)
    assert float(u) == pytest.approx(-3.0)
    assert float(rules.mutual(u, 0.5)) == 0.0 and float(rules.level(u)) == 0.0
    # money is a transfer, counted without a cap: a dollar of margin is worth m units
    l1, _ = rules.provider_gain(_ledger(revenue=1.0), 0.0, world)
    l0, _ = rules.provider_gain(_ledger(), 0.0, world)
    assert float(l1 - l0) == pytest.approx(world.provider_money_value)
    # the retention probability is clipped to [0, 1]
    _, terms = rules.provider_gain(_ledger(), 5.0, world)
    assert float(terms["retention"]) == pytest.approx(0.3 * (1.0 - 0.6))
    assert float(rules.retention(-5.0, world)) == 0.0
    assert float(length_misfit(50, 20, 100, 0.1)) == 0.0
    assert float(length_misfit(1000, 20, 100, 0.1)) == pytest.approx(0.1)
    assert float(length_misfit(10, 20, 100, 0.1)) == pytest.approx(0.05)


def test_user_keeps_the_episode_ledger(bank):
    env = ClarificationGameEnv(tasks=bank)
    rec = run_episode(env, FixedAssistant("CQ"), seed=3)
    led = env.user_sim.state.ledger
    assert isinstance(led, rules.Ledger)
    assert env.user_sim.welfare_components() == led.scalars() == rec["ledger"]
    assert rec["user_terms"]["effort"] == pytest.approx(-rec["ledger"]["effort"])
    assert rec["ledger"]["turns"] == rec["turns"] >= 1
    u, _ = rules.user_gain(led, env.world)
    assert rec["user_welfare"] == pytest.approx(float(u))


def test_world_config_validation():
    with pytest.raises(ValueError, match="max_turns"):
        WorldConfig(max_turns=0)
    with pytest.raises(ValueError, match="discount"):
        WorldConfig(discount=1.5)
    with pytest.raises(ValueError, match="allowed"):
        WorldConfig.from_config({"gravity": 9.8})
    w = WorldConfig.from_config({"pricing": {"per_token_api": {"price_per_output_token": 1e-5}}})
    api = w.rates("per_token_api")
    assert api.user_out == pytest.approx(1e-5) and api.revenue_out == pytest.approx(1e-5)
    sub = w.rates("subscription")
    assert sub.user_in == 0.0 and sub.user_out == 0.0  # users pay nothing per token
    assert sub.revenue_out == 0.0 and sub.compute_out > 0  # the provider only pays compute
    # game v0 keys are ignored with a warning
    with pytest.warns(FutureWarning, match="cue_dq"):
        old = WorldConfig.from_config({"cue_dq": 0.7, "discount": 0.9})
    assert old == WorldConfig(discount=0.9)


def test_plugin_loading_errors():
    with pytest.raises(ValueError, match="import path"):
        load_user_class("NoDots")
    with pytest.raises(ValueError, match="cannot import"):
        load_user_class("no_such_pkg.User")
    with pytest.raises(ValueError, match="no attribute"):
        load_user_class("gtalign_sim.users.Nope")
    with pytest.raises(ValueError, match="protocol"):
        load_user_class("gtalign_sim.users.UserProfile")
    user = build_user({"_target_": "gtalign_sim.users.ParametricUser", "learn": True})
    assert isinstance(user, ParametricUser) and user.learn
