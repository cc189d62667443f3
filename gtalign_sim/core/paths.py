"""Where a run's files are, kept out of what it computes.

A run folder may be moved or copied (a cluster's results brought to a laptop, a run
renamed): its configs name paths inside it (the SFT folder a GRPO stage starts from, a
stage's ``output_dir``), and comparing those configs by their absolute paths would refuse
the moved run. :func:`relocatable` rewrites such paths relative to the folder, so a config
compares equal wherever its run lives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ROOT_MARK", "relocatable"]

ROOT_MARK = "<root>"
"""What stands for the root folder in a relocated path (``<root>/sft``)."""


def relocatable(obj: Any, root: str | Path) -> Any:
    """``obj`` (JSON-like: mappings, lists, tuples, scalars) with every string that is an
    absolute path equal to or inside ``root`` rewritten as ``<root>/<relative path>``
    (``<root>`` for the root itself); other values are returned unchanged, mappings as
    plain dicts and tuples as lists. Paths are compared lexically (normalised, symlinks
    not followed), so no file needs to exist."""
    base = os.path.normpath(os.path.abspath(root))

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            if not os.path.isabs(v):
                return v
            p = os.path.normpath(v)
            if p == base:
                return ROOT_MARK
            if p.startswith(base.rstrip(os.sep) + os.sep):
                return ROOT_MARK + "/" + Path(os.path.relpath(p, base)).as_posix()
            return v
        if isinstance(v, Mapping):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    return walk(obj)
