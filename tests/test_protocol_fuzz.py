"""Property tests: parse never raises anything but ProtocolError; render → parse round-trips."""

from __future__ import annotations

import contextlib
import json

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gtalign_sim.game import PayoffMatrix
from gtalign_sim.protocol import (
    ALL_TAGS,
    MAX_INPUT_CHARS,
    ParsedReply,
    ProtocolError,
    analyze_response,
    extract_choice,
    format_score,
    parse,
    parse_payoff,
    render,
)

KEYS = ["DQ_DA", "DQ_CQ", "DQ_AQ", "VQ_DA", "VQ_CQ", "VQ_AQ"]

FRAGMENTS = [
    *ALL_TAGS,
    "<thinking",
    "</",
    "<",
    ">",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    '"',
    "'",
    "\u201c",
    "\u201d",
    "\u2018",
    "\u2019",
    "```",
    "```json\n",
    *[f'"{k}"' for k in KEYS],
    *[f"'{k}'" for k in KEYS],
    '"LLM"',
    '"user"',
    "'LLM'",
    "'user'",
    "1.5",
    "-3",
    "0",
    "1e999",
    "NaN",
    "Infinity",
    "true",
    "None",
    "True",
    "null",
    " ",
    "\n",
    "Choice: ",
    "VQ_CQ",
    "(DQ, AQ)",
    "?",
    ".",
    "http://x.y/?q=1",
    "`code?`",
]


def _check(text: object) -> None:
    try:
        result = parse(text)  # type: ignore[arg-type]
    except ProtocolError as exc:
        assert str(exc)
        return
    assert isinstance(result, ParsedReply)
    assert result.format_score == float(result.strict_layout)
    assert format_score(text) == result.format_score


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_arbitrary_text(text: str) -> None:
    _check(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=60))
def test_parse_fragment_soup(parts: list[str]) -> None:
    _check("".join(parts))


def _cell_json(key: str, llm: str, user: str) -> str:
    return f'"{key}": {{"LLM": {llm}, "user": {user}}}'


NUMBERS = st.sampled_from(["1.5", "-2", "0", "1e999", "NaN", "true", '"x"', "null", "[]", "1" * 30])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(KEYS), max_size=8),
    st.lists(NUMBERS, min_size=16, max_size=16),
    st.sampled_from(["", "```json\n{}\n```", "{}", "x {} y"]),
    st.booleans(),
)
def test_parse_near_valid_payoffs(
    keys: list[str], nums: list[str], wrap: str, single: bool
) -> None:
    body = (
        "{"
        + ", ".join(_cell_json(k, nums[2 * i], nums[2 * i + 1]) for i, k in enumerate(keys))
        + "}"
    )
    if single:
        body = body.replace('"', "'")
    payoff = wrap.replace("{}", body) if wrap else body
    text = (
        f"<thinking>t</thinking><payoff>{payoff}</payoff><analyze>a</analyze><response>r</response>"
    )
    _check(text)
    with contextlib.suppress(ProtocolError):
        parse_payoff(payoff)


VALID = (
    "<thinking>Vague question; clarify.</thinking>\n<payoff>"
    + json.dumps({k: {"LLM": 1.5, "user": -0.5} for k in KEYS})
    + "</payoff>\n<analyze>Frontier: VQ_CQ.\nChoice: VQ_CQ</analyze>\n"
    "<response>Which version do you use?</response>"
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(VALID)),
            st.integers(min_value=0, max_value=8),
            st.sampled_from(FRAGMENTS) | st.text(max_size=3),
        ),
        max_size=4,
    )
)
def test_parse_mutated_valid_reply(edits: list[tuple[int, int, str]]) -> None:
    text = VALID
    for pos, cut, insert in edits:
        pos = min(pos, len(text))
        text = text[:pos] + insert + text[pos + cut :]
    _check(text)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.lists(st.sampled_from(FRAGMENTS), max_size=5).map("".join),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from([*KEYS, "LLM", "user", "x"]), children, max_size=7)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from(["json", "repr", "double"]))
def test_parse_payoff_arbitrary_values(value: object, encoding: str) -> None:
    if encoding == "json":
        text = json.dumps(value)
    elif encoding == "repr":
        text = repr(value)
    else:
        text = json.dumps(json.dumps(value))
    try:
        m = parse_payoff(text)
    except ProtocolError as exc:
        assert str(exc)
        return
    assert isinstance(m, PayoffMatrix) and encoding != "double"


