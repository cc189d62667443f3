"""The rules of the clarification game, written once as pure vectorised numpy functions.

Three callers use them: the environment and the simulated users (one episode: 0-d
arrays), the planner (every branch of the game tree at once: arrays over paths), and
the users' own choice model (rows of hypotheses). Nothing here samples: a caller that
simulates draws the outcomes, a caller that plans weighs them by probability.

One assistant turn, in order (``docs/model.md`` has the rationale of each):

1. :func:`account_turn` — the turn is billed (prompt = system prompt + visible
   conversation; completion = visible + hidden reasoning tokens), read (reading cost of
   the visible tokens), and, if it answers, judged: quality arrives discounted by
   ``discount ** k`` at assistant turn ``k`` (0-based) and the best one counts; a wrong
   answer costs the user ``wrong_answer_cost`` and the provider an error; an answer far
   from the preferred length costs misfit. Then the stop rules: satisfied, out of
   patience, or at the horizon (:class:`~gtalign_sim.core.vocab.StopCode`).
2. :func:`reply_kind` and :func:`reply_decision` — otherwise the user weighs one more
   round: the expected gain in discounted quality against the reply's effort, time,
   and the next round's expected money, reading and wrong-answer risk.
3. :func:`account_reply` — a reply costs effort and time and states the intent.

At the end :func:`user_gain` and :func:`provider_gain` give the episode's welfare as
gains over the disagreement point (no interaction: no answer, no cost, no money).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..welfare.terms import logistic_band
from .vocab import Mode, ReplyKind, StopCode
from .world import PriceRates, WorldConfig

__all__ = [
    "LEDGER_FIELDS",
    "LENGTH_BAND",
    "LEVEL_OFFSET",
    "LLM_TERMS",
    "USER_TERMS",
    "WORDS_PER_TOKEN",
    "Ledger",
    "account_reply",
    "account_turn",
    "length_misfit",
    "length_taste",
    "level",
    "mutual",
    "price_rates",
    "provider_gain",
    "reply_decision",
    "reply_effort",
    "reply_kind",
    "retention",
    "user_gain",
    "user_gain_value",
]

LEVEL_OFFSET = 1.0
"""Levels map gains onto [0, 1]: ``level = clip((gain + 1) / 2, 0, 1)``; the
disagreement point (gain 0) is level 0.5."""

USER_TERMS: tuple[str, ...] = (
    "quality",
    "effort",
    "time",
    "reading",
    "money",
    "misfit",
    "wrong",
)
"""The additive terms of the user's gain ``U`` (costs negative)."""

LLM_TERMS: tuple[str, ...] = (
    "quality",
    "errors",
    "revenue",
    "compute",
    "format",
    "retention",
    "length",
)
"""The additive terms of the provider's gain ``L``."""

WORDS_PER_TOKEN = 0.75
"""Words per billed token, to read the assistant's output length in words (English
prose runs about 1.3 tokens per word, :mod:`gtalign_sim.welfare.tokens`)."""

LENGTH_BAND: tuple[float, float, float] = (500.0, 1000.0, 0.005)
"""``(lo, hi, k)`` of the reference L's length band ``logistic_band(words; 500, 1000,
0.005)`` over the whole output (docs/model.md, the provider's taste for length)."""

_CQ = list(Mode).index(Mode.CQ)
_AQ = list(Mode).index(Mode.AQ)


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


