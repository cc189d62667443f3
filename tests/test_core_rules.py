"""Game v1's rules (``gtalign_sim.core.rules``) pinned end to end.

* golden episodes: exact U, L, every welfare term, the ledger, turns and stop reason of
  four fixed episodes, one of them recomputed here from the documented formulas;
* the horizon (truncation) versus patience (termination);
* the assistant's reward under each ``assistant_reward``;
* the planner (``gtalign_sim.core.expect``) against the environment, exactly: the
  correctness outcomes are enumerated, so per cell the planner's expectation must equal
  the environment's probability-weighted mean to 1e-9 (and, by sampling, within 3 SE);
* the oracle: it picks the planner's best action, and no built-in assistant beats it;
* ``WorldConfig`` validation.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from importlib import resources

import numpy as np
import pytest
import yaml

from gtalign_sim.agents import Decision, FixedAssistant, build_assistant, past_actions
from gtalign_sim.core import (
    N_ACTIONS,
    Planner,
    Rows,
    WorldConfig,
    decode_action,
    encode_action,
    rules,
)
from gtalign_sim.core.world import REMOVED_WORLD_KEYS
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import TaskTables, UserProfile

DA0, DA1, DA2 = (encode_action("DA", v) for v in range(3))
CQ0, CQ1, CQ2 = (encode_action("CQ", v) for v in range(3))
AQ0, AQ1, AQ2 = (encode_action("AQ", v) for v in range(3))

MATH, QA, WRITING, SAFETY = "math-0000", "ambiguous_qa-0000", "writing-0001", "safety-0000"
"""One ambiguous task per family in ``TaskBank.build(per_family=20, seed=0)``: math
(default reading ``speed=14``), ambiguous_qa (default ``the-1976-cover``), writing
(default ``...-children-...``), safety (default ``benign-your-own-lost-phone``)."""

HARMFUL = "harmful-a-partner-s-phone-without-telling-them"


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=20, seed=0)


@pytest.fixture(scope="module")
def env(bank):
    return ClarificationGameEnv(tasks=bank)


def play(env, task, profile, strategy, seed, actions):
    """Reset with everything fixed, take exactly ``actions``; the episode must end then."""
    env.reset(seed=seed, options={"task": task, "profile": profile, "strategy": strategy})
    for a in actions:
        assert not env.episode, "the episode ended before the action sequence did"
        env.step(a)
    assert env.episode, "the episode did not end after the action sequence"
    return env.episode


# ---------------------------------------------------------------------- 1. golden episodes
GOLDEN = {
    # DQ, answered correctly at once: satisfied after one turn (u[0] = 0.653 < 0.95)
    "dq_satisfied": (
        MATH,
        UserProfile(intent="speed=14", pricing="per_token_api"),
        "DQ",
        0,
        [DA1],
    ),
    # VQ: the default reading (speed=14) is wrong -> the user corrects -> right answer
    "vq_correction": (
        MATH,
        UserProfile(intent="speed=18", pricing="per_token_api", patience=3),
        "VQ",
        1,
        [DA1, DA1],
    ),
    # a clarifying question first, then an elaborate answer (subscription: no user money)
    "cq_first": (
        QA,
        UserProfile(intent="the-1973-original", pricing="subscription", patience=3),
        "VQ",
        2,
        [CQ0, DA2],
    ),
    # CQ, the harmful intent is stated, a plain refusal (q_user 0, q_llm 1): another round
    # is not worth its cost to this user -> gave_up
    "gave_up": (
        SAFETY,
        UserProfile(
            intent=HARMFUL,
            pricing="subscription",
            patience=3,
            effort_answer=0.3,
            time_cost=0.15,
        ),
        "VQ",
        4,
        [CQ1, DA1],
    ),
}

GOLDEN_EXPECTED = {
    "dq_satisfied": {
        "U": 0.762,
        "L": 0.446792,
        "turns": 1,
        "stop_reason": "satisfied",
        "tokens": [22, 33],
        "user_terms": {
            "quality": 1.0,
            "effort": -0.15,
            "time": 0.0,
            "reading": -0.0066,
            "money": -0.0814,
            "misfit": 0.0,
            "wrong": 0.0,
        },
        "llm_terms": {
            "quality": 0.3,
            "errors": 0.0,
            "revenue": 0.0814,
            "compute": -0.026048,
            "format": 0.0,
            "retention": 0.09144,
            "length": 0.0,
        },
        "ledger": {
            "effort": 0.15,
            "time": 0.0,
            "reading": 0.0066,
            "money": 0.0814,
            "misfit": 0.0,
            "wrong": 0.0,
            "q_user": 1.0,
            "q_llm": 1.0,
            "revenue": 0.002035,
            "compute": 0.0006512,
            "errors": 0.0,
            "known": 1.0,
            "ctx": 55.0,
            "turns": 1.0,
            "written": 183.0,
        },
    },
    "vq_correction": {
        "U": 0.2603,
        "L": 0.299456,
        "turns": 2,
        "stop_reason": "satisfied",
        "tokens": [15, 33, 18, 33],
        "user_terms": {
            "quality": 0.85,
            "effort": -0.08,
            "time": -0.08,
            "reading": -0.0132,
            "money": -0.1665,
            "misfit": 0.0,
            "wrong": -0.25,
        },
        "llm_terms": {
            "quality": 0.255,
            "errors": -0.1,
            "revenue": 0.1665,
            "compute": -0.05328,
            "format": 0.0,
            "retention": 0.031236,
            "length": 0.0,
        },
        "ledger": {
            "effort": 0.08,
            "time": 0.08,
            "reading": 0.0132,
            "money": 0.1665,
            "misfit": 0.0,
            "wrong": 1.0,
            "q_user": 0.85,
            "q_llm": 0.85,
            "revenue": 0.0041625,
            "compute": 0.001332,
            "errors": 1.0,
            "known": 1.0,
            "ctx": 99.0,
            "turns": 2.0,
            "written": 366.0,
        },
    },
    "cq_first": {
        "U": 0.6712,
        "L": 0.27948,
        "turns": 2,
        "stop_reason": "satisfied",
        "tokens": [13, 22, 8, 72],
        "user_terms": {
            "quality": 0.85,
            "effort": -0.08,
            "time": -0.08,
            "reading": -0.0188,
            "money": 0.0,
            "misfit": 0.0,
            "wrong": 0.0,
        },
        "llm_terms": {
            "quality": 0.255,
            "errors": 0.0,
            "revenue": 0.0,
            "compute": -0.056064,
            "format": 0.0,
            "retention": 0.080544,
            "length": 0.0,
        },
        "ledger": {
            "effort": 0.08,
            "time": 0.08,
            "reading": 0.0188,
            "money": 0.0,
            "misfit": 0.0,
            "wrong": 0.0,
            "q_user": 0.85,
            "q_llm": 0.85,
            "revenue": 0.0,
            "compute": 0.0014016,
            "errors": 0.0,
            "known": 1.0,
            "ctx": 115.0,
            "turns": 2.0,
            "written": 394.0,
        },
    },
    "gave_up": {
        "U": -0.7512,
        "L": 0.116568,
        "turns": 2,
        "stop_reason": "gave_up",
        "tokens": [7, 18, 13, 18],
        "user_terms": {
            "quality": 0.0,
            "effort": -0.3,
            "time": -0.15,
            "reading": -0.0072,
            "money": 0.0,
            "misfit": -0.044,
            "wrong": -0.25,
        },
        "llm_terms": {
            "quality": 0.255,
            "errors": 0.0,
            "revenue": 0.0,
            "compute": -0.048288,
            "format": 0.0,
            "retention": -0.090144,
            "length": 0.0,
        },
        "ledger": {
            "effort": 0.3,
            "time": 0.15,
            "reading": 0.0072,
            "money": 0.0,
            "misfit": 0.044,
            "wrong": 1.0,
            "q_user": 0.0,
            "q_llm": 0.85,
            "revenue": 0.0,
            "compute": 0.0012072,
            "errors": 0.0,
            "known": 1.0,
            "ctx": 56.0,
            "turns": 2.0,
            "written": 336.0,
        },
    },
}

TOL = 1e-12


def _close(got, want):
    assert set(got) == set(want)
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=TOL), k


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_episode(env, name):
    task, profile, strategy, seed, actions = GOLDEN[name]
    want = GOLDEN_EXPECTED[name]
    rec = play(env, task, profile, strategy, seed, actions)
    assert rec["actions"] == actions
    assert rec["strategy"] == strategy
    assert rec["turns"] == want["turns"]
    assert rec["stop_reason"] == want["stop_reason"]
    assert [t["tokens"] for t in rec["transcript"]] == want["tokens"]
    assert rec["user_welfare"] == pytest.approx(want["U"], abs=TOL)
    assert rec["llm_welfare"] == pytest.approx(want["L"], abs=TOL)
    _close(rec["user_terms"], want["user_terms"])
    _close(rec["llm_terms"], want["llm_terms"])
    _close(rec["ledger"], want["ledger"])
    # the terms are the documented decomposition, in the documented order
    assert tuple(rec["user_terms"]) == rules.USER_TERMS
    assert tuple(rec["llm_terms"]) == rules.LLM_TERMS
    assert sum(rec["user_terms"].values()) == pytest.approx(rec["user_welfare"], abs=TOL)
    assert sum(rec["llm_terms"].values()) == pytest.approx(rec["llm_welfare"], abs=TOL)
    assert rec["mutual_welfare"] == pytest.approx(
        math.sqrt(max(rec["user_welfare"], 0) * max(rec["llm_welfare"], 0)), abs=TOL
    )


def test_golden_vq_correction_recomputed_from_the_formulas(env):
    """Every term of the correction episode from ``rules.py``'s docstrings, by hand."""
    task, profile, strategy, seed, actions = GOLDEN["vq_correction"]
    rec = play(env, task, profile, strategy, seed, actions)
    w = WorldConfig()
    r = w.rates("per_token_api")
    assert r.user_in == pytest.approx(2.5e-6) and r.user_out == pytest.approx(10e-6)
    assert r.compute_in == pytest.approx(0.8e-6) and r.compute_out == pytest.approx(3.2e-6)
    tr = rec["transcript"]
    assert [t["role"] for t in tr] == ["user", "assistant", "user", "assistant"]
    q, a1, reply, a2 = (t["tokens"] for t in tr)
    # the first answer assumed the default reading (14 km/h) and the user corrected it
    assert "70 km" in tr[1]["text"] and "18 km/h" in tr[2]["text"] and "90 km" in tr[3]["text"]
    # billed per turn: prompt = system prompt + visible conversation so far,
    # completion = visible answer + hidden reasoning
    prompts = [w.system_tokens + q, w.system_tokens + q + a1 + reply]
    completions = [a1 + w.reasoning_tokens, a2 + w.reasoning_tokens]
    user_usd = sum(
        r.user_in * p + r.user_out * c for p, c in zip(prompts, completions, strict=True)
    )
    revenue = sum(
        r.revenue_in * p + r.revenue_out * c for p, c in zip(prompts, completions, strict=True)
    )
    compute = sum(
        r.compute_in * p + r.compute_out * c for p, c in zip(prompts, completions, strict=True)
    )
    # both answers are 23 words, inside the (20, 150) band: no misfit
    assert all(20 <= len(t["text"].split()) <= 150 for t in tr[1::2])
    quality = w.discount**1 * 1.0  # the right answer came at assistant turn k = 1
    u_terms = {
        "quality": quality,
        "effort": -profile.effort_answer,  # a correction costs effort_answer (VQ: no detail)
        "time": -profile.time_cost,  # one round trip
        "reading": -profile.reading_cost * (a1 + a2) / 100.0,
        "money": -profile.money_value * user_usd,
        "misfit": 0.0,
        "wrong": -w.wrong_answer_cost * 1,  # one wrong answer received
    }
    u = sum(u_terms.values())

    def ret(x):  # the probability that the user comes back
        return min(max(w.retention_base + w.retention_slope * x, 0.0), 1.0)

    l_terms = {
        "quality": w.provider_success * quality,
        "errors": -w.provider_error_cost * 1,
        "revenue": w.provider_money_value * revenue,
        "compute": -w.provider_money_value * compute,
        "format": -w.provider_format * (1.0 - 1.0),  # template text: format score 1
        "retention": w.retention_value * (ret(u) - ret(0.0)),
        "length": 0.0,  # provider_length_value is 0 by default
    }
    _close(rec["user_terms"], u_terms)
    _close(rec["llm_terms"], l_terms)
    assert rec["user_welfare"] == pytest.approx(u, abs=TOL)
    assert rec["llm_welfare"] == pytest.approx(sum(l_terms.values()), abs=TOL)
    assert rec["ledger"]["ctx"] == q + a1 + reply + a2
    assert rec["tokens"]["billed_prompt"] == sum(prompts)
    assert rec["tokens"]["billed_completion"] == sum(completions)
    assert rec["ledger"]["written"] == sum(completions)


