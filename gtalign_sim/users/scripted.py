"""A simulated user that replays a recorded conversation's user turns.

:class:`ScriptedUser` sends the user messages of a dataset conversation (for GTAlign rows,
the ``user`` messages of ``extra_info.chat_history``, see :meth:`ScriptedUser.from_row`)
instead of template text, while :class:`~gtalign_sim.users.base.BaseUser` keeps doing the
bookkeeping: every assistant turn is paid for and judged (:meth:`BaseUser.read`), a
satisfying answer, the user's patience and the environment's horizon end the episode as
for any simulated user, and each reply is charged like a template user's reply.

* **Strategy** — ``"VQ"`` when the task is ambiguous, ``"DQ"`` otherwise: the recorded
  opening message is the dataset's single question, which leaves an ambiguous task's
  readings open (a vague question) and states an unambiguous task in full (a detailed
  one). ``BaseUser.forced_strategy`` still overrides it.
* **Messages** — the opening message is ``script[0]``; each reply is the next scripted
  message. When the script has no message left, the user stops with
  :attr:`~gtalign_sim.users.base.StopReason.MAX_TURNS` and the reason
  ``"script exhausted"`` (the recording ends there: a truncation, not the user's choice).
* **Continuing** — a recorded user did reply, so by default the script, not the cost
  model, decides whether to continue; ``give_up=True`` applies BaseUser's rule (reply only
  when the expected gain exceeds the cost) and may end the episode with ``gave_up``.

One user can hold one script, or a mapping from task id to script (:meth:`from_rows`) to
replay a whole dataset: :meth:`reset` then picks the task's script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends.template import TemplateRenderer
from .base import BaseUser, StopReason, UserMessage
from .profile import UserProfile
from .world import WorldConfig

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = ["SCRIPT_EXHAUSTED", "ScriptedUser"]

#: The stop reason recorded when the script has no message left.
SCRIPT_EXHAUSTED = "script exhausted"


def _check_script(script: Any, where: str) -> tuple[str, ...]:
    if isinstance(script, str) or not isinstance(script, Sequence):
        raise ValueError(f"{where} must be a sequence of strings, got {type(script).__name__}")
    out = tuple(script)
    if not out:
        raise ValueError(f"{where} must hold at least one message")
    for k, msg in enumerate(out):
        if not isinstance(msg, str) or not msg.strip():
            raise ValueError(f"{where}[{k}] must be a non-empty string, got {msg!r:.60}")
    return out


class ScriptedUser(BaseUser):
    """A user that replays scripted messages (see the module docstring).

    Args:
        script: the user's messages in order (``script[0]`` opens the conversation), or a
            mapping from task id to such a sequence.
        world, renderer: as for :class:`~gtalign_sim.users.base.BaseUser` (the renderer
            still writes the closing line).
        give_up: apply BaseUser's cost rule to every reply (default: the script decides).
    """

    def __init__(
        self,
        script: Sequence[str] | Mapping[str, Sequence[str]],
        world: WorldConfig | None = None,
        renderer: TemplateRenderer | None = None,
        give_up: bool = False,
    ) -> None:
        super().__init__(world, renderer)
        if isinstance(script, Mapping):
            if not script:
                raise ValueError("script mapping must hold at least one task's script")
            self.scripts: dict[str, tuple[str, ...]] | None = {
                str(tid): _check_script(s, f"script[{tid!r}]") for tid, s in script.items()
            }
            self.script: tuple[str, ...] = ()
        else:
            self.scripts = None
            self.script = _check_script(script, "script")
        self.give_up = bool(give_up)
        self.position = 0
        """How many scripted messages have been sent in this episode."""

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_row(cls, row: Mapping[str, Any], index: int = 0, **kwargs: Any) -> ScriptedUser:
        """A user replaying one GTAlign row: the ``user`` messages of
        ``extra_info.chat_history``, else the single-turn prompt (``ValueError`` naming the
        row and field for a bad row)."""
        from ..tasks.datasets import row_user_messages

        return cls(row_user_messages(row, index), **kwargs)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], **kwargs: Any) -> ScriptedUser:
        """A user replaying every row, keyed by the id of the row's task
        (:func:`~gtalign_sim.tasks.datasets.row_task_id`, positions from 0)."""
        from ..tasks.datasets import row_task_id, row_user_messages

        scripts: dict[str, list[str]] = {}
        first: dict[str, int] = {}
        for i, row in enumerate(rows):
            tid = row_task_id(row, i)
            if tid in first:
                raise ValueError(
                    f"row {i}: field 'extra_info.index' gives task id {tid!r}, already used by "
                    f"row {first[tid]}"
                )
            first[tid] = i
            scripts[tid] = row_user_messages(row, i)
        return cls(scripts, **kwargs)

    # -------------------------------------------------------------- plug-in API
    def choose_strategy(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> str:
        """``"VQ"`` for an ambiguous task, ``"DQ"`` otherwise (the recorded question is the
        dataset's own phrasing; see the module docstring)."""
        return "VQ" if task.ambiguous else "DQ"

    def decide_continue(self, expected_gain: float, cost: float) -> bool:
        """The script decides (always continue) unless ``give_up`` was set."""
        return super().decide_continue(expected_gain, cost) if self.give_up else True

    # ------------------------------------------------------------ the protocol
    def script_for(self, task: Task) -> tuple[str, ...]:
        """The messages replayed for ``task``."""
        if self.scripts is None:
            return self.script
        try:
            return self.scripts[task.id]
        except KeyError:
            raise ValueError(
                f"no script for task {task.id!r}; scripts cover {len(self.scripts)} tasks"
            ) from None

    def reset(self, task: Task, profile: UserProfile, rng: np.random.Generator) -> UserMessage:
        """Choose the strategy and pay for it (BaseUser), then open with ``script[0]``."""
        script = self.script_for(task)
        msg = super().reset(task, profile, rng)
        self.script = script
        self.position = 1
        return UserMessage(text=script[0], strategy=msg.strategy, reveals_intent=msg.reveals_intent)

    def reply(self) -> UserMessage:
        """The next scripted message (charged as BaseUser charges a reply), or a stop with
        ``max_turns`` / ``"script exhausted"`` when the script has none left."""
        if self.position >= len(self.script):
            return self._stop(StopReason.MAX_TURNS, reason=SCRIPT_EXHAUSTED)
        msg = super().reply()
        if msg.stop is not None:
            return msg
        text = self.script[self.position]
        self.position += 1
        return UserMessage(text=text, kind=msg.kind, reveals_intent=msg.reveals_intent)

    @property
    def remaining(self) -> int:
        """Scripted messages not yet sent in this episode."""
        return max(len(self.script) - self.position, 0)