@dataclass
class Ledger:
    """What an episode has accumulated so far, as parallel arrays (any common shape).

    User side (welfare units): ``effort``, ``time``, ``reading``, ``money``, ``misfit``,
    ``wrong`` (count of wrong answers received); ``q_user``/``q_llm`` the best
    discounted answer quality for each side. Provider side: ``revenue`` and ``compute``
    in dollars, ``errors`` (wrong answers delivered). ``known``: the intent has been
    stated; ``ctx``: visible tokens of the conversation; ``turns``: assistant turns;
    ``written``: the assistant's billed completion tokens (hidden reasoning included),
    summed over its turns.
    """

    effort: np.ndarray
    time: np.ndarray
    reading: np.ndarray
    money: np.ndarray
    misfit: np.ndarray
    wrong: np.ndarray
    q_user: np.ndarray
    q_llm: np.ndarray
    revenue: np.ndarray
    compute: np.ndarray
    errors: np.ndarray
    known: np.ndarray
    ctx: np.ndarray
    turns: np.ndarray
    written: np.ndarray

    @classmethod
    def start(cls, detailed: Any, known: Any, effort_detail: Any, question_tokens: Any) -> Ledger:
        """The ledger after the opening question (DQ costs ``effort_detail``)."""
        detailed = np.asarray(detailed, dtype=bool)
        shape = np.broadcast(detailed, _f(known), _f(effort_detail), _f(question_tokens)).shape
        zero = np.zeros(shape)
        return cls(
            effort=np.broadcast_to(np.where(detailed, effort_detail, 0.0), shape).astype(float),
            time=zero.copy(),
            reading=zero.copy(),
            money=zero.copy(),
            misfit=zero.copy(),
            wrong=zero.copy(),
            q_user=zero.copy(),
            q_llm=zero.copy(),
            revenue=zero.copy(),
            compute=zero.copy(),
            errors=zero.copy(),
            known=np.broadcast_to(np.asarray(known, dtype=bool), shape).copy(),
            ctx=np.broadcast_to(_f(question_tokens), shape).copy(),
            turns=zero.copy(),
            written=zero.copy(),
        )

    def map(self, fn: Any) -> Ledger:
        """A ledger with ``fn`` applied to every field."""
        return Ledger(*[fn(getattr(self, name)) for name in LEDGER_FIELDS])

    @classmethod
    def concat(cls, ledgers: list[Ledger]) -> Ledger:
        """The 1-d ledgers one after the other (field by field)."""
        return cls(
            *[np.concatenate([getattr(led, name) for led in ledgers]) for name in LEDGER_FIELDS]
        )

    def scalars(self) -> dict[str, float]:
        """Every field as a float (for 0-d ledgers, e.g. one episode)."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}


LEDGER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Ledger))
"""The :class:`Ledger` field names, in order."""


def _discount(world: WorldConfig, turns: Any) -> np.ndarray:
    """``world.discount ** turns`` elementwise (one power for a constant array, as the
    paths of one tree level are; the same numbers)."""
    turns = np.asarray(turns)
    if turns.size > 8:
        first = turns.flat[0]
        if (turns == first).all():
            return np.full(turns.shape, np.power(world.discount, first))
    return np.power(world.discount, turns)


def length_misfit(words: Any, lo: Any, hi: Any, weight: Any) -> np.ndarray:
    """Cost of an answer of ``words`` words for a user preferring ``[lo, hi]`` words.

    0 inside the band; outside, ``weight`` times the relative distance to the band,
    capped at ``weight``.
    """
    words, lo, hi = _f(words), _f(lo), _f(hi)
    below = np.where(words < lo, (lo - words) / np.maximum(lo, 1.0), 0.0)
    above = np.where(words > hi, (words - hi) / np.maximum(hi, 1.0), 0.0)
    return _f(weight) * np.minimum(below + above, 1.0)


def account_turn(
    led: Ledger,
    *,
    mode: Any,
    prompt: Any,
    completion: Any,
    visible: Any,
    words: Any,
    q_user: Any,
    q_llm: Any,
    reading_cost: Any,
    money_value: Any,
    band_lo: Any,
    band_hi: Any,
    misfit_cost: Any,
    satisfaction: Any,
    patience: Any,
    rates: PriceRates,
    world: WorldConfig,
    judged_length: bool = True,
) -> tuple[Ledger, np.ndarray]:
    """Account one assistant turn; returns the new ledger and the stop code so far.

    ``mode`` is the mode index (0 DA, 1 CQ, 2 AQ); ``prompt``/``completion`` the billed
    tokens (``completion`` also adds to ``written``); ``visible``/``words`` what the user
    reads; ``q_user``/``q_llm`` the judge's scores of the turn against the true intent
    (ignored for CQ). ``judged_length=False`` (writing tasks, where length is a judged
    constraint) skips the misfit cost. The stop code is SATISFIED, PATIENCE_EXHAUSTED,
    MAX_TURNS or CONTINUE (the user still has to decide whether to reply:
    :func:`reply_decision`).
    """
    mode = np.asarray(mode)
    answered = mode != _CQ
    k = led.turns
    disc = _discount(world, k)
    qd_u = disc * _f(q_user)
    qd_l = disc * _f(q_llm)
    better = answered & ((qd_u > led.q_user) | ((qd_u == led.q_user) & (qd_l > led.q_llm)))
    prompt, completion, visible = _f(prompt), _f(completion), _f(visible)
    user_usd = rates.user_in * prompt + rates.user_out * completion
    misfit = length_misfit(words, band_lo, band_hi, misfit_cost) if judged_length else 0.0
    new = Ledger(
        effort=led.effort,
        time=led.time,
        reading=led.reading + _f(reading_cost) * visible / 100.0,
        money=led.money + _f(money_value) * user_usd,
        misfit=led.misfit + np.where(answered, misfit, 0.0),
        wrong=led.wrong + (answered & (_f(q_user) < 0.5)),
        q_user=np.where(better, qd_u, led.q_user),
        q_llm=np.where(better, qd_l, led.q_llm),
        revenue=led.revenue + rates.revenue_in * prompt + rates.revenue_out * completion,
        compute=led.compute + rates.compute_in * prompt + rates.compute_out * completion,
        errors=led.errors + (answered & (_f(q_llm) < 0.5)),
        known=led.known,
        ctx=led.ctx + visible,
        turns=k + 1,
        written=led.written + completion,
    )
    turns = new.turns
    code = np.where(
        answered & (_f(q_user) >= _f(satisfaction)),
        int(StopCode.SATISFIED),
        np.where(
            turns >= _f(patience),
            int(StopCode.PATIENCE_EXHAUSTED),
            np.where(turns >= world.max_turns, int(StopCode.MAX_TURNS), int(StopCode.CONTINUE)),
        ),
    )
    return new, code


def reply_kind(mode: Any, known: Any) -> np.ndarray:
    """The kind of the user's reply to a turn of ``mode`` (:class:`ReplyKind` codes)."""
    mode, known = np.asarray(mode), np.asarray(known, dtype=bool)
    return np.where(
        mode == _CQ,
        np.where(known, int(ReplyKind.REDUNDANT), int(ReplyKind.CLARIFY)),
        np.where(
            known,
            int(ReplyKind.RETRY),
            np.where(mode == _AQ, int(ReplyKind.FOLLOWUP), int(ReplyKind.CORRECT_INTENT)),
        ),
    )


