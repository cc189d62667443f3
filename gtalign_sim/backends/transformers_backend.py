"""The ``transformers`` backend: a local Hugging Face causal LM, batched.

Requests are grouped by identical sampling settings and generated in batches of
``batch_size`` with left padding (so every row's new tokens start at the same column),
the tokenizer's chat template (``continue_final`` continues an open assistant message),
and stop strings (cut from the returned text, as the OpenAI API does). Greedy decoding of
a batch gives the same text as one request at a time (tested). Sampling is seeded per
batch from the first request's ``seed`` inside a forked torch RNG, so the global torch
state is untouched. torch and transformers are imported when the backend is built.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .base import BackendError, ChatRequest, ChatResult, check_results, truncate_at_stop
from .models import resolve_model

__all__ = ["TransformersBackend"]

_DTYPES = ("float32", "bfloat16", "float16", "auto")


class TransformersBackend:
    """A local Hugging Face model behind :class:`~gtalign_sim.backends.base.ChatBackend`.

    Args:
        model: a folder, a hub id already in the local cache, or ``tiny`` / ``smollm2``.
        dtype: ``float32`` (default, exact on CPU), ``bfloat16``, ``float16`` or ``auto``.
        device: ``cpu``, ``cuda``, ``cuda:1``… or ``auto`` (cuda when available).
        batch_size: rows per ``generate`` call.
        max_prompt_tokens: left-truncate longer prompts (``None``: never).
    """

    name = "transformers"

    def __init__(
        self,
        model: str = "tiny",
        dtype: str = "float32",
        device: str = "cpu",
        batch_size: int = 8,
        max_prompt_tokens: int | None = None,
        **_: Any,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if dtype not in _DTYPES:
            raise ValueError(f"backend.dtype {dtype!r} unknown; allowed: {list(_DTYPES)}")
        if int(batch_size) < 1:
            raise ValueError(f"backend.batch_size must be >= 1, got {batch_size!r}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model_name = model
        self.path = resolve_model(model)
        self.device = device
        self.batch_size = int(batch_size)
        self.max_prompt_tokens = max_prompt_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch_dtype)
        self.model.to(device)
        self.model.eval()
        self._torch = torch

    def __repr__(self) -> str:
        return f"TransformersBackend(model={self.model_name!r}, device={self.device!r})"

    def prompt_text(self, req: ChatRequest) -> str:
        """The text the model is given for ``req`` (its chat template applied)."""
        msgs = [dict(m) for m in req.messages]
        return self.tokenizer.apply_chat_template(
            msgs,
            tokenize=False,
            add_generation_prompt=not req.continue_final,
            continue_final_message=req.continue_final,
        )

    def generate(
        self, requests: Sequence[ChatRequest], *, raise_on_error: bool = True
    ) -> list[ChatResult]:
        """Generate every request (batched by sampling settings); results in input order."""
        results: list[ChatResult | None] = [None] * len(requests)
        groups: dict[Any, list[int]] = {}
        for i, r in enumerate(requests):
            s = r.sampling
            groups.setdefault((s.max_tokens, s.temperature, s.top_p, s.stop), []).append(i)
        for idx in groups.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                try:
                    outs = self._generate_batch([requests[i] for i in chunk])
                except Exception as exc:  # report every failure; never lose the batch
                    err_type = type(exc).__name__
                    outs = [
                        ChatResult(
                            "",
                            "error",
                            request_id=requests[i].request_id,
                            error=BackendError(
                                f"generation failed: {err_type}: {exc}",
                                reason="model",
                                request_id=requests[i].request_id,
                            ),
                        )
                        for i in chunk
                    ]
                for i, out in zip(chunk, outs, strict=True):
                    results[i] = out
        return check_results([r for r in results if r is not None], raise_on_error)

    def _generate_batch(self, batch: Sequence[ChatRequest]) -> list[ChatResult]:
        torch = self._torch
        tok = self.tokenizer
        s = batch[0].sampling
        start = time.perf_counter()
        prompts = [self.prompt_text(r) for r in batch]
        enc = tok(
            prompts,
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
            truncation=self.max_prompt_tokens is not None,
            max_length=self.max_prompt_tokens,
        ).to(self.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": int(s.max_tokens),
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": tok.eos_token_id,
        }
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=float(s.temperature), top_p=float(s.top_p))
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if s.stop:
            kwargs.update(stop_strings=list(s.stop), tokenizer=tok)
        seed = next((r.sampling.seed for r in batch if r.sampling.seed is not None), 0)
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :]
        latency = (time.perf_counter() - start) / len(batch)
        results = []
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        special = {tok.eos_token_id, tok.pad_token_id}
        for r, row, plen in zip(batch, new.tolist(), prompt_lens, strict=True):
            n = 0
            hit_eos = False
            for t in row:
                if t in special:
                    hit_eos = True
                    break
                n += 1
            text = tok.decode(row[:n], skip_special_tokens=True)
            text, stopped = truncate_at_stop(text, s.stop)
            finish = "stop" if (hit_eos or stopped) else ("length" if n >= s.max_tokens else "stop")
            results.append(
                ChatResult(
                    text=text,
                    finish_reason=finish,
                    prompt_tokens=int(plen),
                    completion_tokens=n + (1 if hit_eos else 0),
                    latency_s=latency,
                    request_id=r.request_id,
                )
            )
        return results

    def close(self) -> None:
        """Drop the model (frees its memory once nothing else refers to it)."""
        self.model = None  # type: ignore[assignment]
