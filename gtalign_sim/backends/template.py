"""The deterministic template renderer: text for every simulated turn, no LLM.

Every message of a simulated conversation — the user's question (detailed or vague),
the assistant's answer / clarifying question / answer-plus-question at a verbosity
level, the user's clarification, correction or goodbye — is produced here from the
task's own content (:mod:`gtalign_sim.tasks.render`). Rendering is a pure function of
its arguments and ``variant``: the random choices inside are seeded from a stable hash
of them, so the same call always returns the same text. That makes token counts real
(the text exists) and predictable (a model-based assistant can compute them exactly).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from ..core.vocab import MODES, REPLY_KINDS, VERBOSITIES

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = ["MODES", "REPLY_KINDS", "VERBOSITIES", "TemplateRenderer"]


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


class TemplateRenderer:
    """Renders the text of simulated turns deterministically.

    Args:
        variant: a seed mixed into every hash; different variants give different
            (equally valid) wordings of the same turns.
    """

    def __init__(self, variant: int = 0) -> None:
        self.variant = int(variant)

    # ----------------------------------------------------------------- assistant
    def assistant_turn(
        self,
        task: Task,
        mode: str,
        verbosity: int,
        assumed_intent: str,
        correct: bool = True,
    ) -> str:
        """The assistant's message: an answer assuming ``assumed_intent`` (``DA``), the
        task's clarifying question (``CQ``), or the answer then one follow-up (``AQ``)."""
        from ..tasks.render import answer_text, clarifying_question_text, follow_up_text

        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; allowed: {list(MODES)}")
        if verbosity not in range(len(VERBOSITIES)):
            raise ValueError(f"verbosity must be 0, 1 or 2 ({list(VERBOSITIES)}), got {verbosity}")
        if mode == "CQ":  # a clarifying question does not depend on any assumed reading
            return clarifying_question_text(
                task, verbosity, _rng(self.variant, task.id, mode, verbosity)
            )
        rng = _rng(self.variant, task.id, mode, verbosity, assumed_intent, correct)
        answer = answer_text(task, assumed_intent, correct=correct, verbosity=verbosity, rng=rng)
        if mode == "DA":
            return answer
        return f"{answer}\n\n{follow_up_text(task, rng, assumed=assumed_intent)}"

    # ---------------------------------------------------------------------- user
    def user_question(self, task: Task, strategy: str, intent: str) -> str:
        """The user's opening message: the intent's detailed phrasing (DQ) or a vague one."""
        if strategy == "DQ":
            return task.interpretation(intent).detailed
        if strategy == "VQ":
            k = int(_rng(self.variant, task.id, "vague").integers(len(task.vague)))
            return task.vague[k]
        raise ValueError(f"unknown user strategy {strategy!r}; allowed: ['DQ', 'VQ']")

    def user_reply(self, task: Task, intent: str, kind: str) -> str:
        """A user reply of ``kind`` (see :data:`REPLY_KINDS`) stating the user's intent."""
        clar = task.interpretation(intent).clarification
        if kind == "clarify":
            return clar
        if kind == "redundant":
            return f"As I said in my question: {clar}"
        if kind == "followup":
            return f"Not quite. {clar}"
        if kind == "correct_intent":
            return f"That's not what I meant. {clar}"
        if kind == "retry":
            return "That doesn't look right. Could you check it and try again?"
        raise ValueError(f"unknown reply kind {kind!r}; allowed: {list(REPLY_KINDS)}")

    def user_goodbye(self, satisfied: bool) -> str:
        """The user's closing line."""
        return "Thanks, that's what I needed." if satisfied else "Never mind, I'll look elsewhere."
