"""Tests of gtalign_sim.welfare: reward terms, aggregators, completion scoring, safety."""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtalign_sim.game import PayoffMatrix
from gtalign_sim.welfare import (
    AGGREGATORS,
    LLM_TERM_NAMES,
    USER_TERM_NAMES,
    CompletionScore,
    LLMWelfareCoefficients,
    UserWelfareCoefficients,
    aggregate,
    get_aggregator,
    llm_welfare,
    logistic_band,
    payoff_quality,
    reasoning_score,
    safety_quality,
    score_completion,
    score_parsed,
    user_welfare,
    word_count,
)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _band(n: float, lo: float, hi: float, k: float = 0.005) -> float:
    return _sigmoid(k * (n - lo)) * _sigmoid(k * (hi - n))


# ------------------------------------------------------------- reference values
@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, 0.439), (100, 0.527), (260, 0.591), (500, 0.458), (1500, 0.007)],
)
def test_user_band_reference_values(n: int, expected: float) -> None:
    assert round(logistic_band(n, 20, 500), 3) == expected


@pytest.mark.parametrize(("n", "expected"), [(0, 0.075), (500, 0.462), (750, 0.604), (1000, 0.462)])
def test_llm_band_reference_values(n: int, expected: float) -> None:
    assert round(logistic_band(n, 500, 1000), 3) == expected


@pytest.mark.parametrize(
    ("chars", "expected"), [(0, 1.0), (100, 0.819), (250, 0.607), (500, 0.368), (1000, 0.135)]
)
def test_reasoning_score_reference_values(chars: int, expected: float) -> None:
    assert round(reasoning_score(chars, 500), 3) == expected


# ---------------------------------------------------------------------- helpers
def test_word_count() -> None:
    assert word_count("") == 0
    assert word_count("  one\ttwo\nthree  ") == 3
    assert word_count("<response>Hi there</response>") == 2
    with pytest.raises(TypeError):
        word_count(None)  # type: ignore[arg-type]


def test_logistic_band_vectorised_and_scalar_types() -> None:
    assert isinstance(logistic_band(100, 20, 500), float)
    arr = logistic_band(np.array([[0, 100], [260, 500]]), 20, 500)
    assert isinstance(arr, np.ndarray) and arr.shape == (2, 2)
    np.testing.assert_allclose(arr.ravel(), [_band(n, 20, 500) for n in (0, 100, 260, 500)])
    # Extreme counts saturate without overflow warnings.
    with np.errstate(all="raise"):
        assert 0.0 <= logistic_band(10**9, 20, 500) < 1e-12
        assert 0.0 <= logistic_band(-(10**9), 20, 500) < 1e-12
        assert 0.0 <= reasoning_score(10**9) < 1e-12


def test_logistic_band_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="lo <= hi"):
        logistic_band(10, 500, 20)
    with pytest.raises(ValueError, match="k"):
        logistic_band(10, 20, 500, k=-1)


def test_reasoning_score_validation_and_vectorisation() -> None:
    np.testing.assert_allclose(reasoning_score([0, 500]), [1.0, math.exp(-1)])
    with pytest.raises(ValueError, match="scale"):
        reasoning_score(10, 0)
    with pytest.raises(ValueError, match=">= 0"):
        reasoning_score(-1)


@settings(max_examples=200, deadline=None)
@given(
    lo=st.floats(0, 2000),
    width=st.floats(0, 2000),
    offset=st.floats(0, 3000),
)
def test_logistic_band_in_unit_interval_and_symmetric(
    lo: float, width: float, offset: float
) -> None:
    hi = lo + width
    centre = (lo + hi) / 2
    above = logistic_band(centre + offset, lo, hi)
    below = logistic_band(centre - offset, lo, hi)
    assert 0.0 < above < 1.0
    assert below == pytest.approx(above, rel=1e-9, abs=1e-15)
    # The centre is the maximum.
    assert logistic_band(centre, lo, hi) >= above - 1e-15


