"""Plugging your own simulated user into gtalign-sim.

Any class with ``reset(task, profile, rng)``, ``respond(history)``,
``welfare_components()`` and a ``state`` attribute is a user simulator
(``gtalign_sim.users.UserSimulator``). The easy way is to subclass ``BaseUser``, which
does the bookkeeping (judging answers, reading and money costs, patience), and decide
only what your user does:

    python -m gtalign_sim.run experiment=clarification_game \
        user._target_=custom_user.StubbornVagueUser episodes_per_family=10

(run from this folder, or put the module on PYTHONPATH). Extra keys under ``user.`` are
passed to the constructor: ``+user.give_up_after=1``.
"""

from __future__ import annotations

import numpy as np

from gtalign_sim.users import BaseUser, UserProfile


class StubbornVagueUser(BaseUser):
    """Always asks vaguely and never answers more than ``give_up_after`` questions."""

    def __init__(self, give_up_after: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.give_up_after = give_up_after
        self.replies = 0

    def choose_strategy(self, task, profile: UserProfile, rng: np.random.Generator) -> str:
        self.replies = 0
        return "VQ"

    def decide_continue(self, expected_gain: float, cost: float) -> bool:
        self.replies += 1
        return self.replies <= self.give_up_after and expected_gain > cost


if __name__ == "__main__":
    from gtalign_sim.agents import GTAlignAssistant
    from gtalign_sim.envs import ClarificationGameEnv
    from gtalign_sim.envs.rollout import run_episode
    from gtalign_sim.tasks import TaskBank

    env = ClarificationGameEnv(tasks=TaskBank.build(per_family=20), user=StubbornVagueUser())
    for seed in range(3):
        rec = run_episode(env, GTAlignAssistant(), seed=seed)
        print(
            rec["task_id"],
            rec["strategy"],
            rec["modes"],
            rec["stop_reason"],
            f"U={rec['user_welfare']:.2f} L={rec['llm_welfare']:.2f}",
        )