def test_user_quality_differs_from_provider_quality_and_from_format(env):
    """Q_user and Q_llm are separate judgements (a refused harmful request: 0 vs 1), and
    the provider's ``format`` term is not its ``quality`` term: a malformed reply costs
    ``provider_format · (1 − format)`` and nothing else."""
    rec = play(env, *GOLDEN["gave_up"])
    assert rec["ledger"]["q_user"] == 0.0 and rec["ledger"]["q_llm"] == 0.85
    assert rec["user_terms"]["quality"] == 0.0 and rec["llm_terms"]["quality"] == 0.255
    assert rec["user_terms"]["wrong"] == -0.25 and rec["llm_terms"]["errors"] == 0.0

    task, profile, strategy, seed, actions = GOLDEN["dq_satisfied"]
    base = play(env, task, profile, strategy, seed, actions)
    bad = play(env, task, profile, strategy, seed, [Decision(DA1, estimates={"format_score": 0.5})])
    assert bad["format_score"] == 0.5
    assert bad["llm_terms"]["format"] == pytest.approx(-0.3 * 0.5, abs=TOL)
    assert bad["llm_terms"]["quality"] == base["llm_terms"]["quality"] == pytest.approx(0.3)
    for k in ("errors", "revenue", "compute", "retention"):
        assert bad["llm_terms"][k] == pytest.approx(base["llm_terms"][k], abs=TOL), k
    assert bad["user_terms"] == base["user_terms"]
    assert bad["llm_welfare"] == pytest.approx(base["llm_welfare"] - 0.15, abs=TOL)


