"""Unit tests of the four-block protocol: parsing, payoff reading, actions, prompts, rendering."""

from __future__ import annotations

import json

import pytest

from gtalign_sim.game import PayoffMatrix
from gtalign_sim.protocol import (
    INSTRUCTION_STYLES,
    MAX_INPUT_CHARS,
    MAX_PAYOFF_CHARS,
    TIE_BREAK_RULES,
    ParsedReply,
    PromptConfig,
    ProtocolError,
    analyze_response,
    build_instructions,
    build_prompt,
    count_questions,
    default_analysis,
    default_thinking,
    extract_choice,
    format_score,
    infer_action,
    parse,
    parse_payoff,
    payoff_keys,
    render,
)

KEYS = ["DQ_DA", "DQ_CQ", "DQ_AQ", "VQ_DA", "VQ_CQ", "VQ_AQ"]
PAYOFF = {
    "DQ_DA": {"LLM": 3.1, "user": 3.5},
    "DQ_CQ": {"LLM": 1.0, "user": 0.5},
    "DQ_AQ": {"LLM": 2.0, "user": 2.2},
    "VQ_DA": {"LLM": 1.5, "user": 1.0},
    "VQ_CQ": {"LLM": 2.5, "user": 2.8},
    "VQ_AQ": {"LLM": 2.0, "user": 3.0},
}


def reply(
    payoff: str | None = None,
    *,
    thinking: str = "The user gave a vague question, so clarifying is cheap for both sides.",
    analysis: str = "Pareto frontier: DQ_DA, VQ_CQ, VQ_AQ.\nChoice: VQ_CQ",
    response: str = "Which Python version are you using?",
    sep: str = "\n",
) -> str:
    payoff = json.dumps(PAYOFF) if payoff is None else payoff
    return sep.join(
        [
            f"<thinking>{thinking}</thinking>",
            f"<payoff>{payoff}</payoff>",
            f"<analyze>{analysis}</analyze>",
            f"<response>{response}</response>",
        ]
    )


def with_value(key: str, who: str, value: str) -> str:
    """The PAYOFF JSON with one value replaced by raw JSON text ``value``."""
    text = json.dumps(PAYOFF)
    old = json.dumps({who: PAYOFF[key][who]})[1:-1]
    head, tail = text.split(f'"{key}": ', 1)
    return head + f'"{key}": ' + tail.replace(old, f'"{who}": {value}', 1)


# ------------------------------------------------------------------- valid replies
def test_valid_reply_parses_everything() -> None:
    r = parse(reply())
    assert isinstance(r, ParsedReply)
    assert r.thinking.startswith("The user gave a vague question")
    assert json.loads(r.payoff_text) == PAYOFF
    assert r.analyze.endswith("Choice: VQ_CQ")
    assert r.response == "Which Python version are you using?"
    assert r.matrix.allclose(PayoffMatrix.from_gtalign(PAYOFF))
    assert r.matrix.payoff("VQ", "CQ") == (2.8, 2.5)
    assert r.chosen_cell == ("VQ", "CQ")
    assert r.chosen_action == "CQ"
    assert r.response_action == "CQ"
    assert r.action_consistent is True
    assert r.n_questions == 1
    assert r.strict_layout is True
    assert r.format_score == 1.0
    assert r.text_before_response.endswith("</analyze>\n")
    assert r.raw == reply()
    assert format_score(reply()) == 1.0


def test_blocks_without_separators_and_surrounding_whitespace_are_strict() -> None:
    text = "  \n" + reply(sep="") + "\n\t "
    r = parse(text)
    assert r.strict_layout and r.format_score == 1.0


def test_block_contents_are_stripped() -> None:
    r = parse(reply(response="\n  Hello there.  \n"))
    assert r.response == "Hello there."
    assert r.response_action == "DA"


@pytest.mark.parametrize(
    "text",
    [
        "Sure! " + reply(),
        reply() + "\nThanks for asking.",
        reply().replace("</payoff>\n<analyze>", "</payoff> note <analyze>"),
    ],
)
def test_text_outside_the_blocks_is_parsed_but_scores_zero(text: str) -> None:
    r = parse(text)
    assert r.strict_layout is False
    assert r.format_score == 0.0
    assert r.chosen_cell == ("VQ", "CQ")
    assert format_score(text) == 0.0


