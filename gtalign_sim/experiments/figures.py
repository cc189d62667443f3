"""The figures of a run: each drawn once per configured format, written atomically, and
linked from ``summary.md`` exactly as written (``plot_formats``, ``plot_dpi``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PLOT_FORMATS", "FigureWriter"]

PLOT_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")


class FigureWriter:
    """Writes ``<stem>.<fmt>`` for every format into ``out`` when ``enabled``.

    ``draw(path)`` renders one figure to ``path`` (the format follows the suffix) and
    returns ``None`` when there is nothing to draw. :attr:`written` lists the files
    written, :attr:`links` maps each figure's key to its first file (for ``summary.md``).
    """

    def __init__(
        self, out: Path, enabled: bool, formats: tuple[str, ...] = ("png",), dpi: int = 150
    ) -> None:
        self.out, self.enabled, self.formats, self.dpi = Path(out), enabled, formats, dpi
        self.written: list[str] = []
        self.links: dict[str, str] = {}

    def add(self, key: str, stem: str, draw: Callable[[Path], Any]) -> None:
        """Draw figure ``key`` as ``<stem>.<fmt>`` in each format."""
        if not self.enabled:
            return
        from ..eval.plots import plot_dpi
        from .rundir import atomic_path

        for fmt in self.formats:
            name = f"{stem}.{fmt}"
            with plot_dpi(self.dpi), atomic_path(self.out / name) as tmp:
                if draw(tmp) is None:
                    return
            self.written.append(name)
            self.links.setdefault(key, name)
