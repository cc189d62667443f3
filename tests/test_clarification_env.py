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
from gtalign_sim.agents import FixedAssistant
from gtalign_sim.envs import ClarificationGameEnv, clarification_game_v0
from gtalign_sim.envs.rollout import episode_seeds, run_episode
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


def test_episode_record_and_welfare_ranges(bank):
    env = make_env(bank)
    rec = run_episode(env, FixedAssistant("AQ"), seed=11)
    for key in ("user_welfare", "llm_welfare", "mutual_welfare", "aggregate", "answer_quality"):
        assert 0.0 <= rec[key] <= 1.0
    assert rec["mutual_welfare"] == pytest.approx(np.sqrt(rec["user_welfare"] * rec["llm_welfare"]))
    assert sum(rec["user_terms"].values()) == pytest.approx(rec["user_welfare"], abs=1e-9)
    assert sum(rec["llm_terms"].values()) == pytest.approx(rec["llm_welfare"], abs=1e-9)
    assert rec["transcript"][0]["role"] == "user"
    assert rec["modes"][0] == "AQ"
    assert rec["stop_reason"] in {"satisfied", "patience_exhausted", "max_turns", "gave_up"}
    assert rec["tokens"]["assistant"] > 0


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