# --------------------------------------------------------------- layout failures
@pytest.mark.parametrize("block", ["thinking", "payoff", "analyze", "response"])
def test_missing_block_is_named(block: str) -> None:
    text = reply().replace(f"<{block}>", "").replace(f"</{block}>", "")
    with pytest.raises(ProtocolError, match=f"<{block}> is missing") as info:
        parse(text)
    assert info.value.block == block
    assert format_score(text) == 0.0


@pytest.mark.parametrize("block", ["thinking", "payoff", "analyze", "response"])
def test_missing_closing_tag_is_named(block: str) -> None:
    with pytest.raises(ProtocolError, match=f"</{block}>"):
        parse(reply().replace(f"</{block}>", ""))


@pytest.mark.parametrize("block", ["thinking", "payoff", "analyze", "response"])
def test_duplicated_block_is_named(block: str) -> None:
    text = reply() + f"\n<{block}>again</{block}>"
    with pytest.raises(ProtocolError, match=f"<{block}> is duplicated"):
        parse(text)


def test_out_of_order_blocks_are_named() -> None:
    text = "\n".join(
        [
            "<thinking>t</thinking>",
            "<analyze>Choice: VQ_CQ</analyze>",
            f"<payoff>{json.dumps(PAYOFF)}</payoff>",
            "<response>r</response>",
        ]
    )
    with pytest.raises(ProtocolError, match="out of order") as info:
        parse(text)
    assert "analyze" in str(info.value)


def test_closing_tag_before_opening_tag() -> None:
    text = reply().replace("<response>", "@@").replace("</response>", "<response>")
    text = text.replace("@@", "</response>")
    with pytest.raises(ProtocolError, match="response"):
        parse(text)


def test_nested_blocks_are_rejected() -> None:
    text = reply(thinking="<payoff>{}</payoff>")
    with pytest.raises(ProtocolError, match="payoff"):
        parse(text)


@pytest.mark.parametrize("value", [None, 3, b"<thinking>", ["<thinking>"]])
def test_non_str_input(value: object) -> None:
    with pytest.raises(ProtocolError, match="must be a str"):
        parse(value)  # type: ignore[arg-type]
    assert format_score(value) == 0.0


