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

Token counts are untrusted when a server reports them: :func:`check_token_count` accepts
only whole numbers in ``[0, MAX_USAGE_TOKENS]`` (a backend turns anything else into a
failure with reason ``bad_usage``), and :class:`ChatResult` refuses to hold anything else.

Every request a backend sends over the wire carries an id that is unique to that logical
request and identical across its retries (:func:`wire_request_id`); the caller's
``request_id`` (which callers reuse, e.g. ``turn-0`` on every turn) is only its readable
prefix.
"""

from __future__ import annotations

import math
import numbers
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "FINISH_REASONS",
    "MAX_USAGE_TOKENS",
    "BackendBatchError",
    "BackendError",
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "SamplingParams",
    "check_results",
    "check_token_count",
    "normalize_messages",
    "request_label",
    "truncate_at_stop",
    "wire_request_id",
]

FINISH_REASONS: tuple[str, ...] = ("stop", "length", "error")
"""``stop``: an end-of-sequence token or a stop string; ``length``: ``max_tokens`` hit."""

_ROLES = ("system", "user", "assistant")

MAX_USAGE_TOKENS = 10**7
"""Largest token count accepted for one request (prompt or completion). No chat model's
context is anywhere near this; a larger count is a server bug, not a bill to pay."""


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
    (``http_500``, ``http_429``, ``timeout``, ``connection``, ``malformed``, ``bad_usage``
    (the server reported impossible token counts), ``model``…)."""

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

    def __post_init__(self) -> None:
        for name in ("prompt_tokens", "completion_tokens"):
            object.__setattr__(self, name, check_token_count(name, getattr(self, name)))

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


def check_token_count(name: str, value: Any) -> int:
    """``value`` as an ``int`` if it is a whole number in ``[0, MAX_USAGE_TOKENS]``.

    Integers (Python or numpy) and integral finite floats (``12.0``) are accepted;
    booleans, strings, ``None``, fractions, NaN, infinities, negative counts and counts
    above :data:`MAX_USAGE_TOKENS` raise ``ValueError`` naming ``name`` and the value.
    """
    bad = f"{name} must be a whole number in [0, {MAX_USAGE_TOKENS}], got {value!r:.80}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # np.bool_ is no Real
        raise ValueError(bad)
    if isinstance(value, numbers.Integral):
        count = int(value)
    else:
        try:
            as_float = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(bad) from None
        if not math.isfinite(as_float) or not as_float.is_integer():
            raise ValueError(bad)
        count = int(as_float)
    if not 0 <= count <= MAX_USAGE_TOKENS:
        raise ValueError(bad)
    return count


_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")
_MAX_LABEL = 64


def wire_request_id(label: str | None = None) -> str:
    """A fresh id for one logical request: ``<label>.<uuid4 hex>`` (or the hex alone).

    Send it with every attempt of that request (as ``X-Request-Id``), and make a new one
    for the next request even when the caller's ``label`` is the same. The label is made
    header-safe (characters outside ``A-Za-z0-9._:-`` become ``_``; at most 64 kept).
    """
    hex_id = uuid.uuid4().hex
    if not label:
        return hex_id
    return f"{_LABEL_UNSAFE.sub('_', str(label))[:_MAX_LABEL]}.{hex_id}"


_WIRE_SUFFIX = re.compile(r"\.[0-9a-f]{32}\Z")


def request_label(wire_id: str) -> str:
    """The caller's label of an id made by :func:`wire_request_id` (``wire_id`` itself for
    ids of any other form, and for an id made without a label)."""
    m = _WIRE_SUFFIX.search(wire_id)
    return wire_id[: m.start()] if m and m.start() > 0 else wire_id


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
