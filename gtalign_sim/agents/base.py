"""The assistant protocol and the simple baselines.

An assistant sees what the environment's assistant agent sees — the observation
(features and action mask) and ``info`` (the public view: the task's readings, the
transcript, the question type, the pricing plan; privileged assistants also get
``info["privileged"]``) — and returns a :class:`Decision`: the action (mode ×
verbosity), and where it reasons, its payoff matrix and the four-block trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..backends.template import VERBOSITIES
from ..game import PayoffMatrix
from ..users import N_ACTIONS, decode_action, encode_action

__all__ = [
    "Assistant",
    "Decision",
    "FixedAssistant",
    "RandomAssistant",
    "past_actions",
]


@dataclass
class Decision:
    """An assistant's move.

    Attributes:
        action: index in ``0..8`` (``mode * 3 + verbosity``).
        payoff: the assistant's own payoff matrix (rows DQ/VQ, columns DA/CQ/AQ), if any.
        belief: its belief ``[P(DQ), P(VQ)]`` about the user's question, if any.
        trace: the four-block ``<thinking><payoff><analyze><response>`` text, if any.
        estimates: anything else worth recording (expected U and L of the choice…).
        text: the reply's text, for assistants that write their own; ``None`` lets the
            environment render the template text for ``action``.
    """

    action: int
    text: str | None = None
    payoff: PayoffMatrix | None = None
    belief: np.ndarray | None = None
    trace: str | None = None
    estimates: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """The response mode (DA, CQ or AQ)."""
        return decode_action(self.action)[0]

    @property
    def verbosity(self) -> str:
        """The verbosity level name."""
        return VERBOSITIES[decode_action(self.action)[1]]


@runtime_checkable
class Assistant(Protocol):
    """What the experiment runner needs from an assistant."""

    name: str

    def reset(self, seed: int | None = None) -> None:
        """Prepare for a run (reseed internal randomness)."""
        ...

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """Choose the next move."""
        ...


def past_actions(info: Mapping[str, Any]) -> list[int]:
    """The assistant's own past actions in this episode, read from the public transcript."""
    out = []
    for t in info.get("history", []):
        if t.role == "assistant" and t.mode is not None:
            out.append(encode_action(t.mode, t.verbosity if t.verbosity is not None else 1))
    return out


class FixedAssistant:
    """The always-DA / always-CQ / always-AQ baselines.

    Opens every conversation with ``mode`` at ``verbosity``; once the user has replied
    it answers directly (``then``, a mode, standard verbosity) — an assistant that only
    ever asked questions would never answer. ``then=None`` repeats ``mode`` every turn.
    """

    def __init__(
        self,
        mode: str = "DA",
        verbosity: int | str = 1,
        name: str | None = None,
        then: str | None = "DA",
    ) -> None:
        if isinstance(verbosity, str):
            if verbosity not in VERBOSITIES:
                raise ValueError(f"verbosity {verbosity!r} unknown; allowed: {list(VERBOSITIES)}")
            verbosity = VERBOSITIES.index(verbosity)
        self.action = encode_action(mode, int(verbosity))
        self.then = self.action if then is None else encode_action(then, 1)
        self.name = name or f"always_{mode.lower()}"

    def reset(self, seed: int | None = None) -> None:
        """Nothing to reset."""

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """The opening action, or the follow-on one after the user has replied."""
        return Decision(self.action if not past_actions(info) else self.then)


class RandomAssistant:
    """Uniformly random legal actions, from its own seeded generator."""

    def __init__(self, seed: int = 0, name: str = "random") -> None:
        self.name = name
        self._seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Reseed (``None`` keeps the constructor's seed)."""
        self.rng = np.random.default_rng(self._seed if seed is None else seed)

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """A uniformly random action allowed by the mask."""
        mask = np.asarray(observation.get("action_mask", np.ones(N_ACTIONS)), dtype=bool)
        legal = np.flatnonzero(mask)
        return Decision(int(self.rng.choice(legal)))
