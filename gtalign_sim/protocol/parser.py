"""Reading a four-block reply: ``<thinking>``, ``<payoff>``, ``<analyze>``, ``<response>``.

Layout rules (how :func:`parse` reads a reply):

* Tags are matched case-sensitively and literally (``<payoff>`` … ``</payoff>``). Each of
  the eight tags must occur exactly once, every block must close after it opens, and the
  blocks must come in the order thinking, payoff, analyze, response without overlapping.
  Anything else raises :class:`ProtocolError` naming the block.
* Text outside the blocks is tolerated, as in the reference parser (which finds each
  block anywhere with a regex): :func:`parse` still returns, but with
  ``strict_layout=False`` and ``format_score=0.0``. ``strict_layout`` is ``True`` iff the
  text is exactly the four blocks in order with only whitespace before, between and after.
* Block contents are returned with surrounding whitespace stripped.
* The payoff is read leniently (JSON; JSON after straightening curly quotes; a Python
  literal; each also inside a ```` ```json ```` fence) and validated strictly by
  :meth:`PayoffMatrix.from_gtalign` (exact keys, exact ``LLM``/``user`` sub-keys, finite
  numbers, no booleans). Duplicate keys are rejected too.
* Payoff values are untrusted numbers and are bounded here, where they enter: every value
  must be finite with ``|x| <=`` :data:`MAX_ABS_PAYOFF` (``1e6``; the GTAlign scale is
  about -10..10, so this only catches garbage). A value beyond it raises
  :class:`ProtocolError` naming the cell and the bound, instead of overflowing later
  (e.g. in :meth:`PayoffMatrix.rounded`, or in a welfare product).

The scanner uses ``str.find``/``str.count`` and flat regular expressions only, and input is
bounded (:data:`MAX_INPUT_CHARS`, :data:`MAX_PAYOFF_CHARS`), so adversarial text parses in
linear time. For any ``str`` input :func:`parse` either returns a :class:`ParsedReply` or
raises :class:`ProtocolError`; nothing else escapes.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from gtalign_sim.game import (
    GTALIGN_ACTIONS,
    GTALIGN_STRATEGIES,
    PayoffFormatError,
    PayoffMatrix,
)

from .actions import analyze_response
from .errors import ProtocolError

__all__ = [
    "ALL_TAGS",
    "BLOCKS",
    "MAX_ABS_PAYOFF",
    "MAX_INPUT_CHARS",
    "MAX_PAYOFF_CHARS",
    "ParsedReply",
    "block_tags",
    "extract_choice",
    "format_score",
    "parse",
    "parse_payoff",
]

BLOCKS: tuple[str, ...] = ("thinking", "payoff", "analyze", "response")
"""The four blocks of a reply, in their required order."""

MAX_INPUT_CHARS = 200_000
"""Longest reply :func:`parse` accepts (longer input raises :class:`ProtocolError`)."""

MAX_PAYOFF_CHARS = 20_000
"""Longest payoff text :func:`parse_payoff` accepts (bounds the Python-literal fallback)."""

MAX_ABS_PAYOFF = 1e6
"""Largest payoff magnitude :func:`parse_payoff` accepts (the GTAlign scale is about
-10..10; anything near this bound is already nonsense, and far below where rounding,
squaring or multiplying payoffs could overflow a float)."""

_CURLY_QUOTES = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
    }
)

# "Choice:", "**Chosen cell** -", "Selected =", "My final choice is" ... at the start of a line.
_CHOICE_LINE = re.compile(
    r"[ \t*_#>`-]*(?:(?:my|the|final)[ \t]+){0,2}"
    r"(?:choice|chosen|selected|selection|decision)(?:[ \t]+cell)?"
    r"[ \t*_`]*(?::|-|=|\u2013|\u2014|is\b)",
    re.IGNORECASE,
)


def block_tags(block: str) -> tuple[str, str]:
    """The opening and closing tag of a block, e.g. ``("<payoff>", "</payoff>")``."""
    return f"<{block}>", f"</{block}>"


ALL_TAGS: tuple[str, ...] = tuple(t for b in BLOCKS for t in block_tags(b))
"""The eight tag strings; block texts may not contain any of them."""


@dataclass(frozen=True)
class ParsedReply:
    """A reply read by :func:`parse`.

    Attributes:
        thinking, payoff_text, analyze, response: The block contents, stripped.
        matrix: The validated payoff matrix.
        chosen_cell: ``(strategy, action)`` named by ``<analyze>`` as its choice, or ``None``.
        response_action: The action the response carries out (see
            :func:`~gtalign_sim.protocol.actions.infer_action`); ``None`` for an empty
            response or non-GTAlign action labels.
        n_questions: Questions asked in the response.
        strict_layout: ``True`` iff the text is exactly the four blocks in order with only
            whitespace outside and between them.
        format_score: ``1.0`` iff ``strict_layout`` (the payoff necessarily validated).
        text_before_response: Everything before ``<response>`` (for a reasoning-length term).
        raw: The text as given.
    """

    thinking: str
    payoff_text: str
    analyze: str
    response: str
    matrix: PayoffMatrix
    chosen_cell: tuple[str, str] | None
    response_action: str | None
    n_questions: int
    strict_layout: bool
    format_score: float
    text_before_response: str
    raw: str

    @property
    def chosen_action(self) -> str | None:
        """The action of :attr:`chosen_cell` (``None`` when no cell was named)."""
        return None if self.chosen_cell is None else self.chosen_cell[1]

    @property
    def action_consistent(self) -> bool | None:
        """Whether the response carries out the chosen action (``None`` if either is unknown)."""
        if self.chosen_cell is None or self.response_action is None:
            return None
        return self.chosen_cell[1] == self.response_action


# ---------------------------------------------------------------- labels & cells
def _check_labels(
    user_strategies: Sequence[str], assistant_actions: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    out = []
    for field, labels in (
        ("user_strategies", user_strategies),
        ("assistant_actions", assistant_actions),
    ):
        if isinstance(labels, str):
            raise ProtocolError(f"{field} must be a sequence of labels, not a single str")
        try:
            tup = tuple(labels)
        except TypeError:
            raise ProtocolError(f"{field} must be a sequence of str labels") from None
        if not tup:
            raise ProtocolError(f"{field} must not be empty")
        for lab in tup:
            if not isinstance(lab, str) or not lab or "_" in lab or lab != lab.strip():
                raise ProtocolError(
                    f"{field} label {lab!r} must be a non-empty str without '_' or "
                    "surrounding whitespace"
                )
        if len(set(tup)) != len(tup):
            raise ProtocolError(f"{field} labels must be distinct, got {list(tup)}")
        out.append(tup)
    return out[0], out[1]


def _alternation(labels: tuple[str, ...]) -> str:
    # Longest first so that e.g. "AB" is preferred over "A".
    return "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))


@lru_cache(maxsize=64)
def _cell_pattern(strategies: tuple[str, ...], actions: tuple[str, ...]) -> re.Pattern[str]:
    """``S_A``, ``S-A``, ``S/A``, ``S, A`` (so also ``(S, A)``) as whole tokens."""
    return re.compile(
        r"(?<![A-Za-z0-9])"
        rf"({_alternation(strategies)})"
        r"[ \t]{0,3}[_/,\-\u2013][ \t]{0,3}"
        rf"({_alternation(actions)})"
        r"(?![A-Za-z0-9])"
    )


def extract_choice(
    analysis: str,
    *,
    user_strategies: Sequence[str] = GTALIGN_STRATEGIES,
    assistant_actions: Sequence[str] = GTALIGN_ACTIONS,
) -> tuple[str, str] | None:
    """The cell an ``<analyze>`` text names as its choice, or ``None``.

    An explicit choice line wins: the last line that starts (after markdown decoration)
    with ``Choice``, ``Chosen``, ``Selected``, ``Selection`` or ``Decision`` (optionally
    after ``My``/``The``/``Final`` and before ``cell``; case-insensitive) followed by
    ``:``, ``-``, ``=`` or ``is``, and then names a cell (``VQ_CQ``, ``VQ-CQ``,
    ``VQ/CQ``, ``(VQ, CQ)``). Without one, the last cell mentioned anywhere is used
    (which is the only one when exactly one distinct cell is mentioned). Raises
    :class:`ProtocolError` only for invalid labels or non-str input.
    """
    if not isinstance(analysis, str):
        raise ProtocolError(f"analysis must be a str, got {type(analysis).__name__}")
    strategies, actions = _check_labels(user_strategies, assistant_actions)
    pattern = _cell_pattern(strategies, actions)
    for line in reversed(analysis.splitlines()):
        head = _CHOICE_LINE.match(line)
        if head is None:
            continue
        found = pattern.search(line, head.end())
        if found is not None:
            return found.group(1), found.group(2)
    last = None
    for last in pattern.finditer(analysis):  # noqa: B007 - only the last match matters
        pass
    return None if last is None else (last.group(1), last.group(2))


# ---------------------------------------------------------------------- payoff
class _DuplicateKeyError(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


def _unfence(text: str) -> str:
    """The content of the first ```` ``` ```` fence in ``text`` (language tag dropped)."""
    start = text.find("```")
    if start < 0:
        return text
    end = text.find("```", start + 3)
    if end < 0:
        return text
    inner = text[start + 3 : end]
    newline = inner.find("\n")
    first = inner if newline < 0 else inner[:newline]
    if first.strip().isalpha() or not first.strip():  # "json", "python", "" ...
        inner = "" if newline < 0 else inner[newline + 1 :]
    return inner


