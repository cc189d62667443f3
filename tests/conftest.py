"""Shared test setup.

Optional dependencies (torch, transformers, openai) are skipped when absent, except
under ``GTALIGN_REQUIRE_ALL=1`` (set by ``.ci/run``), where a missing one fails the test
so CI can never pass by skipping the LLM stack.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest


def require(module: str, hint: str = "") -> ModuleType:
    """Import ``module`` or skip (fail under ``GTALIGN_REQUIRE_ALL=1``)."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        msg = f"{module} not installed{': ' + hint if hint else ''} ({exc})"
        if os.environ.get("GTALIGN_REQUIRE_ALL") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep models built by tests out of the user's cache unless one is configured."""
    if "GTALIGN_SIM_CACHE" not in os.environ:
        os.environ["GTALIGN_SIM_CACHE"] = str(
            Path(tmp_path_factory.getbasetemp()) / "gtalign_sim_cache"
        )