def test_adversarial_inputs_finish() -> None:
    n = MAX_INPUT_CHARS
    payoff_soup = ("<payoff>{" * n)[:n]
    for text in [
        payoff_soup,
        ("<thinking>" * n)[:n],
        "<thinking></thinking><payoff>"
        + "{" * 19_000
        + "</payoff><analyze></analyze><response></response>",
        "<thinking></thinking><payoff>"
        + "[" * 19_000
        + "</payoff><analyze></analyze><response></response>",
        "<thinking></thinking><payoff>{}</payoff><analyze>"
        + "DQ " * 60_000
        + "</analyze><response></response>",
        ("a" * (n - 1)) + "<",
        ("<" * n),
    ]:
        _check(text)
    # A valid reply whose analysis and response are huge and hostile still parses.
    payoff = json.dumps({k: {"LLM": 1.0, "user": 1.0} for k in KEYS})
    hostile = ("DQ" + " " * 50 + "_ " + "*" * 20 + "Choice" + "?" * 30 + "`" + "```") * 800
    text = (
        f"<thinking>x</thinking><payoff>{payoff}</payoff>"
        f"<analyze>{hostile}</analyze><response>{hostile}</response>"
    )
    assert len(text) < MAX_INPUT_CHARS
    assert parse(text).format_score == 1.0
    assert extract_choice("*" * 100_000 + "Choice" + " " * 100_000) is None
    assert analyze_response("a?" * 50_000).n_questions == 50_000


# ------------------------------------------------------------------- round trips
ONE_DECIMAL = st.integers(min_value=-50, max_value=50).map(lambda k: k / 10)
SAFE_TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8",
        categories=("L", "N", "P", "S", "Zs"),
        include_characters="\n\t",
    ),
    max_size=200,
)
LABEL = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=3)


def _safe(text: str) -> bool:
    return not any(tag in text for tag in ALL_TAGS)


@st.composite
def games(draw: st.DrawFn, default_labels: bool) -> PayoffMatrix:
    if default_labels:
        strategies, actions = ["DQ", "VQ"], ["DA", "CQ", "AQ"]
    else:
        strategies = draw(st.lists(LABEL, min_size=1, max_size=4, unique=True))
        actions = draw(st.lists(LABEL, min_size=1, max_size=4, unique=True))
    shape = (len(strategies), len(actions))
    values = st.lists(ONE_DECIMAL, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])
    user = np.array(draw(values)).reshape(shape)
    llm = np.array(draw(values)).reshape(shape)
    return PayoffMatrix(user, llm, strategies, actions)


def _round_trip(
    m: PayoffMatrix,
    data: st.DataObject,
    thinking: str | None,
    analysis: str | None,
    response: str,
) -> None:
    assume(all(_safe(t) for t in (thinking or "", analysis or "", response)))
    chosen = data.draw(st.sampled_from(list(m.cells())))
    text = render(m, chosen, response, thinking=thinking, analysis=analysis)
    labels = {"user_strategies": m.user_strategies, "assistant_actions": m.assistant_actions}
    r = parse(text, **labels)
    assert r.strict_layout and r.format_score == 1.0
    assert r.matrix.allclose(m)
    assert r.matrix == m  # one-decimal values survive the JSON exactly
    assert r.chosen_cell == chosen
    assert r.response == response.strip()
    if thinking is not None:
        assert r.thinking == thinking.strip()
    if analysis is not None:
        assert r.analyze.startswith(analysis.strip())
    assert json.loads(r.payoff_text) == json.loads(m.to_json())
    assert text.startswith(r.text_before_response)
    assert format_score(text, **labels) == 1.0


@settings(max_examples=200, deadline=None)
@given(
    games(default_labels=True),
    st.data(),
    st.none() | SAFE_TEXT,
    st.none() | SAFE_TEXT,
    SAFE_TEXT,
)
def test_render_parse_round_trip(
    m: PayoffMatrix, data: st.DataObject, thinking: str | None, analysis: str | None, response: str
) -> None:
    _round_trip(m, data, thinking, analysis, response)


@settings(max_examples=200, deadline=None)
@given(
    games(default_labels=False), st.data(), st.none() | SAFE_TEXT, st.none() | SAFE_TEXT, SAFE_TEXT
)
def test_render_parse_round_trip_custom_labels(
    m: PayoffMatrix, data: st.DataObject, thinking: str | None, analysis: str | None, response: str
) -> None:
    _round_trip(m, data, thinking, analysis, response)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e6, max_value=1e6),
        min_size=12,
        max_size=12,
    ),
    st.data(),
)
def test_render_exact_round_trip(values: list[float], data: st.DataObject) -> None:
    m = PayoffMatrix(np.reshape(values[:6], (2, 3)), np.reshape(values[6:], (2, 3)))
    chosen = data.draw(st.sampled_from(list(m.cells())))
    r = parse(render(m, chosen, "ok", decimals=None))
    assert r.matrix == m and r.chosen_cell == chosen
