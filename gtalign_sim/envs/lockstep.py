"""Lockstep rollouts: N episodes advance together and their LLM calls go out as one batch.

:func:`run_lockstep` keeps ``n_parallel`` environments busy. Each round it asks the
assistant for all of them at once (``act_batch`` when the assistant has it, so an LLM
assistant sends one batched request), then steps every environment in its own worker
thread. Simulated users that call an LLM do so through a :class:`BatchingBackend`: it
holds each call until every worker of the round is either waiting on it or done, then
sends all waiting requests to the real backend as **one** batch and hands the results
back. Episodes that end are replaced by the next ones in the plan. Records come back in
plan order, identical to sequential play for greedy decoding (a backend's batched
greedy output equals its one-by-one output).

A failure is one episode's, not the batch's: an :class:`~gtalign_sim.core.failures.EpisodeFailure`
in ``act_batch``'s answer (or raised by ``act``) fails that episode only
(:meth:`ClarificationGameEnv.fail`), and the user simulator's failures are the
environment's to record; the other episodes go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from ..backends.base import ChatRequest, ChatResult, check_results
from ..core.failures import EpisodeFailure
from .clarification import ClarificationGameEnv
from .rollout import assistant_info

__all__ = ["BatchingBackend", "run_lockstep"]


class BatchingBackend:
    """Gathers concurrent ``generate`` calls from registered workers into single batches.

    Calls from threads that are not inside :meth:`worker` go straight to the wrapped
    backend. ``batches`` records the size of every batch sent (for benchmarks).
    """

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name = getattr(backend, "name", "batching")
        self._cv = threading.Condition()
        self._active = 0
        self._waiting = 0
        self._queue: list[tuple[object, list[ChatRequest]]] = []
        self._results: dict[object, list[ChatResult]] = {}
        self._local = threading.local()
        self.batches: list[int] = []

    def begin_round(self, n_workers: int) -> None:
        """Announce ``n_workers`` participants before they start (so none flushes early)."""
        with self._cv:
            self._active += n_workers

    @contextmanager
    def worker(self) -> Any:
        """Run the current thread as one of the announced participants of the round."""
        self._local.registered = True
        try:
            yield self
        finally:
            self._local.registered = False
            with self._cv:
                self._active -= 1
                self._flush_if_ready()
                self._cv.notify_all()

    def generate(
        self, requests: Sequence[ChatRequest], *, raise_on_error: bool = True
    ) -> list[ChatResult]:
        """Queue ``requests`` until every registered worker waits, then send one batch."""
        if not getattr(self._local, "registered", False):
            out = self.backend.generate(list(requests), raise_on_error=False)
            self.batches.append(len(requests))
            return check_results(out, raise_on_error)
        ticket = object()
        with self._cv:
            self._queue.append((ticket, list(requests)))
            self._waiting += 1
            self._flush_if_ready()
            while ticket not in self._results:
                self._cv.wait()
            results = self._results.pop(ticket)
        return check_results(results, raise_on_error)

    def _flush_if_ready(self) -> None:
        # called with the lock held
        if not self._queue or self._waiting < self._active:
            return
        batch, self._queue = self._queue, []
        self._waiting -= len(batch)
        flat = [r for _, reqs in batch for r in reqs]
        try:
            out = self.backend.generate(flat, raise_on_error=False)
        except Exception as exc:  # a backend bug must not hang the waiting workers
            from ..backends.base import BackendError

            err = BackendError(f"backend failed: {type(exc).__name__}: {exc}", reason="backend")
            out = [ChatResult("", "error", request_id=r.request_id, error=err) for r in flat]
        self.batches.append(len(flat))
        i = 0
        for ticket, reqs in batch:
            self._results[ticket] = out[i : i + len(reqs)]
            i += len(reqs)
        self._cv.notify_all()

    def close(self) -> None:
        """Close the wrapped backend."""
        self.backend.close()


def run_lockstep(
    env_factory: Callable[[], ClarificationGameEnv],
    assistant: Any,
    plan: Iterable[tuple[int, int, Mapping[str, Any]]],
    n_parallel: int = 8,
    batcher: BatchingBackend | None = None,
    on_episode: Callable[[dict[str, Any]], None] | None = None,
    keep_records: bool = True,
) -> list[dict[str, Any]]:
    """Play ``plan`` with ``n_parallel`` episodes in lockstep; records in plan order.

    ``on_episode`` receives each record as its episode ends (in completion order);
    with ``keep_records=False`` nothing is kept and the result is empty, so memory stays
    flat in the length of the plan.

    ``batcher`` must be the backend the environments' users were built with, so their
    calls are gathered; without it users call their backends directly (still correct,
    just unbatched).
    """
    from .rollout import record_decision

    if n_parallel < 1:
        raise ValueError(f"n_parallel must be >= 1, got {n_parallel}")
    assistant.reset()
    pending = list(plan)
    pending.reverse()
    envs = [env_factory() for _ in range(min(n_parallel, max(len(pending), 1)))]
    slots: list[dict[str, Any] | None] = [None] * len(envs)
    done: list[dict[str, Any]] = []
    pool = ThreadPoolExecutor(max_workers=len(envs), thread_name_prefix="gtalign-lockstep")

    def in_worker(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if batcher is None:
                fn()
                return
            with batcher.worker():
                fn()

        return run

    def start(k: int) -> Callable[[], None] | None:
        if not pending:
            return None
        index, seed, options = pending.pop()
        slots[k] = {"index": index, "seed": seed, "decisions": []}
        return in_worker(lambda: envs[k].reset(seed=seed, options=dict(options)))

    def run_all(jobs: list[Callable[[], None]]) -> None:
        if batcher is not None:
            batcher.begin_round(len(jobs))
        futures = [pool.submit(j) for j in jobs]
        for f in futures:
            f.result()

    try:
        jobs = [start(k) for k in range(len(envs))]
        run_all([j for j in jobs if j is not None])
        while any(s is not None for s in slots):
            # finish episodes that ended (their dead agents step with None)
            for k, env in enumerate(envs):
                if slots[k] is not None and env.episode:
                    s = slots[k]
                    assert s is not None
                    rec = {
                        "assistant": assistant.name,
                        "episode": int(s["index"]),
                        "seed": int(s["seed"]),
                        **env.episode,
                        "decisions": s["decisions"],
                    }
                    if keep_records:
                        done.append(rec)
                    if on_episode is not None:
                        on_episode(rec)
                    slots[k] = None
            restarts = [start(k) for k in range(len(envs)) if slots[k] is None]
            restarts = [j for j in restarts if j is not None]
            if restarts:
                run_all(restarts)
                continue
            live = [k for k in range(len(envs)) if slots[k] is not None]
            if not live:
                break
            obs = [envs[k].observe("assistant") for k in live]
            infos = [assistant_info(envs[k], assistant, envs[k].infos["assistant"]) for k in live]
            if hasattr(assistant, "act_batch"):
                decisions = list(assistant.act_batch(obs, infos))
            else:
                decisions = [_act(assistant, o, i) for o, i in zip(obs, infos, strict=True)]
            steps = []
            for k, d in zip(live, decisions, strict=True):
                slot = slots[k]
                assert slot is not None
                if isinstance(d, EpisodeFailure):  # this episode fails; the others go on
                    envs[k].fail(d)
                    continue
                slot["decisions"].append(record_decision(d))
                steps.append(in_worker(lambda k=k, d=d: envs[k].step(d)))
            if steps:
                run_all(steps)
    finally:
        pool.shutdown(wait=True)
    done.sort(key=lambda r: r["episode"])
    return done


def _act(assistant: Any, observation: Any, info: Any) -> Any:
    """``assistant.act``, with an :class:`EpisodeFailure` it raises as the answer."""
    try:
        return assistant.act(observation, info)
    except EpisodeFailure as exc:
        return exc
