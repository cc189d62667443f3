"""A small OpenAI-compatible server over any backend, with fault injection.

``python -m gtalign_sim.backends.server --model tiny --port 8000`` serves a local model
(``/v1/chat/completions``, ``/v1/models``) on loopback, so the ``openai`` backend — and
anything else that speaks the protocol — can be tested end to end without a GPU. It
understands ``continue_final_message``/``add_generation_prompt`` as vLLM does.

For tests, :class:`FaultPlan` makes chosen requests fail the ways real servers do: HTTP
500, HTTP 429 with ``Retry-After``, a stall (held until the test releases it, so it
outlasts any client timeout), a malformed JSON body, a dropped connection, or impossible
token usage in an otherwise good answer. :class:`ServerStats` counts what arrived and what
was answered, per request id, and logs every arrival with its time, so tests can account
for every request and measure each fault's handling on its own.

Request ids come from the ``X-Request-Id`` header (a fresh uuid when absent). Ids made by
:func:`~gtalign_sim.backends.base.wire_request_id` (``<label>.<uuid4 hex>``) are unique
per logical request; a fault schedule may name either the full id or the caller's label.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .base import ChatRequest, SamplingParams, request_label

__all__ = ["FAULTS", "Arrival", "ChatServer", "FaultPlan", "ServerStats"]

FAULTS: tuple[str, ...] = (
    "ok",
    "http_500",
    "http_429",
    "stall",
    "malformed",
    "drop",
    "bad_usage",
)
"""What the server can do to a request."""

_MAX_BODY = 4 * 1024 * 1024


@dataclass
class FaultPlan:
    """Which fault to apply to the ``n``-th arrival of a request id (0 = first attempt).

    ``schedule`` maps a request id — the full ``X-Request-Id`` or the caller's label in it
    (see :func:`~gtalign_sim.backends.base.request_label`) — to a list of faults for its
    successive attempts (missing entries mean ``ok``); ``default(request_id, attempt)``
    applies to ids not in the schedule. ``retry_after`` is sent with 429s.

    A ``stall`` holds the request for ``stall_s`` seconds, or until ``release`` (an event
    the test owns) is set, whichever comes first, and then answers it (late). With
    ``release`` given and a long ``stall_s``, a stall outlasts any client timeout however
    busy the machine is. :meth:`ChatServer.stop` sets ``release``.

    ``bad_usage`` answers normally but with the ``usage`` fields replaced by
    ``bad_usage_values`` (default: a negative prompt token count).
    """

    schedule: Mapping[str, list[str]] = field(default_factory=dict)
    default: Callable[[str, int], str] | None = None
    retry_after: float = 0.2
    stall_s: float = 2.0
    release: threading.Event | None = None
    bad_usage_values: Mapping[str, Any] = field(default_factory=lambda: {"prompt_tokens": -5})

    def fault(self, request_id: str, attempt: int) -> str:
        """The fault for this attempt of this request."""
        plan = self.schedule.get(request_id)
        if plan is None:
            plan = self.schedule.get(request_label(request_id))
        if plan is not None:
            f = plan[attempt] if attempt < len(plan) else "ok"
        elif self.default is not None:
            f = self.default(request_id, attempt)
        else:
            f = "ok"
        if f not in FAULTS:
            raise ValueError(f"unknown fault {f!r}; allowed: {list(FAULTS)}")
        return f


@dataclass(frozen=True)
class Arrival:
    """One request arriving at the server.

    ``request_id`` is the full ``X-Request-Id``, ``label`` the caller's part of it,
    ``attempt`` how many times this id had arrived before, ``fault`` what the server did
    and ``t`` the arrival time (``time.monotonic()``).
    """

    request_id: str
    label: str
    attempt: int
    fault: str
    t: float


@dataclass
class ServerStats:
    """Arrivals and answers per request id (thread-safe counters), and a log of arrivals.

    ``answered`` counts answers the server finished sending (a late answer to a client
    that has gone away may still count: the operating system accepts the bytes).
    """

    arrivals: Counter = field(default_factory=Counter)
    answered: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    log: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arrivals_of(self, label: str) -> list[Arrival]:
        """Every arrival whose id is ``label`` or was made from it, in arrival order."""
        with self.lock:
            return [a for a in self.log if label in (a.label, a.request_id)]

    def ids_of(self, label: str) -> list[str]:
        """The distinct full ids that arrived for ``label``, in order of first arrival."""
        return list(dict.fromkeys(a.request_id for a in self.arrivals_of(label)))


class ChatServer:
    """Serve ``backend`` over HTTP on ``host:port`` (port 0 picks a free one).

    Use as a context manager, or call :meth:`start` / :meth:`stop`. ``url`` is the base
    URL for an OpenAI client (``http://127.0.0.1:<port>/v1``).
    """

    def __init__(
        self,
        backend: Any,
        model_name: str = "local",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
    ) -> None:
        self.backend = backend
        self.model_name = model_name
        self.faults = faults or FaultPlan()
        self.stats = ServerStats()
        self._gen_lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._conns_lock:
                    server._conns.add(self.connection)

            def finish(self) -> None:
                with server._conns_lock:
                    server._conns.discard(self.connection)
                super().finish()

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _send(
                self, code: int, payload: bytes, headers: Mapping[str, str] | None = None
            ) -> bool:
                """Send a response; ``False`` if the client had already gone away."""
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return False
                return True

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    body = {
                        "object": "list",
                        "data": [{"id": server.model_name, "object": "model"}],
                    }
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self._send(413, b'{"error": {"message": "request too large"}}')
                    return
                raw = self.rfile.read(length)
                rid = self.headers.get("X-Request-Id") or uuid.uuid4().hex
                now = time.monotonic()
                with server.stats.lock:
                    attempt = server.stats.arrivals[rid]
                    server.stats.arrivals[rid] += 1
                plan = server.faults
                fault = plan.fault(rid, attempt)
                with server.stats.lock:
                    server.stats.faults[fault] += 1
                    server.stats.log.append(Arrival(rid, request_label(rid), attempt, fault, now))
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault == "http_500":
                    self._send(500, b'{"error": {"message": "injected server error"}}')
                    return
                if fault == "http_429":
                    self._send(
                        429,
                        b'{"error": {"message": "injected rate limit"}}',
                        {"Retry-After": f"{server.faults.retry_after:g}"},
                    )
                    return
                if fault == "stall":
                    if plan.release is not None:
                        plan.release.wait(plan.stall_s)
                    else:
                        time.sleep(plan.stall_s)
                if fault == "malformed":
                    self._send(200, b'{"id": "x", "choices": [{"message": {"content": ')
                    return
                try:
                    body = json.loads(raw)
                    result = server._complete(body, rid)
                except (ValueError, KeyError, TypeError) as exc:
                    msg = json.dumps({"error": {"message": f"bad request: {exc}"}}).encode()
                    self._send(400, msg)
                    return
                if fault == "bad_usage":
                    result["usage"] = {**result["usage"], **plan.bad_usage_values}
                if self._send(200, json.dumps(result).encode()):
                    with server.stats.lock:
                        server.stats.answered[rid] += 1

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        # join in-flight handlers on close (a stalled request may still be computing)
        self._httpd.daemon_threads = False
        self._httpd.block_on_close = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _complete(self, body: Mapping[str, Any], rid: str) -> dict[str, Any]:
        stop = body.get("stop") or ()
        sampling = SamplingParams(
            max_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or 256),
            temperature=float(body.get("temperature", 0.0) or 0.0),
            top_p=float(body.get("top_p", 1.0) or 1.0),
            stop=(stop,) if isinstance(stop, str) else tuple(stop),
            seed=body.get("seed"),
        )
        req = ChatRequest(
            messages=tuple(body["messages"]),
            sampling=sampling,
            continue_final=bool(body.get("continue_final_message", False)),
            request_id=rid,
        )
        with self._gen_lock:
            res = self.backend.generate([req], raise_on_error=False)[0]
        if not res.ok:
            raise ValueError(str(res.error))
        return {
            "id": f"chatcmpl-{rid}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": res.text},
                    "finish_reason": res.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": res.prompt_tokens,
                "completion_tokens": res.completion_tokens,
                "total_tokens": res.prompt_tokens + res.completion_tokens,
            },
        }

    def start(self) -> ChatServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket.

        Stalled requests are released first, and idle keep-alive connections are ended
        (their reading side is shut, so a handler waiting for a client's next request
        returns) — a client left open cannot make ``stop`` hang. Requests being handled
        are still answered.
        """
        if self.faults.release is not None:
            self.faults.release.set()
        self._httpd.shutdown()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RD)
        self._httpd.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m gtalign_sim.backends.server --model tiny --port 8000``."""
    from .transformers_backend import TransformersBackend

    p = argparse.ArgumentParser(description="Serve a local model with an OpenAI-compatible API.")
    p.add_argument("--model", default="tiny", help="folder, or 'tiny' / 'smollm2'")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    args = p.parse_args(argv)
    server = ChatServer(
        TransformersBackend(args.model), model_name=args.model, host=args.host, port=args.port
    )
    print(f"serving {args.model} at {server.url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
