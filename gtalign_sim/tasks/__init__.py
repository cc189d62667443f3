"""Tasks: what simulated users ask, what they really want, and how answers are judged.

* :mod:`.base` — the data model: :class:`Task` (one question, its vague phrasings and
  hidden :class:`Interpretation`\\ s) and the family/difficulty vocabularies.
* :mod:`.bank` — :func:`generate_tasks` per family (math word problems, ambiguous factual
  questions, writing requests with hidden constraints, benign/harmful safety requests) and
  :class:`TaskBank`.
* :mod:`.render` — the text of an answer, clarifying question or follow-up.
* :mod:`.judges` — rule-based judges behind the :class:`Judge` protocol.

Importing this package is cheap: the fact tables load when a family is first generated.
"""

from __future__ import annotations

from .bank import TaskBank, generate_tasks, max_tasks
from .base import DIFFICULTIES, FAMILIES, WRITING_CONSTRAINTS, Interpretation, Task
from .datasets import (
    SOURCE_FAMILY,
    SOURCES,
    load_gtalign_tasks,
    load_rows_jsonl,
    read_gtalign_parquet,
    row_task_id,
    row_to_task,
    row_user_messages,
    rows_from_hf,
    rows_to_hf,
    rows_to_tasks,
    save_rows_jsonl,
    tasks_from_hf,
    tasks_to_hf,
    validate_row,
    writing_profile,
)
from .judges import (
    JUDGES,
    AmbiguousQAJudge,
    Judge,
    Judgement,
    MathJudge,
    SafetyJudge,
    WritingJudge,
    get_judge,
    judge_response,
    register_judge,
)
from .render import VERBOSITY_LEVELS, answer_text, clarifying_question_text, follow_up_text

__all__ = [
    "DIFFICULTIES",
    "FAMILIES",
    "JUDGES",
    "SOURCES",
    "SOURCE_FAMILY",
    "VERBOSITY_LEVELS",
    "WRITING_CONSTRAINTS",
    "AmbiguousQAJudge",
    "Interpretation",
    "Judge",
    "Judgement",
    "MathJudge",
    "SafetyJudge",
    "Task",
    "TaskBank",
    "WritingJudge",
    "answer_text",
    "clarifying_question_text",
    "follow_up_text",
    "generate_tasks",
    "get_judge",
    "judge_response",
    "load_gtalign_tasks",
    "load_rows_jsonl",
    "max_tasks",
    "read_gtalign_parquet",
    "register_judge",
    "row_task_id",
    "row_to_task",
    "row_user_messages",
    "rows_from_hf",
    "rows_to_hf",
    "rows_to_tasks",
    "save_rows_jsonl",
    "tasks_from_hf",
    "tasks_to_hf",
    "validate_row",
    "writing_profile",
]
