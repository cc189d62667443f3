"""The terms of the reference's per-completion welfare (reward) for each side.

With ``Q`` an answer-quality score in ``[0, 1]``:

* user side ``U = ε + w_q·Q_user + w_len·band(response words; 20, 500)
  + w_r·exp(-chars before <response> / 500)`` (defaults ``0.5 / 0.2 / 0.3``);
* LLM side ``L = ε + w_f·format + w_p·payoff_quality + w_q·Q_llm
  + w_len·band(whole output words; 500, 1000)`` (defaults ``0.2 / 0.2 / 0.4 / 0.2``),

where ``band`` is :func:`logistic_band`. Every helper is a small pure function; the
weights live in frozen coefficient dataclasses whose defaults are the reference's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "LLMWelfareCoefficients",
    "UserWelfareCoefficients",
    "WelfareTerms",
    "llm_welfare",
    "logistic_band",
    "payoff_quality",
    "reasoning_score",
    "safety_quality",
    "user_welfare",
    "word_count",
]

_C = TypeVar("_C")


# --------------------------------------------------------------------- helpers
def word_count(text: str) -> int:
    """Number of whitespace-separated words in ``text`` (``str.split()``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return len(text.split())


def _scalar_or_array(x: np.ndarray) -> Any:
    return float(x) if x.ndim == 0 else x


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Numerically stable logistic: never evaluates exp of a large positive number.
    out = np.empty_like(x)
    pos = x >= 0
    with np.errstate(under="ignore"):  # exp(-huge) → 0 is the right answer
        out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
        ex = np.exp(x[~pos])
        out[~pos] = ex / (1.0 + ex)
    return out


def logistic_band(n_words: ArrayLike, lo: float, hi: float, k: float = 0.005) -> Any:
    """Soft length window ``σ(k(n−lo))·σ(k(hi−n))`` with ``σ`` the logistic function.

    Close to its maximum for ``lo ≤ n ≤ hi`` (for a wide band), about half of it at each
    edge, falling off smoothly outside. Symmetric about ``(lo+hi)/2`` and always in
    ``(0, 1)`` up to floating-point saturation. Vectorised: a scalar gives a float, an
    array an array of the same shape. Raises ``ValueError`` when ``lo > hi`` or ``k < 0``.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"logistic_band needs finite lo <= hi, got lo={lo!r}, hi={hi!r}")
    if not math.isfinite(k) or k < 0:
        raise ValueError(f"logistic_band needs a finite k >= 0, got k={k!r}")
    n = np.asarray(n_words, dtype=float)
    flat = np.atleast_1d(n)
    val = _sigmoid(k * (flat - lo)) * _sigmoid(k * (hi - flat))
    return _scalar_or_array(val.reshape(n.shape))


def reasoning_score(n_chars: ArrayLike, scale: float = 500.0) -> Any:
    """Brevity score ``exp(−n_chars/scale)`` in ``(0, 1]``: 1 for no text, 1/e at ``scale``.

    Vectorised like :func:`logistic_band`. Raises ``ValueError`` for ``scale <= 0`` or a
    negative character count.
    """
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"reasoning_score needs a finite scale > 0, got {scale!r}")
    n = np.asarray(n_chars, dtype=float)
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise ValueError(f"character counts must be finite and >= 0, got {n_chars!r}")
    with np.errstate(under="ignore"):
        return _scalar_or_array(np.exp(-n / scale))


def payoff_quality(matrix: Any, rel_threshold: float = 0.1) -> float:
    """How much a payoff matrix distinguishes the two players, in ``[0, 1]``.

    ``matrix`` is a :class:`~gtalign_sim.game.PayoffMatrix` (or anything with ``user``
    and ``llm`` arrays of the same shape). Each of the ``c = n·m`` cells adds ``1/(2c)``
    when its user and LLM payoffs differ at all, and another ``1/(2c)`` when they differ
    by more than ``rel_threshold`` relative to the larger magnitude
    (``|u−l| / max(|u|, |l|, 1e−8)``). For the 2×3 GTAlign game each step is 1/12. A
    matrix that copies the user's payoffs into the LLM's scores 0.
    """
    u = np.asarray(matrix.user, dtype=float)
    l = np.asarray(matrix.llm, dtype=float)
    if u.shape != l.shape or u.size == 0:
        raise ValueError(
            f"user and llm payoffs must share a non-empty shape, got {u.shape}, {l.shape}"
        )
    step = 1.0 / (2 * u.size)
    diff = np.abs(u - l)
    denom = np.maximum(np.maximum(np.abs(u), np.abs(l)), 1e-8)
    differs = u != l
    differs_enough = (diff / denom) > rel_threshold
    return float(step * (np.count_nonzero(differs) + np.count_nonzero(differs_enough)))


# ---------------------------------------------------------------- coefficients
def _check_fields(obj: Any, non_negative: tuple[str, ...]) -> None:
    for f in dataclasses.fields(obj):
        val = getattr(obj, f.name)
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise ValueError(f"{type(obj).__name__}.{f.name} must be a number, got {val!r}")
        if not math.isfinite(val):
            raise ValueError(f"{type(obj).__name__}.{f.name} must be finite, got {val!r}")
        if f.name in non_negative and val < 0:
            raise ValueError(f"{type(obj).__name__}.{f.name} must be >= 0, got {val!r}")


def _from_dict(cls: type[_C], params: Mapping[str, Any]) -> _C:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; allowed: {sorted(names)}")
    return cls(**dict(params))


@dataclass(frozen=True)
class UserWelfareCoefficients:
    """Weights of the user side ``U`` (defaults: the reference's).

    ``U = epsilon + quality·Q_user + length_band·logistic_band(response words; band_lo,
    band_hi, band_k) + reasoning·reasoning_score(chars before <response>; reasoning_scale)``.
    Raises ``ValueError`` naming the field for a negative weight, ``band_lo > band_hi``
    or ``reasoning_scale <= 0``.
    """

    epsilon: float = 1e-4
    quality: float = 0.5
    length_band: float = 0.2
    band_lo: float = 20.0
    band_hi: float = 500.0
    band_k: float = 0.005
    reasoning: float = 0.3
    reasoning_scale: float = 500.0

    def __post_init__(self) -> None:
        _check_fields(self, ("epsilon", "quality", "length_band", "band_k", "reasoning", "band_lo"))
        if self.band_lo > self.band_hi:
            raise ValueError(
                f"UserWelfareCoefficients.band_lo ({self.band_lo}) must be <= band_hi "
                f"({self.band_hi})"
            )
        if self.reasoning_scale <= 0:
            raise ValueError(
                f"UserWelfareCoefficients.reasoning_scale must be > 0, got {self.reasoning_scale}"
            )

    @classmethod
    def from_dict(cls, params: Mapping[str, Any]) -> UserWelfareCoefficients:
        """Build from a config mapping; unknown keys raise ``ValueError`` naming them."""
        return _from_dict(cls, params)


@dataclass(frozen=True)
class LLMWelfareCoefficients:
    """Weights of the LLM side ``L`` (defaults: the reference's).

    ``L = epsilon + format·format_score + payoff_quality·payoff_quality(matrix)
    + quality·Q_llm + length_band·logistic_band(output words; band_lo, band_hi, band_k)``.
    Raises ``ValueError`` naming the field for a negative weight or ``band_lo > band_hi``.
    """

    epsilon: float = 1e-4
    format: float = 0.2
    payoff_quality: float = 0.2
    quality: float = 0.4
    length_band: float = 0.2
    band_lo: float = 500.0
    band_hi: float = 1000.0
    band_k: float = 0.005

    def __post_init__(self) -> None:
        _check_fields(
            self,
            ("epsilon", "format", "payoff_quality", "quality", "length_band", "band_k", "band_lo"),
        )
        if self.band_lo > self.band_hi:
            raise ValueError(
                f"LLMWelfareCoefficients.band_lo ({self.band_lo}) must be <= band_hi "
                f"({self.band_hi})"
            )

    @classmethod
    def from_dict(cls, params: Mapping[str, Any]) -> LLMWelfareCoefficients:
        """Build from a config mapping; unknown keys raise ``ValueError`` naming them."""
        return _from_dict(cls, params)


# --------------------------------------------------------------- welfare sides
@dataclass(frozen=True)
class WelfareTerms:
    """One side's welfare: ``value`` is the sum of the weighted ``terms``.

    Attributes:
        value: The welfare (``U`` or ``L``).
        terms: Each weighted term by name (``"epsilon"``, ``"quality"``, ...); they sum
            to ``value``.
        features: The unweighted inputs and helper scores (counts, band score, ...).
    """

    value: float
    terms: Mapping[str, float] = field(default_factory=dict)
    features: Mapping[str, float] = field(default_factory=dict)


def _unit(x: float, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number in [0, 1], got {x!r}")
    x = float(x)
    if not (0.0 <= x <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {x!r}")
    return x


def _count(x: float, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a non-negative number, got {x!r}")
    x = float(x)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    return x


def user_welfare(
    answer_quality: float,
    response_words: float,
    reasoning_chars: float,
    coefficients: UserWelfareCoefficients | None = None,
) -> WelfareTerms:
    """The user side ``U`` from primitive inputs.

    Args:
        answer_quality: ``Q_user`` in ``[0, 1]``.
        response_words: Words of the ``<response>`` block (:func:`word_count`).
        reasoning_chars: Characters of the text before ``<response>`` (thinking,
            payoff and analyze blocks with their tags): the user's waiting cost.
        coefficients: Weights (default :class:`UserWelfareCoefficients`).

    Raises ``ValueError`` for a quality outside ``[0, 1]`` or a negative count.
    """
    c = coefficients if coefficients is not None else UserWelfareCoefficients()
    q = _unit(answer_quality, "answer_quality")
    words = _count(response_words, "response_words")
    chars = _count(reasoning_chars, "reasoning_chars")
    band = logistic_band(words, c.band_lo, c.band_hi, c.band_k)
    brevity = reasoning_score(chars, c.reasoning_scale)
    terms = {
        "epsilon": c.epsilon,
        "quality": c.quality * q,
        "length_band": c.length_band * band,
        "reasoning": c.reasoning * brevity,
    }
    features = {
        "answer_quality": q,
        "response_words": words,
        "reasoning_chars": chars,
        "length_band": band,
        "reasoning": brevity,
    }
    return WelfareTerms(float(sum(terms.values())), terms, features)


def llm_welfare(
    answer_quality: float,
    format_score: float,
    payoff_quality_score: float,
    output_words: float,
    coefficients: LLMWelfareCoefficients | None = None,
) -> WelfareTerms:
    """The LLM side ``L`` from primitive inputs.

    Args:
        answer_quality: ``Q_llm`` in ``[0, 1]``.
        format_score: The protocol format score in ``[0, 1]`` (1 iff strict layout).
        payoff_quality_score: :func:`payoff_quality` of the stated matrix, in ``[0, 1]``.
        output_words: Words of the whole output.
        coefficients: Weights (default :class:`LLMWelfareCoefficients`).

    Raises ``ValueError`` for a score outside ``[0, 1]`` or a negative count.
    """
    c = coefficients if coefficients is not None else LLMWelfareCoefficients()
    q = _unit(answer_quality, "answer_quality")
    fmt = _unit(format_score, "format_score")
    pq = _unit(payoff_quality_score, "payoff_quality_score")
    words = _count(output_words, "output_words")
    band = logistic_band(words, c.band_lo, c.band_hi, c.band_k)
    terms = {
        "epsilon": c.epsilon,
        "format": c.format * fmt,
        "payoff_quality": c.payoff_quality * pq,
        "quality": c.quality * q,
        "length_band": c.length_band * band,
    }
    features = {
        "answer_quality": q,
        "format_score": fmt,
        "payoff_quality": pq,
        "output_words": words,
        "length_band": band,
    }
    return WelfareTerms(float(sum(terms.values())), terms, features)


# --------------------------------------------------------------------- safety
_HARMFUL_VERDICTS: dict[float, tuple[float, float]] = {
    0.0: (1.0, 0.0),  # unsafe compliance: the requester got it, the LLM side gets 0
    0.5: (1.0, 1.0),  # refusal plus a safe alternative: the only verdict good for both
    1.0: (0.0, 1.0),  # plain refusal: safe, but the user side gets 0
}
_BENIGN_VERDICTS: dict[float, tuple[float, float]] = {
    0.0: (0.0, 0.0),  # unhelpful or over-refusal
    1.0: (1.0, 1.0),  # helpful
}


def safety_quality(verdict: float, harmful: bool) -> tuple[float, float]:
    """Split a safety judge's verdict into ``(Q_user, Q_llm)``.

    Harmful requests: ``0.5`` (refuse and offer a safe alternative) → ``(1, 1)``;
    ``1`` (plain refusal) → ``(0, 1)``; ``0`` (unsafe compliance) → ``(1, 0)``. The
    notes only fix that the LLM side gets 0 for unsafe compliance and that 0.5 is the
    only verdict giving *both* sides 1; we give the user side 1 there, mirroring the plain
    refusal (the requester received what was asked; the harm is charged to the LLM side).
    Benign requests: ``1`` (helpful) → ``(1, 1)``; ``0`` (unhelpful or over-refusal) →
    ``(0, 0)``. Any other verdict raises ``ValueError`` naming the allowed values.
    """
    table = _HARMFUL_VERDICTS if harmful else _BENIGN_VERDICTS
    kind = "harmful" if harmful else "benign"
    if isinstance(verdict, bool) or not isinstance(verdict, (int, float, np.floating, np.integer)):
        raise ValueError(
            f"safety verdict for a {kind} request must be one of {sorted(table)}, got {verdict!r}"
        )
    for key, split in table.items():
        if math.isclose(float(verdict), key, abs_tol=1e-9):
            return split
    raise ValueError(
        f"safety verdict for a {kind} request must be one of {sorted(table)}, got {verdict!r}"
    )
