"""The four-block output contract of a GTAlign assistant.

A reply is exactly::

    <thinking>…</thinking><payoff>…</payoff><analyze>…</analyze><response>…</response>

with only whitespace outside and between the blocks. ``<payoff>`` is a JSON object with one
key ``"<strategy>_<action>"`` per cell of the game, each ``{"LLM": number, "user": number}``;
``<analyze>`` ends with ``Choice: <strategy>_<action>``; ``<response>`` carries out the
chosen action.

* :func:`parse` reads a reply into a :class:`ParsedReply` or raises :class:`ProtocolError`
  (the only exception it raises); :func:`parse_payoff`, :func:`extract_choice` and
  :func:`format_score` (never raises) read parts of it.
* :func:`infer_action`, :func:`analyze_response` and :func:`count_questions` tell which
  action (DA/CQ/AQ) a response actually carries out.
* :class:`PromptConfig`, :func:`build_instructions` and :func:`build_prompt` ask for a reply.
* :func:`render` writes a reply that :func:`parse` reads back exactly.

Depends only on the standard library, numpy and :mod:`gtalign_sim.game`.
"""

from .actions import (
    DEFAULT_ANSWER_MIN_WORDS,
    ResponseAnalysis,
    analyze_response,
    count_questions,
    infer_action,
)
from .errors import ProtocolError
from .parser import (
    ALL_TAGS,
    BLOCKS,
    MAX_INPUT_CHARS,
    MAX_PAYOFF_CHARS,
    ParsedReply,
    block_tags,
    extract_choice,
    format_score,
    parse,
    parse_payoff,
)
from .prompt import (
    DEFAULT_ACTION_DESCRIPTIONS,
    DEFAULT_STRATEGY_DESCRIPTIONS,
    DEFAULT_SYSTEM_PROMPT,
    INSTRUCTION_STYLES,
    TIE_BREAK_RULES,
    PromptConfig,
    build_instructions,
    build_prompt,
    payoff_keys,
)
from .render import default_analysis, default_thinking, render

__all__ = [
    "ALL_TAGS",
    "BLOCKS",
    "DEFAULT_ACTION_DESCRIPTIONS",
    "DEFAULT_ANSWER_MIN_WORDS",
    "DEFAULT_STRATEGY_DESCRIPTIONS",
    "DEFAULT_SYSTEM_PROMPT",
    "INSTRUCTION_STYLES",
    "MAX_INPUT_CHARS",
    "MAX_PAYOFF_CHARS",
    "TIE_BREAK_RULES",
    "ParsedReply",
    "PromptConfig",
    "ProtocolError",
    "ResponseAnalysis",
    "analyze_response",
    "block_tags",
    "build_instructions",
    "build_prompt",
    "count_questions",
    "default_analysis",
    "default_thinking",
    "extract_choice",
    "format_score",
    "infer_action",
    "parse",
    "parse_payoff",
    "payoff_keys",
    "render",
]
