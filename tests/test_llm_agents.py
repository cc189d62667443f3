"""LLM-backed agents: LLMAssistant (four-block protocol, fallback, pricing steering) and
LLMUser, on the template backend and the tiny local model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require

from gtalign_sim.agents.llm import LLMAssistant, verbosity_of
from gtalign_sim.backends import TemplateBackend, build_backend
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.rollout import run_episode
from gtalign_sim.game import PayoffMatrix
from gtalign_sim.protocol import render
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import LLMUser, clean_user_text


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=8, seed=2)


def test_llm_assistant_on_template_backend_plays_valid_four_block_replies(bank):
    env = ClarificationGameEnv(tasks=bank)
    rec = run_episode(env, LLMAssistant(backend="template", n_particles=4), seed=5)
    assert rec["format_score"] == 1.0
    d = rec["decisions"][0]
    assert d["estimates"]["format_score"] == 1.0 and d["estimates"]["chosen_cell"]
    assert "<payoff>" in d["trace"] and d["payoff"]
    # the user saw the <response> block, not the reasoning
    assert "<thinking>" not in rec["transcript"][1]["text"]
    assert rec["tokens"]["billed_completion"] > rec["tokens"]["assistant"] - 1


def test_model_decisions_are_marked(bank):
    env = ClarificationGameEnv(tasks=bank)
    rec = run_episode(env, LLMAssistant(backend="template", n_particles=4), seed=3)
    assert rec["failure"] is None
    for d in rec["decisions"]:
        assert d["estimates"]["decided_by"] == "model" and "fallback_reason" not in d["estimates"]


class _Says(TemplateBackend):
    """Answers every request with one fixed text."""

    def __init__(self, text):
        super().__init__()
        self.text = text

    def generate(self, requests, *, raise_on_error=True):
        reqs = [
            type(r)(messages=r.messages, sampling=r.sampling, metadata={"template_text": self.text})
            for r in requests
        ]
        return super().generate(reqs, raise_on_error=raise_on_error)


class _Nonsense(_Says):
    """Answers every request with text that is not a four-block reply."""

    def __init__(self):
        super().__init__("no")


class _Down(TemplateBackend):
    """Fails every request the way a backend does after its retries (ok=False)."""

    def generate(self, requests, *, raise_on_error=True):
        from gtalign_sim.backends import BackendError, ChatResult

        err = BackendError("injected outage", reason="http_503")
        return [ChatResult("", "error", request_id=r.request_id, error=err) for r in requests]


@pytest.mark.parametrize("fallback", ["template", "direct", "raw"])
def test_parse_fallbacks_are_marked(bank, fallback):
    env = ClarificationGameEnv(tasks=bank)
    a = LLMAssistant(backend=_Nonsense(), fallback=fallback, n_particles=4)
    rec = run_episode(env, a, seed=4)
    assert rec["failure"] is None and rec["decisions"]
    for d in rec["decisions"]:
        est = d["estimates"]
        assert est["decided_by"] == "fallback" and est["fallback_reason"] == "parse_error"
        assert est["fallback"] == fallback and est["format_score"] == 0.0


@pytest.mark.parametrize(
    ("text", "mode", "verbosity"),
    [
        ("no", "DA", "concise"),
        ("<thinking>Which city do you mean?", "CQ", "concise"),
        ("<response>" + "It depends on the year. " * 10 + "Which year?", "AQ", "standard"),
    ],
)
def test_raw_fallback_shows_the_reply_as_written(bank, text, mode, verbosity):
    env = ClarificationGameEnv(tasks=bank)
    a = LLMAssistant(backend=_Says(text), fallback="raw", n_particles=4)
    rec = run_episode(env, a, seed=4)
    assert rec["failure"] is None
    assert rec["transcript"][1]["text"] == text  # no substitute: what the model wrote
    assert rec["modes"][0] == mode and rec["verbosities"][0] == verbosity
    est = rec["decisions"][0]["estimates"]
    assert est["decided_by"] == "fallback" and est["fallback"] == "raw"
    assert est["fallback_reason"] == "parse_error" and est["format_score"] == 0.0


def test_backend_failure_fails_the_episode_by_default(bank):
    env = ClarificationGameEnv(tasks=bank)
    a = LLMAssistant(backend=_Down(), n_particles=4)
    assert a.on_backend_error == "fail"
    rec = run_episode(env, a, seed=4)
    assert rec["failure"]["stage"] == "assistant_backend"
    assert rec["failure"]["reason"] == "http_503" and "injected outage" in rec["failure"]["detail"]
    assert rec["decisions"] == [] and rec["actions"] == [] and rec["stop_reason"] == "error"
    assert rec["user_welfare"] is None and rec["mutual_welfare"] is None
    with pytest.raises(ValueError, match="on_backend_error"):
        LLMAssistant(backend="template", on_backend_error="zero")


@pytest.mark.parametrize("policy", ["template", "direct"])
def test_backend_failure_substitutes_only_when_asked_and_marks_it(bank, policy):
    env = ClarificationGameEnv(tasks=bank)
    a = LLMAssistant(backend=_Down(), on_backend_error=policy, n_particles=4)
    rec = run_episode(env, a, seed=4)
    assert rec["failure"] is None and rec["decisions"]
    for d in rec["decisions"]:
        est = d["estimates"]
        assert est["decided_by"] == "fallback" and est["fallback"] == policy
        assert est["fallback_reason"] == "backend_error:http_503"


@pytest.mark.parametrize("steering", ["reference", "token_cost"])
def test_steering_failures_are_marked_or_fail(bank, steering):
    env = ClarificationGameEnv(tasks=bank)
    rec = run_episode(env, LLMAssistant(backend=_Nonsense(), steering=steering, n_particles=4), 4)
    est = rec["decisions"][0]["estimates"]
    assert est["decided_by"] == "fallback" and est["fallback_reason"] == "parse_error"
    assert "payoff" in est["parse_error"]
    rec = run_episode(env, LLMAssistant(backend=_Down(), steering=steering, n_particles=4), 4)
    assert rec["failure"]["stage"] == "assistant_backend" and rec["decisions"] == []


def test_unparseable_reply_falls_back_and_is_recorded(bank):
    require("transformers", "pip install -e '.[llm]'")
    tiny = build_backend("transformers", model="tiny")
    env = ClarificationGameEnv(tasks=bank)
    for fallback in ("template", "direct"):
        a = LLMAssistant(backend=tiny, max_tokens=24, fallback=fallback, n_particles=4)
        rec = run_episode(env, a, seed=1)
        est = rec["decisions"][0]["estimates"]
        assert est["format_score"] == 0.0 and est["fallback"] == fallback
        assert est["parse_error"].startswith("protocol:")
        assert est["decided_by"] == "fallback" and est["fallback_reason"] == "parse_error"
        assert rec["format_score"] == 0.0
        if fallback == "direct":
            assert rec["modes"][0] == "DA"


# the paper's example: CQ under a subscription, DA under per-token pricing
STEER_MATRIX = PayoffMatrix(
    user=[[3.0, 1.0, 2.0], [1.0, 1.3, 0.8]],
    llm=[[3.0, 2.0, 2.5], [1.4, 1.2, 0.9]],
)


@pytest.mark.parametrize("steering", ["reference", "token_cost"])
def test_two_stage_steering_reselects_by_pricing(steering):
    a = LLMAssistant(backend="template", steering=steering)
    text = render(STEER_MATRIX, ("VQ", "CQ"), "Which one do you mean?")
    stage1 = text.split("</payoff>")[0]
    moves = {}
    for plan in ("subscription", "per_token_api"):
        prefix, note = a._steer(stage1, {"pricing": plan})
        assert prefix is not None and prefix.endswith("<response>\n")
        assert note["before"] == "VQ_CQ"
        moves[plan] = note["after"]
    if steering == "reference":
        assert moves == {"subscription": "VQ_CQ", "per_token_api": "VQ_DA"}
    else:  # money is a transfer: the sum-based rule moves only by compute cost
        assert moves["subscription"] == moves["per_token_api"] == "VQ_CQ"


def test_steered_episode_records_stages(bank):
    env = ClarificationGameEnv(tasks=bank)
    rec = run_episode(env, LLMAssistant(backend="template", steering="reference", n_particles=4), 7)
    note = rec["decisions"][0]["estimates"]["steering"]
    assert note["steering"] == "reference" and "after" in note
    assert rec["format_score"] == 1.0


def test_verbosity_of_lengths():
    assert verbosity_of("short answer") == 0
    assert verbosity_of("word " * 60) == 1
    assert verbosity_of("word " * 200) == 2


# ----------------------------------------------------------------------- LLMUser


def test_clean_user_text():
    assert clean_user_text('User: "How far is it?"') == "How far is it?"
    assert clean_user_text("") is None
    assert clean_user_text("<thinking>no</thinking>") is None
    assert clean_user_text("word " * 200) is None
    assert clean_user_text(None) is None  # type: ignore[arg-type]


class _Garbage(TemplateBackend):
    """Returns protocol tags instead of a user message (an unusable output)."""

    def generate(self, requests, *, raise_on_error=True):
        reqs = [
            type(r)(
                messages=r.messages, sampling=r.sampling, metadata={"template_text": "<response>x"}
            )
            for r in requests
        ]
        return super().generate(reqs, raise_on_error=raise_on_error)


def test_llm_user_retries_then_fails_the_episode(bank):
    user = LLMUser(backend=_Garbage(), retries=2)
    env = ClarificationGameEnv(tasks=bank, user=user)
    rec = run_episode(env, LLMAssistant(backend="template", n_particles=4), seed=0)
    assert rec["stop_reason"] == "error"
    assert len(user.failures) == 3 and "unusable output" in user.failures[0]
    f = rec["failure"]
    assert f["stage"] == "user" and f["reason"] == "unusable_output"
    assert "unusable output" in f["detail"] and len(f["detail"]) <= 500
    # nothing was said, and a failure is no result: no welfare numbers at all
    assert rec["turns"] == 0 and rec["transcript"] == [] and rec["decisions"] == []
    assert rec["user_welfare"] is rec["llm_welfare"] is rec["mutual_welfare"] is None
    assert rec["tokens"]["billed_completion"] == 0 and rec["ledger"] is None


def test_llm_user_on_template_backend_speaks_and_decides(bank):
    user = LLMUser(backend="template")
    env = ClarificationGameEnv(tasks=bank, user=user)
    rec = run_episode(env, LLMAssistant(backend="template", n_particles=4), seed=2)
    assert rec["stop_reason"] in {"satisfied", "patience_exhausted", "max_turns", "gave_up"}
    assert rec["transcript"][0]["role"] == "user" and rec["transcript"][0]["text"]
    assert np.isfinite(rec["user_welfare"])


def test_experiment_with_llm_backend_reports_format_validity(tmp_path):
    require("transformers", "pip install -e '.[llm]'")
    from hydra import compose, initialize_config_module

    from gtalign_sim.experiments import clarification_game

    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        cfg = compose(
            config_name="config",
            overrides=[
                "experiment=clarification_game",
                f"output_dir={tmp_path}",
                "backend=transformers",
                "backend.model=tiny",
                "episodes_per_family=1",
                "assistants.names=[always_da]",
                "assistants.n_particles=4",
                "llm.max_tokens=24",
                "llm.user_max_tokens=16",
                "progress=false",
                "plots=false",
                "print_table=false",
            ],
        )
    metrics = clarification_game.run(cfg)
    assert set(metrics["assistants"]) == {"llm_gtalign", "always_da"}
    assert metrics["assistant_metrics"]["llm_gtalign"]["format_score"]["mean"] is not None
    recs = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(recs) == 8 and all("format_score" in r for r in recs)


def test_experiment_with_llm_judge_restores_rule_judges(tmp_path):
    from hydra import compose, initialize_config_module

    from gtalign_sim.experiments import clarification_game
    from gtalign_sim.tasks.judges import JUDGES

    before = dict(JUDGES)
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        cfg = compose(
            config_name="config",
            overrides=[
                "experiment=clarification_game",
                f"output_dir={tmp_path}",
                "judge=llm",
                "episodes_per_family=1",
                "assistants.names=[always_da]",
                "progress=false",
                "plots=false",
                "print_table=false",
            ],
        )
    metrics = clarification_game.run(cfg)
    assert dict(JUDGES) == before
    # the template backend's LLM judge phrases the rule-based verdict: same scores
    assert metrics["assistant_metrics"]["always_da"]["answer_quality"]["mean"] is not None
