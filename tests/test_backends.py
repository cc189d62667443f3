"""Chat backends: the protocol, the template backend, transformers (tiny model, SmolLM2),
and the OpenAI backend against a real loopback HTTP server with injected faults."""

from __future__ import annotations

import json
import math
import os
import random
import threading

import pytest
from conftest import require

from gtalign_sim.backends import (
    BackendBatchError,
    ChatRequest,
    ChatResult,
    SamplingParams,
    TemplateBackend,
    build_backend,
    truncate_at_stop,
)
from gtalign_sim.backends.base import (
    MAX_USAGE_TOKENS,
    check_token_count,
    request_label,
    wire_request_id,
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
    assert tiny.prompt_text(cont).endswith("<|im_start|>assistant\n<thinking>")
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


# ------------------------------------------------------- usage counts and wire ids


@pytest.mark.parametrize("value", [0, 7, 7.0, MAX_USAGE_TOKENS])
def test_token_counts_in_range_are_accepted(value):
    assert check_token_count("n", value) == int(value)


@pytest.mark.parametrize(
    "value", [-1, 1.5, math.nan, math.inf, MAX_USAGE_TOKENS + 1, 10**400, "12", None, True]
)
def test_impossible_token_counts_are_rejected(value):
    with pytest.raises(ValueError, match=r"usage\.prompt_tokens"):
        check_token_count("usage.prompt_tokens", value)
    with pytest.raises(ValueError, match="completion_tokens"):
        ChatResult("x", "stop", completion_tokens=value)


def test_wire_ids_are_unique_per_request_and_keep_the_label():
    ids = [wire_request_id("turn-0") for _ in range(100)]
    assert len(set(ids)) == 100
    assert all(request_label(w) == "turn-0" for w in ids)
    odd = wire_request_id("turn 0/\u00e9\r\nX-Evil: 1")
    assert odd.isascii() and "\r" not in odd and "\n" not in odd and " " not in odd
    bare = wire_request_id()
    assert request_label(bare) == bare and len(bare) == 32
    assert request_label("a.b") == "a.b"  # ids made elsewhere are their own label


# ------------------------------------------------------------- openai over loopback
#
# Fault tests run the real OpenAI client against the real loopback server
# (gtalign_sim.backends.server) wrapped around an instant echo backend, so nothing in them
# races a timeout: requests meant to succeed get generous timeouts, stalls are held until
# the test releases them, and each fault's handling is measured per request from the
# server's arrival log.

GENEROUS = 30.0  # seconds: a request meant to succeed never comes near it


class EchoBackend:
    """Answers instantly with the last message (no model: fault tests must not be slow)."""

    name = "echo"

    def generate(self, requests, *, raise_on_error=True):
        return [
            ChatResult(
                text="echo: " + r.messages[-1]["content"][:40],
                finish_reason="stop",
                prompt_tokens=3,
                completion_tokens=2,
                request_id=r.request_id,
            )
            for r in requests
        ]

    def close(self):
        pass


@pytest.fixture
def echo():
    """A fresh loopback server over :class:`EchoBackend`; stalls wait for ``release``."""
    require("openai", "pip install -e '.[api]'")
    from gtalign_sim.backends.server import ChatServer, FaultPlan

    release = threading.Event()
    plan = FaultPlan(retry_after=0.3, stall_s=120.0, release=release)
    server = ChatServer(EchoBackend(), model_name="echo", faults=plan).start()
    try:
        yield server
    finally:
        release.set()
        server.stop()


@pytest.fixture(scope="module")
def served(tiny):
    require("openai", "pip install -e '.[api]'")
    from gtalign_sim.backends.server import ChatServer

    with ChatServer(tiny, model_name="tiny") as server:
        yield server


def client(server, **kw):
    kw.setdefault("timeout", GENEROUS)
    kw.setdefault("max_retries", 3)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return build_backend("openai", model="tiny", base_url=server.url, **kw)


def account(server, results):
    """Check the server's log against the results: one wire id per logical request, used
    on every one of its attempts and by no other request, arrivals == attempts."""
    log = list(server.stats.log)
    assert len(log) == sum(r.attempts for r in results)  # nothing unaccounted for
    per_id: dict[str, list] = {}
    for a in log:
        per_id.setdefault(a.request_id, []).append(a)
    assert len(per_id) == len(results)  # one wire id per logical request, never reused
    labels = [r.request_id for r in results]
    if len(set(labels)) == len(labels):
        by_label = {r.request_id: r for r in results}
        for wire, arrivals in per_id.items():
            res = by_label[request_label(wire)]
            assert [a.attempt for a in arrivals] == list(range(res.attempts)), wire
    return per_id


def test_openai_backend_matches_direct_generation(served, tiny):
    b = client(served)
    reqs = [req(p, rid=f"plain-{i}", max_tokens=16) for i, p in enumerate(PROMPTS)]
    over_http = b.generate(reqs)
    direct = tiny.generate(reqs)
    assert [r.text for r in over_http] == [r.text for r in direct]
    assert all(r.attempts == 1 and r.completion_tokens > 0 for r in over_http)
    b.close()


def test_openai_backend_faults_are_retried_and_accounted(echo):
    echo.faults.schedule = {
        "f500": ["http_500", "ok"],
        "f429": ["http_429", "ok"],
        "bad": ["malformed", "ok"],
        "drop": ["drop", "ok"],
        "mix": ["drop", "http_500", "malformed", "ok"],
        "dead": ["http_500"] * 10,
    }
    b = client(echo, max_concurrency=4)
    ids = [*echo.faults.schedule, *(f"fine-{i}" for i in range(5))]
    reqs = [req(f"prompt {rid}", rid=rid, max_tokens=8) for rid in ids]
    with pytest.raises(BackendBatchError) as info:
        b.generate(reqs)
    b.close()
    results = info.value.results
    # every request accounted for: one result each, in order, none duplicated
    assert [r.request_id for r in results] == ids
    per_id = account(echo, results)
    by_id = {r.request_id: r for r in results}
    for rid in ("f500", "f429", "bad", "drop"):
        assert by_id[rid].ok and by_id[rid].attempts == 2, rid
        assert by_id[rid].text == f"echo: prompt {rid}"
    assert by_id["mix"].ok and by_id["mix"].attempts == 4
    dead = by_id["dead"]
    assert not dead.ok and dead.error.reason == "http_500" and dead.attempts == 4
    assert len(echo.stats.arrivals_of("dead")) == 4  # max_retries + 1, no more
    assert all(by_id[f"fine-{i}"].attempts == 1 for i in range(5))
    for rid in ("f500", "f429", "bad", "drop", "mix", *(f"fine-{i}" for i in range(5))):
        (wire,) = echo.stats.ids_of(rid)
        assert echo.stats.answered[wire] == 1, rid
        assert [a.fault for a in per_id[wire]][-1] == "ok"
    # the 429's Retry-After was honoured, measured on that request alone: its retry
    # arrived at least retry_after after the 429'd attempt
    first, second = echo.stats.arrivals_of("f429")
    assert (first.fault, second.fault) == ("http_429", "ok")
    assert second.t - first.t >= echo.faults.retry_after


def test_openai_backend_retry_after_is_capped(echo):
    echo.faults.retry_after = 1000.0
    echo.faults.schedule = {"slow": ["http_429", "ok"]}
    b = client(echo, max_retry_after=0.2)
    res = b.generate([req("x", rid="slow", max_tokens=4)])[0]
    b.close()
    assert res.ok and res.attempts == 2
    first, second = echo.stats.arrivals_of("slow")
    assert second.t - first.t >= 0.2  # waited the cap, not the server's 1000 s


def test_openai_backend_stall_times_out_and_is_retried(echo):
    # The stalled attempt is held until the test releases it, so it outlasts the client's
    # timeout whatever the load; only the retry (an instant echo) must beat the timeout.
    echo.faults.schedule = {"stall": ["stall", "ok"], "stall-dead": ["stall", "stall"]}
    b = client(echo, timeout=2.0, max_retries=1)
    results = b.generate(
        [req("s", rid="stall", max_tokens=4), req("d", rid="stall-dead", max_tokens=4)],
        raise_on_error=False,
    )
    b.close()
    ok, dead = results
    assert ok.ok and ok.attempts == 2 and ok.text == "echo: s"
    assert not dead.ok and dead.error.reason == "timeout" and dead.attempts == 2
    assert [a.fault for a in echo.stats.arrivals_of("stall")] == ["stall", "ok"]
    assert [a.fault for a in echo.stats.arrivals_of("stall-dead")] == ["stall", "stall"]
    account(echo, results)
    (wire,) = echo.stats.ids_of("stall")
    assert echo.stats.answered[wire] == 1  # the stalled attempt is still held, unanswered


def test_openai_backend_outage_fails_every_request_after_all_retries(echo):
    echo.faults.default = lambda rid, attempt: "http_500"
    b = client(echo, max_retries=2, max_concurrency=4)
    ids = [f"out-{i}" for i in range(10)]
    with pytest.raises(BackendBatchError) as info:
        b.generate([req(f"q{i}", rid=rid, max_tokens=4) for i, rid in enumerate(ids)])
    b.close()
    results = info.value.results
    assert [r.request_id for r in results] == ids
    assert len(info.value.failures) == len(ids)
    for r in results:
        assert not r.ok and r.text == "" and r.finish_reason == "error"
        assert r.error.reason == "http_500" and r.attempts == 3 and r.error.attempts == 3
    per_id = account(echo, results)
    assert sorted(len(v) for v in per_id.values()) == [3] * len(ids)  # max_retries + 1 each
    assert sum(echo.stats.answered.values()) == 0


_FAULT_REASON = {
    "http_500": "http_500",
    "http_429": "http_429",
    "malformed": "malformed",
    "drop": "connection",
    "bad_usage": "bad_usage",
}


def _chaos(label: str, attempt: int) -> str:
    """A fixed pseudo-random fault (60 % of attempts) for this attempt of this request."""
    rng = random.Random(f"{label}/{attempt}")
    return rng.choice(sorted(_FAULT_REASON)) if rng.random() < 0.6 else "ok"


def test_openai_backend_under_a_60_percent_fault_rate_loses_nothing(echo):
    echo.faults.retry_after = 0.05
    echo.faults.default = lambda rid, attempt: _chaos(request_label(rid), attempt)
    b = client(echo, max_retries=1, max_concurrency=8)
    ids = [f"chaos-{i}" for i in range(60)]
    results = b.generate(
        [req(f"q{i}", rid=rid, max_tokens=4) for i, rid in enumerate(ids)], raise_on_error=False
    )
    b.close()
    # exactly one result per request, in order: none lost, none duplicated
    assert [r.request_id for r in results] == ids
    per_id = account(echo, results)
    n_ok = 0
    for r in results:
        # what the plan says must happen: bad usage and the second fault are final
        expected = []
        for attempt in range(2):
            expected.append(_chaos(r.request_id, attempt))
            if expected[-1] in ("ok", "bad_usage"):
                break
        (wire,) = echo.stats.ids_of(r.request_id)
        assert [a.fault for a in per_id[wire]] == expected, r.request_id
        assert r.attempts == len(expected)
        if expected[-1] == "ok":
            n_ok += 1
            assert r.ok and r.text == f"echo: q{ids.index(r.request_id)}"
            assert (r.prompt_tokens, r.completion_tokens) == (3, 2)
        else:
            assert not r.ok and r.error.reason == _FAULT_REASON[expected[-1]], r.request_id
            assert r.text == "" and r.error.attempts == r.attempts
    assert 0 < n_ok < len(ids)  # the plan mixes both outcomes


def test_openai_backend_request_ids_are_unique_and_stable_across_retries(echo):
    echo.faults.default = lambda rid, attempt: "http_500" if attempt == 0 else "ok"
    b = client(echo, max_retries=2)
    # callers reuse ids (e.g. "turn-0" on every turn) or give none at all
    first = b.generate([req("a", rid="turn-0"), req("b", rid="turn-0"), req("c")])
    second = b.generate([req("d", rid="turn-0")])
    b.close()
    assert all(r.ok and r.attempts == 2 for r in first + second)
    log = list(echo.stats.log)
    assert len(log) == 8
    per_id: dict[str, list[int]] = {}
    for a in log:
        per_id.setdefault(a.request_id, []).append(a.attempt)
    # four logical requests, four ids; each id arrived exactly twice (attempt, retry)
    assert len(per_id) == 4 and all(v == [0, 1] for v in per_id.values())
    assert len(echo.stats.ids_of("turn-0")) == 3
    assert all(w.startswith("turn-0.") for w in echo.stats.ids_of("turn-0"))


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": -5},
        {"completion_tokens": -1},
        {"completion_tokens": 2.5},
        {"prompt_tokens": math.nan},
        {"completion_tokens": math.inf},
        {"prompt_tokens": MAX_USAGE_TOKENS + 1},
        {"completion_tokens": "many"},
        {"prompt_tokens": [3]},
    ],
    ids=json.dumps,
)
def test_openai_backend_bad_usage_is_a_typed_failure(echo, usage):
    echo.faults.bad_usage_values = usage
    echo.faults.schedule = {"u": ["bad_usage"], "fine": ["ok"]}
    b = client(echo)
    with pytest.raises(BackendBatchError) as info:
        b.generate([req("x", rid="u", max_tokens=4), req("y", rid="fine", max_tokens=4)])
    b.close()
    bad, fine = info.value.results
    assert not bad.ok and bad.error.reason == "bad_usage" and bad.attempts == 1
    (field,) = usage
    assert field in str(bad.error)
    assert bad.prompt_tokens == 0 and bad.completion_tokens == 0 and bad.text == ""
    assert fine.ok and fine.text == "echo: y"  # the rest of the batch is kept
    assert len(echo.stats.arrivals_of("u")) == 1  # a miscounting server is not retried


