"""Writing a four-block reply from a payoff matrix, a chosen cell and a response.

Used for scripted assistants, supervised fine-tuning targets and tests. The output always
parses back with :func:`~gtalign_sim.protocol.parser.parse` (given the matrix's labels):
the blocks come back as rendered, the matrix equal to the input (exactly when its payoffs
already have at most ``decimals`` places, or with ``decimals=None``), the chosen cell as
given, and ``format_score == 1.0``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gtalign_sim.game import PayoffMatrix

from .parser import ALL_TAGS, block_tags, extract_choice
from .prompt import DEFAULT_ACTION_DESCRIPTIONS, DEFAULT_STRATEGY_DESCRIPTIONS

__all__ = ["default_analysis", "default_thinking", "render"]


def _check_text(name: str, text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    for tag in ALL_TAGS:
        if tag in text:
            raise ValueError(f"{name} must not contain the block tag {tag!r}")
    return text.strip()


def _check_cell(matrix: PayoffMatrix, chosen: Sequence[str]) -> tuple[str, str]:
    if isinstance(chosen, str) or len(chosen) != 2:
        raise ValueError(f"chosen must be a (user_strategy, action) pair, got {chosen!r}")
    strategy, action = chosen
    if strategy not in matrix.user_strategies:
        raise ValueError(
            f"unknown user strategy {strategy!r}; allowed: {list(matrix.user_strategies)}"
        )
    if action not in matrix.assistant_actions:
        raise ValueError(f"unknown action {action!r}; allowed: {list(matrix.assistant_actions)}")
    return strategy, action


def _describe(label: str, descriptions: Mapping[str, str]) -> str:
    """``"DQ (a detailed question)"``: the label and the head of its default description."""
    text = descriptions.get(label)
    return f"{label} ({text.split(':')[0]})" if text else label


def default_thinking(matrix: PayoffMatrix, chosen: tuple[str, str]) -> str:
    """A number-free game analysis leading to ``chosen`` (the labels are the only tokens
    that may contain digits)."""
    strategy, action = _check_cell(matrix, chosen)
    strategies, actions = DEFAULT_STRATEGY_DESCRIPTIONS, DEFAULT_ACTION_DESCRIPTIONS
    others = [a for a in matrix.assistant_actions if a != action]
    lines = [
        f"The question reads as {_describe(strategy, strategies)}.",
        "For each action I weigh both sides: the risk of a wrong or off-target answer, "
        "how much ambiguity remains, the user's effort and time, the token cost, and how "
        "satisfied the user is likely to be.",
        f"On balance {_describe(action, actions)} serves both of us best here"
        + (f", ahead of {', '.join(others)}." if others else "."),
    ]
    return "\n".join(lines)


def _gtalign_pick(matrix: PayoffMatrix) -> tuple[str, str] | None:
    try:  # selection lives in gtalign_sim.game; imported lazily by PayoffMatrix.select
        strategy, action = matrix.select("gtalign")
    except ImportError:  # pragma: no cover - only while the selection module is missing
        return None
    return strategy, action


def _fmt(x: float, decimals: int | None) -> str:
    if decimals is None:
        return repr(float(x))
    return f"{x:.{decimals}f}"


def default_analysis(
    matrix: PayoffMatrix, chosen: tuple[str, str], *, decimals: int | None = 1
) -> str:
    """An analysis listing the Pareto frontier and ending with ``Choice: <S>_<A>``."""
    strategy, action = _check_cell(matrix, chosen)
    frontier = matrix.pareto_frontier()
    lines = ["Pareto frontier (cells no other cell beats for both sides):"]
    for s, a in frontier:
        user, llm = matrix.payoff(s, a)
        lines.append(
            f"- {matrix.cell_name(s, a)}: LLM {_fmt(llm, decimals)}, user {_fmt(user, decimals)}"
        )
    name = matrix.cell_name(strategy, action)
    if (strategy, action) not in frontier:
        lines.append(f"{name} is off the frontier, but it is the cell I play.")
    elif _gtalign_pick(matrix) == (strategy, action):
        lines.append(
            f"Among these, {name} has the highest LLM + user (ties: higher user, then higher LLM)."
        )
    else:
        lines.append(f"Among these I play {name}.")
    lines.append(f"Choice: {matrix.cell_name(strategy, action)}")
    return "\n".join(lines)


def render(
    matrix: PayoffMatrix,
    chosen: Sequence[str],
    response: str,
    *,
    thinking: str | None = None,
    analysis: str | None = None,
    decimals: int | None = 1,
) -> str:
    """A strict four-block reply.

    Args:
        matrix: The payoffs written into ``<payoff>`` via ``matrix.to_json(decimals)``.
            Rounding to ``decimals`` places means the round trip is exact only for
            matrices already at that precision; ``decimals=None`` writes exact floats.
        chosen: The ``(user_strategy, action)`` cell; must use the matrix's labels.
        response: The ``<response>`` text.
        thinking: The ``<thinking>`` text (default: :func:`default_thinking`).
        analysis: The ``<analyze>`` text (default: :func:`default_analysis`). A line
            ``Choice: <S>_<A>`` naming ``chosen`` is appended unless the text already
            names it (as read by :func:`extract_choice`), so the reply always parses
            to ``chosen``.
        decimals: Decimal places of the payoff JSON (and of the default analysis).

    Block texts are stripped. Raises ``ValueError`` for an unknown cell or a text that
    contains one of the eight block tags (it would break the layout), ``TypeError`` for
    non-str texts.
    """
    strategy, action = _check_cell(matrix, chosen)
    response_text = _check_text("response", response)
    thinking_text = _check_text(
        "thinking", default_thinking(matrix, chosen) if thinking is None else thinking
    )
    analysis_text = _check_text(
        "analysis",
        default_analysis(matrix, chosen, decimals=decimals) if analysis is None else analysis,
    )
    named = extract_choice(
        analysis_text,
        user_strategies=matrix.user_strategies,
        assistant_actions=matrix.assistant_actions,
    )
    if named != (strategy, action):
        choice_line = f"Choice: {matrix.cell_name(strategy, action)}"
        analysis_text = f"{analysis_text}\n{choice_line}" if analysis_text else choice_line
    payoff_text = matrix.to_json(decimals=decimals)
    parts = [
        ("thinking", thinking_text),
        ("payoff", payoff_text),
        ("analyze", analysis_text),
        ("response", response_text),
    ]
    out = []
    for block, text in parts:
        open_tag, close_tag = block_tags(block)
        out.append(f"{open_tag}\n{text}\n{close_tag}" if text else f"{open_tag}{close_tag}")
    return "\n".join(out)
