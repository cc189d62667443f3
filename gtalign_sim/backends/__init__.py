"""Chat backends. For now the deterministic :class:`TemplateRenderer` (no LLM)."""

from .template import MODES, REPLY_KINDS, VERBOSITIES, TemplateRenderer

__all__ = ["MODES", "REPLY_KINDS", "VERBOSITIES", "TemplateRenderer"]
