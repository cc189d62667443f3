"""Pricing steering of the model-based GTAlign assistant (shared with the LLM assistant)."""

from __future__ import annotations

from collections import Counter

import pytest

from gtalign_sim.agents import build_assistant
from gtalign_sim.agents.steering import steer_matrix
from gtalign_sim.core import WorldConfig
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.game import PayoffMatrix


def _first_moves(steering: str, plan: str) -> tuple[dict[str, int], int]:
    env = ClarificationGameEnv(tasks_per_family=20)
    agent = build_assistant(
        "gtalign", world=env.world, population=env.population, n_particles=8, steering=steering
    )
    modes: Counter[str] = Counter()
    changed = 0
    for seed in episode_seeds(3, 20):
        rec = run_episode(env, agent, seed, {"pricing": plan})
        modes[rec["modes"][0]] += 1
        note = rec["decisions"][0]["estimates"].get("steering")
        changed += bool(note and note["changed"])
    return dict(sorted(modes.items())), changed


@pytest.mark.parametrize(
    ("steering", "plan", "modes", "changed"),
    [
        ("none", "subscription", {"DA": 20}, 0),
        ("none", "per_token_api", {"AQ": 2, "DA": 18}, 0),
        # the reference's bonuses: the provider pays (subscription) -> answer + follow-up;
        # the user pays per token -> direct answers
        ("reference", "subscription", {"AQ": 20}, 20),
        ("reference", "per_token_api", {"DA": 20}, 2),
        ("token_cost", "per_token_api", {"DA": 20}, 2),
    ],
)
def test_steering_moves_the_first_move(steering, plan, modes, changed) -> None:
    assert _first_moves(steering, plan) == (modes, changed)


def test_token_cost_steering_uses_the_worlds_prices() -> None:
    m = PayoffMatrix(user=[[2.0, 1.0, 3.0], [1.0, 2.0, 2.0]], llm=[[1.0, 1.0, 2.0]] * 2)
    cheap = WorldConfig()
    dear = WorldConfig(
        pricing={
            **cheap.pricing,
            "per_token_api": {
                k: 8 * v if k.startswith("price_per") else v
                for k, v in cheap.pricing["per_token_api"].items()
            },
        }
    )
    a = steer_matrix(m, "token_cost", "per_token_api", cheap)
    b = steer_matrix(m, "token_cost", "per_token_api", dear)
    # the user's cost of each action grows with the price; a subscription costs nothing
    assert (b.user < a.user).all() and (a.user < m.user).all()
    assert (steer_matrix(m, "token_cost", "subscription", cheap).user == m.user).all()
    with pytest.raises(ValueError, match="steering 'soft' unknown; allowed"):
        steer_matrix(m, "soft", "subscription", cheap)
