"""Chat backends: one batched protocol for every way of producing text.

``template`` (the simulation's deterministic text, no model), ``transformers`` (a local
Hugging Face model), ``openai`` (any OpenAI-compatible server), ``vllm`` (the in-process
vLLM engine); build one by name with
:func:`build_backend`. :class:`TemplateRenderer` renders the simulation's turns.
Heavy dependencies are imported only when a backend that needs them is built.
"""

from __future__ import annotations

from typing import Any

from .base import (
    FINISH_REASONS,
    BackendBatchError,
    BackendError,
    ChatBackend,
    ChatRequest,
    ChatResult,
    SamplingParams,
    check_results,
    truncate_at_stop,
)
from .template import MODES, REPLY_KINDS, VERBOSITIES, TemplateRenderer
from .template_backend import TemplateBackend

__all__ = [
    "BACKENDS",
    "FINISH_REASONS",
    "MODES",
    "REPLY_KINDS",
    "VERBOSITIES",
    "BackendBatchError",
    "BackendError",
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "SamplingParams",
    "TemplateBackend",
    "TemplateRenderer",
    "build_backend",
    "check_results",
    "truncate_at_stop",
]

BACKENDS: tuple[str, ...] = ("template", "transformers", "openai", "vllm")
"""Backend names accepted by :func:`build_backend` (``backend=`` in configs)."""


def build_backend(name: str, **params: Any) -> ChatBackend:
    """Build the backend called ``name`` with its parameters (``model``, ``base_url``…).

    Unknown names raise ``ValueError`` listing :data:`BACKENDS`.
    """
    if name == "template":
        return TemplateBackend(**params)
    if name == "transformers":
        from .transformers_backend import TransformersBackend

        return TransformersBackend(**params)
    if name == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(**params)
    if name == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend(**params)
    raise ValueError(f"unknown backend {name!r}; allowed: {list(BACKENDS)}")
