"""The game expresses the incentives it is built for (docs/model.md), measured in play.

Paired comparisons on common random numbers, with margins far larger than their noise
at these sizes (checked over several seeds), so the tests are stable.
"""

from __future__ import annotations

import numpy as np
import pytest

from gtalign_sim.agents import build_assistant
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import episode_seeds, run_episodes
from gtalign_sim.tasks import TaskBank

FAMILIES = ("math", "ambiguous_qa", "writing", "safety")


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=60, seed=0)


def play(bank, name, n=160, pricing=None, seed=0):
    seeds = episode_seeds(seed, n)
    extra = {"pricing": pricing} if pricing else {}
    plan = [(i, seeds[i], {"family": FAMILIES[i % 4], **extra}) for i in range(n)]
    return run_episodes(lambda: ClarificationGameEnv(tasks=bank), build_assistant(name), plan)


def cq_rate(recs, strategy):
    rs = [r for r in recs if r["strategy"] == strategy]
    return np.mean([r["modes"][0] == "CQ" for r in rs]) if rs else 0.0


def test_selfish_assistant_over_clarifies_and_gtalign_does_not(bank):
    selfish, gt = play(bank, "selfish_llm"), play(bank, "gtalign")
    assert cq_rate(selfish, "VQ") > cq_rate(gt, "VQ") + 0.1


def test_always_clarifying_hurts_mutual_welfare(bank):
    gt, cq = play(bank, "gtalign"), play(bank, "always_cq")
    diff = np.array(
        [a["mutual_welfare"] - b["mutual_welfare"] for a, b in zip(gt, cq, strict=True)]
    )
    assert diff.mean() - 2.6 * diff.std() / np.sqrt(len(diff)) > 0


def test_pricing_shifts_the_selfish_assistant(bank):
    api = play(bank, "selfish_llm", n=80, pricing="per_token_api")
    sub = play(bank, "selfish_llm", n=80, pricing="subscription")
    # under per-token pricing every token is revenue: it answers at length and asks more
    tokens_api = np.mean([r["tokens"]["assistant"] for r in api])
    tokens_sub = np.mean([r["tokens"]["assistant"] for r in sub])
    assert tokens_api > 1.2 * tokens_sub
    da_api = np.mean([r["modes"][0] == "DA" for r in api])
    da_sub = np.mean([r["modes"][0] == "DA" for r in sub])
    assert da_sub > da_api + 0.3


def test_detail_costs_users_effort(bank):
    recs = play(bank, "always_da", n=80)
    dq = [r["user_costs"]["effort"] for r in recs if r["strategy"] == "DQ"]
    vq = [r["user_costs"]["effort"] for r in recs if r["strategy"] == "VQ"]
    assert dq and vq and np.mean(dq) > np.mean(vq)