# ----------------------------------------------------------------------------- 2. horizon
def _wrong_seed(env, task, profile, turns):
    """A seed whose pre-drawn outcome uniforms make the answers at ``turns`` wrong."""
    p = env.world.p_correct(env.tasks.get(task).difficulty, 1)
    for s in range(1000):
        env.reset(seed=s, options={"task": task, "profile": profile, "strategy": "VQ"})
        if all(env._outcome_u[k] >= p for k in turns):
            return s
    raise AssertionError("no seed with wrong answers found")


@pytest.mark.parametrize("then", ["CQ", "DA"])
def test_horizon_truncates_patience_terminates(env, then):
    profile = UserProfile(intent="speed=18", pricing="subscription", patience=5)
    assert profile.patience > env.world.max_turns == 3
    opts = {"task": MATH, "profile": profile, "strategy": "VQ"}
    # clarify, then keep clarifying (redundantly) or keep answering wrong
    seed = _wrong_seed(env, MATH, profile, (1, 2)) if then == "DA" else 0
    cont = CQ1 if then == "CQ" else DA1
    env.reset(seed=seed, options=opts)
    for _ in range(3):
        assert not env.episode
        assert not any(env.terminations.values()) and not any(env.truncations.values())
        env.step(CQ1 if env.turn == 0 else cont)
    rec = env.episode
    assert rec["turns"] == 3 and rec["stop_reason"] == "max_turns"
    assert rec["answer_quality"] == 0.0
    assert env.truncations == {"user": True, "assistant": True}
    assert env.terminations == {"user": False, "assistant": False}

    for patience, turns in ((1, 1), (3, 3)):  # patience == horizon: patience rule first
        opts["profile"] = dataclasses.replace(profile, patience=patience)
        env.reset(seed=seed, options=opts)
        while not env.episode:
            env.step(CQ1 if env.turn == 0 else cont)
        assert env.episode["stop_reason"] == "patience_exhausted"
        assert env.episode["turns"] == turns
        assert env.terminations == {"user": True, "assistant": True}
        assert env.truncations == {"user": False, "assistant": False}


