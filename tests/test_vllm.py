"""The vllm backend with SmolLM2: in-process, and `vllm serve` through the openai backend.

vLLM lives in its own virtual environment in CI (``vllm-cpu`` pins its own torch), so
these tests run there with ``GTALIGN_REQUIRE_VLLM=1``; elsewhere they skip when vllm is
not importable.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import free_port, wait_until_serving

from gtalign_sim.backends import ChatRequest, SamplingParams, build_backend


def _need_vllm():
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        if os.environ.get("GTALIGN_REQUIRE_VLLM") == "1":
            pytest.fail(f"vllm not importable: {exc}")
        pytest.skip(f"vllm not installed ({exc})")


def _req(text, **kw):
    return ChatRequest(messages=({"role": "user", "content": text},), sampling=SamplingParams(**kw))


QUESTIONS = [
    "What is the capital of France? Answer in one word.",
    "What is 2 + 3? Answer with a number.",
    "Name a primary colour.",
]


@pytest.fixture(scope="module")
def smollm2_path():
    _need_vllm()
    from gtalign_sim.backends.models import materialize_smollm2

    return str(materialize_smollm2())


def test_vllm_in_process_batched_generation(smollm2_path):
    backend = build_backend("vllm", model=smollm2_path, dtype="bfloat16", max_model_len=512)
    out = backend.generate([_req(q, max_tokens=12) for q in QUESTIONS])
    assert len(out) == 3 and all(r.ok and r.completion_tokens > 0 for r in out)
    assert "paris" in out[0].text.lower()
    single = backend.generate([_req(QUESTIONS[1], max_tokens=12)])[0]
    assert single.text == out[1].text  # greedy: batched equals one by one
    stop = backend.generate([_req(QUESTIONS[0], max_tokens=12, stop=("aris",))])[0]
    assert "aris" not in stop.text and stop.finish_reason == "stop"
    cont = ChatRequest(
        messages=(
            {"role": "user", "content": QUESTIONS[0]},
            {"role": "assistant", "content": "The capital of France is"},
        ),
        sampling=SamplingParams(max_tokens=6),
        continue_final=True,
    )
    assert "paris" in backend.generate([cont])[0].text.lower()
    backend.close()


def test_vllm_loads_a_folder_written_as_training_writes_it(smollm2_path, tmp_path):
    """SmolLM2 after one optimizer step, written by ``write_folder`` (what SFT and GRPO
    save: float32 safetensors, the tokenizer and its chat template, the training record),
    loads in vLLM and still answers."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from gtalign_sim.train.llm.common import TRAIN_RECORD, write_folder

    tok = AutoTokenizer.from_pretrained(smollm2_path)
    model = AutoModelForCausalLM.from_pretrained(smollm2_path, dtype=torch.float32)
    chat = [{"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": "Paris"}]
    ids = tok.apply_chat_template(chat, return_tensors="pt", return_dict=True)["input_ids"]
    before = model.lm_head.weight.detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    assert not torch.equal(before, model.lm_head.weight)  # a trained folder, not the base
    folder = write_folder(model, tok, tmp_path / "sft", {"config": {}, "log_history": []})
    assert (folder / TRAIN_RECORD).is_file()
    backend = build_backend("vllm", model=str(folder), dtype="bfloat16", max_model_len=512)
    out = backend.generate([_req(q, max_tokens=12) for q in QUESTIONS])
    assert all(r.ok and r.completion_tokens > 0 for r in out)
    assert "paris" in out[0].text.lower()
    backend.close()


def test_vllm_serve_through_openai_backend(smollm2_path):
    pytest.importorskip("openai")
    port = free_port()
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            smollm2_path,
            "--served-model-name",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dtype",
            "bfloat16",
            "--max-model-len",
            "512",
            "--enforce-eager",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_until_serving(proc, port, 300)
        backend = build_backend(
            "openai",
            model="smollm2",
            base_url=f"http://127.0.0.1:{port}/v1",
            timeout=60,
            max_retries=1,
        )
        out = backend.generate([_req(q, max_tokens=12, seed=0) for q in QUESTIONS])
        assert all(r.ok for r in out) and "paris" in out[0].text.lower()
        assert out[0].prompt_tokens > 0 and out[0].completion_tokens > 0
        backend.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
