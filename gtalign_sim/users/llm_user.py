"""An LLM-driven simulated user.

:class:`LLMUser` keeps the parametric user's *decisions* — the strategic DQ/VQ choice,
when it is satisfied, when it runs out of patience or gives up, what each round costs
(:class:`~gtalign_sim.users.base.BaseUser`) — and lets a chat model write its *words*:
the opening question in the chosen style and its replies to the assistant, from a hidden
goal (the intent's detailed question) it keeps to itself, in the spirit of CollabLLM's
effort-minimising users. Outputs are checked (non-empty, short, no protocol tags, not
breaking character); a bad one is retried, and after ``retries`` failures the episode
*fails*: :class:`~gtalign_sim.core.failures.EpisodeFailure` (stage ``user``, reason the
backend's, e.g. ``http_500``, or ``unusable_output``), which the environment records as a
failed episode without welfare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends import ChatRequest, SamplingParams, build_backend
from ..backends.template import TemplateRenderer
from ..core.failures import EpisodeFailure
from .base import BaseUser, Turn, UserMessage
from .parametric import ParametricUser
from .profile import UserProfile
from .world import WorldConfig

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = ["LLMUser", "clean_user_text"]

_SYSTEM = (
    "You are role-playing a person who is chatting with an AI assistant. You have a goal "
    "that you keep to yourself unless it is needed. Write only what this person types: "
    "plain text, in the first person, no quotation marks, no labels, never mention that "
    "you are role-playing."
)
_BAD = ("<thinking>", "<payoff>", "<analyze>", "<response>", "as an ai", "role-play")
_PREFIX = re.compile(r"^\s*(user|me|person|message)\s*:\s*", re.IGNORECASE)


def clean_user_text(text: str, max_words: int = 80) -> str | None:
    """The usable user message in a model's output, or ``None`` if there is none."""
    if not isinstance(text, str):
        return None
    t = _PREFIX.sub("", text.strip()).strip().strip('"').strip()
    if not t:
        return None
    low = t.lower()
    if any(b in low for b in _BAD):
        return None
    words = t.split()
    if len(words) > max_words:
        return None
    return t


class LLMUser(BaseUser):
    """A simulated user whose messages come from a chat backend (see the module docstring).

    Args:
        backend: a ChatBackend, a backend name or ``{"name": ..., **params}``.
        max_tokens, temperature: sampling of each message.
        retries: extra attempts after an unusable output.
        max_words: longest acceptable message.
        world, renderer: as for :class:`~gtalign_sim.users.base.BaseUser`.
        belief_prior: the strategic choice model (as ParametricUser).
    """

    def __init__(
        self,
        backend: Any = None,
        world: WorldConfig | None = None,
        renderer: TemplateRenderer | None = None,
        max_tokens: int = 96,
        temperature: float = 0.0,
        retries: int = 2,
        max_words: int = 80,
        belief_prior: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(world, renderer)
        self._history: list[Turn] = []
        if isinstance(backend, Mapping):
            params = dict(backend)
            backend = build_backend(str(params.pop("name", "template")), **params)
        elif isinstance(backend, str) or backend is None:
            backend = build_backend(backend or "template")
        if int(retries) < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        self.backend = backend
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.retries = int(retries)
        self.max_words = int(max_words)
        self.seed = int(seed)
        self._chooser = ParametricUser(self.world, self.renderer, belief_prior=belief_prior)
        self.failures: list[str] = []

    @property
    def belief(self) -> np.ndarray:
        """The choice model's belief about the assistant (as ParametricUser)."""
        return self._chooser.belief

    def vague_probabilities(self, task: Task, profiles: Any, pricing: str) -> np.ndarray:
        """The parametric choice model's P(VQ) (what the oracle plans with)."""
        return self._chooser.vague_probabilities(task, profiles, pricing)

    def choose_strategy(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> str:
        """The parametric user's strategic DQ/VQ choice."""
        return self._chooser.choose_strategy(task, profile, rng)

    # ------------------------------------------------------------- the words
    def _ask(self, instruction: str, template_text: str, history: Sequence[Turn] = ()) -> str:
        """The model's message; raises :class:`EpisodeFailure` (stage ``user``) when no
        attempt gave a usable one."""
        st = self.state
        assert st.task is not None and st.profile is not None
        goal = st.task.interpretation(st.profile.intent).detailed
        convo = "\n".join(
            f"{'Assistant' if t.role == 'assistant' else 'You'}: {t.text}" for t in history
        )
        content = (
            f"Your goal (what you really want to know or get): {goal}\n"
            f"You are a {st.profile.persona.replace('_', ' ')}; "
            "you dislike typing more than needed.\n"
            + (f"\nThe conversation so far:\n{convo}\n" if convo else "")
            + f"\n{instruction}"
        )
        reason = "unusable_output"
        for attempt in range(self.retries + 1):
            req = ChatRequest(
                messages=(
                    {"role": "system", "content": _SYSTEM},
                    {"role": "user", "content": content},
                ),
                sampling=SamplingParams(
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    seed=self.seed + attempt,
                ),
                metadata={"template_text": template_text},
            )
            res = self.backend.generate([req], raise_on_error=False)[0]
            text = clean_user_text(res.text, self.max_words) if res.ok else None
            if text is not None:
                return text
            reason = str(res.error.reason) if res.error is not None else "unusable_output"
            self.failures.append(
                f"attempt {attempt + 1}: "
                + (str(res.error) if not res.ok else f"unusable output {res.text[:80]!r}")
            )
        raise EpisodeFailure("user", reason, "; ".join(self.failures))

    def reset(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> UserMessage:
        """Choose the strategy (parametric), then have the model write the question."""
        self.failures = []
        msg = super().reset(task, profile, rng)
        if msg.strategy == "DQ":
            instruction = (
                "Write your question to the assistant now. Include every detail the "
                "assistant needs (all numbers, constraints and context), in one or two sentences."
            )
        else:
            instruction = (
                "Write your question to the assistant now, as briefly and vaguely as people "
                "often do to save effort: leave out the specific details, in one short sentence."
            )
        text = self._ask(instruction, msg.text)
        return UserMessage(text=text, strategy=msg.strategy, reveals_intent=msg.reveals_intent)

    def reply(self) -> UserMessage:
        """Decide as BaseUser; if continuing, have the model write the reply."""
        msg = super().reply()
        if msg.stop is not None:
            return msg
        not_meant = "The answer was not what you meant; say briefly what you actually meant."
        kinds = {
            "clarify": "Answer the assistant's question truthfully and briefly, from your goal.",
            "redundant": "The assistant asked what you already said; answer it again briefly.",
            "followup": not_meant,
            "correct_intent": not_meant,
            "retry": "The answer looks wrong to you; say so briefly and ask for another try.",
        }
        text = self._ask(kinds.get(msg.kind or "", kinds["clarify"]), msg.text, self._history)
        return UserMessage(text=text, kind=msg.kind, reveals_intent=msg.reveals_intent)

    def read(self, history: Sequence[Turn]) -> UserMessage | None:
        """As BaseUser (pays for and judges the turn); remembers the history for reply()."""
        self._history = list(history)
        return super().read(history)