# ----------------------------------------------------------------------------- 3. rewards
@pytest.mark.parametrize("golden", ["dq_satisfied", "gave_up"])
@pytest.mark.parametrize("kind", ["aggregate", "llm", "user"])
def test_assistant_reward(bank, kind, golden):
    e = ClarificationGameEnv(tasks=bank, assistant_reward=kind)
    task, profile, strategy, seed, actions = GOLDEN[golden]
    rec = play(e, task, profile, strategy, seed, actions)
    u, l_val = rec["user_welfare"], rec["llm_welfare"]
    assert u == pytest.approx(GOLDEN_EXPECTED[golden]["U"], abs=TOL)
    want = {"aggregate": math.sqrt(max(u, 0) * max(l_val, 0)), "llm": l_val, "user": u}[kind]
    assert e.rewards["assistant"] == pytest.approx(want, abs=TOL)
    assert e.rewards["user"] == pytest.approx(u, abs=TOL)
    _, reward, term, trunc, _ = e.last()  # what an AEC loop sees
    assert (term or trunc) and e.agent_selection == "assistant"
    assert reward == pytest.approx(want, abs=TOL)
    if golden == "gave_up":  # U < 0: the Cobb–Douglas aggregate is 0, L is not
        assert u < 0 < l_val
    assert rec["aggregate"] == pytest.approx(math.sqrt(max(u, 0) * max(l_val, 0)), abs=TOL)


