"""The episode record: one typed shape that the environment emits and eval reads."""

from __future__ import annotations

import json

import pytest

from gtalign_sim.agents import build_assistant
from gtalign_sim.core.record import RECORD_FIELDS, EpisodeRecord, TokenCounts
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import run_episode


@pytest.fixture(scope="module")
def played() -> tuple[ClarificationGameEnv, dict]:
    env = ClarificationGameEnv(families=("math",), tasks_per_family=5)
    rec = run_episode(env, build_assistant("always_cq"), seed=11, options={"strategy": "VQ"})
    return env, rec


def test_the_environment_emits_an_episode_record(played) -> None:
    env, rec = played
    assert isinstance(env.record, EpisodeRecord)
    assert env.episode == env.record.to_dict()
    assert list(env.episode) == list(RECORD_FIELDS)
    back = EpisodeRecord.from_dict(json.loads(json.dumps(rec)))
    assert back.to_dict() == json.loads(json.dumps(rec))
    assert set(back.extra) == {"decisions"}


def test_derived_quantities(played) -> None:
    env, _ = played
    r = env.record
    assert r.first_mode == "CQ" and r.strategy == "VQ"
    assert r.assistant_tokens == sum(t["tokens"] for t in r.transcript if t["role"] == "assistant")
    assert r.user_tokens == sum(t["tokens"] for t in r.transcript if t["role"] == "user")
    assert r.chars() == sum(len(t["text"]) for t in r.transcript)
    assert r.pricing == r.profile["pricing"]
    assert not r.failed


def test_partial_records_are_read_with_missing_fields_as_none() -> None:
    r = EpisodeRecord.from_dict({"user_welfare": 0.5, "assistant": "x", "episode": 3})
    assert (r.user_welfare, r.llm_welfare, r.tokens) == (0.5, None, TokenCounts())
    assert r.extra == {"assistant": "x", "episode": 3}
    assert r.first_mode is None and r.pricing is None and r.chars() is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"tokens": 120}, "record field 'tokens' must be a mapping of counts, got 120"),
        ({"tokens": {"assistant": -1}}, "'tokens.assistant' must be a non-negative count"),
        ({"tokens": {"user": "many"}}, "'tokens.user' must be a non-negative count"),
        ({"transcript": "hello"}, "record field 'transcript' must be a list"),
    ],
)
def test_bad_shapes_are_named(record: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EpisodeRecord.from_dict(record)