def _loads_json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_reject_duplicates)


def _loads_literal(text: str) -> Any:
    # Invalid escapes like '\d' only warn; the reply is data, not code, so stay quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(text.strip(), mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            seen = set()
            for key in node.keys:
                if isinstance(key, ast.Constant):
                    try:
                        hashable_key = (type(key.value), key.value)
                        if hashable_key in seen:
                            raise _DuplicateKeyError(key.value)
                        seen.add(hashable_key)
                    except TypeError:
                        continue
    return ast.literal_eval(tree)


def _decode_payoff(text: str) -> Any:
    """Decode leniently; raise ProtocolError naming the JSON problem if all readings fail."""
    body = _unfence(text).strip()
    straight = body.translate(_CURLY_QUOTES)
    attempts = [(_loads_json, body)]
    if straight != body:
        attempts.append((_loads_json, straight))
    attempts.append((_loads_literal, straight))
    first_error: str | None = None
    for loader, candidate in attempts:
        try:
            return loader(candidate)
        except _DuplicateKeyError as exc:
            key = repr(exc.args[0])
            key = key if len(key) <= 80 else key[:77] + "..."
            raise ProtocolError(f"payoff has a duplicate key {key}", block="payoff") from None
        except Exception as exc:  # any decoder failure: try the next reading
            if first_error is None:
                first_error = f"{type(exc).__name__}: {exc}"[:300]
    raise ProtocolError(
        f"payoff is neither valid JSON nor a Python literal ({first_error})", block="payoff"
    )