def test_oversized_input_is_rejected() -> None:
    text = reply(response="word " * (MAX_INPUT_CHARS // 5))
    with pytest.raises(ProtocolError, match="too long"):
        parse(text)
    assert format_score(text) == 0.0


def test_oversized_payoff_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="too long"):
        parse_payoff(" " * (MAX_PAYOFF_CHARS + 1) + json.dumps(PAYOFF))


# ---------------------------------------------------------------- payoff reading
def test_payoff_with_curly_quotes() -> None:
    curly = json.dumps(PAYOFF).replace('"', "\u201c", 1).replace('"', "\u201d", 1)
    curly = curly.replace('"', "\u201c")
    assert parse(reply(curly)).matrix.allclose(PayoffMatrix.from_gtalign(PAYOFF))


def test_payoff_with_curly_single_quotes() -> None:
    text = json.dumps(PAYOFF).replace('"', "\u2018")
    assert parse_payoff(text).allclose(PayoffMatrix.from_gtalign(PAYOFF))


def test_payoff_as_python_literal() -> None:
    text = repr(PAYOFF)
    assert "'" in text
    assert parse(reply(text)).matrix.allclose(PayoffMatrix.from_gtalign(PAYOFF))


@pytest.mark.parametrize("fence", ["```json\n{}\n```", "```\n{}\n```", "Here:\n```JSON\n{}```"])
def test_payoff_in_a_fence(fence: str) -> None:
    text = fence.replace("{}", json.dumps(PAYOFF, indent=2))
    r = parse(reply(text))
    assert r.matrix.allclose(PayoffMatrix.from_gtalign(PAYOFF))
    assert r.format_score == 1.0


def test_payoff_with_integer_values() -> None:
    payoff = {k: {"LLM": 1, "user": -2} for k in KEYS}
    m = parse_payoff(json.dumps(payoff))
    assert m.payoff("DQ", "DA") == (-2.0, 1.0)


def test_missing_key_is_named() -> None:
    payoff = {k: v for k, v in PAYOFF.items() if k != "VQ_AQ"}
    with pytest.raises(ProtocolError, match="VQ_AQ") as info:
        parse(reply(json.dumps(payoff)))
    assert info.value.block == "payoff"
    assert "missing" in str(info.value)


def test_extra_key_is_rejected() -> None:
    payoff = {**PAYOFF, "XQ_DA": {"LLM": 1.0, "user": 1.0}}
    with pytest.raises(ProtocolError, match="XQ_DA"):
        parse_payoff(json.dumps(payoff))


def test_missing_sub_key_is_rejected() -> None:
    payoff = {**PAYOFF, "DQ_CQ": {"LLM": 1.0}}
    with pytest.raises(ProtocolError, match="DQ_CQ"):
        parse_payoff(json.dumps(payoff))


def test_non_number_value_names_key_and_value() -> None:
    with pytest.raises(ProtocolError, match="DQ_AQ") as info:
        parse_payoff(with_value("DQ_AQ", "user", '"high"'))
    assert "'high'" in str(info.value)
    assert "user" in str(info.value)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_values_are_rejected(literal: str) -> None:
    with pytest.raises(ProtocolError, match="VQ_DA"):
        parse_payoff(with_value("VQ_DA", "LLM", literal))


@pytest.mark.parametrize("literal", ["true", "false"])
def test_json_booleans_are_rejected(literal: str) -> None:
    with pytest.raises(ProtocolError, match="must be a number"):
        parse_payoff(with_value("DQ_DA", "user", literal))


def test_python_booleans_are_rejected() -> None:
    payoff = {**PAYOFF, "DQ_DA": {"LLM": True, "user": 1.0}}
    with pytest.raises(ProtocolError, match="must be a number"):
        parse_payoff(repr(payoff))


def test_null_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="must be a number"):
        parse_payoff(with_value("DQ_DA", "user", "null"))


def test_huge_integer_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="finite number"):
        parse_payoff(with_value("DQ_DA", "user", "1" + "0" * 400))
    with pytest.raises(ProtocolError):
        parse_payoff(with_value("DQ_DA", "user", "9" * 5000))


@pytest.mark.parametrize(
    ("literal", "match"),
    [
        ("1e308", "out of bounds"),
        ("-1e308", "out of bounds"),
        ("1000000.5", "out of bounds"),
        ("1" + "0" * 300, "out of bounds"),  # an integer that still fits a float
        ("Infinity", "finite number"),
        ("-Infinity", "finite number"),
        ("NaN", "finite number"),
        ("1e309", "finite number"),  # overflows to inf while decoding
    ],
)
def test_out_of_range_payoffs_in_a_reply_are_protocol_errors(literal: str, match: str) -> None:
    text = reply(with_value("VQ_CQ", "LLM", literal))
    with pytest.raises(ProtocolError, match=match) as info:
        parse(text)
    assert info.value.block == "payoff"
    assert "VQ_CQ" in str(info.value) and "LLM" in str(info.value)
    if match == "out of bounds":
        assert "MAX_ABS_PAYOFF" in str(info.value) and "1e+06" in str(info.value)
    assert format_score(text) == 0.0


@pytest.mark.parametrize("literal", ["inf", "nan", "float('inf')", "1e308 * 10"])
def test_python_spellings_of_non_finite_payoffs_are_protocol_errors(literal: str) -> None:
    payoff = repr(PAYOFF).replace("3.1", literal, 1)
    with pytest.raises(ProtocolError) as info:
        parse(reply(payoff))
    assert info.value.block == "payoff"


