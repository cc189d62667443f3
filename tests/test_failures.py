"""LLM failures are never results: failed episodes, marked fallbacks, no welfare.

Backend faults are injected by the real loopback server (gtalign_sim.backends.server)
through the real OpenAI client, as in test_backends.py; the server wraps an instant
backend that writes a valid four-block reply, so nothing here waits on a model.
"""

from __future__ import annotations

import math
import random
import threading

import pytest
from conftest import require

from gtalign_sim.agents import FixedAssistant
from gtalign_sim.agents.llm import LLMAssistant
from gtalign_sim.agents.llm_judge import LLMJudge
from gtalign_sim.backends import BackendError, ChatResult, TemplateBackend, build_backend
from gtalign_sim.core.failures import MAX_DETAIL, STAGES, EpisodeFailure
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.lockstep import run_lockstep
from gtalign_sim.envs.rollout import episode_seeds, run_episode, run_episodes
from gtalign_sim.game import PayoffMatrix
from gtalign_sim.protocol import render
from gtalign_sim.tasks import TaskBank
from gtalign_sim.tasks.judges import FAMILIES, JUDGES, register_judge
from gtalign_sim.users import LLMUser, ParametricUser

WELFARE = ("user_welfare", "llm_welfare", "mutual_welfare")
OUTCOME = (
    *WELFARE,
    "answer_quality",
    "answer_quality_llm",
    "user_level",
    "llm_level",
    "aggregate",
    "user_terms",
    "llm_terms",
    "ledger",
    "format_score",
    "wrong_answers",
)
FAULT_REASON = {
    "http_500": "http_500",
    "http_429": "http_429",
    "malformed": "malformed",
    "drop": "connection",
    "bad_usage": "bad_usage",
}


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=6, seed=3)


def plan(n, seed=0):
    seeds = episode_seeds(seed, n)
    return [(i, seeds[i], {"family": FAMILIES[i % 4]}) for i in range(n)]


def assert_failed(rec, stage, reason=None):
    f = rec["failure"]
    assert f is not None, rec["stop_reason"]
    assert set(f) == {"stage", "reason", "detail"} and f["stage"] == stage
    if reason is not None:
        assert f["reason"] == reason, f
    assert isinstance(f["detail"], str) and len(f["detail"]) <= MAX_DETAIL
    assert rec["stop_reason"] == "error"
    for k in OUTCOME:
        assert rec[k] is None, k


def assert_result(rec):
    assert rec["failure"] is None
    for k in WELFARE:
        assert math.isfinite(rec[k]), k


# ----------------------------------------------------------------- the loopback server

MATRIX = PayoffMatrix(
    user=[[3.0, 1.0, 2.0], [1.0, 2.5, 0.8]],
    llm=[[3.0, 2.0, 2.5], [1.4, 2.2, 0.9]],
)


class FourBlock:
    """Instant 'model': a valid four-block clarifying question on the first turn, an
    unparseable reply on later turns (so parse fallbacks happen, marked)."""

    name = "four_block"

    def generate(self, requests, *, raise_on_error=True):
        out = []
        for r in requests:
            first = sum(m["role"] == "user" for m in r.messages) == 1
            text = render(MATRIX, ("VQ", "CQ"), "Which one do you mean?") if first else "hmm"
            out.append(ChatResult(text, "stop", 12, 30, request_id=r.request_id))
        return out

    def close(self):
        pass


@pytest.fixture
def server():
    require("openai", "pip install -e '.[api]'")
    from gtalign_sim.backends.server import ChatServer, FaultPlan

    release = threading.Event()
    faults = FaultPlan(retry_after=0.01, stall_s=120.0, release=release)
    srv = ChatServer(FourBlock(), model_name="four_block", faults=faults).start()
    try:
        yield srv
    finally:
        release.set()
        srv.stop()


def client(srv, **kw):
    kw.setdefault("timeout", 30.0)
    kw.setdefault("max_retries", 1)
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("backoff_max", 0.005)
    kw.setdefault("max_retry_after", 0.02)
    return build_backend("openai", model="four_block", base_url=srv.url, **kw)


def test_outage_fails_every_llm_assistant_episode(server, bank):
    server.faults.default = lambda rid, attempt: "http_500"
    factory = lambda: ClarificationGameEnv(tasks=bank)  # noqa: E731
    p = plan(6)
    backend = client(server)
    try:
        seq = run_episodes(factory, LLMAssistant(backend=backend, n_particles=4), p)
        lock = run_lockstep(factory, LLMAssistant(backend=backend, n_particles=4), p, 3)
    finally:
        backend.close()
    assert [r["episode"] for r in seq] == [r["episode"] for r in lock] == list(range(6))
    for rec in seq + lock:
        assert_failed(rec, "assistant_backend", "http_500")
        assert rec["decisions"] == [] and rec["actions"] == [] and rec["turns"] == 0
    # every logical request was tried max_retries + 1 times, and none was answered
    per_id = {}
    for a in server.stats.log:
        per_id.setdefault(a.request_id, []).append(a.fault)
    assert len(per_id) == 12 and all(v == ["http_500", "http_500"] for v in per_id.values())


