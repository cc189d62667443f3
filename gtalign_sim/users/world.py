"""Per-task facts for the rules engine, and re-exports of the game's core.

The game's parameters (:class:`~gtalign_sim.core.WorldConfig`) and rules
(:mod:`gtalign_sim.core.rules`) live in :mod:`gtalign_sim.core`; this module adds
:class:`TaskTables`: every answer variant of a task rendered once by the template
renderer and judged against every intent, so the planner uses exactly the token counts
and judge scores the environment produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends.template import TemplateRenderer
from ..core import rules
from ..core.vocab import (
    MODES,
    N_ACTIONS,
    REPLY_KINDS,
    STRATEGIES,
    VERBOSITIES,
    decode_action,
    encode_action,
)
from ..core.world import WorldConfig
from ..welfare import count_tokens

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = [
    "MODES",
    "N_ACTIONS",
    "TaskTables",
    "WorldConfig",
    "decode_action",
    "encode_action",
    "length_misfit",
]

length_misfit = rules.length_misfit


# ------------------------------------------------------------- task tables


_TABLE_CACHE: dict[tuple[str, int, int], TaskTables] = {}


@dataclass
class TaskTables:
    """Everything the model needs about one task, computed by rendering and judging.

    Indices: ``a`` the assumed interpretation, ``v`` verbosity, ``ok`` whether the
    answer was executed correctly, ``t`` the true intent; interpretations are in task
    order. Because rendering is deterministic, these are exactly the token counts and
    judge scores the environment will produce.
    """

    task: Task
    default: int
    answer_tokens: np.ndarray  # (A, V, 2)
    answer_words: np.ndarray  # (A, V, 2)
    q_user: np.ndarray  # (A, V, 2, T)
    q_llm: np.ndarray  # (A, V, 2, T)
    aq_q_user: np.ndarray  # (A, V, 2, T): the judge on the AQ text (answer + follow-up)
    aq_q_llm: np.ndarray  # (A, V, 2, T)
    cq_tokens: np.ndarray  # (V,)
    followup_tokens: np.ndarray  # (A, V, 2): AQ total minus the DA answer (signed)
    followup_words: np.ndarray  # (A, V, 2)
    question_tokens: np.ndarray  # (2, T): DQ / VQ opening message
    reply_tokens: np.ndarray  # (5, T): ReplyKind order
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    """What planners derive from these tables (their digest, the per-action facts), kept
    with them: pure functions of the tables, which are never changed after :meth:`build`."""

    @classmethod
    def cached(cls, task: Task, renderer: TemplateRenderer | None = None) -> TaskTables:
        """:meth:`build`, memoised per (task, renderer variant) for the whole process."""
        key = (task.id, hash(task), renderer.variant if renderer else 0)
        hit = _TABLE_CACHE.get(key)
        if hit is None:
            hit = cls.build(task, renderer)
            _TABLE_CACHE[key] = hit
            if len(_TABLE_CACHE) > 8192:
                _TABLE_CACHE.pop(next(iter(_TABLE_CACHE)))
        return hit

    @classmethod
    def build(cls, task: Task, renderer: TemplateRenderer | None = None) -> TaskTables:
        """Render every answer variant once and judge it against every intent.

        The model uses the family's *rule-based* judge (what model-based assistants
        assume), whatever judge is registered for the run.
        """
        from ..tasks.judges import RULE_JUDGES

        rule_judge = RULE_JUDGES[task.family]

        def judge_response(task: Task, intent: str, text: str) -> Any:
            return rule_judge.judge(task, intent, text)

        renderer = renderer or TemplateRenderer()
        ids = [it.id for it in task.interpretations]
        n, nv = len(ids), len(VERBOSITIES)
        tok = np.zeros((n, nv, 2))
        words = np.zeros((n, nv, 2))
        qu = np.zeros((n, nv, 2, n))
        ql = np.zeros((n, nv, 2, n))
        aqu = np.zeros((n, nv, 2, n))
        aql = np.zeros((n, nv, 2, n))
        fu = np.zeros((n, nv, 2))
        fw = np.zeros((n, nv, 2))
        for a, aid in enumerate(ids):
            for v in range(nv):
                for ok in (0, 1):
                    text = renderer.assistant_turn(task, "DA", v, aid, bool(ok))
                    tok[a, v, ok] = count_tokens(text)
                    words[a, v, ok] = len(text.split())
                    aq = renderer.assistant_turn(task, "AQ", v, aid, bool(ok))
                    fu[a, v, ok] = count_tokens(aq) - tok[a, v, ok]  # signed: AQ total exact
                    fw[a, v, ok] = len(aq.split()) - words[a, v, ok]
                    for t, tid in enumerate(ids):
                        j = judge_response(task, tid, text)
                        qu[a, v, ok, t] = j.q_user
                        ql[a, v, ok, t] = j.q_llm
                        j = judge_response(task, tid, aq)
                        aqu[a, v, ok, t] = j.q_user
                        aql[a, v, ok, t] = j.q_llm
        cq = np.array(
            [count_tokens(renderer.assistant_turn(task, "CQ", v, ids[0])) for v in range(nv)],
            dtype=float,
        )
        qt = np.array(
            [
                [count_tokens(renderer.user_question(task, s, tid)) for tid in ids]
                for s in STRATEGIES
            ],
            dtype=float,
        )
        replies = np.array(
            [
                [count_tokens(renderer.user_reply(task, tid, kind)) for tid in ids]
                for kind in REPLY_KINDS
            ],
            dtype=float,
        )
        default = ids.index(task.most_likely().id)
        return cls(task, default, tok, words, qu, ql, aqu, aql, cq, fu, fw, qt, replies)

    @cached_property
    def n_intents(self) -> int:
        """Number of interpretations."""
        return len(self.task.interpretations)