def test_payoffs_at_the_bound_are_accepted_and_usable() -> None:
    from gtalign_sim.protocol.parser import MAX_ABS_PAYOFF

    assert MAX_ABS_PAYOFF == 1e6
    text = with_value("DQ_DA", "user", "-1e6")
    matrix = parse_payoff(text)
    assert matrix.payoff("DQ", "DA")[0] == -1e6
    assert matrix.rounded().payoff("DQ", "DA")[0] == -1e6  # no overflow downstream


def test_duplicate_keys_are_rejected() -> None:
    text = json.dumps(PAYOFF)[:-1] + ', "DQ_DA": {"LLM": 0.0, "user": 0.0}}'
    with pytest.raises(ProtocolError, match="duplicate key 'DQ_DA'"):
        parse_payoff(text)
    with pytest.raises(ProtocolError, match="duplicate key 'DQ_DA'"):
        parse_payoff(text.replace('"', "'"))


@pytest.mark.parametrize(
    "text",
    ["", "{", "[1, 2]", "null", "not json at all", '{"DQ_DA": }', "{'a': __import__('os')}"],
)
def test_undecodable_or_wrong_shape(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_payoff(text)


def test_double_encoded_payoff_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="got str"):
        parse_payoff(json.dumps(json.dumps(PAYOFF)))
    with pytest.raises(ProtocolError, match="got str"):
        parse_payoff(json.dumps("[" * 5_000))


def test_deep_nesting_is_a_protocol_error() -> None:
    for text in ["[" * 10_000, "{" * 10_000, "-" * 19_000 + "1", "1+" * 9_000 + "1"]:
        with pytest.raises(ProtocolError):
            parse_payoff(text)


def test_payoff_custom_labels() -> None:
    payoff = {f"{s}_{a}": {"LLM": 0.5, "user": -0.5} for s in "ABC" for a in ("X", "Y")}
    m = parse_payoff(
        json.dumps(payoff), user_strategies=["A", "B", "C"], assistant_actions=["X", "Y"]
    )
    assert m.shape == (3, 2)
    assert m.user_strategies == ("A", "B", "C")
    with pytest.raises(ProtocolError, match="missing"):
        parse_payoff(
            json.dumps(PAYOFF), user_strategies=["A", "B", "C"], assistant_actions=["X", "Y"]
        )


@pytest.mark.parametrize(
    ("strategies", "actions"),
    [(["D_Q", "VQ"], ["DA"]), ([], ["DA"]), (["DQ", "DQ"], ["DA"]), ("DQ", ["DA"])],
)
def test_invalid_labels_raise_protocol_error(strategies: list[str], actions: list[str]) -> None:
    with pytest.raises(ProtocolError, match="user_strategies"):
        parse(reply(), user_strategies=strategies, assistant_actions=actions)


# ----------------------------------------------------------------- chosen cell
@pytest.mark.parametrize(
    ("analysis", "cell"),
    [
        ("Frontier: DQ_DA, VQ_CQ.\nChoice: VQ_CQ", ("VQ", "CQ")),
        ("Frontier: DQ_DA, VQ_CQ.\nchoice - VQ-CQ", ("VQ", "CQ")),
        ("Frontier: DQ_DA, VQ_CQ.\n**Chosen:** (VQ, CQ)", ("VQ", "CQ")),
        ("Frontier: DQ_DA, VQ_CQ.\nSelected: VQ/CQ", ("VQ", "CQ")),
        ("SELECTED = DQ_AQ because it is best.\nDQ_DA is also fine.", ("DQ", "AQ")),
        ("Final choice is DQ_DA.", ("DQ", "DA")),
        ("VQ_CQ looks good.\nMy final choice: **DQ_DA**", ("DQ", "DA")),
        ("The chosen cell = VQ_DA\nVQ_CQ is second.", ("VQ", "DA")),
        ("The choice between DQ_DA and VQ_CQ is hard; VQ_AQ wins.", ("VQ", "AQ")),
        ("Choice: VQ_AQ\nOn reflection...\nChoice: DQ_CQ", ("DQ", "CQ")),
        ("Only VQ_AQ makes sense; VQ_AQ it is.", ("VQ", "AQ")),
        ("DQ_DA is dominated; VQ_CQ beats it; so VQ_AQ.", ("VQ", "AQ")),
        ("Choice: none of these.\nVQ_DA wins.", ("VQ", "DA")),
        ("No cell is named here.", None),
        ("XDQ_DA and DQ_DAX are not cells.", None),
    ],
)
def test_extract_choice(analysis: str, cell: tuple[str, str] | None) -> None:
    assert extract_choice(analysis) == cell


