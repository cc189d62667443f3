"""Supervised fine-tuning on four-block traces with TRL's ``SFTTrainer``.

The loss is on the completion only (TRL's default for prompt/completion data): the model
learns to write the reply, not the prompt. The saved folder is a plain Hugging Face model
(LoRA adapters merged) with its tokenizer, which ``build_backend("transformers",
model=<path>)``, the project's server and ``vllm serve`` load.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import (
    OWNED_ARGS,
    TrainResult,
    check_common,
    check_int,
    load_model,
    lora_config,
    resume_point,
    train_and_save,
    training_clock,
    with_extra,
)
from .common import training_args as _training_args

__all__ = ["SFTRunConfig", "train_sft"]

_OWNED = {**OWNED_ARGS, "max_length": "max_length", "completion_only_loss": "(always true)"}


@dataclass(frozen=True)
class SFTRunConfig:
    """An SFT run.

    Attributes:
        model: A folder, a hub id in the local cache, or ``tiny`` / ``smollm2``.
        output_dir: Where the trained model folder is written.
        max_steps: Optimizer steps.
        learning_rate: Peak learning rate (linear decay).
        batch_size: Examples per device per step.
        grad_accum: Gradient accumulation steps.
        max_length: Tokens per example (prompt + completion; longer ones are cut at the
            end, with a warning: their completions lose the closing tag). A prompt that
            fills it leaves nothing to learn: :func:`train_sft` refuses a dataset where
            that happens to every example.
        seed: Seed of the trainer (data order, dropout, LoRA init).
        lora: Train LoRA adapters (peft) instead of every weight; merged when saved.
        lora_r, lora_alpha: The adapters' rank and scale.
        device: ``cpu`` or ``auto``.
        save_steps: 0: no checkpoints. N: a checkpoint (weights, optimizer, scheduler,
            RNG states) every N steps under ``output_dir``; a run that finds one there,
            made with the same config and data, resumes from the latest and ends with
            the weights an uninterrupted run would have. Removed once the model is saved.
        extra: Further ``SFTConfig`` fields (e.g. ``lr_scheduler_type``).
    """

    model: str = "tiny"
    output_dir: str | Path = "outputs/sft"
    max_steps: int = 20
    learning_rate: float = 2e-5
    batch_size: int = 2
    grad_accum: int = 1
    max_length: int = 2048
    seed: int = 0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: float = 32.0
    device: str = "cpu"
    save_steps: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_common(self)
        if not isinstance(self.extra, dict):
            raise ValueError(f"extra must be a mapping of SFTConfig fields, got {self.extra!r}")
        with_extra({}, self.extra, _OWNED)
        check_int("grad_accum", self.grad_accum)
        check_int("max_length", self.max_length, low=8)


def _lengths(dataset: Any, tokenizer: Any) -> list[tuple[int, int]]:
    """``(prompt tokens, prompt + completion tokens)`` of each example, chat template on."""

    def n(messages: Any, prompt: bool) -> int:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=prompt, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return [
        (n(p, True), n(list(p) + list(c), False))
        for p, c in zip(dataset["prompt"], dataset["completion"], strict=True)
    ]


def train_sft(config: SFTRunConfig, dataset: Any, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Fine-tune ``config.model`` on ``dataset`` (conversational ``prompt``/``completion``
    columns; other columns are dropped) and save the model folder; ``callbacks`` are
    ``transformers.TrainerCallback`` objects handed to the trainer. With
    ``config.save_steps`` it resumes from a checkpoint of the same run (:func:`.resume_point`).

    Raises ``ValueError`` when the dataset lacks the columns or every prompt is at least
    ``max_length`` tokens long (nothing of any completion would be trained on).
    """
    from trl import SFTConfig, SFTTrainer

    missing = [c for c in ("prompt", "completion") if c not in dataset.column_names]
    if missing:
        raise ValueError(f"dataset lacks the columns {missing}; it needs 'prompt' and 'completion'")
    dataset = dataset.select_columns(["prompt", "completion"])
    resume = resume_point(config, dataset)
    clock = training_clock(resume)
    model, tokenizer = load_model(config.model)
    lengths = _lengths(dataset, tokenizer)
    shortest = min(p for p, _ in lengths)
    if shortest >= config.max_length:
        raise ValueError(
            f"max_length {config.max_length} leaves no completion token: the shortest "
            f"prompt is {shortest} tokens"
        )
    cut = [full for _, full in lengths if full > config.max_length]
    if cut:  # the model would learn replies that never reach their closing tag
        warnings.warn(
            f"{len(cut)} of {len(lengths)} examples are longer than max_length "
            f"{config.max_length} (longest {max(cut)} tokens) and are cut at the end: "
            "their completions lose their last tokens (the closing tag); raise max_length",
            stacklevel=2,
        )
    base = {
        **_training_args(config),
        "gradient_accumulation_steps": int(config.grad_accum),
        "max_length": int(config.max_length),
        "completion_only_loss": True,
    }
    args = SFTConfig(**with_extra(base, dict(config.extra), _OWNED))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config),
        callbacks=[clock, *callbacks],
    )
    return train_and_save(trainer, tokenizer, config, resume, clock)
