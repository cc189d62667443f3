"""Unit checks of each rule in gtalign_sim.core.rules (the gaps mutation testing found:
docs/testing.md). Values are worked by hand from the documented formulas."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gtalign_sim.core import ReplyKind, StopCode, WorldConfig, rules

W = WorldConfig()
RATES = W.rates("per_token_api")
BASE = {
    "reading_cost": 0.02,
    "money_value": 40.0,
    "band_lo": 20.0,
    "band_hi": 150.0,
    "misfit_cost": 0.08,
    "satisfaction": 0.75,
    "patience": 3,
}


def _ledger(**kw):
    led = rules.Ledger.start(False, False, 0.15, 20)
    return dataclasses.replace(led, **{k: np.asarray(v) for k, v in kw.items()})


def _turn(led, *, mode=0, words=50, q_user=0.0, q_llm=0.0, judged_length=True, **kw):
    args = {**BASE, **kw}
    return rules.account_turn(
        led,
        mode=mode,
        prompt=100,
        completion=200,
        visible=50,
        words=words,
        q_user=q_user,
        q_llm=q_llm,
        rates=RATES,
        world=W,
        judged_length=judged_length,
        **args,
    )


def test_reply_decision_gain_and_cost():
    led = _ledger(turns=1, q_user=0.2, ctx=100)
    gain, cost = rules.reply_decision(
        led,
        int(ReplyKind.FOLLOWUP),
        p_standard=0.85,
        answer_tokens=120,
        reply_tokens=10,
        effort_answer=0.08,
        time_cost=0.08,
        reading_cost=0.02,
        money_value=40.0,
        rates=RATES,
        world=W,
    )
    assert float(gain) == pytest.approx(0.85 * 0.85 - 0.2)  # discount**1 * p - best
    prompt, completion = 60 + 100 + 10, 120 + 150
    money = 40.0 * (2.5e-6 * prompt + 10e-6 * completion)
    expected = 0.08 * 0.5 + 0.08 + money + 0.02 * 120 / 100 + 0.15 * 0.25
    assert float(cost) == pytest.approx(expected)
    assert float(gain) == pytest.approx(0.5225)
    assert float(cost) == pytest.approx(0.3065)


def test_reply_kind_table():
    got = rules.reply_kind([0, 1, 2, 0, 1, 2], [False, False, False, True, True, True])
    assert got.tolist() == [3, 0, 2, 4, 1, 4]


def test_reply_effort_and_account_reply():
    got = rules.reply_effort([0, 1, 2, 3, 4], 0.08, W)
    assert got.tolist() == pytest.approx([0.08, 0.13, 0.04, 0.08, 0.08])
    led = rules.account_reply(
        _ledger(),
        int(ReplyKind.FOLLOWUP),
        effort_answer=0.08,
        time_cost=0.05,
        reply_tokens=7,
        world=W,
    )
    assert float(led.effort) == pytest.approx(0.04)
    assert float(led.time) == pytest.approx(0.05)
    assert float(led.ctx) == 27.0
    assert led.known.dtype == bool and bool(led.known)


def test_length_misfit_band_edges():
    got = rules.length_misfit(
        [200, 0, 1.5, 20, 150], [20, 1, 0, 20, 20], [150, 150, 1, 150, 150], 1.0
    )
    assert got.tolist() == pytest.approx([50 / 150, 1.0, 0.5, 0.0, 0.0])


def test_account_turn_length_cost_only_when_judged():
    short, _ = _turn(_ledger(), words=5)
    assert float(short.misfit) == pytest.approx(0.08 * 15 / 20)
    off, _ = _turn(_ledger(), words=5, judged_length=False)
    assert float(off.misfit) == 0.0
    long, _ = _turn(_ledger(), words=200)
    assert float(long.misfit) == pytest.approx(0.08 / 3)
    cq, _ = _turn(_ledger(), mode=1, words=5)
    assert float(cq.misfit) == 0.0


def test_account_turn_keeps_the_best_discounted_answer():
    led, _ = _turn(_ledger(), q_user=0.0, q_llm=1.0)
    led, _ = _turn(led, q_user=0.0, q_llm=0.0)
    assert float(led.q_llm) == 1.0
    led, _ = _turn(_ledger(), q_user=1.0, q_llm=0.0)
    led, _ = _turn(led, q_user=0.0, q_llm=1.0)
    assert (float(led.q_user), float(led.q_llm)) == (1.0, 0.0)
    led, _ = _turn(_ledger(turns=1), q_user=0.8, q_llm=0.5)
    assert (float(led.q_user), float(led.q_llm)) == pytest.approx((0.68, 0.425))


def test_account_turn_thresholds_are_inclusive():
    led, code = _turn(_ledger(), q_user=0.5, q_llm=0.5)
    assert (float(led.wrong), float(led.errors)) == (0.0, 0.0)
    assert int(code) == int(StopCode.CONTINUE)
    led, code = _turn(_ledger(), q_user=0.49, q_llm=0.49)
    assert (float(led.wrong), float(led.errors)) == (1.0, 1.0)
    _, code = _turn(_ledger(), q_user=0.75, q_llm=0.75)
    assert int(code) == int(StopCode.SATISFIED)


def test_level_is_clipped_and_offset():
    assert rules.level([2.0, -2.0, 0.0, 0.5]).tolist() == [1.0, 0.0, 0.5, 0.75]


@pytest.mark.parametrize("which", range(4))
def test_ledger_start_broadcasts_every_argument(which):
    args = [False, False, 0.15, 20]
    args[which] = np.array([args[which], args[which]])
    led = rules.Ledger.start(*args)
    for f in dataclasses.fields(led):
        assert getattr(led, f.name).shape == (2,), f.name
    assert led.known.dtype == bool
    assert led.effort.dtype == float