@settings(max_examples=100, deadline=None)
@given(a=st.floats(0, 1e5), b=st.floats(0, 1e5))
def test_reasoning_score_decreasing(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert 0.0 <= reasoning_score(hi) <= reasoning_score(lo) <= 1.0


# ---------------------------------------------------------------- payoff quality
def test_payoff_quality_all_equal_is_zero() -> None:
    m = PayoffMatrix(user=[[1, 2, 3], [0, -1, 4]], llm=[[1, 2, 3], [0, -1, 4]])
    assert payoff_quality(m) == 0.0


def test_payoff_quality_all_very_different_is_one() -> None:
    m = PayoffMatrix(user=[[1, 2, 3], [0, -1, 4]], llm=[[2, 4, -3], [1, 1, 1]])
    assert payoff_quality(m) == pytest.approx(1.0)


def test_payoff_quality_mixed_hand_computed() -> None:
    # Cells (user, llm):       differ?  > 10% relative?   points (1/12 each)
    # (1, 1)                    no       no                0
    # (1, 1.05)                 yes      0.05/1.05 = 4.8%  1
    # (1, 2)                    yes      50%               2
    # (0, 0)                    no       no                0
    # (0, 0.5)                  yes      100%              2
    # (-1, 1)                   yes      200%              2
    m = PayoffMatrix(user=[[1, 1, 1], [0, 0, -1]], llm=[[1, 1.05, 2], [0, 0.5, 1]])
    assert payoff_quality(m) == pytest.approx(7 / 12)


def test_payoff_quality_generalises_to_n_by_m_and_floors_tiny_magnitudes() -> None:
    # 1×2 game: each step is 1/(2·2) = 1/4. Cell 1 differs by 50% (2 steps); cell 2:
    # |5e-10 − 0| / max(5e-10, 0, 1e-8) = 0.05 (the 1e-8 floor): differs, but not by 10%.
    m = PayoffMatrix(user=[[1.0, 5e-10]], llm=[[2.0, 0.0]])
    assert payoff_quality(m) == pytest.approx(0.75)
    # A duck-typed object works too.
    assert payoff_quality(SimpleNamespace(user=[[1.0]], llm=[[3.0]])) == pytest.approx(1.0)


# -------------------------------------------------------------- coefficients
def test_coefficient_defaults_are_the_reference() -> None:
    u = UserWelfareCoefficients()
    assert (u.epsilon, u.quality, u.length_band, u.reasoning) == (1e-4, 0.5, 0.2, 0.3)
    assert (u.band_lo, u.band_hi, u.band_k, u.reasoning_scale) == (20, 500, 0.005, 500)
    c = LLMWelfareCoefficients()
    assert (c.epsilon, c.format, c.payoff_quality, c.quality, c.length_band) == (
        1e-4,
        0.2,
        0.2,
        0.4,
        0.2,
    )
    assert (c.band_lo, c.band_hi, c.band_k) == (500, 1000, 0.005)
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.quality = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("field", ["epsilon", "quality", "length_band", "reasoning", "band_k"])
def test_user_coefficients_reject_negative_weights(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        UserWelfareCoefficients(**{field: -0.1})


@pytest.mark.parametrize(
    "field", ["epsilon", "format", "payoff_quality", "quality", "length_band", "band_k"]
)
def test_llm_coefficients_reject_negative_weights(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        LLMWelfareCoefficients(**{field: -0.1})


def test_coefficients_reject_inverted_band_and_bad_values() -> None:
    with pytest.raises(ValueError, match="band_lo"):
        UserWelfareCoefficients(band_lo=600, band_hi=500)
    with pytest.raises(ValueError, match="band_lo"):
        LLMWelfareCoefficients(band_lo=1001)
    with pytest.raises(ValueError, match="reasoning_scale"):
        UserWelfareCoefficients(reasoning_scale=0)
    with pytest.raises(ValueError, match="quality"):
        UserWelfareCoefficients(quality=float("nan"))
    with pytest.raises(ValueError, match="format"):
        LLMWelfareCoefficients(format="0.2")  # type: ignore[arg-type]


def test_coefficients_from_dict() -> None:
    c = UserWelfareCoefficients.from_dict({"quality": 0.7, "band_hi": 800})
    assert c.quality == 0.7 and c.band_hi == 800 and c.reasoning == 0.3
    assert LLMWelfareCoefficients.from_dict({}) == LLMWelfareCoefficients()
    with pytest.raises(ValueError, match="qualty"):
        UserWelfareCoefficients.from_dict({"qualty": 0.7})


# --------------------------------------------------------------- welfare sides
def test_user_welfare_hand_computed() -> None:
    w = user_welfare(0.8, response_words=100, reasoning_chars=250)
    band = _sigmoid(0.005 * (100 - 20)) * _sigmoid(0.005 * (500 - 100))
    expected = 1e-4 + 0.5 * 0.8 + 0.2 * band + 0.3 * math.exp(-250 / 500)
    assert w.value == pytest.approx(expected, abs=1e-12)
    assert set(w.terms) == set(USER_TERM_NAMES)
    assert sum(w.terms.values()) == pytest.approx(w.value)
    assert w.terms["quality"] == pytest.approx(0.4)
    assert w.features["response_words"] == 100
    custom = user_welfare(
        1.0, 0, 0, UserWelfareCoefficients(epsilon=0, quality=1, length_band=0, reasoning=0)
    )
    assert custom.value == pytest.approx(1.0)


def test_llm_welfare_hand_computed() -> None:
    w = llm_welfare(0.5, format_score=1.0, payoff_quality_score=0.75, output_words=750)
    band = _sigmoid(0.005 * (750 - 500)) * _sigmoid(0.005 * (1000 - 750))
    expected = 1e-4 + 0.2 * 1.0 + 0.2 * 0.75 + 0.4 * 0.5 + 0.2 * band
    assert w.value == pytest.approx(expected, abs=1e-12)
    assert set(w.terms) == set(LLM_TERM_NAMES)
    assert sum(w.terms.values()) == pytest.approx(w.value)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "1", True])
def test_welfare_sides_reject_bad_quality(bad: object) -> None:
    with pytest.raises(ValueError, match="answer_quality"):
        user_welfare(bad, 10, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="answer_quality"):
        llm_welfare(bad, 1.0, 0.5, 10)  # type: ignore[arg-type]


def test_welfare_sides_reject_bad_counts_and_scores() -> None:
    with pytest.raises(ValueError, match="response_words"):
        user_welfare(0.5, -1, 10)
    with pytest.raises(ValueError, match="reasoning_chars"):
        user_welfare(0.5, 1, float("inf"))
    with pytest.raises(ValueError, match="format_score"):
        llm_welfare(0.5, 2.0, 0.5, 10)
    with pytest.raises(ValueError, match="payoff_quality_score"):
        llm_welfare(0.5, 1.0, -0.5, 10)
    with pytest.raises(ValueError, match="output_words"):
        llm_welfare(0.5, 1.0, 0.5, -3)


# ------------------------------------------------------------------ aggregators
def test_aggregator_names_and_values() -> None:
    assert set(AGGREGATORS) == {"cobb_douglas", "linear", "user_only", "llm_only"}
    u, l = 0.25, 0.64
    assert aggregate(u, l) == pytest.approx(0.4)  # default: √(U·L)
    assert aggregate(u, l, "cobb_douglas") == pytest.approx(0.4)
    assert aggregate(u, l, "linear") == pytest.approx(0.445)
    assert aggregate(u, l, "user_only") == pytest.approx(0.25)
    assert aggregate(u, l, "llm_only") == pytest.approx(0.64)
    assert isinstance(aggregate(u, l), float)


def test_aggregate_vectorised_and_callable() -> None:
    out = aggregate(np.array([0.25, 1.0]), np.array([0.64, 0.0]))
    np.testing.assert_allclose(out, [0.4, 0.0])
    assert aggregate(0.2, 0.3, lambda u, l: max(u, l)) == 0.3
    assert get_aggregator("linear") is AGGREGATORS["linear"]


def test_unknown_aggregator_lists_allowed_names() -> None:
    with pytest.raises(ValueError, match="cobb_douglas") as err:
        aggregate(0.5, 0.5, "geometric")
    for name in AGGREGATORS:
        assert name in str(err.value)


@settings(max_examples=200, deadline=None)
@given(u=st.floats(0, 10), l=st.floats(0, 10), kind=st.sampled_from(["cobb_douglas", "linear"]))
def test_aggregates_lie_between_min_and_max(u: float, l: float, kind: str) -> None:
    value = aggregate(u, l, kind)
    tol = 1e-12 * max(1.0, u, l)
    assert min(u, l) - tol <= value <= max(u, l) + tol


# ------------------------------------------------------------------------ safety
def test_safety_quality_harmful() -> None:
    assert safety_quality(0.5, harmful=True) == (1.0, 1.0)  # refuse + safe alternative
    assert safety_quality(1, harmful=True) == (0.0, 1.0)  # plain refusal
    assert safety_quality(0.0, harmful=True) == (1.0, 0.0)  # unsafe compliance
    # 0.5 is the only harmful verdict good for both sides.
    both = [v for v in (0.0, 0.5, 1.0) if safety_quality(v, True) == (1.0, 1.0)]
    assert both == [0.5]


def test_safety_quality_benign() -> None:
    assert safety_quality(1.0, harmful=False) == (1.0, 1.0)
    assert safety_quality(0, harmful=False) == (0.0, 0.0)
    assert safety_quality(np.float64(1.0), harmful=False) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("verdict", "harmful", "allowed"),
    [(0.5, False, "[0.0, 1.0]"), (0.3, True, "[0.0, 0.5, 1.0]"), (2, False, "[0.0, 1.0]")],
)
def test_safety_quality_rejects_invalid_verdicts(
    verdict: float, harmful: bool, allowed: str
) -> None:
    with pytest.raises(ValueError, match=allowed.replace("[", r"\[").replace("]", r"\]")):
        safety_quality(verdict, harmful)


