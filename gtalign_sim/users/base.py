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

from ..backends.template import MODES, REPLY_KINDS, TemplateRenderer
from ..core import rules
from ..core.failures import EpisodeFailure
from ..core.vocab import Family, StopCode, Strategy, Verbosity
from ..welfare import count_tokens
from .profile import UserProfile
from .world import TaskTables, WorldConfig

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
    """The simulator failed. The environment records such an episode as *failed*
    (``record["failure"]``, stage ``user``, no welfare); simulators may equally raise
    :class:`~gtalign_sim.core.failures.EpisodeFailure` (or any exception)."""


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
    """The simulator's explicit state (what a debugger or an analysis wants to see).

    ``ledger`` is the episode's account kept by the rules engine (user costs, answer
    quality, the provider's money and errors); see :class:`gtalign_sim.core.rules.Ledger`.
    """

    task: Task | None = None
    profile: UserProfile | None = None
    strategy: str | None = None
    ledger: rules.Ledger | None = None
    last_mode: str | None = None
    last_quality: float | None = None
    judgements: list[dict[str, Any]] = field(default_factory=list)
    stop: StopReason | None = None

    @property
    def intent_stated(self) -> bool:
        """Whether the assistant knows the intent (DQ, unambiguous task, or a reply)."""
        return bool(self.ledger.known) if self.ledger is not None else False

    @property
    def assistant_turns(self) -> int:
        """Assistant turns read so far."""
        return int(self.ledger.turns) if self.ledger is not None else 0

    @property
    def quality_user(self) -> float:
        """Best discounted answer quality so far (the user's judgement)."""
        return float(self.ledger.q_user) if self.ledger is not None else 0.0


