"""User profiles, populations, the choice model and plug-in loading."""

from __future__ import annotations

import numpy as np
import pytest

from gtalign_sim.users import (
    DEFAULT_PERSONAS,
    ParametricUser,
    Persona,
    UserPopulation,
    UserProfile,
    WorldConfig,
    build_user,
    finalize_llm,
    finalize_user,
    length_misfit,
    load_user_class,
    vague_probability,
)


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


def test_choice_model_responds_to_belief_and_costs():
    base = dict(
        guess_right=0.0,
        p_correct=0.85,
        effort_answer=0.08,
        time_cost=0.08,
        patience=3,
        vague_bias=0.0,
        rationality=10.0,
        followup_effort=0.5,
        redundant_cost=0.05,
    )
    clarifies = np.array([[1, 0, 0], [0, 1, 0]], float)  # DQ->DA, VQ->CQ
    guesses = np.array([[1, 0, 0], [1, 0, 0]], float)  # always DA
    cheap = vague_probability(effort_detail=0.01, belief=guesses, **base)
    costly = vague_probability(effort_detail=0.4, belief=guesses, **base)
    assert costly > cheap  # detail costs more -> more vague questions
    # a user whose vague question would be guessed wrong asks detailed when it is cheap
    assert cheap < 0.5
    # if vague questions get clarified, vagueness costs a round
    assert vague_probability(effort_detail=0.1, belief=clarifies, **base) < 0.5


def test_parametric_user_learns_reputation():
    user = ParametricUser(learn=True)
    before = user.belief.copy()
    for _ in range(10):
        user.observe_episode({"strategy": "VQ", "modes": ["CQ", "DA"]})
    assert user.belief[1, 1] > before[1, 1]
    frozen = ParametricUser(learn=False)
    frozen.observe_episode({"strategy": "VQ", "modes": ["CQ"]})
    assert np.allclose(frozen.belief, before)
    with pytest.raises(ValueError, match="belief_prior"):
        ParametricUser(belief_prior={"DQ": [1, 1]})


def test_welfare_terms_sum_and_bounds():
    u, terms = finalize_user(1.0, 0.1, 0.1, 0.05, 0.0, 0.0, 1.0)
    assert float(u) == pytest.approx((1.0 - 0.25 + 1.0) / 2.0)
    assert sum(float(v) for v in terms.values()) == pytest.approx(float(u))
    u_capped, _ = finalize_user(0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    assert float(u_capped) == pytest.approx(0.0, abs=1e-12)
    world = WorldConfig()
    l_val, lt = finalize_llm(1.0, 1.0, 10.0, world)  # money clipped at +M
    assert float(l_val) == pytest.approx(1.0)
    assert sum(float(v) for v in lt.values()) == pytest.approx(1.0)
    assert float(length_misfit(50, 20, 100, 0.1)) == 0.0
    assert float(length_misfit(1000, 20, 100, 0.1)) == pytest.approx(0.1)


def test_world_config_validation():
    with pytest.raises(ValueError, match="max_turns"):
        WorldConfig(max_turns=0)
    with pytest.raises(ValueError, match="allowed"):
        WorldConfig.from_config({"gravity": 9.8})
    w = WorldConfig.from_config({"pricing": {"per_token_api": {"price_per_output_token": 1e-5}}})
    assert w.token_prices("per_token_api")[1] == pytest.approx(1e-5)
    sub = w.token_prices("subscription")
    assert sub[0] == 0.0 and sub[1] == 0.0 and sub[3] < 0  # users pay nothing per token


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