def parse_payoff(
    text: str,
    *,
    user_strategies: Sequence[str] = GTALIGN_STRATEGIES,
    assistant_actions: Sequence[str] = GTALIGN_ACTIONS,
) -> PayoffMatrix:
    """Read a payoff block leniently and validate it strictly.

    Returns the :class:`PayoffMatrix`; raises :class:`ProtocolError` (never anything else
    for a ``str``) when the text is longer than :data:`MAX_PAYOFF_CHARS`, cannot be decoded,
    fails validation (the message of :class:`PayoffFormatError` is kept: it names the
    missing/unexpected key or the offending value), or holds a value with magnitude above
    :data:`MAX_ABS_PAYOFF` (the message names the cell, the player and the bound).
    """
    if not isinstance(text, str):
        raise ProtocolError(f"payoff must be a str, got {type(text).__name__}", block="payoff")
    strategies, actions = _check_labels(user_strategies, assistant_actions)
    if len(text) > MAX_PAYOFF_CHARS:
        raise ProtocolError(
            f"payoff is too long ({len(text)} characters; at most {MAX_PAYOFF_CHARS})",
            block="payoff",
        )
    obj = _decode_payoff(text)
    if not isinstance(obj, dict):
        # Checked here, not left to from_gtalign: it would json-decode a str a second time.
        raise ProtocolError(
            f"invalid payoff: must be an object with one key per cell, got {type(obj).__name__}",
            block="payoff",
        )
    try:
        matrix = PayoffMatrix.from_gtalign(
            obj, user_strategies=strategies, assistant_actions=actions
        )
    except PayoffFormatError as exc:
        raise ProtocolError(f"invalid payoff: {exc}", block="payoff") from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        # e.g. an integer too large for a float (OverflowError from the validator).
        raise ProtocolError(
            f"invalid payoff: a value cannot be read as a finite number ({exc})",
            block="payoff",
        ) from None
    except Exception as exc:  # defensive: the contract is that only ProtocolError escapes
        message = f"invalid payoff: {type(exc).__name__}: {exc}"
        raise ProtocolError(message[:300], block="payoff") from None
    _check_bounds(matrix)
    return matrix


