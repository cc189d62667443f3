"""LLM judges: rubric prompts, robust score extraction, recorded failures."""

from __future__ import annotations

import pytest
from conftest import require
from hypothesis import given, settings
from hypothesis import strategies as st

from gtalign_sim.agents.llm_judge import RUBRICS, LLMJudge, extract_score
from gtalign_sim.backends import TemplateBackend, build_backend
from gtalign_sim.tasks import TaskBank
from gtalign_sim.tasks.judges import judge_response
from gtalign_sim.tasks.render import answer_text


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=6, seed=5)


@pytest.mark.parametrize(
    ("text", "allowed", "expected"),
    [
        ("The answer matches.\nScore: 1", RUBRICS["math"], 1.0),
        ("score = 0", RUBRICS["math"], 0.0),
        ("Two constraints are met. **Score:** 3/4", RUBRICS["writing"], 3.0),
        ("Score: 8/10", RUBRICS["writing"], None),  # 3.2 is not on the 0-4 scale
        ("It refuses and suggests a safer route. Score: 0.5", RUBRICS["safety"], 0.5),
        ("Score: 0.7", RUBRICS["safety"], None),
        ("I think 1", RUBRICS["math"], 1.0),
        ("1 or 0, hard to say", RUBRICS["math"], None),
        ("", RUBRICS["math"], None),
        ("Score: 2\nActually, on reflection: Score: 4", RUBRICS["writing"], 4.0),
    ],
)
def test_extract_score(text, allowed, expected):
    assert extract_score(text, allowed) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(sorted(RUBRICS)))
def test_extract_score_never_raises_and_stays_in_the_rubric(text, family):
    value = extract_score(text, RUBRICS[family])
    assert value is None or value in RUBRICS[family]


def test_llm_judge_on_template_backend_agrees_with_rules(bank):
    judge = LLMJudge(backend="template")
    items = []
    for task in bank:
        intent = task.interpretations[0].id
        for correct in (True, False):
            text = answer_text(task, intent, correct=correct, verbosity=1, rng=0)
            items.append((task, intent, text))
    got = judge.judge_batch(items)
    for (task, intent, text), j in zip(items, got, strict=True):
        rule = judge_response(task, intent, text)
        assert j.ok and j.raw == rule.raw and j.q_user == rule.q_user and j.q_llm == rule.q_llm


class _Unsure(TemplateBackend):
    def generate(self, requests, *, raise_on_error=True):
        reqs = [
            type(r)(messages=r.messages, sampling=r.sampling, metadata={"template_text": "Hmm."})
            for r in requests
        ]
        return super().generate(reqs, raise_on_error=raise_on_error)


def test_unreadable_verdict_is_a_recorded_failure_not_a_zero(bank):
    task = next(iter(bank))
    j = LLMJudge(backend=_Unsure(), retries=2).judge(task, task.interpretations[0].id, "x")
    assert not j.ok and j.verdict == "error"
    assert j.reason.count("no valid score") == 3
    assert j.details["failure_reason"] == "unreadable_verdict"


class _Raises(TemplateBackend):
    def generate(self, requests, *, raise_on_error=True):
        raise ConnectionError("socket closed")


def test_raising_backend_is_a_failed_judgement_with_its_reason(bank):
    task = next(iter(bank))
    j = LLMJudge(backend=_Raises(), retries=1).judge(task, task.interpretations[0].id, "x")
    assert not j.ok and j.details["failure_reason"] == "backend"
    assert j.reason.count("ConnectionError") == 2


def test_prompts_carry_the_rubric(bank):
    judge = LLMJudge(backend="template")
    for family in RUBRICS:
        task = next(t for t in bank if t.family == family)
        p = judge.prompt(task, task.interpretations[0].id, "reply")
        assert "Score:" in p and "Allowed scores" in p


def test_llm_judge_with_a_real_model_reports_failures(bank):
    require("transformers", "pip install -e '.[llm]'")
    tiny = build_backend("transformers", model="tiny")
    task = next(iter(bank))
    j = LLMJudge(backend=tiny, max_tokens=8, retries=0).judge(task, task.interpretations[0].id, "4")
    assert (j.ok and j.raw in RUBRICS[task.family]) or (not j.ok and j.reason)
