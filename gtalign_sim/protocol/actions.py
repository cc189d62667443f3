"""Which action did a ``<response>`` actually carry out? (DA, CQ or AQ.)

The heuristic, in full:

1. Code is ignored: fenced blocks (```` ``` ... ``` ````), inline code (`` `...` ``) and
   URLs (``http://…``, ``https://…``, ``www.…``) are removed first, so a ``?`` in a query
   string or a snippet is not a question.
2. The rest is cut into *pieces*: a run of text up to and including a run of sentence
   terminators (``.``, ``!``, ``?``, full-width ``？``, or a newline). A piece whose
   terminators contain a question mark is a *question*; every other piece is *answer
   content*. :func:`count_questions` is the number of question pieces (``"Really??"``
   counts once).
3. No question → ``"DA"``. Otherwise, fewer than ``answer_min_words`` (default 12)
   words of answer content → ``"CQ"`` (the reply is essentially a question, maybe after a
   short preamble such as "Sure, quick question:"); else → ``"AQ"`` (substantive answer
   plus a follow-up). More than one question is classified the same way (CQ without a
   substantive answer, AQ with one) and flagged in :attr:`ResponseAnalysis.multiple_questions`,
   since the contract asks for exactly one question.

An empty (or whitespace-only) response carries out no action: the result is ``None``. The
classification exists only for the GTAlign labels ``DA``/``CQ``/``AQ``; for any other
action set :func:`infer_action` returns ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_ANSWER_MIN_WORDS",
    "ResponseAnalysis",
    "analyze_response",
    "count_questions",
    "infer_action",
]

DEFAULT_ANSWER_MIN_WORDS = 12
"""Answer content needed (in words) for a reply with a question to count as AQ, not CQ."""

_GTALIGN_ACTION_SET = frozenset({"DA", "CQ", "AQ"})

# All patterns below are flat (no nested quantifiers), so they run in linear time.
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]*", re.IGNORECASE)
_TERMINATORS = ".!?？\n"
_PIECE = re.compile(r"[^.!?？\n]*[.!?？\n]+|[^.!?？\n]+")


@dataclass(frozen=True)
class ResponseAnalysis:
    """What :func:`analyze_response` found in a response.

    Attributes:
        action: ``"DA"``, ``"CQ"``, ``"AQ"``, or ``None`` for an empty response.
        n_questions: Number of questions asked (see :func:`count_questions`).
        answer_words: Words of non-question content (code and URLs excluded).
        multiple_questions: ``True`` when more than one question was asked.
    """

    action: str | None
    n_questions: int
    answer_words: int
    multiple_questions: bool


def _strip_code(text: str) -> str:
    """Remove fenced code blocks (an unclosed fence runs to the end), inline code, URLs."""
    parts: list[str] = []
    pos = 0
    while True:
        start = text.find("```", pos)
        if start < 0:
            parts.append(text[pos:])
            break
        parts.append(text[pos:start])
        end = text.find("```", start + 3)
        if end < 0:
            break
        pos = end + 3
    out = "\n".join(parts)
    out = _INLINE_CODE.sub(" ", out)
    return _URL.sub(" ", out)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """``(piece, is_question)`` for each sentence-like piece of code-free text."""
    out = []
    for match in _PIECE.finditer(text):
        piece = match.group(0)
        body = piece.rstrip(_TERMINATORS)
        terminators = piece[len(body) :]
        out.append((body, "?" in terminators or "？" in terminators))
    return out


def analyze_response(
    response: str, *, answer_min_words: int = DEFAULT_ANSWER_MIN_WORDS
) -> ResponseAnalysis:
    """Classify a response as DA / CQ / AQ with the module's heuristic; never raises on str."""
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    if not response.strip():
        return ResponseAnalysis(None, 0, 0, False)
    pieces = _pieces(_strip_code(response))
    n_questions = sum(1 for _, is_q in pieces if is_q)
    answer_words = sum(len(body.split()) for body, is_q in pieces if not is_q)
    if n_questions == 0:
        action = "DA"
    elif answer_words < answer_min_words:
        action = "CQ"
    else:
        action = "AQ"
    return ResponseAnalysis(action, n_questions, answer_words, n_questions > 1)


def count_questions(text: str) -> int:
    """Number of questions in ``text`` (question-mark-terminated pieces outside code/URLs)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return sum(1 for _, is_q in _pieces(_strip_code(text)) if is_q)


def infer_action(
    response: str,
    assistant_actions: Sequence[str] = ("DA", "CQ", "AQ"),
    *,
    answer_min_words: int = DEFAULT_ANSWER_MIN_WORDS,
) -> str | None:
    """The action (``"DA"``, ``"CQ"`` or ``"AQ"``) a response carries out.

    Returns ``None`` for an empty response, and for any action set other than the GTAlign
    labels ``{DA, CQ, AQ}`` (the heuristic knows nothing about other actions). Raises
    ``TypeError`` only when ``response`` is not a str.
    """
    if set(assistant_actions) != _GTALIGN_ACTION_SET:
        return None
    return analyze_response(response, answer_min_words=answer_min_words).action
