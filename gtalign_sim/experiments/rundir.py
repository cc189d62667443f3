"""Run directories that never lose or fake data: state file, streamed episodes, resume.

A run directory holds ``run.json`` (the run's state), ``episodes.jsonl`` (one finished
episode per line, appended as it finishes) and the derived files (``metrics.json``,
``summary.md``, plots), which are written atomically (temporary file, then
``os.replace``), so a reader or a crash sees the old file or the new one, never half.

``run.json``::

    {"status": "running" | "complete" | "failed" | "interrupted",
     "done": 118, "total": 120, "config_hash": "…", "config": {…},
     "started_at": "…", "ended_at": "…" | null, "reason": "…" | null, "resumes": 1}

``config`` is the resolved config without the keys that only steer output and progress
(:data:`UNHASHED_KEYS`); ``config_hash`` is its SHA-256. A resume with a different
hash is refused, naming the keys that differ.

Durability: every episode line is written with one ``write`` and flushed to the OS at
once (so a killed process loses at most the episode being played), and ``os.fsync``\\ ed
every ``sync_lines`` lines or ``sync_seconds`` seconds, whichever comes first (so an
OS crash or power cut loses at most that much). A killed write can leave a partial last
line; :func:`scan_episodes` drops it (and truncates it away before a resume appends).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

__all__ = [
    "EPISODES",
    "STATE",
    "UNHASHED_KEYS",
    "Interrupted",
    "JsonlWriter",
    "RunDir",
    "StopFlag",
    "atomic_path",
    "config_diff",
    "config_hash",
    "hashed_config",
    "iter_jsonl",
    "line_digest",
    "scan_episodes",
    "stop_on_signals",
    "write_config",
    "write_text_atomic",
]

STATE = "run.json"
EPISODES = "episodes.jsonl"
UNHASHED_KEYS: tuple[str, ...] = (
    "output_dir",
    "run_root",
    "progress",
    "print_table",
    "plots",
    "resume",
    "fsync_lines",
    "fsync_seconds",
    "hydra",
)
"""Top-level keys left out of the config hash: they change where and how a run reports,
never what it plays."""


# --------------------------------------------------------------------------- atomic files


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path`` (same suffix, so writers that infer the format
    from it work) that replaces ``path`` with ``os.replace`` when the block succeeds."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp{os.getpid()}{p.suffix}")
    try:
        yield tmp
        if tmp.exists():  # a writer may decline to write (nothing to plot)
            os.replace(tmp, p)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (fsync'ed temporary file, then replace)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


# --------------------------------------------------------------------------- config hash


def write_config(path: str | Path, cfg: Any) -> Path:
    """Write the run's resolved config to ``<path>/config.yaml`` atomically (JSON when
    ``cfg`` is a plain mapping)."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(cfg):
        text = OmegaConf.to_yaml(cfg, resolve=True)
    else:
        text = json.dumps(cfg, indent=2)
    return write_text_atomic(Path(path) / "config.yaml", text)


def hashed_config(cfg: Any) -> dict[str, Any]:
    """The resolved config as a plain dict, without :data:`UNHASHED_KEYS`, its absolute
    paths inside the run's root (``run_root``, else ``output_dir``) relative to it
    (:func:`~gtalign_sim.core.paths.relocatable`): a moved run directory resumes."""
    from omegaconf import OmegaConf

    from ..core.paths import relocatable

    if OmegaConf.is_config(cfg):
        data = OmegaConf.to_container(cfg, resolve=True)
    else:
        data = json.loads(json.dumps(cfg, default=str))
    assert isinstance(data, dict)
    kept = {str(k): v for k, v in data.items() if k not in UNHASHED_KEYS}
    root = data.get("run_root") or data.get("output_dir")
    return relocatable(kept, str(root)) if root else kept


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``config`` (keys sorted)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, Mapping) and node:
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: node}


def config_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``"key: old -> new"`` for every dotted key whose value differs."""
    a, b = _flatten(old), _flatten(new)
    missing = "<absent>"
    return [
        f"{k}: {json.dumps(a.get(k, missing))} -> {json.dumps(b.get(k, missing))}"
        for k in sorted(set(a) | set(b))
        if a.get(k, missing) != b.get(k, missing)
    ]


# --------------------------------------------------------------------------- JSONL


class JsonlWriter:
    """Appends one JSON object per line; each line is flushed at once, fsync'ed at most
    every ``sync_lines`` lines or ``sync_seconds`` seconds (and on :meth:`close`)."""

    def __init__(self, path: str | Path, sync_lines: int = 64, sync_seconds: float = 2.0) -> None:
        self.path = Path(path)
        self.sync_lines = max(1, int(sync_lines))
        self.sync_seconds = float(sync_seconds)
        self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self.lines = 0
        self.syncs = 0

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` as one line (keys sorted) and flush it to the OS."""
        self.write_line(json.dumps(record, sort_keys=True))

    def write_line(self, line: str) -> None:
        """Append one already-serialised JSON line (no newline inside)."""
        if self._fh is None:
            raise ValueError(f"{self.path}: writer is closed")
        self._fh.write(line + "\n")
        self._fh.flush()
        self.lines += 1
        self._unsynced += 1
        if (
            self._unsynced >= self.sync_lines
            or time.monotonic() - self._last_sync >= self.sync_seconds
        ):
            self.sync()

    def sync(self) -> None:
        """``os.fsync`` what was written so far."""
        if self._fh is None or not self._unsynced:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.syncs += 1
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Sync and close (idempotent)."""
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_jsonl(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(line, record)`` for every complete line of a JSONL file, one at a time.

    A final line without its newline (a write cut short) is dropped, even when it happens
    to parse; an unparsable line anywhere else raises ``ValueError`` naming it: that is
    damage, not an interrupted append, and is not skipped silently.
    """
    p = Path(path)
    if not p.exists():
        return
    with p.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                return  # a partial last line
            text = raw.decode("utf-8").rstrip("\n")
            if not text.strip():
                continue
            try:
                rec = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from exc
            if not isinstance(rec, dict):
                raise ValueError(f"{p}:{lineno}: not a JSON object")
            yield text, rec


