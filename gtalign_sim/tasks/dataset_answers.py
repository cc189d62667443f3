"""Reading GTAlign ground truths: math answers, AmbigQA meanings, writing references.

* :func:`strip_boxed` and :func:`math_answer_value` — the boxed answer of a math row and
  the plain number (with its unit) it states, if any;
* :func:`parse_qa_ground_truth` — the ``singleAnswer###``/``multipleQAs###`` format;
* :func:`writing_profile` — the constraint profile a reference article shows, and
  ``_content_points`` — marker-free sentences of it for the template renderer.

Text is only ever parsed with regular expressions, never evaluated. Re-exported by
:mod:`gtalign_sim.tasks.datasets`.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .lexicon import AUDIENCE_MARKERS, TONE_MARKERS, count_words, has_marker, normalize, sentences

__all__ = [
    "math_answer_value",
    "parse_qa_ground_truth",
    "strip_boxed",
    "writing_profile",
]


# ====================================================================== ground truths
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def strip_boxed(text: str) -> str:
    """The content of the last ``\\boxed{…}`` (or ``\\fbox{…}``) in ``text``, else ``text``;
    surrounding ``$`` and whitespace removed. Braces are matched, so nested groups stay."""
    marks = list(_BOXED.finditer(text))
    if marks:
        start = marks[-1].end()
        depth = 1
        for k in range(start, len(text)):
            c = text[k]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    text = text[start:k]
                    break
        else:
            text = text[start:]  # unbalanced: take the rest
    return text.strip().strip("$").strip()


_LATEX_NOISE = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\:|\\ |~")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°")
_TEXT_UNIT = re.compile(r"(.*?)\s*\\(?:text|textbf|mbox|mathrm)\s*\{\s*([^{}]*?)\s*\}")
_PLAIN_NUM = re.compile(r"[-−]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|[-−]?\.[0-9]+")
_FRAC = re.compile(r"([-−]?)\\[dt]?frac\s*\{\s*([-−]?[0-9]+)\s*\}\s*\{\s*([0-9]+)\s*\}")
_FRAC_SHORT = re.compile(r"([-−]?)\\[dt]?frac\s*([0-9])\s*([0-9])")
_SLASH = re.compile(r"([-−]?[0-9]+)\s*/\s*([0-9]+)")
_TRAILING_WORD = re.compile(r"(.*?[0-9}])\s+([A-Za-z][A-Za-z ]{0,30})")
_VAR_PREFIX = re.compile(r"^[A-Za-z]\s*=\s*")


def math_answer_value(answer: str) -> tuple[Fraction | None, str]:
    """``(value, unit)`` of a math answer, or ``(None, "")`` when it is not a plain number.

    Handles integers, decimals, thousands commas, ``a/b``, ``\\frac{a}{b}`` (``\\dfrac``,
    ``\\tfrac``, ``\\frac12``), a sign, and a unit: ``\\%``/``%`` → ``"%"``, ``\\$``/``$`` →
    ``"$"``, degrees → ``"degrees"``, ``\\text{cm}`` or a trailing word → that word.
    """
    s = _LATEX_NOISE.sub("", strip_boxed(answer)).strip()
    unit = ""
    if _DEGREES.search(s):
        s, unit = _DEGREES.sub("", s).strip(), "degrees"
    if s.endswith(("\\%", "%")):
        s, unit = s.removesuffix("\\%").removesuffix("%").strip(), "%"
    if s.startswith(("\\$", "$")):
        s, unit = s.removeprefix("\\$").removeprefix("$").strip(), "$"
    m = _TEXT_UNIT.fullmatch(s)
    if m and not unit:
        s, unit = m.group(1).strip(), m.group(2).strip()
    if not unit:
        tail = _TRAILING_WORD.fullmatch(s)
        if tail:
            s, unit = tail.group(1).strip(), tail.group(2).strip()
    s = _VAR_PREFIX.sub("", s, count=1).strip()
    try:
        if _PLAIN_NUM.fullmatch(s):
            return Fraction(s.replace(",", "").replace("−", "-")), unit
        for pattern in (_FRAC, _FRAC_SHORT):
            m = pattern.fullmatch(s)
            if m:
                value = Fraction(int(m.group(2).replace("−", "-")), int(m.group(3)))
                return (-value if m.group(1) else value), unit
        m = _SLASH.fullmatch(s)
        if m:
            return Fraction(int(m.group(1).replace("−", "-")), int(m.group(2))), unit
    except (ValueError, ZeroDivisionError):
        return None, ""
    return None, ""


_MEANING = re.compile(
    r"Meaning\s*(\d+)\s*:\s*(.*?);\s*Answer\s*\1\s*:\s*(.*?)\s*(?=Meaning\s*\d+\s*:|\Z)",
    re.DOTALL,
)


def parse_qa_ground_truth(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split an AmbigQA-style ground truth.

    Returns ``("single", [("", answer)])`` for ``singleAnswer###answer``,
    ``("multiple", [(question, answer), …])`` for ``multipleQAs###…Meaning i: q; Answer i:
    a`` (all meanings, in order; empty when none parses) and ``("other", [("", text)])``
    otherwise (the text after the first ``###`` when there is one).
    """
    head, sep, payload = text.partition("###")
    kind = head.strip()
    if sep and kind == "singleAnswer":
        return "single", [("", payload.strip())]
    if sep and kind == "multipleQAs":
        return "multiple", [
            (q.strip(), a.strip()) for _, q, a in _MEANING.findall(payload) if q.strip()
        ]
    return "other", [("", (payload if sep else text).strip())]