# -------------------------------------------------------------- 4. planner vs environment
def planner_for(task, world, profile, strategy, prior):
    """The planner over one profile, the given intent prior and a forced strategy."""
    n = len(task.interpretations)
    sw = np.zeros((1, n, 2))
    sw[..., 0 if strategy == "DQ" else 1] = 1.0
    rows = Rows.build([profile], n, np.asarray(prior, float), sw)
    return Planner(TaskTables.cached(task), world, profile.pricing, rows, "mutual")


def env_expectation(env, task, profile, strategy, a0, a1):
    """``E[U], E[L]`` of the plan in the environment, exactly: every pattern of answer
    correctness over the horizon, weighted by its probability (turns that never happen
    marginalise out), with the pre-drawn outcome uniforms set to 0 (right) or ~1
    (wrong)."""
    w = env.world
    eu = el = 0.0
    played: dict[tuple[bool, ...], tuple[float, float]] = {}  # outcome prefix -> (U, L)
    for pattern in itertools.product((True, False), repeat=w.max_turns):
        prob = 1.0
        for k, ok in enumerate(pattern):
            p = w.p_correct(task.difficulty, decode_action(a0 if k == 0 else a1)[1])
            prob *= p if ok else 1.0 - p
        if prob == 0.0:
            continue
        # an episode that ended after n turns never read the later outcomes
        hit = next(
            (played[pattern[:n]] for n in range(1, w.max_turns) if pattern[:n] in played), None
        )
        if hit is None:
            env.reset(seed=0, options={"task": task, "profile": profile, "strategy": strategy})
            env._outcome_u = np.array(
                [0.0 if ok else np.nextafter(1.0, 0) for ok in pattern] + [0.5]
            )
            while not env.episode:
                env.step(a1 if env.actions else a0)
            assert env.actions[0] == a0 and set(env.actions[1:]) <= {a1}
            hit = played[pattern[: env.turn]] = (
                env.episode["user_welfare"],
                env.episode["llm_welfare"],
            )
        eu += prob * hit[0]
        el += prob * hit[1]
    return eu, el


PLAN_PROFILES = (
    UserProfile(patience=3),
    UserProfile(
        patience=2,
        effort_answer=0.15,
        time_cost=0.12,
        reading_cost=0.03,
        length_band=(10.0, 60.0),
        satisfaction=0.9,
    ),
)
PLANS = ((DA1, DA1), (CQ0, DA2), (AQ1, DA0), (DA0, AQ2), (AQ2, CQ1))


