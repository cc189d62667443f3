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
  the questions themselves, shortened (see ``dataset_builders._reading_labels``). The vague
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

Layout: :mod:`.dataset_rows` (the row schema and validation), :mod:`.dataset_io`
(parquet, JSONL, Hugging Face), :mod:`.dataset_answers` (reading ground truths),
:mod:`.dataset_builders` (one task builder per family); this module turns rows into tasks
and re-exports the public names of the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .bank import TaskBank
from .base import Task
from .dataset_answers import (
    math_answer_value,
    parse_qa_ground_truth,
    strip_boxed,
    writing_profile,
)
from .dataset_builders import _BUILDERS, MAX_QA_READINGS
from .dataset_io import MAX_LINE_CHARS as MAX_LINE_CHARS  # public, outside __all__
from .dataset_io import (
    load_rows_jsonl,
    read_gtalign_parquet,
    rows_from_hf,
    rows_to_hf,
    save_rows_jsonl,
    tasks_from_hf,
    tasks_to_hf,
)
from .dataset_rows import (
    MAX_MESSAGES,
    MAX_TEXT_CHARS,
    REQUIRED_FIELDS,
    SOURCE_FAMILY,
    SOURCES,
    _err,
    _lookup,
    _row_index,
    _row_source,
    row_task_id,
    row_user_messages,
    validate_row,
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
