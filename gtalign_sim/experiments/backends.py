"""The chat backends of a run: built once from the settings, shared, closed at the end."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .settings import Settings

__all__ = ["build_backends", "close_backends", "llm_judge", "make_backend"]


def make_backend(spec: Mapping[str, Any]) -> Any:
    """A backend from its validated spec (``name`` plus the backend's own keys)."""
    from ..backends import build_backend

    params = dict(spec)
    return build_backend(str(params.pop("name")), **params)


def build_backends(s: Settings) -> dict[str, Any]:
    """``main``, ``user`` and ``assistant`` backends (a model is loaded once), plus a
    ``batcher`` that gathers one round's calls into a batch when episodes run in
    lockstep (an LLM backend with ``parallel > 1`` and no separate user backend)."""
    main = make_backend(s.backend)
    out: dict[str, Any] = {
        "main": main,
        "user": make_backend(s.user_backend) if s.user_backend else main,
        "assistant": make_backend(s.assistant_backend) if s.assistant_backend else main,
    }
    if s.backend["name"] != "template" and s.parallel > 1 and not s.user_backend:
        from ..envs.lockstep import BatchingBackend

        batcher = BatchingBackend(main)
        out["batcher"] = batcher
        out["user"] = batcher
        if not s.assistant_backend:
            out["assistant"] = batcher
    return out


def close_backends(backends: Mapping[str, Any]) -> None:
    """Close every distinct backend once (the batcher only wraps ``main``)."""
    skip = {id(backends[k]) for k in ("batcher",) if k in backends}
    for b in {id(v): v for v in backends.values() if v is not None}.values():
        if id(b) not in skip:
            b.close()


@contextmanager
def llm_judge(s: Settings, backends: dict[str, Any]) -> Iterator[None]:
    """With ``judge=llm``, the paper's rubric judge on ``judge_backend`` (default the main
    backend) scores every family for the duration of the block."""
    if s.judge != "llm":
        yield
        return
    from ..agents.llm_judge import LLMJudge
    from ..tasks.judges import register_judge

    backend = make_backend(s.judge_backend) if s.judge_backend else backends["main"]
    backends["judge"] = backend
    judge = LLMJudge(backend=backend)
    restore = {f: register_judge(f, judge) for f in s.families}
    try:
        yield
    finally:
        for f, j in restore.items():
            register_judge(f, j)
