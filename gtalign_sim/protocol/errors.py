"""The single exception type of the protocol layer."""

from __future__ import annotations

__all__ = ["ProtocolError"]


class ProtocolError(ValueError):
    """An assistant reply does not follow the four-block output contract.

    ``str(err)`` names the problem (the missing, duplicated or misplaced block, the
    missing payoff key, the value that is not a number, ...). ``block`` is the name of the
    block concerned (``"thinking"``, ``"payoff"``, ``"analyze"``, ``"response"``) or
    ``None`` when the problem is not tied to one block (input type or size, labels).
    """

    def __init__(self, message: str, *, block: str | None = None) -> None:
        super().__init__(message)
        self.block = block