def test_extract_choice_custom_labels_prefers_longest() -> None:
    labels = {"user_strategies": ["A", "AB"], "assistant_actions": ["B", "BA"]}
    assert extract_choice("Choice: AB_BA", **labels) == ("AB", "BA")
    assert extract_choice("Choice: A_B", **labels) == ("A", "B")
    assert extract_choice("Choice: A_BA", **labels) == ("A", "BA")


def test_chosen_cell_none_and_inconsistent_action() -> None:
    r = parse(reply(analysis="I cannot decide.", response="Paris is the capital of France."))
    assert r.chosen_cell is None and r.chosen_action is None
    assert r.action_consistent is None
    r = parse(reply(analysis="Choice: VQ_CQ", response="Paris is the capital of France."))
    assert r.response_action == "DA"
    assert r.action_consistent is False


# ---------------------------------------------------------------------- actions
DA_TEXTS = [
    "The capital of France is Paris.",
    "Use `sorted(xs, key=len)`; it returns a new list. See https://docs.python.org/3/?q=sort.",
    "Here is the code:\n```python\nx = input('Name? ')\nprint(x or 'who?')\n```\nRun it.",
]
CQ_TEXTS = [
    "Which Python version are you using?",
    "Happy to help! Could you tell me which city you are flying from?",
    "To recommend a laptop, I need one detail: what is your budget?",
]
AQ_TEXTS = [
    "The capital of France is Paris, which has been the seat of government for centuries "
    "and is also its largest city. Are you planning a trip there?",
    "To reverse a list in Python, call `xs.reverse()` to do it in place, or use "
    "`xs[::-1]` to get a reversed copy without touching the original. "
    "Do you need to keep the original order?",
]


@pytest.mark.parametrize("text", DA_TEXTS)
def test_infer_direct_answer(text: str) -> None:
    assert infer_action(text) == "DA"
    assert count_questions(text) == 0


@pytest.mark.parametrize("text", CQ_TEXTS)
def test_infer_clarifying_question(text: str) -> None:
    assert infer_action(text) == "CQ"
    assert count_questions(text) == 1


@pytest.mark.parametrize("text", AQ_TEXTS)
def test_infer_answer_plus_question(text: str) -> None:
    assert infer_action(text) == "AQ"
    assert count_questions(text) == 1


def test_multiple_questions_are_flagged() -> None:
    only_questions = "Which city? And which dates?"
    found = analyze_response(only_questions)
    assert found.action == "CQ" and found.n_questions == 2 and found.multiple_questions
    text = AQ_TEXTS[0] + " Or would you like museum tips? Really??"
    found = analyze_response(text)
    assert found.action == "AQ" and found.n_questions == 3 and found.multiple_questions


def test_infer_action_edge_cases() -> None:
    assert infer_action("") is None
    assert infer_action("   \n") is None
    assert infer_action("Which one?", ["A", "B"]) is None
    assert infer_action("Which one?", ("AQ", "CQ", "DA")) == "CQ"
    assert infer_action("Which one?", answer_min_words=0) == "AQ"
    assert count_questions("Really?!? Yes. Sure？") == 2
    with pytest.raises(TypeError):
        infer_action(3)  # type: ignore[arg-type]


def test_response_action_is_none_for_custom_labels() -> None:
    payoff = {f"{s}_{a}": {"LLM": 1.0, "user": 1.0} for s in ("A", "B") for a in ("X",)}
    text = reply(json.dumps(payoff), analysis="Choice: B_X")
    r = parse(text, user_strategies=["A", "B"], assistant_actions=["X"])
    assert r.chosen_cell == ("B", "X")
    assert r.response_action is None
    assert r.n_questions == 1


