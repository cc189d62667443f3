"""The ``openai`` backend: any OpenAI-compatible chat-completions server.

Works with ``vllm serve``, sglang, the llama.cpp server, hosted APIs and
:mod:`gtalign_sim.backends.server`. A batch is sent with bounded concurrency
(``max_concurrency`` threads); each request has a timeout and is retried with
exponential backoff and jitter on 429, 5xx, timeouts, dropped connections and malformed
responses, honouring ``Retry-After``. Other 4xx errors are not retried. After the last
attempt the request fails with a :class:`~gtalign_sim.backends.base.BackendError` whose
``reason`` says why — never an empty string. The API key is read from the environment
variable named by ``api_key_env`` and is never logged, printed or written anywhere.

Every logical request carries an ``X-Request-Id`` header made by
:func:`~gtalign_sim.backends.base.wire_request_id`: ``<caller's request_id>.<uuid4 hex>``,
new for each request (callers reuse their ids) and the same on every retry of it, so a
server's logs can tell retries from new requests.

Token usage reported by the server is untrusted input: a count that is not a whole number
in ``[0, MAX_USAGE_TOKENS]`` (negative, fractional, NaN, a string, absurdly large) fails the
request with reason ``bad_usage``. It is not retried — a server that miscounts is broken,
not busy — and the text is not returned, since its cost cannot be accounted for. A missing
count (``null`` or absent) is estimated from the text, as before.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import numpy as np

from ..welfare import count_tokens
from .base import (
    BackendError,
    ChatRequest,
    ChatResult,
    check_results,
    check_token_count,
    wire_request_id,
)

__all__ = ["OpenAIBackend"]

_LOOPBACK = ("127.", "localhost", "::1", "[::1]")


class OpenAIBackend:
    """Chat completions over HTTP (see the module docstring).

    Args:
        model: the model name the server expects.
        base_url: e.g. ``http://127.0.0.1:8000/v1``.
        api_key_env: name of the environment variable holding the key. When it is unset
            and the server is on loopback, a placeholder key is used.
        max_concurrency: requests in flight at once.
        timeout: seconds per attempt.
        max_retries: retries after the first attempt.
        backoff_base, backoff_max: delay before retry ``k`` is ``min(max, base·2^k)``
            times ``1 + jitter·u`` with ``u`` uniform in [0, 1) (seeded by ``seed``).
        max_retry_after: cap on a server's ``Retry-After`` (seconds).
        extra_body: extra JSON fields sent with every request.
    """

    name = "openai"

    def __init__(
        self,
        model: str = "default",
        base_url: str = "http://127.0.0.1:8000/v1",
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        jitter: float = 0.5,
        max_retry_after: float = 30.0,
        seed: int = 0,
        extra_body: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        import openai

        host = urlparse(base_url).hostname or ""
        if not urlparse(base_url).scheme or not host:
            raise ValueError(f"backend.base_url must be an http(s) URL, got {base_url!r}")
        key = os.environ.get(api_key_env)
        if not key:
            if not host.startswith(_LOOPBACK) and host not in ("localhost", "::1"):
                raise ValueError(
                    f"backend.api_key_env: environment variable {api_key_env!r} is not set "
                    f"(needed for {host})"
                )
            key = "EMPTY"
        if int(max_concurrency) < 1:
            raise ValueError(f"backend.max_concurrency must be >= 1, got {max_concurrency!r}")
        if int(max_retries) < 0:
            raise ValueError(f"backend.max_retries must be >= 0, got {max_retries!r}")
        if timeout <= 0:
            raise ValueError(f"backend.timeout must be > 0, got {timeout!r}")
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.max_concurrency = int(max_concurrency)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.jitter = float(jitter)
        self.max_retry_after = float(max_retry_after)
        self.extra_body = dict(extra_body or {})
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=base_url, api_key=key, max_retries=0, timeout=self.timeout
        )
        self._rng = np.random.default_rng(seed)
        self._rng_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix="gtalign-openai"
        )

    def __repr__(self) -> str:  # the key is deliberately absent
        return (
            f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    # ------------------------------------------------------------------- batch
    def generate(
        self, requests: Sequence[ChatRequest], *, raise_on_error: bool = True
    ) -> list[ChatResult]:
        """Send every request (at most ``max_concurrency`` at once); results in order."""
        futures = [self._pool.submit(self._one, r) for r in requests]
        return check_results([f.result() for f in futures], raise_on_error)

    # ----------------------------------------------------------------- request
    def _delay(self, attempt: int, retry_after: float | None) -> float:
        with self._rng_lock:
            u = float(self._rng.random())
        delay = min(self.backoff_max, self.backoff_base * (2**attempt)) * (1 + self.jitter * u)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def _one(self, req: ChatRequest) -> ChatResult:
        openai = self._openai
        s = req.sampling
        body: dict[str, Any] = dict(self.extra_body)
        if req.continue_final:
            body.update(continue_final_message=True, add_generation_prompt=False)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in req.messages],
            "max_tokens": int(s.max_tokens),
            "temperature": float(s.temperature),
            "top_p": float(s.top_p),
        }
        if s.stop:
            kwargs["stop"] = list(s.stop)
        if s.seed is not None:
            kwargs["seed"] = int(s.seed)
        # one id per logical request, sent unchanged with each of its attempts
        headers = {"X-Request-Id": wire_request_id(req.request_id)}
        start = time.perf_counter()
        last: BackendError | None = None
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            try:
                resp = self._client.chat.completions.create(
                    **kwargs, extra_body=body or None, extra_headers=headers
                )
                choice = resp.choices[0]
                text = choice.message.content
                if not isinstance(text, str):
                    raise ValueError("response has no message content")
                usage = resp.usage
                finish = (
                    choice.finish_reason if choice.finish_reason in ("stop", "length") else "stop"
                )
                try:
                    prompt_tokens = _usage_count(usage, "prompt_tokens")
                    completion_tokens = _usage_count(usage, "completion_tokens")
                except ValueError as exc:
                    last = BackendError(
                        f"server reported impossible token usage: {exc}",
                        reason="bad_usage",
                        attempts=attempt + 1,
                        request_id=req.request_id,
                    )
                    break
                return ChatResult(
                    text=text,
                    finish_reason=finish,
                    prompt_tokens=prompt_tokens
                    or sum(count_tokens(m["content"]) for m in req.messages),
                    completion_tokens=completion_tokens or count_tokens(text),
                    latency_s=time.perf_counter() - start,
                    request_id=req.request_id,
                    attempts=attempt + 1,
                )
            except openai.APIStatusError as exc:
                code = exc.status_code
                retry_after = _retry_after(exc)
                last = BackendError(
                    f"HTTP {code} from the server",
                    reason=f"http_{code}",
                    attempts=attempt + 1,
                    request_id=req.request_id,
                )
                if code != 429 and code < 500:
                    break
            except openai.APITimeoutError:
                last = BackendError(
                    f"no response within {self.timeout:g} s",
                    reason="timeout",
                    attempts=attempt + 1,
                    request_id=req.request_id,
                )
            except openai.APIConnectionError as exc:
                last = BackendError(
                    f"connection failed: {type(exc.__cause__ or exc).__name__}",
                    reason="connection",
                    attempts=attempt + 1,
                    request_id=req.request_id,
                )
            except (
                ValueError,
                TypeError,
                AttributeError,
                IndexError,
                openai.APIResponseValidationError,
            ) as exc:
                last = BackendError(
                    f"malformed response: {type(exc).__name__}: {str(exc)[:200]}",
                    reason="malformed",
                    attempts=attempt + 1,
                    request_id=req.request_id,
                )
            if attempt < self.max_retries:
                time.sleep(self._delay(attempt, retry_after))
        assert last is not None
        return ChatResult(
            "",
            "error",
            latency_s=time.perf_counter() - start,
            request_id=req.request_id,
            attempts=last.attempts,
            error=last,
        )

    def close(self) -> None:
        """Stop the worker threads and close the HTTP client."""
        self._pool.shutdown(wait=True)
        self._client.close()


def _usage_count(usage: Any, name: str) -> int:
    """A reported token count, validated (0 when the server did not report it)."""
    if usage is None:
        return 0
    if isinstance(usage, dict):
        value = usage.get(name)
    elif isinstance(usage, (str, bytes, bool, int, float, list)):
        raise ValueError(f"usage must be an object, got {type(usage).__name__}")
    else:
        value = getattr(usage, name, None)
    return 0 if value is None else check_token_count(f"usage.{name}", value)


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
