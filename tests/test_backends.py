"""Chat backends: the protocol, the template backend, transformers (tiny model, SmolLM2),
and the OpenAI backend against a real loopback HTTP server with injected faults."""

from __future__ import annotations

import os
import time

import pytest
from conftest import require

from gtalign_sim.backends import (
    BackendBatchError,
    ChatRequest,
    SamplingParams,
    TemplateBackend,
    build_backend,
    truncate_at_stop,
)


def req(text: str, rid: str | None = None, **sampling) -> ChatRequest:
    return ChatRequest(
        messages=({"role": "user", "content": text},),
        sampling=SamplingParams(**sampling),
        request_id=rid,
    )


# --------------------------------------------------------------------- protocol


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"stop": ("",)}, "stop"),
    ],
)
def test_sampling_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SamplingParams(**kwargs)


def test_request_validation():
    with pytest.raises(ValueError, match="role"):
        ChatRequest(messages=({"role": "robot", "content": "x"},))
    with pytest.raises(ValueError, match="content"):
        ChatRequest(messages=({"role": "user", "content": 3},))
    with pytest.raises(ValueError, match="continue_final"):
        ChatRequest(messages=({"role": "user", "content": "x"},), continue_final=True)
    with pytest.raises(ValueError, match="allowed"):
        SamplingParams.from_config({"beams": 4})
    with pytest.raises(ValueError, match="allowed"):
        build_backend("telepathy")


def test_truncate_at_stop_picks_earliest():
    assert truncate_at_stop("a</payoff>b</x>", ["</x>", "</payoff>"]) == ("a", True)
    assert truncate_at_stop("abc", ["z"]) == ("abc", False)


# ----------------------------------------------------------------------- template


def test_template_backend_renders_with_stops_and_budget():
    b = TemplateBackend()
    r = ChatRequest(
        messages=({"role": "user", "content": "q"},),
        sampling=SamplingParams(stop=("</payoff>",)),
        metadata={"template_text": "<thinking>t</thinking><payoff>{}</payoff><analyze>"},
        request_id="a",
    )
    out = b.generate([r])[0]
    assert out.text == "<thinking>t</thinking><payoff>{}"
    assert out.finish_reason == "stop" and out.completion_tokens > 0 and out.request_id == "a"
    long = ChatRequest(
        messages=({"role": "user", "content": "q"},),
        sampling=SamplingParams(max_tokens=5),
        metadata={"template_text": "word " * 50},
    )
    res = b.generate([long])[0]
    assert res.finish_reason == "length" and res.completion_tokens <= 5


def test_template_backend_reports_missing_text_without_losing_results():
    b = TemplateBackend()
    good = ChatRequest(
        messages=({"role": "user", "content": "q"},), metadata={"template_text": "hi"}
    )
    with pytest.raises(BackendBatchError) as info:
        b.generate([good, req("no template", rid="x")])
    results = info.value.results
    assert results[0].ok and results[0].text == "hi"
    assert not results[1].ok and results[1].error.reason == "template_missing"
    assert len(b.generate([good, req("x")], raise_on_error=False)) == 2


# -------------------------------------------------------------------- transformers


@pytest.fixture(scope="module")
def tiny():
    require("torch", "pip install -e '.[llm]'")
    require("transformers", "pip install -e '.[llm]'")
    return build_backend("transformers", model="tiny", batch_size=4)


PROMPTS = [
    "What is 2+2?",
    "Write a short poem about the sea, please, with a rhyme in every line.",
    "Hi",
    "How tall is the Eiffel Tower, including the antennas at the top?",
    "Draft an email to my landlord about a leaking tap in the kitchen.",
]


def test_tiny_batched_greedy_equals_one_by_one(tiny):
    reqs = [req(p, rid=str(i), max_tokens=20) for i, p in enumerate(PROMPTS)]
    batched = tiny.generate(reqs)
    single = [tiny.generate([r])[0] for r in reqs]
    assert [r.text for r in batched] == [r.text for r in single]
    assert len({r.text for r in batched}) > 1  # the prompts lead to different outputs
    for r in batched:
        assert r.ok and r.prompt_tokens > 0 and 0 < r.completion_tokens <= 21
        assert r.finish_reason in ("stop", "length")


def test_tiny_stop_strings_and_continue_final(tiny):
    base = tiny.generate([req(PROMPTS[1], max_tokens=20)])[0].text
    stop = base[6:10]
    assert stop.strip(), "need a visible stop string"
    cut = tiny.generate([req(PROMPTS[1], max_tokens=20, stop=(stop,))])[0]
    assert cut.finish_reason == "stop" and stop not in cut.text
    assert base.startswith(cut.text)
    cont = ChatRequest(
        messages=(
            {"role": "user", "content": PROMPTS[0]},
            {"role": "assistant", "content": "<thinking>"},
        ),
        sampling=SamplingParams(max_tokens=8),
        continue_final=True,
    )
    assert tiny._prompt(cont).endswith("<|im_start|>assistant\n<thinking>")
    assert tiny.generate([cont])[0].ok


