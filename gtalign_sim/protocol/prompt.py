"""Prompts that ask an assistant for the four-block reply.

:class:`PromptConfig` holds the game the assistant is told about (labels, descriptions,
the cell-selection rule, the value range); :func:`build_instructions` words the output
contract for it and :func:`build_prompt` wraps the instructions and a question into chat
messages. The payoff keys in the instructions are generated from the configured labels, so
custom games (e.g. three user strategies × two actions) get matching instructions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gtalign_sim.game import GTALIGN_ACTIONS, GTALIGN_STRATEGIES

__all__ = [
    "DEFAULT_ACTION_DESCRIPTIONS",
    "DEFAULT_STRATEGY_DESCRIPTIONS",
    "DEFAULT_SYSTEM_PROMPT",
    "INSTRUCTION_STYLES",
    "TIE_BREAK_RULES",
    "PromptConfig",
    "build_instructions",
    "build_prompt",
    "payoff_keys",
]

DEFAULT_STRATEGY_DESCRIPTIONS: Mapping[str, str] = {
    "DQ": "a detailed question: clear, specific and answerable as asked",
    "VQ": "a vague question: ambiguous or missing details the answer depends on",
}
"""What the GTAlign user strategies mean."""

DEFAULT_ACTION_DESCRIPTIONS: Mapping[str, str] = {
    "DA": "direct answer: answer right away, concisely, with no question",
    "CQ": "clarifying question: ask exactly one clarifying question and nothing else",
    "AQ": "answer plus question: give a brief answer, then ask exactly one targeted "
    "follow-up question",
}
"""What the GTAlign assistant actions mean."""

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant that treats each reply as a game between you and the "
    "user, and picks the reply that is best for both of you."
)

TIE_BREAK_RULES: Mapping[str, str] = {
    "gtalign": (
        "Keep only the cells on the Pareto frontier. Among them pick the cell with the "
        "highest LLM + user; if several tie, the one with the higher user payoff; if still "
        "tied, the one with the higher LLM payoff."
    ),
    "max_product": (
        "Pick the cell with the highest product LLM × user; if several tie, the one with "
        "the higher LLM + user, then the higher user payoff, then the higher LLM payoff."
    ),
    "selfish_llm": (
        "Pick the cell with the highest LLM payoff; if several tie, the one with the higher "
        "user payoff."
    ),
    "selfish_user": (
        "Pick the cell with the highest user payoff; if several tie, the one with the "
        "higher LLM payoff."
    ),
}
"""The cell-selection rules a prompt can ask for, with their instruction text. The names
match :data:`gtalign_sim.game.selection.SELECTION_RULES`."""

INSTRUCTION_STYLES: tuple[str, ...] = ("full", "compact")
"""How the output contract is worded: ``full`` (every block explained, ~550 tokens) or
``compact`` (the same contract in ~150 tokens, for models fine-tuned on it: shorter
sequences make training and generation on a CPU about twice as fast)."""


def _label_tuple(labels: Sequence[str], field_name: str) -> tuple[str, ...]:
    if isinstance(labels, str):
        raise ValueError(f"{field_name} must be a sequence of labels, not a single str")
    out = tuple(labels)
    if not out:
        raise ValueError(f"{field_name} must not be empty")
    for lab in out:
        if not isinstance(lab, str) or not lab or "_" in lab or lab != lab.strip():
            raise ValueError(
                f"{field_name} label {lab!r} must be a non-empty str without '_' or "
                "surrounding whitespace"
            )
    if len(set(out)) != len(out):
        raise ValueError(f"{field_name} labels must be distinct, got {list(out)}")
    return out


@dataclass(frozen=True)
class PromptConfig:
    """The game an assistant is asked to play, as worded in the prompt.

    Attributes:
        user_strategies: Row labels (default ``DQ, VQ``).
        assistant_actions: Column labels (default ``DA, CQ, AQ``).
        strategy_descriptions: Label → description; must cover every user strategy
            (defaults cover the GTAlign labels).
        action_descriptions: Label → description; must cover every action.
        tie_break: A rule name from :data:`TIE_BREAK_RULES` (default ``"gtalign"``).
        value_range: ``(low, high)`` range the payoffs should lie in.
        decimals: Decimal places the payoffs should be written with.
        system_prompt: Default system message of :func:`build_prompt`.
        instructions: The wording of the contract, one of :data:`INSTRUCTION_STYLES`
            (default ``"full"``); both ask for the same blocks, keys, range and rule.

    Raises ``ValueError`` on invalid labels, a missing description, an unknown rule or
    style, an empty range or negative ``decimals``.
    """

    user_strategies: Sequence[str] = GTALIGN_STRATEGIES
    assistant_actions: Sequence[str] = GTALIGN_ACTIONS
    strategy_descriptions: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_STRATEGY_DESCRIPTIONS)
    )
    action_descriptions: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_ACTION_DESCRIPTIONS)
    )
    tie_break: str = "gtalign"
    value_range: tuple[float, float] = (-5.0, 5.0)
    decimals: int = 1
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    instructions: str = "full"

    def __post_init__(self) -> None:
        strategies = _label_tuple(self.user_strategies, "user_strategies")
        actions = _label_tuple(self.assistant_actions, "assistant_actions")
        object.__setattr__(self, "user_strategies", strategies)
        object.__setattr__(self, "assistant_actions", actions)
        for name, labels, descriptions in (
            ("strategy_descriptions", strategies, self.strategy_descriptions),
            ("action_descriptions", actions, self.action_descriptions),
        ):
            missing = [lab for lab in labels if lab not in descriptions]
            if missing:
                raise ValueError(f"{name} has no description for {missing}")
            object.__setattr__(self, name, {lab: str(descriptions[lab]) for lab in labels})
        if self.instructions not in INSTRUCTION_STYLES:
            raise ValueError(
                f"unknown instructions {self.instructions!r}; allowed: {list(INSTRUCTION_STYLES)}"
            )
        if self.tie_break not in TIE_BREAK_RULES:
            raise ValueError(
                f"unknown tie_break {self.tie_break!r}; allowed: {list(TIE_BREAK_RULES)}"
            )
        low, high = (float(x) for x in self.value_range)
        if not low < high:
            raise ValueError(f"value_range must be (low, high) with low < high, got {low, high}")
        object.__setattr__(self, "value_range", (low, high))
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int):
            raise ValueError(f"decimals must be an int, got {self.decimals!r}")
        if self.decimals < 0:
            raise ValueError(f"decimals must be >= 0, got {self.decimals}")


def payoff_keys(config: PromptConfig | None = None) -> list[str]:
    """The payoff keys ``"<strategy>_<action>"`` of a config, row-major."""
    config = config or PromptConfig()
    return [f"{s}_{a}" for s in config.user_strategies for a in config.assistant_actions]


def _number(x: float) -> str:
    return f"{x:g}"


def _compact_instructions(c: PromptConfig) -> str:
    """The contract of :func:`build_instructions` in few words (``instructions="compact"``)."""
    keys = payoff_keys(c)
    low, high = c.value_range

    def head(text: str) -> str:
        return text.split(":")[0]

    return "\n".join(
        [
            "Reply in four blocks: <thinking>, <payoff>, <analyze>, <response>.",
            "Question kinds: "
            + ", ".join(f"{s} ({head(c.strategy_descriptions[s])})" for s in c.user_strategies)
            + ". Actions: "
            + ", ".join(f"{a} ({head(c.action_descriptions[a])})" for a in c.assistant_actions)
            + ".",
            "<thinking>: the kind of question and each action's effect on both sides, in words.",
            f"<payoff>: strict JSON with keys {', '.join(keys)}; each value "
            f'{{"LLM": x, "user": y}}, numbers from {_number(low)} to {_number(high)} '
            f"with {c.decimals} decimal place{'' if c.decimals == 1 else 's'}.",
            f"<analyze>: the Pareto frontier, then the choice. {TIE_BREAK_RULES[c.tie_break]} "
            "Last line 'Choice: <KEY>'.",
            "<response>: your reply to the user, carrying out the chosen action.",
        ]
    )


def build_instructions(config: PromptConfig | None = None) -> str:
    """The output-contract instructions for ``config`` (default: the GTAlign game), worded
    as ``config.instructions`` says."""
    c = config or PromptConfig()
    if c.instructions == "compact":
        return _compact_instructions(c)
    strategies = ", ".join(c.user_strategies)
    actions = ", ".join(c.assistant_actions)
    keys = payoff_keys(c)
    low, high = c.value_range
    places = "one decimal place" if c.decimals == 1 else f"{c.decimals} decimal places"
    example_cell = f'"{keys[0]}": {{"LLM": <number>, "user": <number>}}'
    lines = [
        "Treat your reply as a game between you (the assistant, LLM) and the user.",
        "",
        f"The user's question is one of these kinds ({strategies}):",
        *(f"- {s}: {c.strategy_descriptions[s]}" for s in c.user_strategies),
        f"You can reply with one of these actions ({actions}):",
        *(f"- {a}: {c.action_descriptions[a]}" for a in c.assistant_actions),
        "",
        "Write exactly four blocks, in this order, and nothing outside them:",
        "",
        "<thinking>...</thinking>",
        "A brief game analysis in words, with no numbers. Say which kind of question this "
        f"is ({' or '.join(c.user_strategies)}) and weigh each action for both sides: "
        "risk of a wrong answer, ambiguity, the user's effort and time, token cost, and "
        "satisfaction.",
        "",
        "<payoff>...</payoff>",
        "One strict JSON object with exactly these keys, one per (question kind, action) "
        f"cell: {', '.join(keys)}.",
        f'Each value is an object with exactly the keys "LLM" and "user", e.g. {example_cell}.',
        "Higher is better for that side and 0 is neutral; use numbers between "
        f"{_number(low)} and {_number(high)} written with {places}. "
        "No comments, no trailing commas, no other keys.",
        "",
        "<analyze>...</analyze>",
        "Find the Pareto frontier: the cells that no other cell beats for both LLM and "
        f"user. Then choose one cell by this rule: {TIE_BREAK_RULES[c.tie_break]}",
        "End the block with a final line 'Choice: <KEY>', where <KEY> is the payoff key "
        "of the chosen cell.",
        "",
        "<response>...</response>",
        "Your actual reply to the user, carrying out the chosen action. Never mention "
        "payoffs, the game or these instructions in it.",
    ]
    return "\n".join(lines)


def build_prompt(
    question: str, config: PromptConfig | None = None, *, system: str | None = None
) -> list[dict[str, str]]:
    """Chat messages asking for a four-block reply to ``question``.

    Returns ``[{"role": "system", ...}, {"role": "user", ...}]``; the user message is
    :func:`build_instructions` followed by ``Question: <question>``. ``system`` overrides
    ``config.system_prompt``. Raises ``TypeError`` if ``question`` is not a str.
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, got {type(question).__name__}")
    c = config or PromptConfig()
    user = f"{build_instructions(c)}\n\nQuestion: {question}"
    return [
        {"role": "system", "content": c.system_prompt if system is None else system},
        {"role": "user", "content": user},
    ]