def test_outage_with_template_policy_substitutes_marked_moves(server, bank):
    server.faults.default = lambda rid, attempt: "http_500"
    backend = client(server, max_retries=0)
    a = LLMAssistant(backend=backend, on_backend_error="template", n_particles=4)
    try:
        recs = run_episodes(lambda: ClarificationGameEnv(tasks=bank), a, plan(3))
    finally:
        backend.close()
    for rec in recs:
        assert_result(rec)
        for d in rec["decisions"]:
            assert d["estimates"]["decided_by"] == "fallback"
            assert d["estimates"]["fallback_reason"] == "backend_error:http_500"


class _Chaos:
    """60 % of attempts fault; which ones is fixed by the order logical requests arrive
    in (sequential play sends them one at a time, so the schedule is deterministic)."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.index: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, rid: str, attempt: int) -> str:
        with self.lock:
            k = self.index.setdefault(rid, len(self.index))
        rng = random.Random(f"{self.seed}/{k}/{attempt}")
        return rng.choice(sorted(FAULT_REASON)) if rng.random() < 0.6 else "ok"


def test_sixty_percent_faults_give_model_decisions_or_failed_episodes(server, bank):
    server.faults.default = _Chaos("failures")
    backend = client(server, max_retries=1)
    n = 16
    try:
        recs = run_episodes(
            lambda: ClarificationGameEnv(tasks=bank),
            LLMAssistant(backend=backend, n_particles=4),
            plan(n, seed=1),
        )
    finally:
        backend.close()
    assert [r["episode"] for r in recs] == list(range(n))
    n_failed = n_parse = 0
    for rec in recs:
        for d in rec["decisions"]:  # never silently substituted
            est = d["estimates"]
            if est["decided_by"] == "model":
                assert "fallback_reason" not in est
            else:
                assert est["decided_by"] == "fallback" and est["fallback_reason"] == "parse_error"
                n_parse += 1
        if rec["failure"] is None:
            assert_result(rec)
        else:
            n_failed += 1
            assert_failed(rec, "assistant_backend")
            assert rec["failure"]["reason"] in FAULT_REASON.values()
    assert 0 < n_failed < n and n_parse > 0  # the schedule mixes both outcomes
    # the server agrees: exactly one lost logical request per failed episode
    last: dict[str, str] = {}
    for a in server.stats.log:
        last[a.request_id] = a.fault
    assert sum(f != "ok" for f in last.values()) == n_failed


# ------------------------------------------------------------------------- users


class _BreaksAfter(ParametricUser):
    """A plug-in user whose strategy choice raises from its (k+1)-th episode on."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k, self.n = k, 0

    def choose_strategy(self, task, profile, rng):
        self.n += 1
        if self.n > self.k:
            raise RuntimeError(f"plug-in broke on episode {self.n}")
        return super().choose_strategy(task, profile, rng)


def test_raising_plug_in_user_fails_exactly_its_episodes(bank):
    k = 3
    recs = run_episodes(
        lambda: ClarificationGameEnv(tasks=bank, user=_BreaksAfter(k)),
        FixedAssistant("AQ"),
        plan(7),
    )
    for rec in recs[:k]:
        assert_result(rec)
    for rec in recs[k:]:
        assert_failed(rec, "user", "RuntimeError")
        assert f"plug-in broke on episode {rec['episode'] + 1}" in rec["failure"]["detail"]


class _BadTasks(ParametricUser):
    """Raises mid-episode (after reading the first answer) on chosen tasks only."""

    bad: frozenset[str] = frozenset()

    def read(self, history):
        stop = super().read(history)
        if self.state.task.id in self.bad:
            raise ValueError("x" * 2000)  # a long message: the record keeps 500 chars
        return stop


def test_user_failures_mid_episode_are_per_episode_in_lockstep_too(bank):
    tasks = [t for t in bank][:8]
    _BadTasks.bad = frozenset(t.id for t in tasks[::3])
    p = [
        (i, s, {"task": t.id})
        for i, (s, t) in enumerate(zip(episode_seeds(2, 8), tasks, strict=True))
    ]
    factory = lambda: ClarificationGameEnv(tasks=bank, user=_BadTasks())  # noqa: E731
    seq = run_episodes(factory, FixedAssistant("DA"), p)
    lock = run_lockstep(factory, FixedAssistant("DA"), p, n_parallel=3)
    assert seq == lock
    for rec in seq:
        if rec["task_id"] in _BadTasks.bad:
            assert_failed(rec, "user", "ValueError")
            assert len(rec["failure"]["detail"]) == MAX_DETAIL
            assert rec["turns"] == 1 and rec["tokens"]["billed_completion"] > 0
        else:
            assert_result(rec)


