"""The user-simulator protocol, in the style of tau2-bench's user simulator.

A simulator is driven by the environment through two calls:

* ``reset(task, profile, rng)`` -> the opening :class:`UserMessage` (with its strategy,
  DQ or VQ);
* ``respond(history)`` -> the next :class:`UserMessage`, or one whose ``stop`` is a
  :class:`StopReason` when the user ends the conversation;

and reports ``welfare_components()`` at the end. Anything with those three methods
(and a ``state`` attribute) is a :class:`UserSimulator`; point the config's
``user._target_`` at it. :class:`BaseUser` does the bookkeeping every simulated user
needs (judging answers, reading and money costs, patience and the horizon), so a
plug-in only decides *what* to say: implement :meth:`BaseUser.choose_strategy` and,
optionally, :meth:`BaseUser.decide_continue`.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..backends.template import MODES, TemplateRenderer
from ..welfare import count_tokens
from .profile import UserProfile
from .world import WorldConfig, length_misfit

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = [
    "BaseUser",
    "StopReason",
    "Turn",
    "UserMessage",
    "UserSimulator",
    "UserState",
]


class StopReason(str, enum.Enum):
    """Why the user ended the conversation."""

    SATISFIED = "satisfied"
    """The last answer reached the user's satisfaction threshold."""
    PATIENCE_EXHAUSTED = "patience_exhausted"
    """The user's patience (assistant turns) ran out before a satisfying answer."""
    MAX_TURNS = "max_turns"
    """The environment's horizon was reached (a truncation, not the user's choice)."""
    GAVE_UP = "gave_up"
    """The user judged another round not worth its cost."""
    ERROR = "error"
    """The simulator failed (e.g. an LLM user's output could not be used); see the reason."""


@dataclass(frozen=True)
class Turn:
    """One message of the conversation.

    ``mode``/``verbosity`` are set for assistant turns produced by the simulation
    (LLM assistants may leave ``mode`` ``None``; the user then infers it from the text);
    ``assumed_intent`` is the interpretation an answer assumed (analysis only).
    """

    role: str
    text: str
    mode: str | None = None
    verbosity: int | None = None
    assumed_intent: str | None = None
    tokens: int = 0
    billed_prompt: int | None = None
    """Input tokens billed for this assistant turn (default: system + history tokens)."""
    billed_completion: int | None = None
    """Output tokens billed (default: ``tokens``; LLM replies also bill hidden reasoning)."""


@dataclass(frozen=True)
class UserMessage:
    """What the user says: text, and either a reply ``kind`` or a ``stop`` reason."""

    text: str
    strategy: str | None = None
    kind: str | None = None
    stop: StopReason | None = None
    reason: str = ""
    reveals_intent: bool = False


@dataclass
class UserState:
    """The simulator's explicit state (what a debugger or an analysis wants to see)."""

    task: Task | None = None
    profile: UserProfile | None = None
    strategy: str | None = None
    intent_stated: bool = False
    assistant_turns: int = 0
    quality_user: float = 0.0
    quality_llm: float = 0.0
    last_quality: float | None = None
    costs: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("effort", "time", "reading", "money", "misfit"), 0.0)
    )
    judgements: list[dict[str, Any]] = field(default_factory=list)
    stop: StopReason | None = None


