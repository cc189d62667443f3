"""Scoring one four-block completion the way the reference's reward does.

:func:`score_completion` parses the text with :func:`gtalign_sim.protocol.parse` and
computes ``U``, ``L`` and their aggregate. A completion that does not parse scores
``U = L = aggregate = 0`` (as in the reference) with ``valid=False`` and the parser's
message in ``error``: the zero is never silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .aggregate import DEFAULT_AGGREGATOR, Aggregator, aggregate, get_aggregator
from .terms import (
    LLMWelfareCoefficients,
    UserWelfareCoefficients,
    _unit,
    llm_welfare,
    payoff_quality,
    user_welfare,
    word_count,
)

__all__ = [
    "LLM_TERM_NAMES",
    "USER_TERM_NAMES",
    "CompletionScore",
    "score_completion",
    "score_parsed",
]

USER_TERM_NAMES: tuple[str, ...] = ("epsilon", "quality", "length_band", "reasoning")
"""Names of the user side's weighted terms (keys ``"user/<name>"`` in a score)."""
LLM_TERM_NAMES: tuple[str, ...] = (
    "epsilon",
    "format",
    "payoff_quality",
    "quality",
    "length_band",
)
"""Names of the LLM side's weighted terms (keys ``"llm/<name>"`` in a score)."""


@dataclass(frozen=True)
class CompletionScore:
    """The welfare of one completion.

    Attributes:
        user: ``U`` (0 when invalid).
        llm: ``L`` (0 when invalid).
        aggregate: The mutual welfare (the training reward; 0 when invalid).
        terms: Every weighted term of both sides, keyed ``"user/<term>"`` and
            ``"llm/<term>"``; always the same keys (all 0 when invalid).
        valid: Whether the completion parsed.
        error: The parser's message when invalid, else ``None``.
        format_score: The protocol's format score (0 when invalid).
        aggregator: Name of the aggregator used.
        features: Unweighted inputs (word and character counts, helper scores), keyed
            like ``terms``; empty when invalid.
    """

    user: float
    llm: float
    aggregate: float
    terms: dict[str, float]
    valid: bool
    error: str | None = None
    format_score: float = 0.0
    aggregator: str = DEFAULT_AGGREGATOR
    features: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A flat JSON-ready record (terms and features inlined under their keys)."""
        out: dict[str, Any] = {
            "user": self.user,
            "llm": self.llm,
            "aggregate": self.aggregate,
            "valid": self.valid,
            "error": self.error,
            "format_score": self.format_score,
            "aggregator": self.aggregator,
        }
        out.update({f"terms/{k}": v for k, v in self.terms.items()})
        out.update({f"features/{k}": v for k, v in self.features.items()})
        return out


def _aggregator_name(kind: str | Aggregator) -> str:
    return kind if isinstance(kind, str) else getattr(kind, "__name__", "custom")


def _invalid(error: str, aggregator: str | Aggregator) -> CompletionScore:
    terms = {f"user/{k}": 0.0 for k in USER_TERM_NAMES}
    terms.update({f"llm/{k}": 0.0 for k in LLM_TERM_NAMES})
    return CompletionScore(
        user=0.0,
        llm=0.0,
        aggregate=0.0,
        terms=terms,
        valid=False,
        error=error,
        format_score=0.0,
        aggregator=_aggregator_name(aggregator),
    )


def score_parsed(
    parsed: Any,
    answer_quality: float,
    *,
    answer_quality_llm: float | None = None,
    user_coefficients: UserWelfareCoefficients | None = None,
    llm_coefficients: LLMWelfareCoefficients | None = None,
    aggregator: str | Aggregator = DEFAULT_AGGREGATOR,
) -> CompletionScore:
    """Score an already parsed reply (a :class:`gtalign_sim.protocol.ParsedReply`).

    Uses ``parsed.response`` (words → user length band), ``parsed.text_before_response``
    (characters → reasoning score), ``parsed.raw`` (words → LLM length band),
    ``parsed.matrix`` (payoff quality) and ``parsed.format_score``. ``answer_quality_llm``
    defaults to ``answer_quality`` (they differ for safety tasks, see
    :func:`~gtalign_sim.welfare.safety_quality`).
    """
    get_aggregator(aggregator)  # fail fast on an unknown name
    q_llm = answer_quality if answer_quality_llm is None else answer_quality_llm
    u = user_welfare(
        answer_quality,
        word_count(parsed.response),
        len(parsed.text_before_response),
        user_coefficients,
    )
    fmt = float(parsed.format_score)
    l = llm_welfare(
        q_llm,
        fmt,
        payoff_quality(parsed.matrix),
        word_count(parsed.raw),
        llm_coefficients,
    )
    terms = {f"user/{k}": float(v) for k, v in u.terms.items()}
    terms.update({f"llm/{k}": float(v) for k, v in l.terms.items()})
    features = {f"user/{k}": float(v) for k, v in u.features.items()}
    features.update({f"llm/{k}": float(v) for k, v in l.features.items()})
    return CompletionScore(
        user=u.value,
        llm=l.value,
        aggregate=float(aggregate(u.value, l.value, aggregator)),
        terms=terms,
        valid=True,
        error=None,
        format_score=fmt,
        aggregator=_aggregator_name(aggregator),
        features=features,
    )


def score_completion(
    text: str,
    answer_quality: float,
    *,
    answer_quality_llm: float | None = None,
    user_coefficients: UserWelfareCoefficients | None = None,
    llm_coefficients: LLMWelfareCoefficients | None = None,
    aggregator: str | Aggregator = DEFAULT_AGGREGATOR,
    user_strategies: Sequence[str] | None = None,
    assistant_actions: Sequence[str] | None = None,
) -> CompletionScore:
    """Parse a four-block completion and score it (see :func:`score_parsed`).

    A :class:`gtalign_sim.protocol.ProtocolError` gives ``U = L = aggregate = 0``,
    ``valid=False`` and ``error`` set to the parser's message. Invalid *arguments* (a
    quality outside ``[0, 1]``, an unknown aggregator) raise ``ValueError`` instead.
    ``user_strategies`` / ``assistant_actions`` override the game's labels for the parser
    (default: the GTAlign DQ/VQ × DA/CQ/AQ game).
    """
    from gtalign_sim.protocol import ProtocolError, parse

    _unit(answer_quality, "answer_quality")
    if answer_quality_llm is not None:
        _unit(answer_quality_llm, "answer_quality_llm")
    get_aggregator(aggregator)
    try:
        labels: dict[str, Sequence[str]] = {}
        if user_strategies is not None:
            labels["user_strategies"] = user_strategies
        if assistant_actions is not None:
            labels["assistant_actions"] = assistant_actions
        parsed = parse(text, **labels)
    except ProtocolError as exc:
        return _invalid(str(exc) or type(exc).__name__, aggregator)
    return score_parsed(
        parsed,
        answer_quality,
        answer_quality_llm=answer_quality_llm,
        user_coefficients=user_coefficients,
        llm_coefficients=llm_coefficients,
        aggregator=aggregator,
    )
