"""The end of a ``clarification_game_v0`` episode: its welfare, its record, the rewards.

* :func:`episode_outcome` — the welfare and quality numbers from the user simulator's
  ledger (:mod:`gtalign_sim.core.rules`), or a ``simulator`` failure when they are not
  finite;
* :func:`episode_record` — the :class:`~gtalign_sim.core.record.EpisodeRecord` of a
  finished episode (every welfare and quality number ``None`` when it failed);
* :func:`terminal_rewards` — the agents' terminal rewards (:data:`ASSISTANT_REWARDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import rules
from ..core.failures import EpisodeFailure
from ..core.record import OUTCOME_FIELDS, EpisodeRecord, TokenCounts
from ..core.vocab import VERBOSITIES, decode_action

if TYPE_CHECKING:
    from ..users import WorldConfig
    from .clarification import ClarificationGameEnv

__all__ = ["ASSISTANT_REWARDS", "episode_outcome", "episode_record", "terminal_rewards"]

ASSISTANT_REWARDS = ("aggregate", "llm", "user")
"""What the assistant's reward can be: the welfare aggregate, ``L`` or ``U``."""

_SCALAR_OUTCOMES = ("user_welfare", "llm_welfare", "mutual_welfare", "aggregate")


def episode_outcome(
    ledger: rules.Ledger | None,
    world: WorldConfig,
    format_scores: Sequence[float],
    aggregate: Callable[[float, float], Any],
) -> tuple[dict[str, Any] | None, EpisodeFailure | None]:
    """``(outcome, None)``: the episode's welfare and quality numbers from ``ledger``
    (``None`` when the simulator ended before asking: nothing happened), the format score
    the mean of ``format_scores`` (1 without any); ``(None, failure)`` (stage
    ``simulator``) when a welfare number is not finite."""
    led = ledger
    if led is None:  # the simulator ended before asking: nothing happened
        led = rules.Ledger.start(False, False, 0.0, 0.0)
    fmt = float(np.mean(format_scores)) if format_scores else 1.0
    u, u_terms = rules.user_gain(led, world)
    l_val, l_terms = rules.provider_gain(led, u, world, fmt)
    u, l_val = float(u), float(l_val)
    agg = float(aggregate(u, l_val))
    scalars = led.scalars()
    out = {
        "answer_quality": float(scalars["q_user"]),
        "answer_quality_llm": float(scalars["q_llm"]),
        "user_welfare": u,
        "llm_welfare": l_val,
        "mutual_welfare": float(rules.mutual(u, l_val)),
        "user_level": float(rules.level(u)),
        "llm_level": float(rules.level(l_val)),
        "aggregate": agg,
        "user_terms": {k: float(v) for k, v in u_terms.items()},
        "llm_terms": {k: float(v) for k, v in l_terms.items()},
        "ledger": {k: float(v) for k, v in scalars.items()},
        "format_score": fmt,
        "wrong_answers": int(scalars["errors"]),
    }
    bad = [k for k in _SCALAR_OUTCOMES if not np.isfinite(out[k])]
    if bad:
        return None, EpisodeFailure("simulator", "non_finite_welfare", {k: out[k] for k in bad})
    return out, None


def episode_record(env: ClarificationGameEnv, out: dict[str, Any] | None) -> EpisodeRecord:
    """The record of ``env``'s finished episode; ``out`` is its :func:`episode_outcome`
    (``None`` for a failed episode: every welfare and quality number is then ``None``)."""
    modes = [decode_action(a)[0] for a in env.actions]
    verbs = [decode_action(a)[1] for a in env.actions]
    fields = {
        "task_id": env.task.id,
        "family": env.task.family,
        "difficulty": env.task.difficulty,
        "ambiguous": env.task.ambiguous,
        "profile": env.profile.to_dict(),
        "strategy": env.strategy,
        "actions": list(env.actions),
        "modes": modes,
        "verbosities": [VERBOSITIES[v] for v in verbs],
        "transcript": [
            {"role": t.role, "text": t.text, "mode": t.mode, "tokens": t.tokens}
            for t in env.history
        ],
        "turns": env.turn,
        "tokens": TokenCounts(
            assistant=int(sum(t.tokens for t in env.history if t.role == "assistant")),
            user=int(sum(t.tokens for t in env.history if t.role == "user")),
            billed_prompt=int(env.provider_tokens["prompt"]),
            billed_completion=int(env.provider_tokens["completion"]),
        ),
        # a failed episode has no outcome: every welfare/quality number is None
        **(out if out is not None else dict.fromkeys(OUTCOME_FIELDS)),
        "aggregator": env.aggregator_name,
        "stop_reason": env.stop.value if env.stop else None,
        "failure": env.failure.to_record() if env.failure is not None else None,
    }
    return EpisodeRecord(**fields)


def terminal_rewards(out: dict[str, Any] | None, assistant_reward: str) -> dict[str, float]:
    """The agents' terminal rewards: 0 each for a failed episode (``out`` is ``None``), else
    ``U`` for the user and the :data:`ASSISTANT_REWARDS` entry ``assistant_reward`` for the
    assistant."""
    if out is None:
        return {"user": 0.0, "assistant": 0.0}
    reward = {
        "aggregate": out["aggregate"],
        "llm": out["llm_welfare"],
        "user": out["user_welfare"],
    }[assistant_reward]
    return {"user": out["user_welfare"], "assistant": reward}