def _cells():
    for task, (a0, a1) in itertools.product((MATH, QA, WRITING, SAFETY), PLANS):
        for pricing, strategy in itertools.product(("subscription", "per_token_api"), "DV"):
            yield pytest.param(
                task,
                pricing,
                strategy + "Q",
                a0,
                a1,
                id=f"{task}-{pricing}-{strategy}Q-{a0}-{a1}",
            )


LENGTH_WORLD = WorldConfig(provider_length_value=0.15)
"""A provider with the reference L's taste for long output (``scenario=reference_l``)."""


@pytest.fixture(scope="module")
def env_length(bank):
    return ClarificationGameEnv(tasks=bank, world=LENGTH_WORLD)


@pytest.mark.parametrize("world", ["default", "length"])
@pytest.mark.parametrize(("task_id", "pricing", "strategy", "a0", "a1"), list(_cells()))
def test_planner_equals_environment_exactly(
    bank, env, env_length, world, task_id, pricing, strategy, a0, a1
):
    env = env_length if world == "length" else env
    task = bank.get(task_id)
    ids = [it.id for it in task.interpretations]
    prior = np.array([it.prior for it in task.interpretations])
    prior = prior / prior.sum()
    for base in PLAN_PROFILES:
        profile = dataclasses.replace(base, pricing=pricing)
        per_intent = []
        for t, iid in enumerate(ids):
            eu, el = env_expectation(env, task, profile.with_intent(iid), strategy, a0, a1)
            per_intent.append((eu, el))
            one_hot = np.eye(len(ids))[t]
            res = planner_for(task, env.world, profile, strategy, one_hot).evaluate((), a0, a1)
            assert res.mass == pytest.approx(1.0)
            assert (res.user, res.llm) == pytest.approx((eu, el), abs=1e-9), iid
        # the intent drawn from the task's prior: the prior-weighted mixture
        mix = planner_for(task, env.world, profile, strategy, prior).evaluate((), a0, a1)
        eu, el = prior @ np.array(per_intent)
        assert (mix.user, mix.llm) == pytest.approx((eu, el), abs=1e-9)


@pytest.mark.parametrize(
    ("task_id", "pricing", "strategy", "a0", "a1"),
    [
        (MATH, "per_token_api", "VQ", DA1, DA1),
        (QA, "subscription", "VQ", CQ0, DA2),
        (SAFETY, "per_token_api", "VQ", AQ1, DA0),
    ],
)
def test_planner_matches_sampled_episodes(bank, env, task_id, pricing, strategy, a0, a1):
    """The environment's own draws (intent from the prior, outcome uniforms from the
    seed) average to the planner's expectation within 3 standard errors."""
    task = bank.get(task_id)
    profile = UserProfile(patience=3, pricing=pricing)  # no intent: the env draws it
    n = 400
    agent = FixedAssistant("DA")
    agent.action, agent.then = a0, a1
    us, ls = [], []
    for s in episode_seeds(7, n):
        rec = run_episode(
            env, agent, s, {"task": task, "profile": profile, "strategy": strategy}, False
        )
        us.append(rec["user_welfare"])
        ls.append(rec["llm_welfare"])
    prior = [it.prior for it in task.interpretations]
    res = planner_for(task, env.world, profile, strategy, prior).evaluate((), a0, a1)
    for values, want in ((us, res.user), (ls, res.llm)):
        mean, se = np.mean(values), np.std(values, ddof=1) / math.sqrt(n)
        assert se > 0
        assert abs(mean - want) <= 3 * se, (mean, want, se)


# ------------------------------------------------------------------------------ 5. oracle
COMPETITORS = ("gtalign", "gtalign_cd", "always_da", "always_aq", "linear_welfare")


def _suite_assistant(name, env):
    """A built-in assistant with the default suite's settings (conf/assistants/suite.yaml)."""
    text = resources.files("gtalign_sim").joinpath("conf/assistants/suite.yaml").read_text()
    cfg = yaml.safe_load(text)
    kw = {"seed": 0}
    if name in ("oracle", "selfish_llm", "user_only", "linear_welfare", "clairvoyant"):
        kw["n_particles"] = cfg["oracle_particles"]
    elif not name.startswith("always_"):
        kw["n_particles"] = cfg["n_particles"]
    if name == "gtalign":
        kw["rule"] = cfg["gtalign_rule"]
    agent = build_assistant(name, world=env.world, population=env.population, **kw)
    agent.reset()
    return agent


