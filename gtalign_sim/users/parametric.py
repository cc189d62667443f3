"""The default simulated user: a strategic, rule-based :class:`ParametricUser`.

It chooses between a detailed (DQ) and a vague (VQ) question by weighing the effort of
writing detail against the benefit it expects, given its *belief* about how the
assistant responds to each kind of question (a Dirichlet over DA/CQ/AQ per strategy).
With ``learn=True`` the belief is updated after every episode — users learn an
assistant's reputation, so its policy shapes the questions it gets; the default
(``False``) keeps users stationary, so that assistants compared on the same seeds face
exactly the same questions. It then answers
clarifying questions truthfully at a cost, judges answers with the task's judge, pays
reading and pricing costs, and stops when satisfied, out of patience, or when another
round is not worth it (:class:`~gtalign_sim.users.base.BaseUser`).

The choice model (also used, vectorised, by the oracle assistant):

* ``g`` = the chance, as the user sees it, that the assistant answers the right reading
  without being told: 1 for DQ or an unambiguous task, else the prior of the user's own
  reading (users know how common their reading is, not which one an assistant assumes);
* ``p`` = the user's expected chance that an answer is executed correctly;
* ``c`` = ``effort_answer + time_cost`` (one more round), ``r`` = 1 if patience >= 2;
* value of each response: ``DA: g·p + (1 − g·p)·r·(p − c)``,
  ``CQ: r·(p − c − [DQ]·redundant)``, ``AQ: g·p + (1 − g·p)·r·(p − followup·c)``;
* ``EU(s) = −[s = DQ]·effort_detail + Σ_m belief(m | s)·value(m)``;
* ``P(VQ) = σ(rationality·(EU(VQ) − EU(DQ)) + vague_bias)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends.template import MODES, TemplateRenderer
from .base import BaseUser
from .profile import UserProfile
from .world import WorldConfig

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = ["ParametricUser", "vague_probability"]


def vague_probability(
    *,
    guess_right: Any,
    p_correct: Any,
    effort_detail: Any,
    effort_answer: Any,
    time_cost: Any,
    patience: Any,
    vague_bias: Any,
    rationality: Any,
    belief: np.ndarray,
    followup_effort: float,
    redundant_cost: float,
) -> Any:
    """P(VQ) under the choice model in the module docstring (vectorised over users).

    ``belief`` is ``(2, 3)``: rows DQ, VQ; columns P(DA), P(CQ), P(AQ).
    """
    p = np.asarray(p_correct, float)
    c = np.asarray(effort_answer, float) + np.asarray(time_cost, float)
    r = (np.asarray(patience) >= 2).astype(float)

    def value(g: Any, dq: bool) -> Any:
        gp = g * p
        da = gp + (1 - gp) * r * (p - c)
        cq = r * (p - c - (redundant_cost if dq else 0.0))
        aq = gp + (1 - gp) * r * (p - followup_effort * c)
        return da, cq, aq

    da_d, cq_d, aq_d = value(1.0, True)
    da_v, cq_v, aq_v = value(np.asarray(guess_right, float), False)
    eu_dq = -np.asarray(effort_detail, float) + (
        belief[0, 0] * da_d + belief[0, 1] * cq_d + belief[0, 2] * aq_d
    )
    eu_vq = belief[1, 0] * da_v + belief[1, 1] * cq_v + belief[1, 2] * aq_v
    z = np.asarray(rationality, float) * (eu_vq - eu_dq) + np.asarray(vague_bias, float)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


class ParametricUser(BaseUser):
    """A strategic rule-based user (the default simulator).

    Args:
        world: the game's mechanics.
        renderer: the text source.
        belief_prior: Dirichlet pseudo-counts of the initial belief about the
            assistant's response mode, per strategy (``{"DQ": [da, cq, aq], "VQ": [...]}``).
        learn: update the belief after each episode from the assistant's first mode
            (off by default: a stationary population).
        expected_skill: the user's expectation that an answer is executed correctly.
    """

    def __init__(
        self,
        world: WorldConfig | None = None,
        renderer: TemplateRenderer | None = None,
        belief_prior: Mapping[str, Any] | None = None,
        learn: bool = False,
        expected_skill: float = 0.85,
    ) -> None:
        super().__init__(world, renderer)
        prior = belief_prior or {"DQ": [1.0, 1.0, 1.0], "VQ": [1.0, 1.0, 1.0]}
        try:
            counts = np.array([prior["DQ"], prior["VQ"]], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                "belief_prior must map 'DQ' and 'VQ' to three pseudo-counts (DA, CQ, AQ), "
                f"got {prior!r}"
            ) from None
        if counts.shape != (2, 3) or (counts <= 0).any():
            raise ValueError(f"belief_prior counts must be 2×3 and positive, got {counts.tolist()}")
        if not 0.0 <= expected_skill <= 1.0:
            raise ValueError(f"expected_skill must be in [0, 1], got {expected_skill!r}")
        self.counts = counts
        self.learn = bool(learn)
        self.expected_skill = float(expected_skill)
        self.last_p_vague: float = float("nan")

    @property
    def belief(self) -> np.ndarray:
        """``(2, 3)`` believed P(mode | strategy); rows DQ, VQ; columns DA, CQ, AQ."""
        return self.counts / self.counts.sum(axis=1, keepdims=True)

    def p_vague(self, task: Task, profile: UserProfile) -> float:
        """This user's probability of asking vaguely about ``task``."""
        guess_right = float((not task.ambiguous) or profile.intent == task.most_likely().id)
        return float(
            vague_probability(
                guess_right=guess_right,
                p_correct=self.expected_skill,
                effort_detail=profile.effort_detail,
                effort_answer=profile.effort_answer,
                time_cost=profile.time_cost,
                patience=profile.patience,
                vague_bias=profile.vague_bias,
                rationality=profile.rationality,
                belief=self.belief,
                followup_effort=self.world.followup_effort,
                redundant_cost=self.world.redundant_question_cost,
            )
        )

    def choose_strategy(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> str:
        """Draw DQ/VQ from the logit choice model (one uniform draw from ``rng``)."""
        self.last_p_vague = self.p_vague(task, profile)
        return "VQ" if rng.random() < self.last_p_vague else "DQ"

    def observe_episode(self, record: Mapping[str, Any]) -> None:
        """Add the assistant's first response mode to the belief about that strategy."""
        if not self.learn:
            return
        strategy = record.get("strategy")
        modes = record.get("modes") or []
        if strategy in ("DQ", "VQ") and modes and modes[0] in MODES:
            self.counts[0 if strategy == "DQ" else 1, MODES.index(modes[0])] += 1.0