def test_llm_user_whose_backend_fails_fails_the_episode(server, bank):
    server.faults.default = lambda rid, attempt: "http_500"
    backend = client(server)
    try:
        env = ClarificationGameEnv(tasks=bank, user=LLMUser(backend=backend, retries=1))
        rec = run_episode(env, FixedAssistant("DA"), seed=0)
    finally:
        backend.close()
    assert_failed(rec, "user", "http_500")
    assert rec["transcript"] == [] and rec["decisions"] == []


class _FailsAfter(TemplateBackend):
    """Serves ``n`` requests, then fails every one (ok=False)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def generate(self, requests, *, raise_on_error=True):
        if self.left > 0:
            self.left -= len(requests)
            return super().generate(requests, raise_on_error=raise_on_error)
        err = BackendError("gone", reason="http_503")
        return [ChatResult("", "error", request_id=r.request_id, error=err) for r in requests]


def test_llm_user_failing_on_its_reply_fails_the_episode(bank):
    env = ClarificationGameEnv(tasks=bank, user=LLMUser(backend=_FailsAfter(1), retries=2))
    rec = run_episode(env, FixedAssistant("CQ"), seed=1)
    assert_failed(rec, "user", "http_503")
    assert rec["turns"] == 1 and rec["transcript"][0]["role"] == "user"


# ------------------------------------------------------------------------- judges


@pytest.fixture
def judges():
    """Restore the registered judges after the test."""
    before = dict(JUDGES)
    try:
        yield
    finally:
        JUDGES.clear()
        JUDGES.update(before)


def test_llm_judge_outage_fails_episodes_never_scores_zero(server, bank, judges):
    server.faults.default = lambda rid, attempt: "http_500"
    backend = client(server, max_retries=0)
    for family in FAMILIES:
        register_judge(family, LLMJudge(backend=backend, retries=1))
    try:
        factory = lambda: ClarificationGameEnv(tasks=bank)  # noqa: E731
        seq = run_episodes(factory, FixedAssistant("DA"), plan(4))
        lock = run_lockstep(factory, FixedAssistant("DA"), plan(4), n_parallel=2)
    finally:
        backend.close()
    for rec in seq + lock:
        assert_failed(rec, "judge", "http_500")
        assert "attempt 2: backend" in rec["failure"]["detail"]
        assert rec["turns"] == 1  # the answer was given; it could not be judged


class _Unsure(TemplateBackend):
    def generate(self, requests, *, raise_on_error=True):
        reqs = [
            type(r)(messages=r.messages, sampling=r.sampling, metadata={"template_text": "Hmm."})
            for r in requests
        ]
        return super().generate(reqs, raise_on_error=raise_on_error)


class _Raising:
    name = "raising_judge"

    def judge(self, task, intent_id, text):
        raise ZeroDivisionError("judge bug")


@pytest.mark.parametrize(
    ("judge", "reason"),
    [(LLMJudge(backend=_Unsure(), retries=0), "unreadable_verdict"), (_Raising(), None)],
)
def test_failed_judgements_fail_the_episode(bank, judges, judge, reason):
    for family in FAMILIES:
        register_judge(family, judge)
    rec = run_episode(ClarificationGameEnv(tasks=bank), FixedAssistant("DA"), seed=2)
    assert_failed(rec, "judge", reason or "ZeroDivisionError")


# ---------------------------------------------------------------- the failure type


def test_episode_failure_type_and_env_fail(bank):
    f = EpisodeFailure("judge", "http_500", "y" * 900)
    assert len(f.detail) == MAX_DETAIL and f.to_record()["stage"] == "judge"
    assert EpisodeFailure.wrap(f, "user") is f
    w = EpisodeFailure.wrap(KeyError("k"), "user")
    assert (w.stage, w.reason) == ("user", "KeyError")
    with pytest.raises(ValueError, match="stage"):
        EpisodeFailure("nowhere", "x")
    assert set(STAGES) == {"assistant_backend", "user", "judge", "simulator"}
    env = ClarificationGameEnv(tasks=bank)
    env.reset(seed=0)
    env.fail(OSError("disk full"))
    assert_failed(env.episode, "simulator", "OSError")
    assert env.truncations["assistant"] and env.rewards == {"user": 0.0, "assistant": 0.0}
    assert env.infos["assistant"]["episode"] is env.episode
    with pytest.raises(RuntimeError, match="ended"):
        env.fail(OSError("again"))
    # a successful episode says so
    assert run_episode(env, FixedAssistant("DA"), seed=0)["failure"] is None