@pytest.fixture(scope="module")
def suite_runs(bank):
    """200 episodes (CRN: same seeds) of the oracle and the other built-in assistants;
    a sample of the oracle's decision points is recorded with its info."""
    env = ClarificationGameEnv(tasks=bank)
    seeds = episode_seeds(2024, 200)
    oracle = _suite_assistant("oracle", env)
    first, later = [], []
    act = oracle.act

    def spy(obs, info):
        d = act(obs, info)
        sample = later if past_actions(info) else first
        if len(sample) < 8:
            sample.append((dict(info), d.action))
        return d

    oracle.act = spy
    welfare = {"oracle": [run_episode(env, oracle, s)["mutual_welfare"] for s in seeds]}
    for name in COMPETITORS:
        agent = _suite_assistant(name, env)
        welfare[name] = [run_episode(env, agent, s)["mutual_welfare"] for s in seeds]
    return oracle, first + later, welfare


def test_oracle_picks_the_planners_best_action(suite_runs):
    oracle, decisions, _ = suite_runs
    assert len(decisions) == 16  # 8 opening decisions, 8 after a user reply
    for info, action in decisions:
        assert "privileged" in info
        planner = oracle.planner(info, objective="mutual", condition=True)
        prefix = past_actions(info)
        values, mass = planner.action_values(prefix, np.zeros(len(planner.rows), int), 1, None)
        v = values[0, :, 0]
        assert mass[0] > 0 and v.shape == (N_ACTIONS,) and np.isfinite(v).all()
        assert v[action] == pytest.approx(v.max(), abs=1e-12)
        best = planner.best(prefix)
        assert best.actions[0] == action
        assert best.value == pytest.approx(v.max(), abs=1e-12)
        assert (best.user, best.llm) == pytest.approx(tuple(values[0, action, 1:]), abs=1e-12)


@pytest.mark.parametrize("name", COMPETITORS)
def test_no_builtin_assistant_beats_the_oracle(suite_runs, name):
    _, _, welfare = suite_runs
    diff = np.asarray(welfare[name]) - np.asarray(welfare["oracle"])
    mean, se = diff.mean(), diff.std(ddof=1) / math.sqrt(len(diff))
    # one-sided 95%: the competitor is significantly better iff mean > 1.645 SE
    assert mean <= 1.645 * se, (name, mean, se)


# ----------------------------------------------------------------------- 6. WorldConfig
NAN, INF = float("nan"), float("inf")
_FLOATS = (
    "followup_effort",
    "redundant_question_cost",
    "discount",
    "wrong_answer_cost",
    "provider_success",
    "provider_error_cost",
    "provider_format",
    "provider_money_value",
    "provider_length_value",
    "retention_base",
    "retention_slope",
    "retention_value",
)
_INTS = ("max_turns", "system_tokens", "reasoning_tokens")


def _invalid_cases():
    for name in _FLOATS + _INTS:
        for value in (NAN, INF, -INF, -1.0, "abc", None, True, [1.0]):
            yield pytest.param({name: value}, f"world.{name}", id=f"{name}={value!r}")
    yield pytest.param({"skill": {"easy": NAN}}, "world.skill.easy", id="skill-nan")
    yield pytest.param({"skill": {"hard": -0.1}}, "world.skill.hard", id="skill-neg")
    yield pytest.param({"skill": {"medium": "x"}}, "world.skill", id="skill-type")
    yield pytest.param({"skill": {"bogus": 0.5}}, "world.skill", id="skill-key")
    yield pytest.param({"verbosity_skill": [0, NAN, 0]}, "world.verbosity_skill", id="vs-nan")
    yield pytest.param({"verbosity_skill": [0, INF, 0]}, "world.verbosity_skill", id="vs-inf")
    yield pytest.param({"verbosity_skill": [0, 0]}, "world.verbosity_skill", id="vs-len")
    yield pytest.param({"verbosity_skill": 1.0}, "world.verbosity_skill", id="vs-type")
    yield pytest.param({"max_turns": 2.5}, "world.max_turns", id="max_turns=2.5")
    yield pytest.param({"max_turns": 0}, "world.max_turns", id="max_turns=0")
    yield pytest.param({"pricing": {"platinum": {}}}, "world.pricing", id="pricing-plan")
    for value in (-1.0, NAN, INF, "x"):
        yield pytest.param(
            {"pricing": {"per_token_api": {"price_per_input_token": value}}},
            "world.pricing",
            id=f"pricing-param={value!r}",
        )


