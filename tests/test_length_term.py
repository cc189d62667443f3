"""The provider's taste for long output (``WorldConfig.provider_length_value``,
``rules.length_taste``; docs/model.md): hand-computed terms, exactly 0 when off (L bitwise
unchanged), the batched engine equal to the AEC env with it on, and the
``scenario=reference_l`` preset. The planner-vs-environment exactness with it on is in
``tests/test_core_rules.py`` (``test_planner_equals_environment_exactly[...-length]``)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from gtalign_sim.agents import build_assistant
from gtalign_sim.core import WorldConfig, encode_action, rules
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.batched import BatchedClarificationEngine
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import UserProfile

LENGTH = WorldConfig(provider_length_value=0.15)
DA1 = encode_action("DA", 1)
AQ1 = encode_action("AQ", 1)


def _sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _band(words: float) -> float:
    """The reference's ``logistic_band(words; 500, 1000, 0.005)``, by hand."""
    return _sigma(0.005 * (words - 500.0)) * _sigma(0.005 * (1000.0 - words))


@pytest.fixture(scope="module")
def bank() -> TaskBank:
    return TaskBank.build(per_family=20, seed=0)


def _ledger(written: float) -> rules.Ledger:
    led = rules.Ledger.start(False, True, 0.0, 20)
    return dataclasses.replace(
        led, q_llm=np.asarray(0.85), turns=np.asarray(2.0), written=np.asarray(written)
    )


def test_length_term_by_hand() -> None:
    """1,000 billed output tokens are 750 words, the band's centre:
    ``0.15 · (σ(1.25)² − σ(−2.5)·σ(5))``."""
    want = 0.15 * (_sigma(1.25) ** 2 - _sigma(-2.5) * _sigma(5.0))
    assert want == pytest.approx(0.07932669024768302, abs=1e-15)
    l_val, terms = rules.provider_gain(_ledger(1000.0), 0.0, LENGTH)
    assert float(terms["length"]) == pytest.approx(want, abs=1e-15)
    assert tuple(terms) == rules.LLM_TERMS and rules.LLM_TERMS[-1] == "length"
    assert float(l_val) == pytest.approx(sum(float(v) for v in terms.values()), abs=1e-15)
    # the other terms do not see it
    _, off = rules.provider_gain(_ledger(1000.0), 0.0, WorldConfig())
    for k in rules.LLM_TERMS[:-1]:
        assert float(terms[k]) == float(off[k]), k


@pytest.mark.parametrize(
    ("written", "want"),
    [
        (0.0, 0.0),  # nothing written: the disagreement point
        (183.0, 0.0629836792197561),  # the dq_satisfied golden episode: 137.25 words
        (1000.0, 0.5288446016512202),  # 750 words, the peak
        (2000.0, 0.0),  # 1,500 words: as far above the band as 0 is below it
        (2400.0, -0.05739126314814329),  # beyond: worse than writing nothing
    ],
)
def test_length_taste_is_the_band_over_writing_nothing(written: float, want: float) -> None:
    assert rules.WORDS_PER_TOKEN == 0.75 and rules.LENGTH_BAND == (500.0, 1000.0, 0.005)
    words = 0.75 * written
    assert _band(words) - _band(0.0) == pytest.approx(want, abs=1e-15)
    assert float(rules.length_taste(written)) == pytest.approx(want, abs=1e-15)


def test_account_turn_sums_billed_completion_into_written() -> None:
    led = rules.Ledger.start(False, False, 0.0, 20)
    assert float(led.written) == 0.0
    kw = dict(
        prompt=100,
        visible=50,
        words=40,
        q_user=0.0,
        q_llm=0.0,
        reading_cost=0.02,
        money_value=40.0,
        band_lo=20.0,
        band_hi=150.0,
        misfit_cost=0.08,
        satisfaction=0.75,
        patience=3,
        rates=WorldConfig().rates("subscription"),
        world=WorldConfig(),
    )
    led, _ = rules.account_turn(led, mode=1, completion=230, **kw)  # a CQ counts too
    led = rules.account_reply(
        led, 0, effort_answer=0.1, time_cost=0.1, reply_tokens=12, world=WorldConfig()
    )  # a reply writes nothing for the assistant
    led, _ = rules.account_turn(led, mode=0, completion=410, **kw)
    assert float(led.written) == 640.0