def _check_bounds(matrix: PayoffMatrix) -> None:
    """Raise :class:`ProtocolError` for the first value with ``|x| > MAX_ABS_PAYOFF``."""
    for i, s in enumerate(matrix.user_strategies):
        for j, a in enumerate(matrix.assistant_actions):
            for who, values in (("user", matrix.user), ("LLM", matrix.llm)):
                x = float(values[i, j])
                if not abs(x) <= MAX_ABS_PAYOFF:  # also catches nan, defensively
                    raise ProtocolError(
                        f"invalid payoff: payoff['{s}_{a}'][{who!r}] = {x:g} is out of bounds "
                        f"(|x| must be <= MAX_ABS_PAYOFF = {MAX_ABS_PAYOFF:g})",
                        block="payoff",
                    )


# ---------------------------------------------------------------------- layout
def _locate_blocks(text: str) -> list[tuple[int, int, int, int]]:
    """``(open_start, content_start, content_end, close_end)`` per block, checked."""
    spans = []
    for block in BLOCKS:
        open_tag, close_tag = block_tags(block)
        for tag in (open_tag, close_tag):
            n = text.count(tag)
            if n == 0:
                raise ProtocolError(f"block <{block}> is missing: no '{tag}' tag", block=block)
            if n > 1:
                raise ProtocolError(
                    f"block <{block}> is duplicated: '{tag}' occurs {n} times", block=block
                )
        start = text.find(open_tag)
        end = text.find(close_tag)
        if end < start + len(open_tag):
            raise ProtocolError(
                f"block <{block}> is malformed: '{close_tag}' comes before '{open_tag}'",
                block=block,
            )
        spans.append((start, start + len(open_tag), end, end + len(close_tag)))
    for (prev, prev_span), (block, span) in pairwise(zip(BLOCKS, spans, strict=True)):
        if span[0] < prev_span[3]:
            raise ProtocolError(
                f"block <{block}> is out of order: it must come after </{prev}> "
                f"(order: {', '.join(BLOCKS)})",
                block=block,
            )
    return spans


def _is_strict(text: str, spans: list[tuple[int, int, int, int]]) -> bool:
    gaps = [text[: spans[0][0]], text[spans[-1][3] :]]
    gaps += [text[a[3] : b[0]] for a, b in pairwise(spans)]
    return all(not gap.strip() for gap in gaps)


def parse(
    text: str,
    *,
    user_strategies: Sequence[str] = GTALIGN_STRATEGIES,
    assistant_actions: Sequence[str] = GTALIGN_ACTIONS,
) -> ParsedReply:
    """Parse a four-block reply (see the module docstring for the exact rules).

    Returns a :class:`ParsedReply`; text outside the blocks gives ``strict_layout=False``
    and ``format_score=0.0`` rather than an error. Raises :class:`ProtocolError` (and
    nothing else, for any input) when the input is not a str or is longer than
    :data:`MAX_INPUT_CHARS`, a block is missing, duplicated, malformed or out of order,
    or the payoff cannot be read or validated.
    """
    if not isinstance(text, str):
        raise ProtocolError(f"reply must be a str, got {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise ProtocolError(
            f"reply is too long ({len(text)} characters; at most {MAX_INPUT_CHARS})"
        )
    strategies, actions = _check_labels(user_strategies, assistant_actions)
    spans = _locate_blocks(text)
    contents = [text[s[1] : s[2]].strip() for s in spans]
    thinking, payoff_text, analysis, response = contents
    matrix = parse_payoff(payoff_text, user_strategies=strategies, assistant_actions=actions)
    chosen = extract_choice(analysis, user_strategies=strategies, assistant_actions=actions)
    strict = _is_strict(text, spans)
    if set(actions) == {"DA", "CQ", "AQ"}:
        found = analyze_response(response)
        action, n_questions = found.action, found.n_questions
    else:
        action, n_questions = None, analyze_response(response).n_questions
    return ParsedReply(
        thinking=thinking,
        payoff_text=payoff_text,
        analyze=analysis,
        response=response,
        matrix=matrix,
        chosen_cell=chosen,
        response_action=action,
        n_questions=n_questions,
        strict_layout=strict,
        format_score=1.0 if strict else 0.0,
        text_before_response=text[: spans[3][0]],
        raw=text,
    )


def format_score(
    text: Any,
    *,
    user_strategies: Sequence[str] = GTALIGN_STRATEGIES,
    assistant_actions: Sequence[str] = GTALIGN_ACTIONS,
) -> float:
    """``1.0`` iff ``text`` is exactly the four blocks in order and the payoff validates.

    Never raises: any problem (including non-str input) gives ``0.0``.
    """
    try:
        reply = parse(text, user_strategies=user_strategies, assistant_actions=assistant_actions)
    except Exception:
        return 0.0
    return reply.format_score