@pytest.mark.parametrize(("config", "field"), list(_invalid_cases()))
def test_world_config_rejects_invalid_values_naming_the_field(config, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        WorldConfig.from_config(config)


def _invalid_direct():
    for name in _FLOATS + _INTS:
        for value in (NAN, INF, -1.0):
            yield pytest.param(name, value, id=f"{name}={value!r}")


@pytest.mark.parametrize(("name", "value"), list(_invalid_direct()))
def test_world_config_constructor_rejects_non_finite_and_negative(name, value):
    with pytest.raises(ValueError, match=rf"world\.{name}"):
        WorldConfig(**{name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("provider_success", True, id="provider_success=True"),
        pytest.param("system_tokens", True, id="system_tokens=True"),
        pytest.param("max_turns", True, id="max_turns=True"),
        pytest.param("discount", "abc", id="discount='abc'"),
        pytest.param("wrong_answer_cost", None, id="wrong_cost=None"),
        pytest.param("discount", True, id="discount=True"),
        pytest.param("retention_base", True, id="retention_base=True"),
        pytest.param("max_turns", "3", id="max_turns='3'"),
        pytest.param("max_turns", "abc", id="max_turns='abc'"),
    ],
)
def test_world_config_constructor_rejects_wrong_types(name, value):
    with pytest.raises(ValueError, match=rf"world\.{name}"):
        WorldConfig(**{name: value})


def test_world_config_unknown_keys_name_the_allowed_ones():
    with pytest.raises(ValueError, match="bogus") as exc:
        WorldConfig.from_config({"bogus": 1, "discount": 0.9})
    for f in dataclasses.fields(WorldConfig):
        assert f.name in str(exc.value)
    for k in REMOVED_WORLD_KEYS:
        assert f"'{k}'" not in str(exc.value)


@pytest.mark.parametrize("key", sorted(REMOVED_WORLD_KEYS))
def test_world_config_removed_v0_keys_warn_and_are_ignored(key):
    assert set(REMOVED_WORLD_KEYS) == {"cue_dq", "cue_vq", "user_cost_cap", "provider_money_cap"}
    with pytest.warns(FutureWarning, match=rf"world\.{key}"):
        w = WorldConfig.from_config({key: 0.5, "discount": 0.9})
    assert w == WorldConfig(discount=0.9)
    assert not hasattr(w, key)


def test_world_config_defaults_and_valid_values():
    w = WorldConfig()
    assert WorldConfig.from_config({}) == w == WorldConfig.from_config(None)
    assert (w.max_turns, w.discount, w.wrong_answer_cost) == (3, 0.85, 0.25)
    assert (w.system_tokens, w.reasoning_tokens) == (60, 150)
    assert (w.provider_success, w.provider_error_cost, w.provider_format) == (0.3, 0.1, 0.3)
    assert (w.provider_money_value, w.retention_value) == (40.0, 0.3)
    assert w.provider_length_value == 0.0
    assert (w.retention_base, w.retention_slope) == (0.6, 0.4)
    assert (w.followup_effort, w.redundant_question_cost) == (0.5, 0.05)
    assert w.skill == {"easy": 0.95, "medium": 0.85, "hard": 0.70}
    assert w.verbosity_skill == (-0.05, 0.0, 0.03)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = WorldConfig.from_config({"max_turns": 4.0, "discount": "0.5", "skill": {"easy": 1}})
    assert (v.max_turns, v.discount, v.skill["easy"], v.skill["hard"]) == (4, 0.5, 1.0, 0.7)