def test_off_by_default_term_exactly_zero_and_l_bitwise_unchanged(bank) -> None:
    """Value 0: the term is exactly 0.0 and L is the sum of the other six terms, bit for
    bit (the golden ``dq_satisfied`` episode of tests/test_core_rules.py); value 0.15:
    only the length term and L move, by exactly ``0.15 · length_taste(written)``."""
    opts = {
        "task": "math-0000",
        "profile": UserProfile(intent="speed=14", pricing="per_token_api"),
        "strategy": "DQ",
    }
    recs = {}
    for name, world in (("off", WorldConfig()), ("on", LENGTH)):
        env = ClarificationGameEnv(tasks=bank, world=world)
        env.reset(seed=0, options=opts)
        env.step(DA1)
        recs[name] = env.episode
    off, on = recs["off"], recs["on"]
    assert off["ledger"]["written"] == on["ledger"]["written"] == 183.0
    assert off["llm_terms"]["length"] == 0.0
    six = 0.0
    for k in rules.LLM_TERMS[:-1]:
        six = six + off["llm_terms"][k]
    assert off["llm_welfare"] == six  # bitwise
    assert off["llm_welfare"] == pytest.approx(0.446792, abs=1e-12)  # the pinned golden L
    assert on["llm_terms"]["length"] == pytest.approx(0.009447551882963414, abs=1e-15)
    assert on["llm_terms"]["length"] == 0.15 * float(rules.length_taste(183.0))
    for k in rules.LLM_TERMS[:-1]:
        assert on["llm_terms"][k] == off["llm_terms"][k], k
    assert on["user_welfare"] == off["user_welfare"] and on["user_terms"] == off["user_terms"]
    assert on["llm_welfare"] == pytest.approx(off["llm_welfare"] + 0.009447551882963414, 1e-15)


def test_batched_engine_equals_the_aec_env_with_the_length_term(bank) -> None:
    """Replay: the engine's L is the AEC env's L, bit for bit, with the term on."""
    n = 40
    seeds = episode_seeds(5, n)
    env = ClarificationGameEnv(tasks=bank, world=LENGTH)
    recs = [run_episode(env, build_assistant("always_aq"), s) for s in seeds]
    engine = BatchedClarificationEngine(n, tasks=bank, world=LENGTH)
    engine.reset(episode_seeds=seeds)
    plan = np.array([AQ1, DA1, DA1])
    got_u, got_l = np.zeros(n), np.zeros(n)
    done = np.zeros(n, dtype=bool)
    while not done.all():
        _, _, term, trunc, info = engine.step(plan[np.minimum(engine.turns, 2)])
        new = (term | trunc) & ~done
        got_u[new] = info["final_info"]["user_welfare"][new]
        got_l[new] = info["final_info"]["llm_welfare"][new]
        done |= new
    assert got_u.tolist() == [r["user_welfare"] for r in recs]
    assert got_l.tolist() == [r["llm_welfare"] for r in recs]
    assert all(r["llm_terms"]["length"] > 0.0 for r in recs)


def test_reference_l_scenario_composes_and_builds_the_world() -> None:
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        paper = compose(config_name="config")
        ref = compose(config_name="config", overrides=["scenario=reference_l"])
        sub = compose(
            config_name="config", overrides=["scenario=reference_l", "pricing=subscription"]
        )
    world = WorldConfig.from_config(OmegaConf.to_container(ref.env.world))
    # half the reference L's answer-quality weight (0.2 vs 0.4), everything else the paper's
    assert world.provider_length_value == 0.5 * WorldConfig().provider_success == 0.15
    assert world == dataclasses.replace(WorldConfig(), provider_length_value=0.15)
    assert ref.scenario_name == "reference_l"
    assert OmegaConf.to_container(ref.pricing) == OmegaConf.to_container(paper.pricing)
    assert OmegaConf.to_container(sub.pricing.plans) == {"subscription": 1.0}
    assert WorldConfig.from_config(OmegaConf.to_container(sub.env.world)) == world
