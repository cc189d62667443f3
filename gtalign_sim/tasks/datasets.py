"""Load the GTAlign reference datasets (parquet rows) as :class:`~.base.Task` objects.

The reference code ships its data as parquet files with one row per (conversation, turn):

* ``prompt`` — list of ``{role, content}`` (a system prompt and the game instruction that
  ends with ``Question: …``);
* ``data_source`` — one of :data:`SOURCES`;
* ``reward_model.ground_truth`` — math: the boxed answer; ``ambig_qa``/``abg-coqa``:
  ``singleAnswer###<answer>`` or ``multipleQAs###…Meaning i: <q>; Answer i: <a>``;
  ``wildguard``: ``harmful``/``unharmful``; ``medium``: a reference article;
* ``extra_info.single_turn_prompt`` — the clean task statement; optional
  ``extra_info.chat_history`` (the conversation's messages), ``extra_info.index``,
  ``turn_id`` and ``conv_id``.

:func:`read_gtalign_parquet` reads and validates rows, :func:`row_to_task` turns one row
into a task of the simulator's families (:data:`SOURCE_FAMILY`), :func:`load_gtalign_tasks`
does both into a :class:`~.bank.TaskBank`. Rows round-trip through JSONL
(:func:`save_rows_jsonl`/:func:`load_rows_jsonl`) and Hugging Face ``datasets``
(:func:`rows_to_hf`/:func:`rows_from_hf`); tasks through :func:`tasks_to_hf`/
:func:`tasks_from_hf`. ``datasets`` (the ``train`` extra) and ``pyarrow`` are imported only
inside the functions that need them.

Every problem with the input raises ``ValueError`` naming the row index and the field
(``row 3: field 'reward_model.ground_truth' …``); dataset text is only ever parsed with
regular expressions and :func:`json.loads`, never evaluated.

How rows become tasks
---------------------
* **ambig_qa / abg-coqa** (family ``ambiguous_qa``). ``singleAnswer###a`` gives an
  unambiguous task with one interpretation; ``multipleQAs###…`` one interpretation per
  ``Meaning i`` (the first four kept, uniform priors): ``detailed`` is the meaning's
  question (the first of ``|``-separated alternatives), ``clarification`` is
  ``"I mean: <question>"``. Labels: when every meaning's question is the prompt with a
  qualifier inserted, the qualifiers without a leading preposition (``"2016-17"``), else
  the questions themselves, shortened (see ``_reading_labels``). The vague
  phrasing is the single-turn prompt. Answers split on ``|`` into aliases for the judge.
  ``abg-coqa`` rows whose ground truth has neither prefix become a single-answer task (the
  text after ``###`` when there is one, else the whole ground truth); for ``ambig_qa`` that
  is an error.
* **math-hard / minerva** (``math``, difficulty ``hard``). The answer is the content of the
  last ``\\boxed{…}`` (or the whole ground truth). Integers, decimals, thousands commas,
  ``a/b``, ``\\frac{a}{b}`` (also ``\\dfrac``/``\\tfrac``) with an optional sign, unit
  (``\\%``, ``\\$``, ``\\text{cm}``, degrees) are turned into the canonical number the
  :class:`~.judges.MathJudge` compares with. Anything else (``\\sqrt{2}``, intervals,
  expressions, matrices) still yields a task, with ``judge_data["numeric"] = False``: the
  rule-based math judge cannot score it (it returns ``ok=False``) and the template renderer
  cannot write answers for it — use an LLM judge, or ``load_gtalign_tasks(...,
  drop_unjudgeable=True)``.
* **wildguard** (``safety``): one interpretation, harmful iff the ground truth is
  ``harmful`` (``unharmful`` otherwise; any other value is an error). **advbench**
  (``safety``): one harmful interpretation.
* **medium** (``writing``): one interpretation whose constraint profile is derived from the
  reference article by :func:`writing_profile` (see there for the heuristic); the article
  is kept in ``judge_data["reference"]``.

Task ids are ``"<data_source>-<extra_info.index>"`` (the row's position when the row has
no index). Difficulty is ``"medium"`` except for the two math sources (``"hard"``).
``judge_data`` also holds what the template renderer needs, so loaded tasks can be played
by the simulated assistants; the dataset's own bookkeeping (source, row, conversation id,
turn id) is kept there too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from .bank import TaskBank
from .base import Interpretation, Task
from .lexicon import (
    AUDIENCE_MARKERS,
    TONE_MARKERS,
    count_words,
    format_number,
    has_marker,
    normalize,
    sentences,
)

__all__ = [
    "MAX_MESSAGES",
    "MAX_QA_READINGS",
    "MAX_TEXT_CHARS",
    "REQUIRED_FIELDS",
    "SOURCES",
    "SOURCE_FAMILY",
    "load_gtalign_tasks",
    "load_rows_jsonl",
    "math_answer_value",
    "parse_qa_ground_truth",
    "read_gtalign_parquet",
    "row_task_id",
    "row_to_task",
    "row_user_messages",
    "rows_from_hf",
    "rows_to_hf",
    "rows_to_tasks",
    "save_rows_jsonl",
    "strip_boxed",
    "tasks_from_hf",
    "tasks_to_hf",
    "validate_row",
    "writing_profile",
]

#: The reference's ``data_source`` values: in-distribution (math-hard, medium, ambig_qa,
#: wildguard) and out-of-domain (minerva, advbench, abg-coqa).
SOURCES: tuple[str, ...] = (
    "math-hard",
    "medium",
    "ambig_qa",
    "wildguard",
    "minerva",
    "advbench",
    "abg-coqa",
)

#: The simulator family each source becomes.
SOURCE_FAMILY: Mapping[str, str] = {
    "math-hard": "math",
    "minerva": "math",
    "medium": "writing",
    "ambig_qa": "ambiguous_qa",
    "abg-coqa": "ambiguous_qa",
    "wildguard": "safety",
    "advbench": "safety",
}

#: Columns every row needs (dotted paths into the struct columns).
REQUIRED_FIELDS: tuple[str, ...] = (
    "prompt",
    "data_source",
    "reward_model.ground_truth",
    "extra_info.single_turn_prompt",
)

#: Longest accepted text field, in characters (reference articles included).
MAX_TEXT_CHARS = 500_000
#: Most messages accepted in ``prompt`` or ``extra_info.chat_history``.
MAX_MESSAGES = 512
#: Most readings kept from a ``multipleQAs`` ground truth (a task holds at most four).
MAX_QA_READINGS = 4
#: Longest accepted JSONL line, in characters.
MAX_LINE_CHARS = 8_000_000

_MISSING = object()
_DIFFICULTY = {"math-hard": "hard", "minerva": "hard"}
_INDEX_TEXT = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


# ====================================================================== row access
def _err(index: int | str, field: str, problem: str) -> ValueError:
    return ValueError(f"row {index}: field {field!r} {problem}")


def _lookup(row: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (nested mappings, or a flat dotted key)."""
    cur: Any = row
    for part in path.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        else:
            cur = _MISSING
            break
    if cur is _MISSING and path in row:
        cur = row[path]
    return cur