@runtime_checkable
class UserSimulator(Protocol):
    """What the environment needs from a simulated user (any class with these works)."""

    state: UserState

    def reset(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> UserMessage:
        """Start a conversation about ``task`` as ``profile``; return the opening message."""
        ...

    def respond(self, history: Sequence[Turn]) -> UserMessage:
        """Reply to the conversation so far (ending with an assistant turn)."""
        ...

    def welfare_components(self) -> dict[str, float]:
        """``quality`` (and ``quality_llm``) plus the user's costs so far."""
        ...


class BaseUser(ABC):
    """Bookkeeping shared by simulated users; subclasses decide DQ/VQ and continuation.

    Args:
        world: the game's mechanics (prices, horizon, follow-up discount…).
        renderer: where the user's text comes from.
    """

    def __init__(
        self, world: WorldConfig | None = None, renderer: TemplateRenderer | None = None
    ) -> None:
        self.world = world or WorldConfig()
        self.renderer = renderer or TemplateRenderer()
        self.state = UserState()
        self.rng: np.random.Generator = np.random.default_rng(0)
        self._last_mode: str | None = None
        self.forced_strategy: str | None = None
        """When set, :meth:`reset` uses this strategy instead of :meth:`choose_strategy`."""

    # -------------------------------------------------------------- plug-in API
    @abstractmethod
    def choose_strategy(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> str:
        """``"DQ"`` or ``"VQ"`` for the opening message."""

    def decide_continue(self, expected_gain: float, cost: float) -> bool:
        """Whether to reply once more, given the expected gain and the reply's cost."""
        return expected_gain > cost

    def observe_episode(self, record: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Called after each episode with its record (learning users update beliefs here)."""

    # ------------------------------------------------------------ the protocol
    def reset(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> UserMessage:
        """Choose a strategy, pay for it, and return the opening question."""
        if not profile.intent:
            raise ValueError("UserProfile.intent must be set (use profile.with_intent(...))")
        task.interpretation(profile.intent)  # validates the intent
        self.rng = rng
        self.state = UserState(task=task, profile=profile)
        strategy = self.forced_strategy or self.choose_strategy(task, profile, rng)
        if strategy not in ("DQ", "VQ"):
            raise ValueError(f"choose_strategy must return 'DQ' or 'VQ', got {strategy!r}")
        self.state.strategy = strategy
        self.state.intent_stated = strategy == "DQ" or not task.ambiguous
        if strategy == "DQ":
            self.state.costs["effort"] += profile.effort_detail
        text = self.renderer.user_question(task, strategy, profile.intent)
        return UserMessage(text=text, strategy=strategy, reveals_intent=strategy == "DQ")

    def respond(self, history: Sequence[Turn]) -> UserMessage:
        """Read the assistant's last turn, pay for it, judge it, then reply or stop."""
        stop = self.read(history)
        return stop if stop is not None else self.reply()

    def read(self, history: Sequence[Turn]) -> UserMessage | None:
        """First half of :meth:`respond`: pay for and judge the assistant's last turn.

        Returns the stop message when the user is satisfied, out of patience or at the
        horizon; ``None`` when the user still has a choice to make (:meth:`reply`).
        """
        st = self.state
        if st.task is None or st.profile is None:
            raise RuntimeError("respond() called before reset()")
        if not history or history[-1].role != "assistant":
            raise ValueError("respond() needs a history ending with an assistant turn")
        task, prof = st.task, st.profile
        turn = history[-1]
        st.assistant_turns += 1
        self._pay_for(history)
        mode = turn.mode or _infer_mode(turn.text)
        self._last_mode = mode
        if mode in ("DA", "AQ"):
            self._judge(turn.text)
            words = len(turn.text.split())
            if task.family != "writing":
                st.costs["misfit"] += float(
                    length_misfit(words, *prof.length_band, prof.misfit_cost)
                )
            if st.last_quality is not None and st.last_quality >= prof.satisfaction:
                return self._stop(StopReason.SATISFIED)
        if st.assistant_turns >= prof.patience:
            return self._stop(StopReason.PATIENCE_EXHAUSTED)
        if st.assistant_turns >= self.world.max_turns:
            return self._stop(StopReason.MAX_TURNS)
        return None

    def reply(self) -> UserMessage:
        """Second half of :meth:`respond`: decide whether another round is worth it and,
        if so, answer the question / correct the answer (revealing the intent)."""
        st = self.state
        assert st.task is not None and st.profile is not None
        task, prof = st.task, st.profile
        kind = _reply_kind(self._last_mode, st.intent_stated)
        cost = self._reply_cost(kind)
        gain = self._expected_gain(kind)
        if not self.decide_continue(gain, cost):
            return self._stop(
                StopReason.GAVE_UP, reason=f"expected gain {gain:.3f} <= cost {cost:.3f}"
            )
        st.costs["effort"] += cost - prof.time_cost
        st.costs["time"] += prof.time_cost
        reveals = not st.intent_stated and kind != "retry"
        st.intent_stated = True
        text = self.renderer.user_reply(task, prof.intent, kind)
        return UserMessage(text=text, kind=kind, reveals_intent=reveals)

    def welfare_components(self) -> dict[str, float]:
        """Answer quality (best answer received, both sides) and accumulated costs."""
        st = self.state
        return {
            "quality": st.quality_user,
            "quality_llm": st.quality_llm,
            **{k: float(v) for k, v in st.costs.items()},
        }

    # ----------------------------------------------------------------- helpers
    def _pay_for(self, history: Sequence[Turn]) -> None:
        st, prof = self.state, self.state.profile
        assert prof is not None
        turn = history[-1]
        visible = turn.tokens or count_tokens(turn.text)
        completion = turn.billed_completion if turn.billed_completion is not None else visible
        prompt = turn.billed_prompt
        if prompt is None:
            prompt = self.world.system_tokens + sum(
                t.tokens or count_tokens(t.text) for t in history[:-1]
            )
        u_in, u_out, _, _ = self.world.token_prices(prof.pricing)
        st.costs["money"] += prof.money_value * (u_in * prompt + u_out * completion)
        st.costs["reading"] += prof.reading_cost * visible / 100.0

    def _judge(self, text: str) -> None:
        from ..tasks.judges import judge_response

        st = self.state
        assert st.task is not None and st.profile is not None
        j = judge_response(st.task, st.profile.intent, text)
        st.judgements.append(
            {"score": j.score, "q_user": j.q_user, "q_llm": j.q_llm, "verdict": j.verdict}
        )
        st.last_quality = j.q_user
        if j.q_user > st.quality_user or (j.q_user == st.quality_user and j.q_llm > st.quality_llm):
            st.quality_user, st.quality_llm = j.q_user, j.q_llm

    def _reply_cost(self, kind: str) -> float:
        prof = self.state.profile
        assert prof is not None
        effort = prof.effort_answer
        if kind == "followup":
            effort *= self.world.followup_effort
        elif kind == "redundant":
            effort += self.world.redundant_question_cost
        return effort + prof.time_cost

    def _expected_gain(self, kind: str) -> float:
        """Quality the user still expects to gain from one more round (their own model)."""
        st = self.state
        assert st.task is not None
        p = self.world.p_correct(st.task.difficulty, 1)
        return max(p - st.quality_user, 0.0)

    def _stop(self, stop: StopReason, reason: str = "") -> UserMessage:
        self.state.stop = stop
        text = self.renderer.user_goodbye(stop == StopReason.SATISFIED)
        return UserMessage(text=text, stop=stop, reason=reason or stop.value)


def _reply_kind(mode: str | None, intent_stated: bool) -> str:
    if mode == "CQ":
        return "redundant" if intent_stated else "clarify"
    if mode == "AQ":
        return "retry" if intent_stated else "followup"
    return "retry" if intent_stated else "correct_intent"


def _infer_mode(text: str) -> str:
    from ..protocol import infer_action

    mode = infer_action(text)
    return mode if mode in MODES else "DA"
