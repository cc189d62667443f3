"""The batched chat-backend protocol shared by every way of producing text.

A backend takes a *batch* of :class:`ChatRequest` s (chat messages plus
:class:`SamplingParams`) and returns one :class:`ChatResult` per request, in order:
text, finish reason, prompt/completion token counts and latency. Batching is the
contract because it is what makes LLM rollouts fast: the rollout engine sends all the
LLM calls of one turn across episodes as one batch.

Failures never become silent empty strings. A request that fails (after the backend's
own retries) comes back as a result with ``ok=False`` and a :class:`BackendError`;
:meth:`ChatBackend.generate` then raises :class:`BackendBatchError`, which carries every
result of the batch, so nothing already computed is lost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "FINISH_REASONS",
    "BackendBatchError",
    "BackendError",
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "SamplingParams",
    "check_results",
    "normalize_messages",
    "truncate_at_stop",
]

FINISH_REASONS: tuple[str, ...] = ("stop", "length", "error")
"""``stop``: an end-of-sequence token or a stop string; ``length``: ``max_tokens`` hit."""

_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one completion.

    ``temperature == 0`` means greedy decoding. ``stop`` strings end the completion and
    are not included in the returned text (the OpenAI convention). ``seed`` makes
    sampling reproducible where the backend supports it.
    """

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if int(self.max_tokens) < 1:
            raise ValueError(f"SamplingParams.max_tokens must be >= 1, got {self.max_tokens!r}")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(
                f"SamplingParams.temperature must be a finite number >= 0, got {self.temperature!r}"
            )
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p!r}")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError(f"SamplingParams.stop must be non-empty strings, got {self.stop!r}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> SamplingParams:
        """Build from a mapping; unknown keys raise, naming them and the allowed ones."""
        if not config:
            return cls()
        allowed = {"max_tokens", "temperature", "top_p", "stop", "seed"}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(f"unknown sampling parameter(s) {unknown}; allowed: {sorted(allowed)}")
        kw = dict(config)
        if "stop" in kw and kw["stop"] is not None:
            kw["stop"] = tuple(kw["stop"]) if not isinstance(kw["stop"], str) else (kw["stop"],)
        return cls(**kw)


def normalize_messages(messages: Sequence[Mapping[str, Any]]) -> tuple[dict[str, str], ...]:
    """Validate chat messages (``role`` in system/user/assistant, ``content`` a string)."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
        raise ValueError("messages must be a non-empty list of {'role', 'content'} mappings")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping):
            raise ValueError(f"messages[{i}] must be a mapping, got {type(m).__name__}")
        role, content = m.get("role"), m.get("content")
        if role not in _ROLES:
            raise ValueError(f"messages[{i}].role must be one of {list(_ROLES)}, got {role!r}")
        if not isinstance(content, str):
            raise ValueError(
                f"messages[{i}].content must be a string, got {type(content).__name__}"
            )
        out.append({"role": str(role), "content": content})
    return tuple(out)


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to produce.

    Attributes:
        messages: the conversation, ``({"role": ..., "content": ...}, ...)``.
        sampling: decoding settings.
        continue_final: the last message is a partial *assistant* reply to be continued
            (used by two-stage pricing steering) instead of starting a new reply.
        request_id: a caller's id, echoed in the result (for accounting).
        metadata: anything a backend may use; the template backend renders
            ``metadata["template_text"]`` instead of calling a model.
    """

    messages: tuple[dict[str, str], ...]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    continue_final: bool = False
    request_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", normalize_messages(self.messages))
        if self.continue_final and self.messages[-1]["role"] != "assistant":
            raise ValueError(
                "continue_final=True needs the last message to be an assistant message"
            )


class BackendError(RuntimeError):
    """A request failed for good (after retries). ``reason`` is a short machine-readable tag
    (``http_500``, ``http_429``, ``timeout``, ``connection``, ``malformed``, ``model``…)."""

    def __init__(
        self, message: str, *, reason: str, attempts: int = 1, request_id: str | None = None
    ):
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts
        self.request_id = request_id


@dataclass(frozen=True)
class ChatResult:
    """The outcome of one :class:`ChatRequest`."""

    text: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    request_id: str | None = None
    attempts: int = 1
    error: BackendError | None = None

    @property
    def ok(self) -> bool:
        """Whether the request produced a completion."""
        return self.error is None


class BackendBatchError(RuntimeError):
    """Some requests of a batch failed; ``results`` holds every result (failed ones too)."""

    def __init__(self, results: Sequence[ChatResult]):
        self.results = list(results)
        self.failures = [r for r in self.results if not r.ok]
        reasons = sorted({r.error.reason for r in self.failures if r.error is not None})
        super().__init__(
            f"{len(self.failures)} of {len(self.results)} requests failed (reasons: {reasons}); "
            "the exception's .results holds every result"
        )


def check_results(results: Sequence[ChatResult], raise_on_error: bool) -> list[ChatResult]:
    """Return ``results``, or raise :class:`BackendBatchError` if any failed and asked to."""
    results = list(results)
    if raise_on_error and any(not r.ok for r in results):
        raise BackendBatchError(results)
    return results


def truncate_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string; returns ``(text, stopped)``."""
    cut = -1
    for s in stops:
        i = text.find(s)
        if i >= 0 and (cut < 0 or i < cut):
            cut = i
    return (text[:cut], True) if cut >= 0 else (text, False)


@runtime_checkable
class ChatBackend(Protocol):
    """What every backend implements."""

    name: str

    def generate(
        self, requests: Sequence[ChatRequest], *, raise_on_error: bool = True
    ) -> list[ChatResult]:
        """One result per request, in order (see the module docstring for failures)."""
        ...

    def close(self) -> None:
        """Release resources (threads, models, connections)."""
        ...