# ---------------------------------------------------------------------- prompts
def test_default_prompt_contains_contract() -> None:
    messages = build_prompt("How do I sort a list?")
    assert [m["role"] for m in messages] == ["system", "user"]
    content = messages[1]["content"]
    for key in KEYS:
        assert key in content
    for tag in ("<thinking>", "<payoff>", "<analyze>", "<response>"):
        assert tag in content
    assert content.endswith("Question: How do I sort a list?")
    assert "Choice:" in content and "Pareto" in content
    assert '"LLM"' in content and '"user"' in content
    assert "-5" in content and "5" in content and "one decimal" in content
    assert payoff_keys() == KEYS


def test_prompt_system_override() -> None:
    messages = build_prompt("Q", system="Be terse.")
    assert messages[0] == {"role": "system", "content": "Be terse."}
    with pytest.raises(TypeError):
        build_prompt(None)  # type: ignore[arg-type]


def test_custom_labels_propagate() -> None:
    config = PromptConfig(
        user_strategies=("EXPERT", "NOVICE", "TROLL"),
        assistant_actions=("ANSWER", "REFUSE"),
        strategy_descriptions={"EXPERT": "knows", "NOVICE": "learning", "TROLL": "baiting"},
        action_descriptions={"ANSWER": "answer it", "REFUSE": "decline politely"},
        tie_break="selfish_user",
        value_range=(0, 10),
        decimals=2,
    )
    text = build_instructions(config)
    keys = payoff_keys(config)
    assert len(keys) == 6
    for key in keys:
        assert key in text
    assert "EXPERT_REFUSE" in keys and "TROLL_ANSWER" in keys
    for default_key in KEYS:
        assert default_key not in text
    assert "decline politely" in text and "2 decimal places" in text
    assert "between 0 and 10" in text
    assert "highest user payoff" in text


COMPACT = (
    "Reply in four blocks: <thinking>, <payoff>, <analyze>, <response>.\n"
    "Question kinds: DQ (a detailed question), VQ (a vague question). Actions: DA (direct "
    "answer), CQ (clarifying question), AQ (answer plus question).\n"
    "<thinking>: the kind of question and each action's effect on both sides, in words.\n"
    "<payoff>: strict JSON with keys DQ_DA, DQ_CQ, DQ_AQ, VQ_DA, VQ_CQ, VQ_AQ; each value "
    '{"LLM": x, "user": y}, numbers from -5 to 5 with 1 decimal place.\n'
    "<analyze>: the Pareto frontier, then the choice. Keep only the cells on the Pareto "
    "frontier. Among them pick the cell with the highest LLM + user; if several tie, the one "
    "with the higher user payoff; if still tied, the one with the higher LLM payoff. Last "
    "line 'Choice: <KEY>'.\n"
    "<response>: your reply to the user, carrying out the chosen action."
)


def test_compact_instructions_state_the_same_contract_in_fewer_words() -> None:
    compact = build_instructions(PromptConfig(instructions="compact"))
    assert compact == COMPACT  # pinned: a trained model's prompt must not drift
    full = build_instructions()
    assert full == build_instructions(PromptConfig(instructions="full"))
    assert len(compact) < len(full) / 2
    messages = build_prompt("Q?", PromptConfig(instructions="compact"))
    assert messages[1]["content"] == f"{COMPACT}\n\nQuestion: Q?"


def test_compact_instructions_follow_the_config() -> None:
    config = PromptConfig(
        user_strategies=("EXPERT", "NOVICE"),
        assistant_actions=("ANSWER", "REFUSE"),
        strategy_descriptions={"EXPERT": "knows: a lot", "NOVICE": "learning"},
        action_descriptions={"ANSWER": "answer it", "REFUSE": "decline: politely"},
        tie_break="selfish_user",
        value_range=(0, 10),
        decimals=2,
        instructions="compact",
    )
    text = build_instructions(config)
    assert "keys EXPERT_ANSWER, EXPERT_REFUSE, NOVICE_ANSWER, NOVICE_REFUSE;" in text
    assert "EXPERT (knows), NOVICE (learning)" in text and "REFUSE (decline)" in text
    assert "numbers from 0 to 10 with 2 decimal places." in text
    assert TIE_BREAK_RULES["selfish_user"] in text