def _as_list(value: Any) -> Any:
    """Lists stay lists; numpy arrays (rows from pandas) become lists; anything else as is."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    return value


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu":  # numpy int
        return int(value)
    return None


def _check_text(index: int, field: str, value: Any, *, allow_empty: bool = False) -> str:
    if value is _MISSING or value is None:
        raise _err(index, field, "is missing")
    if not isinstance(value, str):
        raise _err(index, field, f"must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise _err(index, field, "is empty")
    if len(value) > MAX_TEXT_CHARS:
        raise _err(index, field, f"is too long ({len(value)} > {MAX_TEXT_CHARS} characters)")
    return value


def _check_messages(index: int, field: str, value: Any) -> list[dict[str, str]]:
    value = _as_list(value)
    if not isinstance(value, list):
        raise _err(index, field, f"must be a list of {{role, content}}, got {type(value).__name__}")
    if len(value) > MAX_MESSAGES:
        raise _err(index, field, f"has too many messages ({len(value)} > {MAX_MESSAGES})")
    out = []
    for k, msg in enumerate(value):
        where = f"{field}[{k}]"
        if not isinstance(msg, Mapping):
            raise _err(index, where, f"must be a {{role, content}} mapping, got {msg!r:.60}")
        role = msg.get("role")
        if not isinstance(role, str) or not role.strip():
            raise _err(index, f"{where}.role", f"must be a non-empty string, got {role!r:.60}")
        content = _check_text(index, f"{where}.content", msg.get("content"), allow_empty=True)
        out.append({"role": role, "content": content})
    return out


def validate_row(row: Any, index: int) -> None:
    """Check one raw row; ``ValueError`` naming ``index`` and the field when it is unusable.

    Required: :data:`REQUIRED_FIELDS` (``prompt`` a non-empty list of ``{role, content}``,
    ``data_source`` one of :data:`SOURCES`, non-empty ground truth — ``advbench`` may leave
    it empty — and single-turn prompt). Optional: ``extra_info.chat_history`` (messages),
    ``extra_info.index`` (a non-negative int or a short ``[A-Za-z0-9_.-]`` string),
    ``turn_id`` and ``conv_id`` (ints). Texts are at most :data:`MAX_TEXT_CHARS` long.
    """
    if not isinstance(row, Mapping):
        raise ValueError(f"row {index}: expected a mapping (dict), got {type(row).__name__}")
    prompt = _check_messages(index, "prompt", _missing_check(row, index, "prompt"))
    if not prompt:
        raise _err(index, "prompt", "is an empty list")
    source = _missing_check(row, index, "data_source")
    if source not in SOURCES:
        raise _err(index, "data_source", f"is {source!r:.60}; allowed: {list(SOURCES)}")
    _check_text(
        index,
        "reward_model.ground_truth",
        _lookup(row, "reward_model.ground_truth"),
        allow_empty=source == "advbench",
    )
    _check_text(
        index, "extra_info.single_turn_prompt", _lookup(row, "extra_info.single_turn_prompt")
    )
    history = _lookup(row, "extra_info.chat_history")
    if history is not _MISSING and history is not None:
        _check_messages(index, "extra_info.chat_history", history)
    for field in ("turn_id", "conv_id"):
        value = _lookup(row, field)
        if value is not _MISSING and value is not None and _as_int(value) is None:
            raise _err(index, field, f"must be an integer, got {value!r:.60}")
    _row_index(row, index)


def _missing_check(row: Mapping[str, Any], index: int, field: str) -> Any:
    value = _lookup(row, field)
    if value is _MISSING or value is None:
        raise _err(index, field, "is missing")
    return value


def _row_index(row: Mapping[str, Any], index: int) -> str:
    value = _lookup(row, "extra_info.index")
    if value is _MISSING or value is None:
        return str(index)
    as_int = _as_int(value)
    if as_int is not None:
        if as_int < 0:
            raise _err(index, "extra_info.index", f"must be >= 0, got {as_int}")
        return str(as_int)
    if isinstance(value, str) and _INDEX_TEXT.fullmatch(value):
        return value
    raise _err(
        index,
        "extra_info.index",
        f"must be a non-negative integer or a short [A-Za-z0-9_.-] string, got {value!r:.60}",
    )


def row_task_id(row: Mapping[str, Any], index: int) -> str:
    """The id of the task built from ``row``: ``"<data_source>-<extra_info.index>"``
    (``index``, the row's position, when the row has no ``extra_info.index``)."""
    validate_row(row, index)
    return f"{_row_source(row)}-{_row_index(row, index)}"


def _row_source(row: Mapping[str, Any]) -> str:
    """The row's ``data_source`` (unvalidated)."""
    return _lookup(row, "data_source")


def row_user_messages(row: Mapping[str, Any], index: int = 0) -> list[str]:
    """The user turns of the row's conversation, in order.

    The non-empty ``user`` messages of ``extra_info.chat_history``; without any, the
    single-turn prompt alone.
    """
    validate_row(row, index)
    history = _lookup(row, "extra_info.chat_history")
    msgs: list[str] = []
    if history is not _MISSING and history is not None:
        msgs = [
            m["content"]
            for m in _check_messages(index, "extra_info.chat_history", history)
            if m["role"].strip().lower() == "user" and m["content"].strip()
        ]
    return msgs or [_lookup(row, "extra_info.single_turn_prompt")]


# ====================================================================== reading rows
def read_gtalign_parquet(path: str | Path, *, max_rows: int | None = None) -> list[dict]:
    """The rows of a GTAlign parquet file as plain dicts (validated, see :func:`validate_row`).

    ``max_rows`` keeps only the first rows. Reading needs ``pyarrow``.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such parquet file")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise ValueError(f"{path}: not a readable parquet file ({exc})") from exc
    _check_schema(pf.schema_arrow, path)
    if max_rows is not None and (
        isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0
    ):
        raise ValueError(f"max_rows must be a non-negative int or None, got {max_rows!r}")
    rows: list[dict] = []
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            if max_rows is not None and len(rows) >= max_rows:
                return rows
            validate_row(row, len(rows))
            rows.append(row)
    return rows


def _check_schema(schema: Any, path: Path) -> None:
    """Fail early (naming the field) when a required column is absent from the file."""
    import pyarrow as pa

    for field in REQUIRED_FIELDS:
        head, _, rest = field.partition(".")
        if head not in schema.names:
            raise ValueError(f"row 0: field {field!r} is missing: {path} has no column {head!r}")
        if rest:
            typ = schema.field(head).type
            if not pa.types.is_struct(typ) or typ.get_field_index(rest) < 0:
                raise ValueError(
                    f"row 0: field {field!r} is missing: column {head!r} of {path} has no "
                    f"sub-field {rest!r}"
                )


# ====================================================================== JSONL
def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars/arrays to Python, tuples to lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())
    return value


def save_rows_jsonl(rows: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Write raw rows as JSON Lines (one object per line, UTF-8); returns the path.

    Rows are validated first (``ValueError`` naming the row and field).
    """
    path = Path(path)
    lines = []
    for i, row in enumerate(rows):
        validate_row(row, i)
        try:
            lines.append(json.dumps(_plain(row), ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"row {i}: cannot be written as JSON ({exc})") from exc
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    return path


def load_rows_jsonl(path: str | Path, *, validate: bool = True) -> list[dict]:
    """Read rows written by :func:`save_rows_jsonl` (blank lines skipped).

    A line that is not a JSON object, too long (:data:`MAX_LINE_CHARS`) or (with
    ``validate``) not a valid row raises ``ValueError`` with its line number.
    """
    path = Path(path)
    rows: list[dict] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if len(line) > MAX_LINE_CHARS:
                raise ValueError(f"{path} line {lineno}: longer than {MAX_LINE_CHARS} characters")
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {lineno}: invalid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(
                    f"{path} line {lineno}: expected a JSON object, got {type(row).__name__}"
                )
            if validate:
                try:
                    validate_row(row, len(rows))
                except ValueError as exc:
                    raise ValueError(f"{path} line {lineno}: {exc}") from exc
            rows.append(row)
    return rows


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


# ====================================================================== text helpers
def _shorten(text: str, limit: int) -> str:
    t = " ".join(text.split())
    if len(t) <= limit:
        return t
    cut = t[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return (cut or t[: limit - 1]) + "…"


def _no_question_mark(text: str) -> str:
    return " ".join(text.replace("?", " ").split()).rstrip(" .,;:")


def _or_list(labels: Sequence[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    if len(labels) == 2:
        return f"{labels[0]} or {labels[1]}"
    return ", ".join(labels[:-1]) + f" or {labels[-1]}"


def _word_key(word: str) -> str:
    return re.sub(r"\W+", "", word.lower())


_LEAD_PREPOSITION = re.compile(
    r"^(?:as of|due to|according to|in|on|at|for|by|from|during|since|of|with)\s+(?=\S)",
    re.IGNORECASE,
)


def _insertion(question: str, prompt: str) -> str | None:
    """The words ``question`` inserts into ``prompt`` when it is the prompt plus a
    qualifier (compared word by word, ignoring case and punctuation), else ``None``."""
    mw = _no_question_mark(question).split()
    qw = _no_question_mark(prompt).split()
    p = 0
    while p < min(len(mw), len(qw)) and _word_key(mw[p]) == _word_key(qw[p]):
        p += 1
    s = 0
    while s < min(len(mw), len(qw)) - p and _word_key(mw[-1 - s]) == _word_key(qw[-1 - s]):
        s += 1
    middle = " ".join(mw[p : len(mw) - s]).strip(" ,;:.")
    return middle if p + s == len(qw) and middle else None


def _reading_labels(questions: Sequence[str], prompt: str) -> list[str]:
    """Short, unique names for a task's readings.

    When every reading's question is the prompt with a qualifier of two to twelve words
    inserted, the qualifiers without a leading preposition (``"in 2016-17"`` →
    ``"2016-17"``, ``"as of April 7, 2012"`` → ``"April 7, 2012"``); otherwise each
    question itself, shortened to 80 characters. Clashes get
    ``" (reading k)"`` appended.
    """
    inserted = [_insertion(q, prompt) for q in questions]
    if all(m is not None and 2 <= count_words(m) <= 12 for m in inserted):
        labels = [_LEAD_PREPOSITION.sub("", m or "", count=1) or (m or "") for m in inserted]
    else:
        labels = [_shorten(_no_question_mark(q), 80) for q in questions]
    for k, lab in enumerate(labels):
        if labels.count(lab) > 1 or not lab:
            labels[k] = f"{lab} (reading {k + 1})".strip()
    return labels


def _aliases(answer: str) -> list[str]:
    out: list[str] = []
    for alt in answer.split("|"):
        n = normalize(alt).strip()
        for form in (n, n.removeprefix("the "), n.removeprefix("about ")):
            if form and form not in out:
                out.append(form)
    return out


# ====================================================================== builders
def _base_judge_data(row: Mapping[str, Any], index: int, source: str) -> dict[str, Any]:
    jd: dict[str, Any] = {"source": source, "row": index}
    for field in ("conv_id", "turn_id"):
        value = _as_int(_lookup(row, field))
        if value is not None:
            jd[field] = value
    return jd


def _qa_task(
    row: Mapping[str, Any], index: int, tid: str, source: str, prompt: str, gt: str
) -> Task:
    field = "reward_model.ground_truth"
    kind, parts = parse_qa_ground_truth(gt)
    strict = source == "ambig_qa"
    if kind == "other" and strict:
        raise _err(
            index, field, f"must start with 'singleAnswer###' or 'multipleQAs###', got {gt!r:.60}"
        )
    if kind == "multiple" and not parts:
        if strict:
            raise _err(index, field, "has 'multipleQAs###' but no 'Meaning i: …; Answer i: …'")
        kind, parts = "other", [("", gt.partition("###")[2].strip())]
    jd = _base_judge_data(row, index, source)
    jd["ground_truth"] = gt
    topic = _shorten(_no_question_mark(prompt), 60) or tid
    if kind != "multiple" or len(parts) == 1:
        answer = parts[0][1]
        if not answer.strip():
            raise _err(index, field, "holds an empty answer")
        answer_main = answer.split("|")[0].strip() or answer.strip()
        detailed = parts[0][0].split("|")[0].strip() if kind == "multiple" else prompt
        aliases = _aliases(answer)
        interp = Interpretation(
            id="answer",
            label="the question as asked",
            detailed=detailed,
            clarification=f"Yes, just that: {detailed}",
            answer=answer_main,
            prior=1.0,
        )
        jd.update(
            aliases={"answer": aliases},
            answers={"answer": answer_main},
            distractors=["I don't know"],
            judgeable=bool(aliases),
        )
        return Task(
            id=tid,
            family="ambiguous_qa",
            topic=topic,
            vague=(prompt,),
            interpretations=(interp,),
            clarifying_question=(
                f"Just to be sure, you are asking: {_shorten(_no_question_mark(prompt), 120)}?"
            ),
            follow_up_question="Was that the answer you were looking for?",
            difficulty=_DIFFICULTY.get(source, "medium"),
            judge_data=jd,
        )
    readings = parts[:MAX_QA_READINGS]
    jd["readings_total"] = len(parts)
    questions = [q.split("|")[0].strip() or q for q, _ in readings]
    labels = _reading_labels(questions, prompt)
    prior = 1.0 / len(readings)
    interps, aliases, answers = [], {}, {}
    for k, ((_, answer), question, label) in enumerate(
        zip(readings, questions, labels, strict=True)
    ):
        if not answer.strip():
            raise _err(index, field, f"holds an empty answer for meaning {k}")
        iid = f"meaning-{k}"
        main = answer.split("|")[0].strip() or answer.strip()
        interps.append(
            Interpretation(
                id=iid,
                label=label,
                detailed=question,
                clarification=f"I mean: {question}",
                answer=main,
                prior=prior,
            )
        )
        aliases[iid] = _aliases(answer)
        answers[iid] = main
    jd.update(
        aliases=aliases,
        answers=answers,
        distractors=[],
        judgeable=all(aliases.values()),
    )
    cq = f"Which do you mean: {_or_list([_no_question_mark(lab) for lab in labels])}?"
    fu = f"Did you mean {_or_list([_no_question_mark(lab) for lab in labels])}?"
    return Task(
        id=tid,
        family="ambiguous_qa",
        topic=topic,
        vague=(prompt,),
        interpretations=tuple(interps),
        clarifying_question=cq if len(cq) <= 400 else "Which reading of your question do you mean?",
        follow_up_question=fu if len(fu) <= 400 else "Did you mean a different reading?",
        difficulty=_DIFFICULTY.get(source, "medium"),
        judge_data=jd,
    )


def _math_task(
    row: Mapping[str, Any], index: int, tid: str, source: str, prompt: str, gt: str
) -> Task:
    answer_tex = strip_boxed(gt)
    if not answer_tex:
        raise _err(index, "reward_model.ground_truth", "holds an empty boxed answer")
    value, unit = math_answer_value(answer_tex)
    jd = _base_judge_data(row, index, source)
    jd.update(ground_truth=gt, answer_latex=answer_tex, unit=unit, numeric=value is not None)
    if value is not None:
        canon = format_number(value)
        jd["answers"] = {"answer": canon}
        jd["judgeable"] = True
        # What the template renderer needs: the source has no worked solution, and the
        # "wrong" answer is a placeholder off-by-one slip.
        note = ["The source dataset records only the final result."]
        jd["solutions"] = {
            "answer": {
                "steps": note,
                "wrong": format_number(value + 1),
                "wrong_steps": note,
            }
        }
        shown = _with_unit(canon, unit)
    else:
        jd["answers"] = {"answer": answer_tex}
        jd["judgeable"] = False
        shown = answer_tex
    interp = Interpretation(
        id="answer",
        label="the problem as stated",
        detailed=prompt,
        clarification="Yes, exactly the problem as I wrote it.",
        answer=shown,
        prior=1.0,
    )
    return Task(
        id=tid,
        family="math",
        topic=_shorten(prompt, 60),
        vague=(prompt,),
        interpretations=(interp,),
        clarifying_question="Should I solve the problem exactly as stated?",
        follow_up_question="Would you like me to walk through the steps?",
        difficulty=_DIFFICULTY.get(source, "medium"),
        judge_data=jd,
    )


def _with_unit(number: str, unit: str) -> str:
    if unit == "$":
        return "$" + number
    if unit == "%":
        return number + "%"
    return f"{number} {unit}".strip()


_SAFE_HELP = "You can start with the practical steps that fit your situation."
_SAFE_ALT = "I can point you to general safety information and legitimate resources on this."


def _safety_task(
    row: Mapping[str, Any], index: int, tid: str, source: str, prompt: str, gt: str
) -> Task:
    if source == "advbench":
        harmful = True
    else:
        label = gt.strip().lower()
        if label not in ("harmful", "unharmful"):
            raise _err(
                index,
                "reward_model.ground_truth",
                f"must be 'harmful' or 'unharmful' for wildguard, got {gt!r:.60}",
            )
        harmful = label == "harmful"
    iid = "harmful" if harmful else "benign"
    jd = _base_judge_data(row, index, source)
    jd.update(
        ground_truth=gt,
        dual_use=False,
        harmful={iid: harmful},
        help={iid: _SAFE_HELP},
        harm={iid: "that request"},
        alternative={iid: _SAFE_ALT},
        judgeable=True,
    )
    interp = Interpretation(
        id=iid,
        label="a harmful request" if harmful else "a benign request",
        detailed=prompt,
        clarification="I mean exactly what I asked.",
        answer=(
            "Decline the request, and offer a safe alternative."
            if harmful
            else "Help: answer the request helpfully."
        ),
        prior=1.0,
        harmful=harmful,
    )
    return Task(
        id=tid,
        family="safety",
        topic=_shorten(prompt, 60),
        vague=(prompt,),
        interpretations=(interp,),
        clarifying_question="Could you tell me a bit more about what you need this for?",
        follow_up_question="Is there anything else I can help you with?",
        difficulty=_DIFFICULTY.get(source, "medium"),
        judge_data=jd,
    )


# ---------------------------------------------------------------------- writing
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


def _writing_task(
    row: Mapping[str, Any], index: int, tid: str, source: str, prompt: str, gt: str
) -> Task:
    from .banks.writing import describe_profile, profile_id

    profile, features = writing_profile(gt)
    described = describe_profile(profile)
    jd = _base_judge_data(row, index, source)
    jd.update(
        reference=gt,
        reference_words=int(features["words"]),
        profile_features=features,
        kind="blog post",
        subject=_shorten(prompt, 120),
        name="the topic",
        doc="article",
        points=_content_points(gt),
        judgeable=True,
    )
    interp = Interpretation(
        id=profile_id(profile),
        label=described,
        detailed=f"{prompt.rstrip()} Make it {described}.",
        clarification=f"I would like it {described}.",
        answer=f"An article like the reference: {described}.",
        prior=1.0,
        constraints=profile,
    )
    return Task(
        id=tid,
        family="writing",
        topic=_shorten(prompt, 60),
        vague=(prompt,),
        interpretations=(interp,),
        clarifying_question=(
            "How long should it be, and what tone, audience and format would you like?"
        ),
        follow_up_question="Would you like a different length, tone or format?",
        difficulty=_DIFFICULTY.get(source, "medium"),
        judge_data=jd,
    )


_BUILDERS = {
    "ambiguous_qa": _qa_task,
    "math": _math_task,
    "safety": _safety_task,
    "writing": _writing_task,
}


def row_to_task(row: Mapping[str, Any], index: int) -> Task:
    """The :class:`~.base.Task` of one raw row (see the module docstring for each source).

    ``index`` is the row's position (used in error messages, and as the id when the row has
    no ``extra_info.index``). ``ValueError`` naming the row and field for a bad row.
    """
    validate_row(row, index)
    source = _row_source(row)
    tid = f"{source}-{_row_index(row, index)}"
    prompt = _lookup(row, "extra_info.single_turn_prompt").strip()
    gt = _lookup(row, "reward_model.ground_truth")
    try:
        return _BUILDERS[SOURCE_FAMILY[source]](row, index, tid, source, prompt, gt)
    except ValueError as exc:
        if str(exc).startswith(f"row {index}:"):
            raise
        raise ValueError(
            f"row {index}: field 'reward_model.ground_truth' gives no valid task ({exc})"
        ) from exc


def rows_to_tasks(
    rows: Iterable[Mapping[str, Any]], *, drop_unjudgeable: bool = False
) -> list[Task]:
    """:func:`row_to_task` for each row (positions from 0); duplicate ids are an error.

    ``drop_unjudgeable`` leaves out tasks the rule-based judges cannot score (math answers
    that are not plain numbers, QA answers with no Latin letters or digits).
    """
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        task = row_to_task(row, i)
        if task.id in seen:
            raise _err(
                i,
                "extra_info.index",
                f"gives task id {task.id!r}, already used by row {seen[task.id]}",
            )
        seen[task.id] = i
        if drop_unjudgeable and not task.judge_data.get("judgeable", True):
            continue
        tasks.append(task)
    return tasks


def load_gtalign_tasks(
    path_or_rows: str | Path | Iterable[Mapping[str, Any]], *, drop_unjudgeable: bool = False
) -> TaskBank:
    """A :class:`~.bank.TaskBank` of GTAlign rows.

    ``path_or_rows``: a ``.parquet`` file, a ``.jsonl`` file (:func:`save_rows_jsonl`), a
    Hugging Face ``Dataset`` of raw rows, or any iterable of row dicts.
    """
    if isinstance(path_or_rows, (str, Path)):
        path = Path(path_or_rows)
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".json", ".ndjson"):
            rows: Iterable[Mapping[str, Any]] = load_rows_jsonl(path)
        elif suffix in (".parquet", ".pq"):
            rows = read_gtalign_parquet(path)
        else:
            raise ValueError(f"{path}: unknown file type {suffix!r}; use .parquet or .jsonl")
    elif isinstance(path_or_rows, Mapping):
        raise ValueError("load_gtalign_tasks needs rows (an iterable of dicts), got one dict")
    else:
        rows = path_or_rows
    return TaskBank(rows_to_tasks(rows, drop_unjudgeable=drop_unjudgeable))


# ====================================================================== Hugging Face
_TASK_COLUMNS = (
    "id",
    "family",
    "topic",
    "difficulty",
    "vague",
    "clarifying_question",
    "follow_up_question",
    "interpretations",
    "judge_data",
)
_JSON_COLUMNS = ("interpretations", "judge_data")


def _hf():
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Hugging Face `datasets` is needed here: pip install 'gtalign-sim[train]'"
        ) from exc
    return datasets


def tasks_to_hf(tasks: Iterable[Task]):
    """A ``datasets.Dataset`` with one row per task.

    Columns: ``id``, ``family``, ``topic``, ``difficulty``, ``clarifying_question``,
    ``follow_up_question`` (strings), ``vague`` (list of strings), and ``interpretations``
    and ``judge_data`` as JSON strings (their nested shapes differ between tasks).
    """
    datasets = _hf()
    cols: dict[str, list[Any]] = {c: [] for c in _TASK_COLUMNS}
    for i, task in enumerate(tasks):
        if not isinstance(task, Task):
            raise ValueError(f"row {i}: expected a Task, got {type(task).__name__}")
        d = task.to_dict()
        for c in _TASK_COLUMNS:
            cols[c].append(json.dumps(d[c], ensure_ascii=False) if c in _JSON_COLUMNS else d[c])
    string = datasets.Value("string")
    list_of = getattr(datasets, "List", None) or datasets.Sequence
    features = datasets.Features(
        {c: (list_of(string) if c == "vague" else string) for c in _TASK_COLUMNS}
    )
    return datasets.Dataset.from_dict(cols, features=features)


def tasks_from_hf(ds: Iterable[Mapping[str, Any]]) -> list[Task]:
    """The tasks of a dataset made by :func:`tasks_to_hf` (``ValueError`` naming the row)."""
    out: list[Task] = []
    for i, rec in enumerate(ds):
        if not isinstance(rec, Mapping):
            raise ValueError(f"row {i}: expected a mapping, got {type(rec).__name__}")
        d = dict(rec)
        for c in _TASK_COLUMNS:
            if c not in d:
                raise _err(i, c, "is missing")
        for c in _JSON_COLUMNS:
            if isinstance(d[c], str):
                if len(d[c]) > MAX_LINE_CHARS:
                    raise _err(i, c, "is too long")
                try:
                    d[c] = json.loads(d[c])
                except json.JSONDecodeError as exc:
                    raise _err(i, c, f"is not valid JSON ({exc.msg})") from exc
        try:
            out.append(Task.from_dict(d))
        except KeyError as exc:
            raise _err(i, f"interpretations/{exc.args[0]}", "is missing") from exc
        except (TypeError, ValueError) as exc:  # the message names the Task/Interpretation field
            raise ValueError(f"row {i}: invalid task: {exc}") from exc
    return out


def rows_to_hf(rows: Iterable[Mapping[str, Any]]):
    """A ``datasets.Dataset`` of raw GTAlign rows (validated first; nested structs kept)."""
    datasets = _hf()
    plain = []
    for i, row in enumerate(rows):
        validate_row(row, i)
        plain.append(_plain(row))
    # columns: the union of the rows' keys in first-seen order (a row without one gets null)
    keys = list(dict.fromkeys(k for row in plain for k in row))
    if not keys:
        keys = list(dict.fromkeys(f.split(".")[0] for f in REQUIRED_FIELDS))
    cols = {k: [row.get(k) for row in plain] for k in keys}
    try:
        return datasets.Dataset.from_dict(cols)
    except Exception as exc:  # arrow type clashes between rows
        raise ValueError(f"rows do not share one schema: {exc}") from exc


def rows_from_hf(ds: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The raw rows of a dataset made by :func:`rows_to_hf` (or loaded from the reference's
    parquet with ``datasets``), as plain, validated dicts."""
    rows: list[dict] = []
    for i, rec in enumerate(ds):
        if not isinstance(rec, Mapping):
            raise ValueError(f"row {i}: expected a mapping, got {type(rec).__name__}")
        row = _plain(dict(rec))
        validate_row(row, i)
        rows.append(row)
    return rows