def test_openai_backend_does_not_retry_client_errors(echo):
    b = client(echo)
    bad = ChatRequest(
        messages=({"role": "user", "content": "x"},),
        sampling=SamplingParams(max_tokens=4),
        request_id="client-error",
    )
    # the server rejects a request whose body it cannot use with HTTP 400
    b.extra_body = {"messages": "not a list"}
    res = b.generate([bad], raise_on_error=False)[0]
    b.close()
    assert not res.ok and res.error.reason.startswith("http_4") and res.attempts == 1
    assert len(echo.stats.arrivals_of("client-error")) == 1


def test_openai_api_key_comes_from_env_and_is_never_shown(echo, monkeypatch):
    secret = "sk-test-" + "s3cr3t" * 4
    monkeypatch.setenv("GTALIGN_TEST_KEY", secret)
    b = client(echo, api_key_env="GTALIGN_TEST_KEY", max_retries=1)
    assert secret not in repr(b) and secret not in str(vars(b).get("api_key_env"))
    echo.faults.schedule = {"k": ["http_500"] * 5}
    res = b.generate([req("x", rid="k", max_tokens=4)], raise_on_error=False)[0]
    assert secret not in str(res.error)
    b.close()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        build_backend("openai", base_url="https://api.example.invalid/v1")