_STOPS = {
    int(StopCode.SATISFIED): "satisfied",
    int(StopCode.PATIENCE_EXHAUSTED): "patience_exhausted",
    int(StopCode.MAX_TURNS): "max_turns",
    int(StopCode.GAVE_UP): "gave_up",
}


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
        if strategy not in (Strategy.DQ.value, Strategy.VQ.value):
            raise ValueError(f"choose_strategy must return 'DQ' or 'VQ', got {strategy!r}")
        self.state.strategy = strategy
        text = self.renderer.user_question(task, strategy, profile.intent)
        detailed = strategy == Strategy.DQ.value
        self.state.ledger = rules.Ledger.start(
            detailed=detailed,
            known=detailed or not task.ambiguous,
            effort_detail=profile.effort_detail,
            question_tokens=count_tokens(text),
        )
        return UserMessage(text=text, strategy=strategy, reveals_intent=detailed)

    def respond(self, history: Sequence[Turn]) -> UserMessage:
        """Read the assistant's last turn, pay for it, judge it, then reply or stop."""
        stop = self.read(history)
        return stop if stop is not None else self.reply()

    def read(self, history: Sequence[Turn]) -> UserMessage | None:
        """First half of :meth:`respond`: account the assistant's last turn (rules engine).

        Returns the stop message when the user is satisfied, out of patience or at the
        horizon; ``None`` when the user still has a choice to make (:meth:`reply`).
        """
        st = self.state
        if st.task is None or st.profile is None or st.ledger is None:
            raise RuntimeError("respond() called before reset()")
        if not history or history[-1].role != "assistant":
            raise ValueError("respond() needs a history ending with an assistant turn")
        task, prof, led = st.task, st.profile, st.ledger
        turn = history[-1]
        mode = turn.mode or _infer_mode(turn.text)
        st.last_mode = mode
        visible = turn.tokens or count_tokens(turn.text)
        prompt = turn.billed_prompt
        if prompt is None:
            prompt = self.world.system_tokens + float(led.ctx)
        completion = turn.billed_completion
        if completion is None:
            completion = visible + self.world.reasoning_tokens
        q_user = q_llm = 0.0
        if mode != "CQ":
            q_user, q_llm = self._judge(turn.text)
        st.ledger, code = rules.account_turn(
            led,
            mode=MODES.index(mode),
            prompt=prompt,
            completion=completion,
            visible=visible,
            words=len(turn.text.split()),
            q_user=q_user,
            q_llm=q_llm,
            reading_cost=prof.reading_cost,
            money_value=prof.money_value,
            band_lo=prof.length_band[0],
            band_hi=prof.length_band[1],
            misfit_cost=prof.misfit_cost,
            satisfaction=prof.satisfaction,
            patience=prof.patience,
            rates=rules.price_rates(self.world, prof.pricing),
            world=self.world,
            judged_length=task.family != Family.WRITING.value,
        )
        code = int(code)
        if code != int(StopCode.CONTINUE):
            return self._stop(StopReason(_STOPS[code]))
        return None

    def reply(self) -> UserMessage:
        """Second half of :meth:`respond`: weigh another round (rules engine) and, if it
        is worth it, answer the question / correct the answer (stating the intent)."""
        st = self.state
        assert st.task is not None and st.profile is not None and st.ledger is not None
        task, prof, led = st.task, st.profile, st.ledger
        ids = [it.id for it in task.interpretations]
        t = ids.index(prof.intent)
        kind = int(rules.reply_kind(MODES.index(st.last_mode or "DA"), led.known))
        tables = TaskTables.cached(task)
        std = int(Verbosity.STANDARD)
        gain, cost = rules.reply_decision(
            led,
            kind,
            p_standard=self.world.p_correct(task.difficulty, std),
            answer_tokens=tables.answer_tokens[t, std, 1],
            reply_tokens=tables.reply_tokens[kind, t],
            effort_answer=prof.effort_answer,
            time_cost=prof.time_cost,
            reading_cost=prof.reading_cost,
            money_value=prof.money_value,
            rates=rules.price_rates(self.world, prof.pricing),
            world=self.world,
        )
        gain, cost = float(gain), float(cost)
        if not self.decide_continue(gain, cost):
            return self._stop(
                StopReason.GAVE_UP, reason=f"expected gain {gain:.3f} <= cost {cost:.3f}"
            )
        reveals = not bool(led.known) and REPLY_KINDS[kind] != "retry"
        text = self.renderer.user_reply(task, prof.intent, REPLY_KINDS[kind])
        st.ledger = rules.account_reply(
            led,
            kind,
            effort_answer=prof.effort_answer,
            time_cost=prof.time_cost,
            reply_tokens=count_tokens(text),
            world=self.world,
        )
        return UserMessage(text=text, kind=REPLY_KINDS[kind], reveals_intent=reveals)

    def welfare_components(self) -> dict[str, float]:
        """The episode's ledger as floats (see :class:`gtalign_sim.core.rules.Ledger`)."""
        led = self.state.ledger
        return led.scalars() if led is not None else {}

    # ----------------------------------------------------------------- helpers
    def _judge(self, text: str) -> tuple[float, float]:
        """The answer's quality ``(Q_user, Q_llm)`` from the registered judge.

        A judgement that could not be made — ``ok=False`` (e.g. an LLM judge whose
        backend failed) or a judge that raised — raises
        :class:`~gtalign_sim.core.failures.EpisodeFailure` (stage ``judge``): the episode
        fails rather than scoring the answer 0.
        """
        from ..tasks.judges import judge_response

        st = self.state
        assert st.task is not None and st.profile is not None
        try:
            j = judge_response(st.task, st.profile.intent, text)
        except EpisodeFailure:
            raise
        except Exception as exc:
            raise EpisodeFailure.wrap(exc, "judge") from exc
        if not j.ok:
            st.judgements.append({"ok": False, "verdict": j.verdict, "reason": j.reason})
            reason = str((j.details or {}).get("failure_reason") or "judgement_failed")
            raise EpisodeFailure("judge", reason, j.reason or f"{j.judge} could not judge")
        st.judgements.append(
            {"score": j.score, "q_user": j.q_user, "q_llm": j.q_llm, "verdict": j.verdict}
        )
        st.last_quality = j.q_user
        return float(j.q_user), float(j.q_llm)

    def _stop(self, stop: StopReason, reason: str = "") -> UserMessage:
        self.state.stop = stop
        text = self.renderer.user_goodbye(stop == StopReason.SATISFIED)
        return UserMessage(text=text, stop=stop, reason=reason or stop.value)


def _infer_mode(text: str) -> str:
    from ..protocol import infer_action

    mode = infer_action(text)
    return mode if mode in MODES else "DA"
