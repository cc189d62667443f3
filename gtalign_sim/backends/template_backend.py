"""The ``template`` backend: the simulation's deterministic text behind the chat protocol.

It calls no model. A request carries the text the simulation would produce in
``metadata["template_text"]`` (agents that can run without an LLM put it there — the
template renderer's turn, or a GTAlign four-block trace); the backend applies the
request's stop strings and token budget and reports real token counts, so code written
against :class:`~gtalign_sim.backends.base.ChatBackend` runs unchanged with or without
an LLM. A request without template text fails with reason ``template_missing``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..welfare import count_tokens
from .base import BackendError, ChatRequest, ChatResult, check_results, truncate_at_stop

__all__ = ["TemplateBackend"]


def _prompt_tokens(req: ChatRequest) -> int:
    return sum(count_tokens(m["content"]) + 4 for m in req.messages)


class TemplateBackend:
    """Deterministic, model-free backend (see the module docstring)."""

    name = "template"

    def __init__(self, model: str = "template", **_: object) -> None:
        self.model = model

    def generate(
        self, requests: Sequence[ChatRequest], *, raise_on_error: bool = True
    ) -> list[ChatResult]:
        """Render each request's template text, cut at stop strings and ``max_tokens``."""
        out = []
        for req in requests:
            start = time.perf_counter()
            text = req.metadata.get("template_text") if req.metadata else None
            if not isinstance(text, str):
                err = BackendError(
                    "the template backend needs metadata['template_text'] on each request",
                    reason="template_missing",
                    request_id=req.request_id,
                )
                out.append(ChatResult("", "error", request_id=req.request_id, error=err))
                continue
            text, stopped = truncate_at_stop(text, req.sampling.stop)
            finish = "stop"
            if count_tokens(text) > req.sampling.max_tokens:
                # token counts add up over space-separated words: keep the longest prefix
                kept, used = [], 0
                for word in text.split(" "):
                    used += count_tokens(word)
                    if used > req.sampling.max_tokens:
                        break
                    kept.append(word)
                text, finish = " ".join(kept), "length"
            out.append(
                ChatResult(
                    text=text,
                    finish_reason="stop" if stopped else finish,
                    prompt_tokens=_prompt_tokens(req),
                    completion_tokens=count_tokens(text),
                    latency_s=time.perf_counter() - start,
                    request_id=req.request_id,
                )
            )
        return check_results(out, raise_on_error)

    def close(self) -> None:
        """Nothing to release."""
