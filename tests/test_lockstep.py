"""Lockstep rollouts: same records as sequential play, and LLM calls really batched."""

from __future__ import annotations

import pytest
from conftest import require

from gtalign_sim.agents import GTAlignAssistant
from gtalign_sim.agents.llm import LLMAssistant
from gtalign_sim.backends import build_backend
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.lockstep import BatchingBackend, run_lockstep
from gtalign_sim.envs.rollout import episode_seeds, run_episodes
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import LLMUser

FAMILIES = ("math", "ambiguous_qa", "writing", "safety")


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=10, seed=4)


def plan(n, seed=0):
    seeds = episode_seeds(seed, n)
    return [(i, seeds[i], {"family": FAMILIES[i % 4]}) for i in range(n)]


def strip(rec):
    return {k: v for k, v in rec.items() if k != "decisions"}


def test_lockstep_equals_sequential_for_template_agents(bank):
    factory = lambda: ClarificationGameEnv(tasks=bank)  # noqa: E731
    p = plan(12)
    seq = run_episodes(factory, GTAlignAssistant(n_particles=4), p)
    lock = run_lockstep(factory, GTAlignAssistant(n_particles=4), p, n_parallel=5)
    assert [strip(r) for r in lock] == [strip(r) for r in seq]


def test_lockstep_batches_llm_calls_and_matches_sequential(bank):
    require("transformers", "pip install -e '.[llm]'")
    tiny = build_backend("transformers", model="tiny", batch_size=16)
    p = plan(6)

    def make(backend):
        return lambda: ClarificationGameEnv(
            tasks=bank, user=LLMUser(backend=backend, max_tokens=12, retries=0)
        )

    seq = run_episodes(make(tiny), LLMAssistant(backend=tiny, max_tokens=16, n_particles=4), p)
    batcher = BatchingBackend(tiny)
    lock = run_lockstep(
        make(batcher),
        LLMAssistant(backend=batcher, max_tokens=16, n_particles=4),
        p,
        n_parallel=6,
        batcher=batcher,
    )
    assert [strip(r) for r in lock] == [strip(r) for r in seq]
    assert max(batcher.batches) == 6  # the six opening questions went out together
    assert len(batcher.batches) * 2 < sum(batcher.batches)  # far fewer calls than requests
