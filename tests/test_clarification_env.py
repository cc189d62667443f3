"""The clarification game: PettingZoo/Gymnasium conformance, mechanics and determinism."""

from __future__ import annotations

import functools
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, seed_test

import gtalign_sim  # noqa: F401 - registers the Gymnasium env
from gtalign_sim.agents import FixedAssistant, OracleAssistant
from gtalign_sim.core import rules
from gtalign_sim.envs import ClarificationGameEnv, clarification_game_v0
from gtalign_sim.envs.clarification import ASSISTANT_FEATURES
from gtalign_sim.envs.rollout import assistant_info, episode_seeds, run_episode
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import UserProfile, encode_action


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=20, seed=0)


def make_env(bank, **kw):
    return ClarificationGameEnv(tasks=bank, **kw)


def test_pettingzoo_api_test_simulator_and_external(bank):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(clarification_game_v0.env(tasks=bank), num_cycles=50)
        api_test(clarification_game_v0.env(tasks=bank, user_policy="external"), num_cycles=50)


def test_pettingzoo_seed_test(bank):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seed_test(functools.partial(clarification_game_v0.env, tasks=bank), num_cycles=30)


def test_gymnasium_env_checker_and_registration(bank):
    env = gymnasium.make("gtalign_sim/ClarificationAssistant-v0", tasks=bank)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert "action_mask" in info and "task" in info
    done = trunc = False
    total = 0.0
    while not (done or trunc):
        obs, reward, done, trunc, info = env.step(env.action_space.sample())
        total += reward
    assert 0.0 <= total <= 1.0
    assert "episode" in info and info["episode"]["aggregate"] == pytest.approx(total)


def test_episode_record_and_welfare_gains(bank):
    env = make_env(bank)
    rec = run_episode(env, FixedAssistant("AQ"), seed=11)
    # welfare is a gain over the disagreement point; levels map gains onto [0, 1]
    u, l_val = rec["user_welfare"], rec["llm_welfare"]
    assert rec["user_level"] == pytest.approx(float(np.clip((u + 1) / 2, 0, 1)))
    assert rec["llm_level"] == pytest.approx(float(np.clip((l_val + 1) / 2, 0, 1)))
    assert rec["mutual_welfare"] == pytest.approx(np.sqrt(max(u, 0.0) * max(l_val, 0.0)))
    assert rec["aggregate"] == pytest.approx(rec["mutual_welfare"])  # cobb_douglas default
    assert 0.0 <= rec["answer_quality"] <= 1.0
    assert set(rec["user_terms"]) == set(rules.USER_TERMS)
    assert set(rec["llm_terms"]) == set(rules.LLM_TERMS)
    assert sum(rec["user_terms"].values()) == pytest.approx(u, abs=1e-9)
    assert sum(rec["llm_terms"].values()) == pytest.approx(l_val, abs=1e-9)
    assert rec["ledger"]["q_user"] == rec["answer_quality"]
    assert rec["ledger"]["turns"] == rec["turns"]
    assert rec["transcript"][0]["role"] == "user"
    assert rec["modes"][0] == "AQ"
    assert rec["stop_reason"] in {"satisfied", "patience_exhausted", "max_turns", "gave_up"}
    assert rec["tokens"]["assistant"] > 0
    assert "cue" not in rec


def test_question_type_is_public_and_the_hidden_user_is_privileged(bank):
    assert "detailed_question" in ASSISTANT_FEATURES
    assert not {"specificity_cue", "opening_words_100"} & set(ASSISTANT_FEATURES)
    env = make_env(bank)
    for seed in range(6):
        env.reset(seed=seed)
        obs, _, _, _, info = env.last()
        assert info["question_type"] == env.strategy in ("DQ", "VQ")
        detailed = obs["observation"][ASSISTANT_FEATURES.index("detailed_question")]
        assert detailed == float(env.strategy == "DQ")
        assert not {"oracle", "profile", "intent", "cue", "privileged"} & set(info)
    priv = env.privileged_view()
    assert priv["profile"] == env.profile and priv["intent"] == env.profile.intent
    assert priv["user_model"] is env.user_sim and priv["world"] is env.world
    # rollouts hand the privileged view to privileged assistants only
    assert assistant_info(env, FixedAssistant("DA"), info) is info
    oracle = OracleAssistant(n_particles=2)
    assert assistant_info(env, oracle, info)["privileged"]["intent"] == env.profile.intent