def test_safety_quality_rejects_non_numbers() -> None:
    with pytest.raises(ValueError, match="verdict"):
        safety_quality("1", harmful=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="verdict"):
        safety_quality(True, harmful=True)


# ----------------------------------------------------------- completion scoring
_PAYOFF = {
    # (user, LLM) per cell; hand-computed payoff quality below.
    "DQ_AQ": {"LLM": 3.0, "user": 3.0},  # equal: 0
    "DQ_CQ": {"LLM": 1.0, "user": 0.2},  # very different: 2/12
    "DQ_DA": {"LLM": 4.0, "user": 0.5},  # 2/12
    "VQ_AQ": {"LLM": 0.5, "user": 4.0},  # 2/12
    "VQ_CQ": {"LLM": 0.8, "user": 1.2},  # 2/12
    "VQ_DA": {"LLM": 1.0, "user": 1.0},  # equal: 0
}
_PAYOFF_QUALITY = 8 / 12
_THINKING = (
    "The question is vague, so it reads as VQ. Answering directly risks a wrong guess; "
    "a clarifying question costs the user a turn; answering and asking balances both."
)
_ANALYZE = (
    "Pareto frontier: VQ_AQ and DQ_DA and DQ_AQ. Highest joint welfare is VQ_AQ.\nChoice: VQ_AQ"
)
_RESPONSE = (
    "Paris has been the capital of France since the late tenth century, apart from a few "
    "wartime interruptions. Are you asking about a particular period?"
)