def test_unknown_instruction_style_is_one_line_naming_the_choices() -> None:
    with pytest.raises(
        ValueError, match=r"unknown instructions 'short'; allowed: \['full', 'compact'\]"
    ):
        PromptConfig(instructions="short")
    assert INSTRUCTION_STYLES == ("full", "compact")


@pytest.mark.parametrize("rule", ["gtalign", "max_product", "selfish_llm", "selfish_user"])
def test_tie_break_rules(rule: str) -> None:
    assert PromptConfig(tie_break=rule).tie_break == rule
    assert build_instructions(PromptConfig(tie_break=rule))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tie_break": "random"},
        {"user_strategies": ("DQ", "XQ")},
        {"assistant_actions": ("D_A",)},
        {"value_range": (5, -5)},
        {"decimals": -1},
        {"user_strategies": ("DQ", "DQ")},
    ],
)
def test_invalid_prompt_config(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PromptConfig(**kwargs)  # type: ignore[arg-type]


# -------------------------------------------------------------------- rendering
def matrix() -> PayoffMatrix:
    return PayoffMatrix.from_gtalign(PAYOFF)


def test_render_default_texts_round_trip() -> None:
    m = matrix()
    text = render(m, ("VQ", "AQ"), "Paris. Want museum tips?")
    r = parse(text)
    assert r.strict_layout and r.format_score == 1.0
    assert r.matrix.allclose(m)
    assert r.chosen_cell == ("VQ", "AQ")
    assert r.response == "Paris. Want museum tips?"
    assert r.thinking == default_thinking(m, ("VQ", "AQ"))
    assert r.analyze == default_analysis(m, ("VQ", "AQ"))
    assert not any(ch.isdigit() for ch in r.thinking)
    for s, a in m.pareto_frontier():
        assert m.cell_name(s, a) in r.analyze
    assert r.analyze.splitlines()[-1] == "Choice: VQ_AQ"


def test_default_analysis_names_rule_pick() -> None:
    m = matrix()
    pick = m.select("gtalign")
    assert "highest LLM + user" in default_analysis(m, pick)
    assert "off the frontier" in default_analysis(m, ("DQ", "CQ"))


def test_render_appends_choice_line_when_needed() -> None:
    m = matrix()
    text = render(m, ("DQ", "DA"), "Done.", analysis="Choice: VQ_CQ\nThat was wrong.")
    r = parse(text)
    assert r.chosen_cell == ("DQ", "DA")
    assert r.analyze == "Choice: VQ_CQ\nThat was wrong.\nChoice: DQ_DA"
    text = render(m, ("DQ", "DA"), "Done.", analysis="I play DQ_DA.")
    assert parse(text).analyze == "I play DQ_DA."


def test_render_exact_floats() -> None:
    m = PayoffMatrix(user=[[0.123456, 1 / 3, 2], [1, 2, 3]], llm=[[1e-7, -2.5, 0], [4, 5, 6]])
    assert parse(render(m, ("DQ", "DA"), "x", decimals=None)).matrix == m
    assert not parse(render(m, ("DQ", "DA"), "x")).matrix.allclose(m)


def test_render_empty_texts() -> None:
    r = parse(render(matrix(), ("DQ", "DA"), "", thinking="", analysis=""))
    assert r.thinking == "" and r.response == "" and r.analyze == "Choice: DQ_DA"
    assert r.response_action is None and r.format_score == 1.0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"chosen": ("XQ", "DA")}, ValueError),
        ({"chosen": ("DQ", "ZZ")}, ValueError),
        ({"chosen": "DQ_DA"}, ValueError),
        ({"response": "a </payoff> b"}, ValueError),
        ({"thinking": "<response>"}, ValueError),
        ({"analysis": "x <analyze>"}, ValueError),
        ({"response": None}, TypeError),
    ],
)
def test_render_rejects_bad_input(kwargs: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, object] = {"chosen": ("DQ", "DA"), "response": "ok"}
    args.update(kwargs)
    with pytest.raises(error):
        render(matrix(), **args)  # type: ignore[arg-type]