def test_same_seed_same_episode_and_crn_across_assistants(bank):
    env = make_env(bank)
    a = run_episode(env, FixedAssistant("DA"), seed=5)
    b = run_episode(make_env(bank), FixedAssistant("DA"), seed=5)
    assert a == b
    c = run_episode(make_env(bank), FixedAssistant("CQ"), seed=5)
    assert (c["task_id"], c["profile"], c["strategy"]) == (
        a["task_id"],
        a["profile"],
        a["strategy"],
    )


def test_detailed_question_answered_directly_states_intent(bank):
    env = make_env(bank)
    task = next(t for t in bank if t.ambiguous and t.family == "math")
    intent = task.interpretations[-1].id
    profile = UserProfile(intent=intent, effort_detail=0.0, vague_bias=-50.0, patience=3)
    rec = run_episode(
        env, FixedAssistant("DA", verbosity=2), seed=1, options={"task": task, "profile": profile}
    )
    assert rec["strategy"] == "DQ"
    assert rec["transcript"][0]["text"] == task.interpretation(intent).detailed


def test_clarifying_question_reveals_intent_then_answer_is_for_it(bank):
    task = next(t for t in bank if t.ambiguous and t.family == "ambiguous_qa")
    intent = next(it.id for it in task.interpretations if it.id != task.most_likely().id)
    profile = UserProfile(intent=intent, vague_bias=50.0, patience=3, effort_detail=1.0)
    env = make_env(bank)
    env.reset(seed=0, options={"task": task, "profile": profile})
    assert env.strategy == "VQ"
    env.step(encode_action("CQ", 1))
    assert env.history[-1].role == "user"
    assert env.user_sim.state.intent_stated
    env.step(encode_action("DA", 1))
    last_answer = next(t for t in reversed(env.history) if t.role == "assistant")
    assert last_answer.assumed_intent == intent


def test_wrong_guess_on_vague_question_is_judged_wrong(bank):
    task = next(t for t in bank if t.ambiguous and t.family == "math")
    intent = next(it.id for it in task.interpretations if it.id != task.most_likely().id)
    profile = UserProfile(intent=intent, vague_bias=50.0, patience=1, effort_detail=1.0)
    rec = run_episode(
        make_env(bank), FixedAssistant("DA"), seed=0, options={"task": task, "profile": profile}
    )
    assert rec["strategy"] == "VQ"
    assert rec["answer_quality"] == 0.0
    assert rec["stop_reason"] == "patience_exhausted"
    # a wrong answer costs the user more than nothing at all: below the disagreement point
    assert rec["user_terms"]["wrong"] == pytest.approx(-make_env(bank).world.wrong_answer_cost)
    assert rec["wrong_answers"] == 1
    assert rec["user_welfare"] < 0 and rec["mutual_welfare"] == 0.0


def test_external_user_policy_chooses_strategy_and_can_stop(bank):
    env = make_env(bank, user_policy="external")
    task = next(t for t in bank if t.ambiguous)
    profile = UserProfile(intent=task.interpretations[0].id, patience=3)
    env.reset(seed=2, options={"task": task, "profile": profile})
    assert env.agent_selection == "user"
    env.step(0)  # DQ
    assert env.strategy == "DQ"
    assert env.agent_selection == "assistant"
    env.step(encode_action("CQ", 0))  # no answer yet, patience left: the user decides
    assert env.agent_selection == "user"
    env.step(1)  # stop
    assert env.episode["stop_reason"] == "gave_up"


def test_bad_arguments_name_the_field(bank):
    with pytest.raises(ValueError, match="user_policy"):
        make_env(bank, user_policy="robot")
    with pytest.raises(ValueError, match="families"):
        make_env(bank, families=["poetry"])
    with pytest.raises(ValueError, match="allowed"):
        make_env(bank, aggregator="max")


def test_episode_seeds_are_distinct_and_reproducible():
    a, b = episode_seeds(0, 100), episode_seeds(0, 100)
    assert a == b and len(set(a)) == 100
    assert episode_seeds(1, 5) != a[:5]
