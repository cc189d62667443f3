"""The game expresses the incentives it is built for (docs/model.md), measured in play.

Paired comparisons on common random numbers, with margins far larger than their noise
at these sizes (checked over seeds 0-3), so the tests are stable.

Game v1 (welfare on gains, observable question type) measured over seeds 0-3: the
selfish assistant (the exact best response to L) clarifies vague questions only a little
more than GTAlign (first-turn CQ on VQ, 160 episodes: 0.106 vs 0.019, 0.107 vs 0.045,
0.082 vs 0.082, 0.085 vs 0.034), not by the 0.1 margin the game-v0 test asserted. Its lever is
per-token pricing: there it attaches a follow-up question to almost every first answer
(AQ, billed output), which GTAlign does not.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from gtalign_sim.agents import build_assistant
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import episode_seeds, run_episodes
from gtalign_sim.tasks import TaskBank

FAMILIES = ("math", "ambiguous_qa", "writing", "safety")
SEED = 0


@functools.cache
def _bank():
    return TaskBank.build(per_family=60, seed=0)


@pytest.fixture(scope="module")
def bank():
    return _bank()


@functools.cache
def _play(name, n, pricing, seed):
    seeds = episode_seeds(seed, n)
    extra = {"pricing": pricing} if pricing else {}
    plan = [(i, seeds[i], {"family": FAMILIES[i % 4], **extra}) for i in range(n)]
    bank = _bank()
    return run_episodes(lambda: ClarificationGameEnv(tasks=bank), build_assistant(name), plan)


def play(name, n=160, pricing=None, seed=SEED):
    """Episodes of ``name`` on seeds common to every assistant (memoised: shared by tests)."""
    return _play(name, n, pricing, seed)


def first_mode_rate(recs, modes):
    return float(np.mean([r["modes"][0] in modes for r in recs]))


def test_selfish_assistant_over_asks_under_per_token_pricing_and_gtalign_does_not(bank):
    """Under per-token pricing the selfish assistant asks something (CQ or AQ) on its first
    turn nearly always (seeds 0-3: 0.975, 1.0, 1.0, 0.95); GTAlign about a third of the time
    (0.30, 0.34, 0.34, 0.38)."""
    selfish = play("selfish_llm", n=80, pricing="per_token_api")
    gt = play("gtalign", n=80, pricing="per_token_api")
    asks_selfish = first_mode_rate(selfish, ("CQ", "AQ"))
    asks_gt = first_mode_rate(gt, ("CQ", "AQ"))
    assert asks_selfish > 0.85
    assert asks_selfish > asks_gt + 0.5


def test_always_clarifying_hurts_mutual_welfare(bank):
    gt, cq = play("gtalign"), play("always_cq")
    diff = np.array(
        [a["mutual_welfare"] - b["mutual_welfare"] for a, b in zip(gt, cq, strict=True)]
    )
    assert diff.mean() - 2.6 * diff.std() / np.sqrt(len(diff)) > 0


def test_pricing_shifts_the_selfish_assistant(bank):
    """Seeds 0-3: assistant tokens per episode, per-token API / subscription = 1.24, 1.33,
    1.27, 1.27 (paired differences 28.0 ± 3.3, 37.1 ± 6.3, 31.2 ± 7.0, 30.4 ± 3.4 tokens);
    first-turn DA 0.90 / 0.03, 0.90 / 0.00, 0.95 / 0.00, 0.93 / 0.05 (subscription / API)."""
    api = play("selfish_llm", n=80, pricing="per_token_api")
    sub = play("selfish_llm", n=80, pricing="subscription")
    # under per-token pricing every token is revenue: it answers at length and asks more
    # (the same tasks and users under both plans: a paired comparison)
    tokens_api = np.array([r["tokens"]["assistant"] for r in api])
    tokens_sub = np.array([r["tokens"]["assistant"] for r in sub])
    diff = tokens_api - tokens_sub
    assert diff.mean() - 2.6 * diff.std() / np.sqrt(len(diff)) > 0
    assert tokens_api.mean() > 1.1 * tokens_sub.mean()
    da_api = first_mode_rate(api, ("DA",))
    da_sub = first_mode_rate(sub, ("DA",))
    assert da_sub > da_api + 0.3


def test_detail_costs_users_effort(bank):
    recs = play("always_da", n=80)
    dq = [r["ledger"]["effort"] for r in recs if r["strategy"] == "DQ"]
    vq = [r["ledger"]["effort"] for r in recs if r["strategy"] == "VQ"]
    assert dq and vq and np.mean(dq) > np.mean(vq)
    # a detailed question costs the user its effort of detail, on top of any replies
    for r in recs:
        if r["strategy"] == "DQ":
            assert r["ledger"]["effort"] >= r["profile"]["effort_detail"] - 1e-12