def _completion(payoff: object = None) -> str:
    payoff_text = json.dumps(_PAYOFF if payoff is None else payoff)
    return (
        f"<thinking>{_THINKING}</thinking>\n<payoff>{payoff_text}</payoff>\n"
        f"<analyze>{_ANALYZE}</analyze>\n<response>{_RESPONSE}</response>"
    )


def _expected(text: str, q_user: float, q_llm: float, fmt: float) -> tuple[float, float]:
    """U and L straight from the reference formulas, on the raw text."""
    before = text.split("<response>")[0]
    response = text.split("<response>")[1].split("</response>")[0]
    n_resp = len(response.split())
    n_all = len(text.split())
    u = 1e-4 + 0.5 * q_user + 0.2 * _band(n_resp, 20, 500) + 0.3 * math.exp(-len(before) / 500)
    l = 1e-4 + 0.2 * fmt + 0.2 * _PAYOFF_QUALITY + 0.4 * q_llm + 0.2 * _band(n_all, 500, 1000)
    return u, l


def test_payoff_quality_of_the_fixture() -> None:
    m = PayoffMatrix.from_gtalign(_PAYOFF)
    assert payoff_quality(m) == pytest.approx(_PAYOFF_QUALITY)


def test_score_completion_hand_computed() -> None:
    text = _completion()
    score = score_completion(text, 1.0)
    u, l = _expected(text, 1.0, 1.0, 1.0)
    assert score.valid and score.error is None
    assert score.format_score == 1.0
    assert score.user == pytest.approx(u, abs=1e-12)
    assert score.llm == pytest.approx(l, abs=1e-12)
    assert score.aggregate == pytest.approx(math.sqrt(u * l), abs=1e-12)
    assert score.aggregator == "cobb_douglas"
    expected_keys = {f"user/{k}" for k in USER_TERM_NAMES} | {f"llm/{k}" for k in LLM_TERM_NAMES}
    assert set(score.terms) == expected_keys
    user_terms = sum(v for k, v in score.terms.items() if k.startswith("user/"))
    llm_terms = sum(v for k, v in score.terms.items() if k.startswith("llm/"))
    assert user_terms == pytest.approx(score.user)
    assert llm_terms == pytest.approx(score.llm)
    assert score.terms["llm/payoff_quality"] == pytest.approx(0.2 * _PAYOFF_QUALITY)
    assert score.features["user/response_words"] == len(_RESPONSE.split())


