"""Chat backends: one batched protocol for every way of producing text.

``template`` (the simulation's deterministic text, no model), ``transformers`` (a local
Hugging Face model), ``openai`` (any OpenAI-compatible server), ``vllm`` (the in-process
vLLM engine); build one by name with
:func:`build_backend`. :class:`TemplateRenderer` renders the simulation's turns.
Heavy dependencies are imported only when a backend that needs them is built.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    "backend_class",
    "build_backend",
    "check_backend_spec",
    "check_results",
    "truncate_at_stop",
]

BACKENDS: tuple[str, ...] = ("template", "transformers", "openai", "vllm")
"""Backend names accepted by :func:`build_backend` (``backend=`` in configs)."""


def backend_class(name: str) -> type:
    """The class of the backend called ``name`` (its module is light: heavy libraries are
    imported when an instance is made)."""
    if name == "template":
        return TemplateBackend
    if name == "transformers":
        from .transformers_backend import TransformersBackend

        return TransformersBackend
    if name == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend
    if name == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend
    raise ValueError(f"unknown backend {name!r}; allowed: {list(BACKENDS)}")


def check_backend_spec(spec: Mapping[str, Any], key: str = "backend") -> None:
    """Reject, naming the field, what a backend config must not hold: a secret given
    inline (``api_key``: name an environment variable in ``api_key_env`` instead) and
    keys the backend does not take (the vLLM backend passes extra keys to its engine)."""
    import inspect

    if "api_key" in spec:
        raise ValueError(
            f"{key}.api_key: secrets are not accepted inline (they would be written to the "
            f"run's files); put the key in an environment variable and set "
            f"{key}.api_key_env to its name"
        )
    name = str(spec.get("name"))
    params = inspect.signature(backend_class(name).__init__).parameters
    if name == "vllm":
        return
    allowed = sorted(
        p for p, v in params.items() if p != "self" and v.kind is v.POSITIONAL_OR_KEYWORD
    )
    unknown = sorted(set(spec) - {"name", *allowed})
    if unknown:
        raise ValueError(
            f"{key}: unknown key(s) {unknown} for backend {name!r}; allowed: {allowed}"
        )


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
