"""The batched engine's user agent against the AEC env's external user.

Pins: on the AEC env's own episode seeds, a user agent deciding from its view
(``USER_FEATURES``) sees exactly the rows ``observe("user")`` gives at the same decisions
and produces the same episodes (U, L, turns, stop, strategy); episode ids in
``final_info`` name the episodes the decisions belonged to; bad agent output is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gtalign_sim.core.vocab import StopCode, encode_action
from gtalign_sim.envs import USER_FEATURES, ClarificationGameEnv
from gtalign_sim.envs.batched import BatchedClarificationEngine
from gtalign_sim.envs.rollout import episode_seeds
from gtalign_sim.tasks import TaskBank

N = 500
ACTIONS = (encode_action("DA", 0), encode_action("CQ", 1), encode_action("DA", 2), 4, 4, 4)
_C = {name: i for i, name in enumerate(USER_FEATURES)}


def rule(row: np.ndarray) -> int:
    """A user rule: VQ when detail is costly; stop when answering is costly or the last
    answer was good enough."""
    if row[_C["phase_reply"]] == 0:
        return int(row[_C["effort_detail"]] > 0.12)
    return int(row[_C["effort_answer"]] > 0.08 or row[_C["last_quality"]] > 0.95)


class RuleAgent:
    """Applies :func:`rule` and records what it was shown."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, np.ndarray, np.ndarray]] = []

    def __call__(self, phase: str, features: np.ndarray, episodes: np.ndarray) -> np.ndarray:
        self.calls.append((phase, features.copy(), episodes.copy()))
        return np.array([rule(r) for r in features], dtype=np.int64)


@pytest.fixture(scope="module")
def bank() -> TaskBank:
    return TaskBank.build(per_family=8, seed=3)


def aec_episode(env: ClarificationGameEnv, seed: int) -> tuple[list[np.ndarray], dict]:
    env.reset(seed=seed)
    seen = []
    while not env.episode:
        obs = env.observe(env.agent_selection)["observation"]
        if env.agent_selection == "user":
            seen.append(obs)
            env.step(rule(obs))
        else:
            env.step(ACTIONS[env.turn])
    return seen, env.episode


def test_user_agent_sees_and_plays_as_the_external_aec_user(bank) -> None:
    seeds = episode_seeds(5, N)
    env = ClarificationGameEnv(tasks=bank, user_policy="external")
    want = [aec_episode(env, s) for s in seeds]
    agent = RuleAgent()
    engine = BatchedClarificationEngine(N, tasks=bank, user_agent=agent)
    engine.reset(episode_seeds=seeds)
    done = np.zeros(N, dtype=bool)
    out: dict[str, np.ndarray] = {}
    while not done.all():
        _, _, term, trunc, info = engine.step(np.asarray(ACTIONS)[engine.turns])
        new = (term | trunc) & ~done
        for key, value in info.get("final_info", {}).items():
            out.setdefault(key, np.zeros(N, dtype=np.asarray(value).dtype))[new] = value[new]
        done |= new
    assert out["episode"].tolist() == list(range(N))  # slot i played episode i first
    seen: list[list[np.ndarray]] = [[] for _ in range(N)]
    for _, feats, eps in agent.calls:
        for row, ep in zip(feats, eps, strict=True):
            if ep < N:
                seen[ep].append(row)
    for i, (rows, rec) in enumerate(want):
        assert len(seen[i]) == len(rows), i
        for a, b in zip(seen[i], rows, strict=True):
            np.testing.assert_array_equal(a, b)
        assert out["user_welfare"][i] == rec["user_welfare"], i
        assert out["llm_welfare"][i] == rec["llm_welfare"], i
        assert out["turns"][i] == rec["turns"]
        assert StopCode(int(out["stop_code"][i])).name.lower() == rec["stop_reason"]
        assert ["DQ", "VQ"][out["strategy"][i]] == rec["strategy"]
    stops = {StopCode(int(c)).name.lower() for c in out["stop_code"]}
    assert {"gave_up", "satisfied"} <= stops  # both kinds of user decision mattered
    assert set(out["strategy"].tolist()) == {0, 1}


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (lambda k: np.full(k, 2), "0 or 1"),
        (lambda k: np.zeros(k + 1, dtype=int), "must return"),
        (lambda k: np.zeros(k), "must return"),
    ],
)
def test_bad_user_agent_output_is_refused(bank, reply: Any, match: str) -> None:
    engine = BatchedClarificationEngine(4, tasks=bank, user_agent=lambda p, f, e: reply(len(f)))
    with pytest.raises(ValueError, match=match):
        engine.reset(seed=0)
    with pytest.raises(ValueError, match="user_agent must be callable"):
        BatchedClarificationEngine(4, tasks=bank, user_agent=3)