def line_digest(line: str) -> bytes:
    """A short digest of a stored line (to check replays without keeping the lines)."""
    return hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest()


def _complete_end(p: Path) -> int:
    """The byte offset just past the last newline of ``p`` (0 when there is none)."""
    with p.open("rb") as fh:
        pos = fh.seek(0, os.SEEK_END)
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            fh.seek(pos)
            i = fh.read(step).rfind(b"\n")
            if i >= 0:
                return pos + i + 1
    return 0


def scan_episodes(
    path: str | Path, key_fields: tuple[str, ...], repair: bool = False
) -> dict[tuple[Any, ...], bytes]:
    """``key -> line digest`` for the complete lines of ``path``, where ``key`` is
    ``tuple(record[f] for f in key_fields)``. A partial last line is dropped; with
    ``repair`` it is also truncated away, so appends start on a fresh line. A key seen
    twice raises ``ValueError``."""
    p = Path(path)
    out: dict[tuple[Any, ...], bytes] = {}
    for line, rec in iter_jsonl(p):
        key = tuple(rec.get(f) for f in key_fields)
        if key in out:
            raise ValueError(f"{p}: episode {dict(zip(key_fields, key, strict=True))} twice")
        out[key] = line_digest(line)
    if repair and p.exists():
        end = _complete_end(p)
        if end < p.stat().st_size:
            os.truncate(p, end)
    return out


# --------------------------------------------------------------------------- state


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunDir:
    """A run directory and its ``run.json`` state (written atomically on every change)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.state: dict[str, Any] = {}

    @property
    def state_file(self) -> Path:
        return self.path / STATE

    @property
    def episodes(self) -> Path:
        return self.path / EPISODES

    def read_state(self) -> dict[str, Any] | None:
        """The stored state, or ``None`` when there is no ``run.json``."""
        if not self.state_file.exists():
            return None
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def holds_a_run(self) -> bool:
        """Whether the directory already has a state file or episodes."""
        return self.state_file.exists() or (
            self.episodes.exists() and self.episodes.stat().st_size > 0
        )

    def check_resumable(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The stored state, after checking it can be resumed with ``config``."""
        state = self.read_state()
        if state is None:
            raise ValueError(f"resume=true but {self.path} has no {STATE}: nothing to resume")
        if state.get("config_hash") != config_hash(config):
            diff = config_diff(state.get("config") or {}, config)
            raise ValueError(
                f"resume refused: the config differs from the run in {self.path}: "
                + "; ".join(diff or ["(config hash differs)"])
            )
        return state

    def save(self, **updates: Any) -> None:
        """Update and atomically rewrite ``run.json``."""
        self.state.update(updates)
        write_text_atomic(self.state_file, json.dumps(self.state, indent=2, sort_keys=True) + "\n")

    def start(self, config: Mapping[str, Any], total: int, done: int, resume: bool) -> None:
        """Mark the run ``running`` (a fresh one, or a resumed one keeping its history)."""
        self.path.mkdir(parents=True, exist_ok=True)
        previous = (self.read_state() or {}) if resume else {}
        self.state = {
            "status": "running",
            "done": done,
            "total": total,
            "config_hash": config_hash(config),
            "config": dict(config),
            "started_at": previous.get("started_at") or _now(),
            "ended_at": None,
            "reason": None,
            "resumes": int(previous.get("resumes", -1)) + 1 if resume else 0,
        }
        if resume:
            self.state["resumed_at"] = _now()
        self.save()

    def finish(self, status: str, done: int, reason: str | None = None, **extra: Any) -> None:
        """Mark the run ``complete``, ``failed`` or ``interrupted``."""
        self.save(status=status, done=done, ended_at=_now(), reason=reason, **extra)


# --------------------------------------------------------------------------- signals


class Interrupted(Exception):
    """Raised between episodes after SIGINT/SIGTERM; ``exit_code`` is 128 + signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


class StopFlag:
    """Set by a signal handler; :meth:`check` raises :class:`Interrupted` once set."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def check(self) -> None:
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopFlag]:
    """While active, SIGINT and SIGTERM set the yielded flag (the runner stops after the
    current episode); a second signal aborts at once with ``KeyboardInterrupt``. Outside
    the main thread nothing is installed."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, _frame: Any) -> None:
        if flag.signum is not None:
            raise KeyboardInterrupt
        flag.signum = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)