def test_tiny_sampling_is_seeded(tiny):
    a = tiny.generate([req(PROMPTS[0], max_tokens=12, temperature=1.0, seed=3)])[0].text
    b = tiny.generate([req(PROMPTS[0], max_tokens=12, temperature=1.0, seed=3)])[0].text
    assert a == b


def test_smollm2_through_transformers():
    require("torch")
    require("transformers")
    require("gguf", "pip install -e '.[llm]'")
    from gtalign_sim.backends.models import smollm2_gguf_path

    try:  # the package's __init__ imports an unrelated library: locate it, don't import it
        smollm2_gguf_path()
    except FileNotFoundError as exc:
        if os.environ.get("GTALIGN_REQUIRE_ALL") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    backend = build_backend("transformers", model="smollm2")
    out = backend.generate(
        [req("What is the capital of France? Answer in one word.", max_tokens=8)]
    )[0]
    assert out.ok and "paris" in out.text.lower()


# ------------------------------------------------------------- openai over loopback


@pytest.fixture(scope="module")
def served(tiny):
    require("openai", "pip install -e '.[api]'")
    from gtalign_sim.backends.server import ChatServer, FaultPlan

    plan = FaultPlan(retry_after=0.3, stall_s=1.5)
    with ChatServer(tiny, model_name="tiny", faults=plan) as server:
        yield server


def client(server, **kw):
    kw.setdefault("timeout", 0.8)
    kw.setdefault("max_retries", 3)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return build_backend("openai", model="tiny", base_url=server.url, **kw)


def test_openai_backend_matches_direct_generation(served, tiny):
    b = client(served)
    reqs = [req(p, rid=f"plain-{i}", max_tokens=16) for i, p in enumerate(PROMPTS)]
    over_http = b.generate(reqs)
    direct = tiny.generate(reqs)
    assert [r.text for r in over_http] == [r.text for r in direct]
    assert all(r.attempts == 1 and r.completion_tokens > 0 for r in over_http)
    b.close()


def test_openai_backend_faults_are_retried_and_accounted(served):
    served.faults.schedule = {
        "f500": ["http_500", "ok"],
        "f429": ["http_429", "ok"],
        "stall": ["stall", "ok"],
        "bad": ["malformed", "ok"],
        "drop": ["drop", "ok"],
        "mix": ["drop", "http_500", "malformed", "ok"],
        "dead": ["http_500"] * 10,
    }
    b = client(served, max_concurrency=4)
    ids = list(served.faults.schedule) + [f"fine-{i}" for i in range(5)]
    reqs = [req(PROMPTS[i % len(PROMPTS)], rid=rid, max_tokens=8) for i, rid in enumerate(ids)]
    start = time.perf_counter()
    with pytest.raises(BackendBatchError) as info:
        b.generate(reqs)
    results = info.value.results
    # every request accounted for: one result each, in order, none duplicated
    assert [r.request_id for r in results] == ids
    by_id = {r.request_id: r for r in results}
    for rid in ("f500", "f429", "stall", "bad", "drop"):
        assert by_id[rid].ok and by_id[rid].attempts == 2, rid
    assert by_id["mix"].ok and by_id["mix"].attempts == 4
    dead = by_id["dead"]
    assert not dead.ok and dead.error.reason == "http_500" and dead.attempts == 4
    assert served.stats.arrivals["dead"] == 4  # max_retries + 1, no more
    assert all(by_id[f"fine-{i}"].attempts == 1 for i in range(5))
    assert served.stats.answered["stall"] <= 2  # the stalled attempt may finish late
    assert all(served.stats.answered[rid] == 1 for rid in ("f500", "f429", "bad", "drop"))
    assert time.perf_counter() - start >= 0.3  # the 429's Retry-After was honoured
    b.close()


def test_openai_backend_does_not_retry_client_errors(served):
    b = client(served)
    bad = ChatRequest(
        messages=({"role": "user", "content": "x"},),
        sampling=SamplingParams(max_tokens=4),
        request_id="client-error",
    )
    served.faults.schedule = {}
    # the server rejects a request whose body it cannot use with HTTP 400
    b.extra_body = {"messages": "not a list"}
    res = b.generate([bad], raise_on_error=False)[0]
    assert not res.ok and res.error.reason.startswith("http_4") and res.attempts == 1
    b.close()


def test_openai_api_key_comes_from_env_and_is_never_shown(served, monkeypatch):
    secret = "sk-test-" + "s3cr3t" * 4
    monkeypatch.setenv("GTALIGN_TEST_KEY", secret)
    b = client(served, api_key_env="GTALIGN_TEST_KEY")
    assert secret not in repr(b) and secret not in str(vars(b).get("api_key_env"))
    served.faults.schedule = {"k": ["http_500"] * 5}
    res = b.generate([req("x", rid="k", max_tokens=4)], raise_on_error=False)[0]
    assert secret not in str(res.error)
    b.close()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        build_backend("openai", base_url="https://api.example.invalid/v1")