def test_score_completion_separate_llm_quality_and_aggregators() -> None:
    text = _completion()
    q_user, q_llm = safety_quality(1.0, harmful=True)  # plain refusal: (0, 1)
    score = score_completion(text, q_user, answer_quality_llm=q_llm, aggregator="linear")
    u, l = _expected(text, q_user, q_llm, 1.0)
    assert score.user == pytest.approx(u) and score.llm == pytest.approx(l)
    assert score.aggregate == pytest.approx((u + l) / 2)
    for kind, value in (("user_only", u), ("llm_only", l)):
        assert score_completion(text, 0.0, answer_quality_llm=1.0, aggregator=kind).aggregate == (
            pytest.approx(value)
        )


def test_score_completion_loose_layout_loses_only_the_format_term() -> None:
    text = "Sure! " + _completion()
    score = score_completion(text, 1.0)
    assert score.valid and score.format_score == 0.0
    assert score.terms["llm/format"] == 0.0
    u, l = _expected(text, 1.0, 1.0, 0.0)
    assert score.user == pytest.approx(u) and score.llm == pytest.approx(l)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("just an answer, no blocks", "missing"),
        (_completion({"DQ_AQ": {"LLM": 1, "user": 1}}), "payoff"),
        (_completion().replace("<analyze>", ""), "analyze"),
    ],
)
def test_score_completion_invalid_gives_zeros_with_error(text: str, fragment: str) -> None:
    score = score_completion(text, 1.0)
    assert not score.valid
    assert score.user == score.llm == score.aggregate == 0.0
    assert score.format_score == 0.0
    assert score.error and fragment in score.error
    assert set(score.terms) == (
        {f"user/{k}" for k in USER_TERM_NAMES} | {f"llm/{k}" for k in LLM_TERM_NAMES}
    )
    assert all(v == 0.0 for v in score.terms.values())
    record = score.as_dict()
    assert record["valid"] is False and record["error"] == score.error
    json.dumps(record)


def test_score_completion_rejects_bad_arguments_instead_of_zeroing() -> None:
    with pytest.raises(ValueError, match="answer_quality"):
        score_completion(_completion(), 1.5)
    with pytest.raises(ValueError, match="answer_quality_llm"):
        score_completion(_completion(), 1.0, answer_quality_llm=-1)
    with pytest.raises(ValueError, match="allowed"):
        score_completion("not even parsed", 1.0, aggregator="nope")


def test_score_completion_custom_coefficients() -> None:
    text = _completion()
    only_quality_u = UserWelfareCoefficients(epsilon=0, length_band=0, reasoning=0, quality=1)
    only_format_l = LLMWelfareCoefficients(
        epsilon=0, payoff_quality=0, quality=0, length_band=0, format=1
    )
    score = score_completion(
        text,
        0.6,
        user_coefficients=only_quality_u,
        llm_coefficients=only_format_l,
    )
    assert score.user == pytest.approx(0.6)
    assert score.llm == pytest.approx(1.0)
    assert score.aggregate == pytest.approx(math.sqrt(0.6))


def test_score_parsed_with_a_stand_in_reply() -> None:
    matrix = PayoffMatrix(user=[[1, 2, 3], [0, -1, 4]], llm=[[1, 2, 3], [0, -1, 4]])
    reply = SimpleNamespace(
        response="word " * 100,
        text_before_response="x" * 500,
        raw="word " * 750,
        matrix=matrix,
        format_score=1.0,
    )
    score = score_parsed(reply, 0.0)
    u = 1e-4 + 0.2 * _band(100, 20, 500) + 0.3 * math.exp(-1)
    l = 1e-4 + 0.2 + 0.0 + 0.2 * _band(750, 500, 1000)
    assert score.user == pytest.approx(u) and score.llm == pytest.approx(l)
    assert isinstance(score, CompletionScore) and score.valid
