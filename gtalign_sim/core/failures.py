"""Failed episodes: an LLM (or a plug-in) failure is never a result.

When a decision, a simulated user's message or a judgement cannot be produced (a backend
that fails after its retries, a judge without a verdict, a plug-in that raises), the part
that failed raises :class:`EpisodeFailure`. The environment (or the rollout) turns it into
a *failed episode record*: ``record["failure"] = {"stage", "reason", "detail"}`` and no
welfare numbers, so nothing downstream can average a failure as if it were an outcome.

Stages (:data:`STAGES`):

* ``assistant_backend`` — the assistant's model backend failed (after retries);
* ``user`` — the user simulator failed (an LLM user's backend, a plug-in that raised);
* ``judge`` — the answer could not be judged (an LLM judge's failed judgement);
* ``simulator`` — the environment itself could not score the episode.

This module is standard-library only (the core layer: importable from envs and agents).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DETAIL", "STAGES", "EpisodeFailure", "bound_detail"]

STAGES: tuple[str, ...] = ("assistant_backend", "user", "judge", "simulator")
"""Where an episode can fail."""

MAX_DETAIL = 500
"""Longest ``detail`` kept in a failure record (characters)."""


def bound_detail(text: Any, limit: int = MAX_DETAIL) -> str:
    """``text`` as a string of at most ``limit`` characters (cut with a ``…`` marker)."""
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


class EpisodeFailure(RuntimeError):
    """The episode cannot produce a result.

    Args:
        stage: one of :data:`STAGES`.
        reason: a short machine-readable tag (a backend's reason such as ``http_500``,
            ``unusable_output``, ``unreadable_verdict``, an exception's type name…).
        detail: human-readable text (bounded to :data:`MAX_DETAIL` characters).
    """

    def __init__(self, stage: str, reason: str, detail: Any = "") -> None:
        if stage not in STAGES:
            raise ValueError(f"failure stage {stage!r} unknown; allowed: {list(STAGES)}")
        self.stage = stage
        self.reason = str(reason) or "unknown"
        self.detail = bound_detail(detail)
        super().__init__(f"{stage} failed ({self.reason}): {self.detail}")

    @classmethod
    def wrap(cls, exc: BaseException, stage: str) -> EpisodeFailure:
        """``exc`` itself when it is an :class:`EpisodeFailure`, else one at ``stage``
        whose reason is the exception's type name and whose detail is its text."""
        if isinstance(exc, EpisodeFailure):
            return exc
        return cls(stage, type(exc).__name__, str(exc) or repr(exc))

    def to_record(self) -> dict[str, str]:
        """The episode record's ``failure`` entry."""
        return {"stage": self.stage, "reason": self.reason, "detail": self.detail}