# ====================================================================== writing references
_CONTRACTION = re.compile(r"\b[A-Za-z]+['’](?:s|re|ll|ve|d|t|m)\b")
_BULLET_LINE = re.compile(r"^\s*(?:[-*•–]|[0-9]{1,2}[.)])\s+\S")
_LETTERS = re.compile(r"[A-Za-z]+")


def _marker_hits(norm: str, markers: tuple[str, ...]) -> int:
    return sum(1 for m in markers if has_marker(norm, (m,)))


def writing_profile(reference: str) -> tuple[dict[str, str], dict[str, float]]:
    """A writing constraint profile read off a reference text, and the features used.

    The heuristic (simple, transparent markers; not a classifier):

    * **length** from the word count ``w``: ``w <= 80`` short, ``w < 215`` medium, else
      long (the cut points are the midpoints between the bands 1–60, 100–180 and
      250–400 words; long reference articles all map to ``long``).
    * **tone**: ``playful`` if at least two playful marker phrases of the judges' lexicon
      occur, or at least ``max(3, w/100)`` exclamation marks; else ``casual`` with at least
      two casual markers or ``max(3, w/100)`` contractions (one per hundred words); else
      ``formal`` (the default register of published prose).
    * **audience**: ``children`` with at least two children markers; ``experts`` with at
      least two expert markers or a mean word length of at least 5.3 letters (dense,
      technical vocabulary); else ``general``.
    * **format**: ``bullets`` when at least three lines are bullet or numbered items and
      they make up at least a quarter of the non-empty lines; else ``paragraph``.
    """
    words = count_words(reference)
    norm = normalize(reference)
    per_hundred = max(3.0, words / 100.0)
    excl = reference.count("!")
    contractions = len(_CONTRACTION.findall(reference))
    tone_hits = {t: _marker_hits(norm, m) for t, m in TONE_MARKERS.items()}
    aud_hits = {a: _marker_hits(norm, m) for a, m in AUDIENCE_MARKERS.items()}
    letters = _LETTERS.findall(reference)
    mean_len = sum(map(len, letters)) / len(letters) if letters else 0.0
    lines = [ln for ln in reference.splitlines() if ln.strip()]
    bullets = sum(1 for ln in lines if _BULLET_LINE.match(ln))

    length = "short" if words <= 80 else "medium" if words < 215 else "long"
    if tone_hits["playful"] >= 2 or excl >= per_hundred:
        tone = "playful"
    elif tone_hits["casual"] >= 2 or contractions >= per_hundred:
        tone = "casual"
    else:
        tone = "formal"
    if aud_hits["children"] >= 2:
        audience = "children"
    elif aud_hits["experts"] >= 2 or mean_len >= 5.3:
        audience = "experts"
    else:
        audience = "general"
    fmt = "bullets" if bullets >= 3 and bullets * 4 >= len(lines) else "paragraph"
    features = {
        "words": float(words),
        "exclamations": float(excl),
        "contractions": float(contractions),
        "mean_word_length": round(mean_len, 3),
        "bullet_lines": float(bullets),
        **{f"tone_markers_{k}": float(v) for k, v in tone_hits.items()},
        **{f"audience_markers_{k}": float(v) for k, v in aud_hits.items()},
    }
    return {"length": length, "tone": tone, "audience": audience, "format": fmt}, features


_GENERIC_POINTS = (
    "the main idea is laid out clearly from the start",
    "each part builds on the one before it",
    "the key details are explained along the way",
    "the closing part sums up the main points",
)
_ALL_MARKERS = (
    *(m for ms in TONE_MARKERS.values() for m in ms),
    *(m for ms in AUDIENCE_MARKERS.values() for m in ms),
)


def _content_points(reference: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` marker-free sentences of the reference, as clauses for the renderer."""
    out: list[str] = []
    for s in sentences(reference):
        if len(out) >= limit:
            break
        if not 6 <= count_words(s) <= 25 or _BULLET_LINE.match(s):
            continue
        if any(c in s for c in '!?#*[]{}<>|`"“”') or _CONTRACTION.search(s):
            continue
        if has_marker(normalize(s), _ALL_MARKERS):
            continue
        clause = s.strip().rstrip(".;:").strip()
        if clause[:1].isupper() and clause[1:2].islower():
            clause = clause[0].lower() + clause[1:]
        out.append(clause)
    for g in _GENERIC_POINTS:
        if len(out) >= 4:
            break
        out.append(g)
    return out
