"""The moves of ``clarification_game_v0``, mixed into its environment class.

:class:`GameTurns` holds what happens between :meth:`~ClarificationGameEnv.reset` and the
episode's end: the user's opening message, an assistant turn (its text — the assistant's
own, or the template renderer's with the turn's pre-drawn outcome uniform — and the
tokens billed for it), the user's reply or stop, and an external user's decisions. It
works on the state :class:`~gtalign_sim.envs.clarification.ClarificationGameEnv` keeps
(annotated below) and calls back its ``_user`` (a user-simulator call that fails the
episode when it raises), ``_finish`` and ``_update_infos``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.failures import EpisodeFailure
from ..core.vocab import decode_action
from ..users import BaseUser, StopReason, Turn
from ..welfare import count_tokens
from .players import _ExternalUser

if TYPE_CHECKING:
    from ..backends.template import TemplateRenderer
    from ..tasks import Task
    from ..users import UserProfile, WorldConfig

__all__ = ["GameTurns"]


class GameTurns:
    """The game's moves (a mixin of :class:`~gtalign_sim.envs.ClarificationGameEnv`)."""

    # the environment's state these methods read and write (set in its __init__/reset)
    world: WorldConfig
    renderer: TemplateRenderer
    user_sim: BaseUser
    user_policy: str
    task: Task
    profile: UserProfile
    history: list[Turn]
    turn: int
    actions: list[int]
    provider_tokens: dict[str, int]
    format_scores: list[float]
    strategy: str | None
    stop: StopReason | None
    stop_text: str
    failure: EpisodeFailure | None
    episode: dict[str, Any]
    agent_selection: str
    _phase: str
    _rng_user: np.random.Generator
    _outcome_u: np.ndarray

    def _open(self, message: Any) -> None:
        self.strategy = message.strategy
        if message.stop is not None:  # the simulator failed before asking anything
            self._end(message)
            return
        self._add_user_turn(message.text)

    def _add_user_turn(self, text: str) -> None:
        self.history.append(Turn(role="user", text=text, tokens=count_tokens(text)))

    def _user_step(self, action: Any) -> None:
        assert isinstance(self.user_sim, _ExternalUser)
        a = int(action)
        if a not in (0, 1):
            raise ValueError(f"user action must be 0 or 1, got {action!r}")
        if self._phase == "ask":
            self.user_sim.pending_strategy = "DQ" if a == 0 else "VQ"
            opening = self._user(self.user_sim.reset, self.task, self.profile, self._rng_user)
            if opening is not None:
                self._open(opening)
            if not self.episode:
                self.agent_selection = "assistant"
                self._update_infos()
            return
        self.user_sim.pending_continue = a == 0
        self._user_responds()

    def _assistant_step(self, action: Any) -> None:
        # ``action`` is an index, or a decision object carrying the assistant's own text
        # (LLM assistants): ``.action``, ``.text`` and optional ``.estimates`` with
        # ``format_score``, ``billed_prompt_tokens`` and ``billed_completion_tokens``.
        own_text: str | None = None
        extra: dict[str, Any] = {}
        if hasattr(action, "action"):
            own_text = getattr(action, "text", None)
            extra = dict(getattr(action, "estimates", None) or {})
            action = action.action
        mode, verbosity = decode_action(action)
        self.actions.append(int(action))
        task = self.task
        known = self.user_sim.state.intent_stated
        assumed = self.profile.intent if known else task.most_likely().id
        if own_text is not None:
            text, assumed_rec = own_text, None
        else:
            correct = True
            if mode != "CQ":
                correct = bool(
                    self._outcome_u[self.turn] < self.world.p_correct(task.difficulty, verbosity)
                )
            text = self.renderer.assistant_turn(task, mode, verbosity, assumed, correct)
            assumed_rec = assumed if mode != "CQ" else None
        tokens = count_tokens(text)
        prompt = int(
            extra.get("billed_prompt_tokens")
            or self.world.system_tokens + sum(t.tokens for t in self.history)
        )
        completion = int(
            extra.get("billed_completion_tokens") or tokens + self.world.reasoning_tokens
        )
        self.provider_tokens["prompt"] += prompt
        self.provider_tokens["completion"] += completion
        self.format_scores.append(float(extra.get("format_score", 1.0)))
        self.history.append(
            Turn(
                role="assistant",
                text=text,
                mode=mode,
                verbosity=verbosity,
                assumed_intent=assumed_rec,
                tokens=tokens,
                billed_prompt=prompt,
                billed_completion=completion,
            )
        )
        self.turn += 1
        external = self.user_policy == "external"
        stop = self._user(self.user_sim.read, self.history) if external else None
        if self.episode:  # the user simulator failed
            return
        if self.user_policy == "external" and stop is None:
            # the user has a choice to make: hand the turn to the external policy
            self.agent_selection = "user"
            self._phase = "reply"
            self._update_infos()
            return
        if stop is not None:
            self._end(stop)
            return
        msg = self._user(self.user_sim.respond, self.history)
        if msg is not None:
            self._handle(msg)

    def _user_responds(self) -> None:
        msg = self._user(self.user_sim.reply)
        if msg is not None:
            self._handle(msg)
        if not self.episode:
            self.agent_selection = "assistant"
            self._phase = "assistant"
            self._update_infos()

    def _handle(self, msg: Any) -> None:
        if msg.stop is not None:
            self._end(msg)
            return
        self._add_user_turn(msg.text)
        self._update_infos()

    def _end(self, msg: Any) -> None:
        self.stop, self.stop_text = msg.stop, msg.text
        if msg.stop == StopReason.ERROR and self.failure is None:
            reason = getattr(msg, "reason", "") or msg.text
            self.failure = EpisodeFailure("user", "error", reason)
        self._finish()
