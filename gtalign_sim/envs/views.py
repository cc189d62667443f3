"""What the agents of ``clarification_game_v0`` see: features, spaces and the transcript.

* :data:`ASSISTANT_FEATURES` / :func:`assistant_observation` — the assistant's public view
  (never the hidden profile or intent);
* :data:`USER_FEATURES` / :func:`user_observation` — the user's view of its own state;
* :func:`observation_spaces` / :func:`action_spaces` — the fixed spaces of both agents;
* :func:`transcript_text` — the text :meth:`ClarificationGameEnv.render` shows.

The functions read a running :class:`~gtalign_sim.envs.clarification.ClarificationGameEnv`
and change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gymnasium
import numpy as np

from ..core.vocab import DIFFICULTIES, FAMILIES, MODES, N_ACTIONS, PRICING_PLANS, Strategy

if TYPE_CHECKING:
    from .clarification import ClarificationGameEnv

__all__ = [
    "ASSISTANT_FEATURES",
    "USER_FEATURES",
    "action_spaces",
    "assistant_observation",
    "observation_spaces",
    "transcript_text",
    "user_observation",
]

ASSISTANT_FEATURES: tuple[str, ...] = (
    "turn",
    "detailed_question",
    "ambiguity",
    *(f"difficulty_{d}" for d in DIFFICULTIES),
    *(f"family_{f}" for f in FAMILIES),
    *(f"pricing_{p}" for p in PRICING_PLANS),
    "intent_stated",
    "context_tokens_k",
    "last_user_tokens_100",
    "user_replies",
    *(f"last_mode_{m}" for m in MODES),
)
"""Names of the assistant observation's features, in order (its public view)."""

USER_FEATURES: tuple[str, ...] = (
    "phase_reply",
    "turn",
    "ambiguity",
    "intent_is_default",
    *(f"last_mode_{m}" for m in MODES),
    "last_quality",
    "best_quality",
    "effort_detail",
    "effort_answer",
    "time_cost",
    "patience",
    "satisfaction",
    *(f"pricing_{p}" for p in PRICING_PLANS),
)
"""Names of the user observation's features, in order."""


def _one_hot(value: str, options: tuple[str, ...]) -> list[float]:
    return [1.0 if value == o else 0.0 for o in options]


def observation_spaces() -> dict[str, gymnasium.spaces.Dict]:
    """Both agents' observation spaces: ``{"observation": Box, "action_mask": Box(int8)}``."""
    return {
        "assistant": gymnasium.spaces.Dict(
            {
                "observation": gymnasium.spaces.Box(
                    -1.0, np.inf, (len(ASSISTANT_FEATURES),), np.float32
                ),
                "action_mask": gymnasium.spaces.Box(0, 1, (N_ACTIONS,), np.int8),
            }
        ),
        "user": gymnasium.spaces.Dict(
            {
                "observation": gymnasium.spaces.Box(
                    -1.0, np.inf, (len(USER_FEATURES),), np.float32
                ),
                "action_mask": gymnasium.spaces.Box(0, 1, (2,), np.int8),
            }
        ),
    }


def action_spaces() -> dict[str, gymnasium.spaces.Discrete]:
    """Both agents' action spaces, assistant first (the order :meth:`reset` seeds them in)."""
    return {
        "assistant": gymnasium.spaces.Discrete(N_ACTIONS),
        "user": gymnasium.spaces.Discrete(2),
    }


def assistant_observation(env: ClarificationGameEnv) -> np.ndarray:
    """The assistant's observation vector now, in :data:`ASSISTANT_FEATURES` order."""
    task = env.task
    last_mode = next((t.mode for t in reversed(env.history) if t.role == "assistant"), None)
    priors = [it.prior for it in task.interpretations]
    user_turns = [t for t in env.history if t.role == "user"]
    feats = [
        env.turn / env.world.max_turns,
        float(env.strategy == Strategy.DQ.value),
        1.0 - max(priors),
        *_one_hot(task.difficulty, DIFFICULTIES),
        *_one_hot(task.family, FAMILIES),
        *_one_hot(env.profile.pricing, PRICING_PLANS),
        float(env.user_sim.state.intent_stated),
        sum(t.tokens for t in env.history) / 1000.0,
        (user_turns[-1].tokens / 100.0) if user_turns else 0.0,
        max(len(user_turns) - 1, 0) / env.world.max_turns,
        *_one_hot(last_mode or "", MODES),
    ]
    return np.asarray(feats, dtype=np.float32)


def user_observation(env: ClarificationGameEnv, phase: str) -> np.ndarray:
    """The user's observation vector now, in :data:`USER_FEATURES` order; ``phase`` is the
    environment's (``"reply"`` when the user decides whether to go on)."""
    task, prof, st = env.task, env.profile, env.user_sim.state
    last_mode = next((t.mode for t in reversed(env.history) if t.role == "assistant"), None)
    is_default = float((not task.ambiguous) or prof.intent == task.most_likely().id)
    feats = [
        float(phase == "reply"),
        env.turn / env.world.max_turns,
        1.0 - max(it.prior for it in task.interpretations),
        is_default,
        *_one_hot(last_mode or "", MODES),
        st.last_quality or 0.0,
        st.quality_user,
        prof.effort_detail,
        prof.effort_answer,
        prof.time_cost,
        prof.patience / env.world.max_turns,
        prof.satisfaction,
        *_one_hot(prof.pricing, PRICING_PLANS),
    ]
    return np.asarray(feats, dtype=np.float32)


def transcript_text(env: ClarificationGameEnv) -> str:
    """The episode so far as text: a header, one line per turn and, once it has ended, its
    outcome (or its failure)."""
    lines = [
        f"[{env.task.id}] {env.task.family}/{env.task.difficulty} pricing={env.profile.pricing}"
    ]
    for t in env.history:
        tag = f"assistant/{t.mode}" if t.role == "assistant" else "user"
        lines.append(f"{tag}: {t.text}")
    if env.episode and env.episode.get("failure"):
        f = env.episode["failure"]
        lines.append(f"-- failed ({f['stage']}: {f['reason']}): {f['detail']}")
    elif env.episode:
        e = env.episode
        lines.append(
            f"-- {e['stop_reason']}: U={e['user_welfare']:.3f} L={e['llm_welfare']:.3f} "
            f"W={e['aggregate']:.3f}"
        )
    return "\n".join(lines)
