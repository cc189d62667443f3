"""Shared test setup.

Optional dependencies (torch, transformers, openai) are skipped when absent, except
under ``GTALIGN_REQUIRE_ALL=1`` (set by ``.ci/run``), where a missing one fails the test
so CI can never pass by skipping the LLM stack.
"""

from __future__ import annotations

import os
import subprocess
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


def free_port() -> int:
    """A TCP port free on loopback now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(proc: subprocess.Popen[bytes], port: int, seconds: float) -> None:
    """Return once ``GET /v1/models`` on ``port`` answers; fail the test when the server
    process ``proc`` exits first (with its stderr, when piped) or ``seconds`` pass."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            return
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                pytest.fail(f"the server exited ({proc.returncode}): {err}")
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not come up within {seconds:.0f} s")
            time.sleep(0.5)