def reply_effort(kind: Any, effort_answer: Any, world: WorldConfig) -> np.ndarray:
    """The effort of writing a reply of ``kind`` (time is counted separately)."""
    kind = np.asarray(kind)
    effort = _f(effort_answer) * np.where(kind == int(ReplyKind.FOLLOWUP), world.followup_effort, 1)
    return effort + np.where(kind == int(ReplyKind.REDUNDANT), world.redundant_question_cost, 0.0)


def reply_decision(
    led: Ledger,
    kind: Any,
    *,
    p_standard: Any,
    answer_tokens: Any,
    reply_tokens: Any,
    effort_answer: Any,
    time_cost: Any,
    reading_cost: Any,
    money_value: Any,
    rates: PriceRates,
    world: WorldConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """``(expected gain, cost)`` of one more round, as the user sees it.

    The user expects a standard answer next, correct with ``p_standard``: the gain is
    ``max(discount**turns · p_standard − best discounted quality so far, 0)``; the cost
    is the reply's effort and time plus the next round's money (billed prompt: system +
    conversation + the reply; completion: ``answer_tokens`` + reasoning), its reading,
    and the expected wrong-answer cost ``(1 − p_standard) · wrong_answer_cost``. The
    default user replies when gain > cost.
    """
    p = _f(p_standard)
    gain = np.maximum(_discount(world, led.turns) * p - led.q_user, 0.0)
    prompt = world.system_tokens + led.ctx + _f(reply_tokens)
    completion = _f(answer_tokens) + world.reasoning_tokens
    money = _f(money_value) * (rates.user_in * prompt + rates.user_out * completion)
    cost = (
        reply_effort(kind, effort_answer, world)
        + _f(time_cost)
        + money
        + _f(reading_cost) * _f(answer_tokens) / 100.0
        + (1.0 - p) * world.wrong_answer_cost
    )
    return gain, cost


def account_reply(
    led: Ledger,
    kind: Any,
    *,
    effort_answer: Any,
    time_cost: Any,
    reply_tokens: Any,
    world: WorldConfig,
) -> Ledger:
    """Account the user's reply: effort and time paid, intent stated, context grows."""
    return dataclasses.replace(
        led,
        effort=led.effort + reply_effort(kind, effort_answer, world),
        time=led.time + _f(time_cost),
        known=np.ones_like(led.known, dtype=bool),
        ctx=led.ctx + _f(reply_tokens),
    )


_RATES: dict[tuple[str, tuple[tuple[str, Any], ...]], PriceRates] = {}


def price_rates(world: WorldConfig, plan: str) -> PriceRates:
    """``world.rates(plan)``, memoised on the plan's name and parameters (the rates are
    a pure function of them; a changed parameter is a new entry)."""
    params = world.pricing.get(plan) if isinstance(plan, str) else None
    try:
        key = (plan, tuple(sorted(params.items())))
        hit = _RATES.get(key)
    except (AttributeError, TypeError):  # no parameters, or unhashable ones
        return world.rates(plan)
    if hit is None:
        if len(_RATES) > 64:
            _RATES.clear()
        hit = _RATES[key] = world.rates(plan)
    return hit


def retention(u: Any, world: WorldConfig) -> np.ndarray:
    """The probability that the user comes back after an episode with user gain ``u``."""
    return np.clip(world.retention_base + world.retention_slope * _f(u), 0.0, 1.0)


def user_gain(led: Ledger, world: WorldConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The user's gain ``U`` over the disagreement point and its terms (they sum to it)."""
    terms = {
        "quality": _f(led.q_user),
        "effort": -_f(led.effort),
        "time": -_f(led.time),
        "reading": -_f(led.reading),
        "money": -_f(led.money),
        "misfit": -_f(led.misfit),
        "wrong": -world.wrong_answer_cost * _f(led.wrong),
    }
    return user_gain_value(led, world), terms


def user_gain_value(led: Ledger, world: WorldConfig) -> np.ndarray:
    """:func:`user_gain` without its terms: the terms summed in their order from 0,
    each cost subtracted (``x - c`` is exactly ``x + (-c)``)."""
    u = 0 + _f(led.q_user)
    for cost in (led.effort, led.time, led.reading, led.money, led.misfit):
        u = u - _f(cost)
    return u - world.wrong_answer_cost * _f(led.wrong)


def length_taste(written: Any) -> np.ndarray:
    """The reference L's length band over ``written`` billed output tokens, as a gain
    over writing nothing: ``band(w) − band(0)`` with ``w = WORDS_PER_TOKEN · written``
    and ``band = logistic_band(·; *LENGTH_BAND)``. 0 at 0 tokens, about +0.53 at 750
    words, negative beyond about 1,500 words."""
    lo, hi, k = LENGTH_BAND
    words = WORDS_PER_TOKEN * _f(written)
    return _f(logistic_band(words, lo, hi, k)) - float(logistic_band(0.0, lo, hi, k))


def provider_gain(
    led: Ledger, u: Any, world: WorldConfig, format_score: Any = 1.0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The provider's gain ``L`` over the disagreement point and its terms.

    ``L = s·Q_llm − E·errors + m·(revenue − compute) − f·(1 − format)
    + V·(retention(U) − retention(0)) + λ·length_taste(written)``; money is valued at
    ``provider_money_value``, ``λ`` is ``provider_length_value``. With ``λ = 0`` the
    length term is exactly 0 (and L bitwise the same as without it).
    """
    lam = world.provider_length_value
    m = world.provider_money_value
    terms = {
        "quality": world.provider_success * _f(led.q_llm),
        "errors": -world.provider_error_cost * _f(led.errors),
        "revenue": m * _f(led.revenue),
        "compute": -m * _f(led.compute),
        "format": -world.provider_format * (1.0 - _f(format_score)),
        "retention": world.retention_value * (retention(u, world) - retention(0.0, world)),
        "length": lam * length_taste(led.written) if lam else np.zeros(np.shape(led.written)),
    }
    return sum(terms.values()), terms  # type: ignore[return-value]


def mutual(u: Any, l: Any) -> np.ndarray:
    """Cobb–Douglas mutual welfare on gains: ``√(max(U, 0) · max(L, 0))``."""
    return np.sqrt(np.maximum(_f(u), 0.0) * np.maximum(_f(l), 0.0))


def level(gain: Any) -> np.ndarray:
    """A gain mapped onto [0, 1] (see :data:`LEVEL_OFFSET`)."""
    return np.clip((_f(gain) + LEVEL_OFFSET) / (2 * LEVEL_OFFSET), 0.0, 1.0)
