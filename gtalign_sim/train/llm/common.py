"""Shared pieces of the TRL runs: validation helpers, model loading, saving, results."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CHECKPOINT_FIELDS",
    "DEVICES",
    "TRAIN_RECORD",
    "TrainResult",
    "check_int",
    "check_positive",
    "checkpoints",
    "in_passes",
    "load_model",
    "lora_config",
    "resume_point",
    "save_folder",
    "train_and_save",
    "training_args",
    "training_clock",
    "write_folder",
]

DEVICES: tuple[str, ...] = ("cpu", "auto")
"""Where a run trains: ``cpu``, or ``auto`` (the accelerator when there is one)."""


def check_int(name: str, value: Any, low: int = 1) -> None:
    """``ValueError`` unless ``value`` is an int ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def check_positive(name: str, value: Any) -> None:
    """``ValueError`` unless ``value`` is a finite number ``> 0``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")


def check_common(config: Any) -> None:
    """Validate the fields every run config shares (model, output dir, steps, LoRA...)."""
    if not isinstance(config.model, str) or not config.model:
        raise ValueError(
            f"model must be a path, a hub id, 'tiny' or 'smollm2'; got {config.model!r}"
        )
    if not isinstance(config.output_dir, (str, Path)) or not str(config.output_dir):
        raise ValueError(f"output_dir must be a folder path, got {config.output_dir!r}")
    check_int("max_steps", config.max_steps)
    check_positive("learning_rate", config.learning_rate)
    check_int("batch_size", config.batch_size)
    check_int("seed", config.seed, low=0)
    if not isinstance(config.lora, bool):
        raise ValueError(f"lora must be true or false, got {config.lora!r}")
    check_int("lora_r", config.lora_r)
    check_positive("lora_alpha", config.lora_alpha)
    if config.device not in DEVICES:
        raise ValueError(f"device {config.device!r} unknown; allowed: {list(DEVICES)}")
    check_int("save_steps", config.save_steps, low=0)


@dataclass
class TrainResult:
    """What a run produced: the saved Hugging Face folder and the trainer's log.

    Attributes:
        path: The folder with the (merged, when LoRA) model and its tokenizer.
        log_history: The trainer's log entries (loss, rewards, learning rate...).
        config: The run's configuration as a dict.
        resumed_from: The checkpoint folder the run resumed from (``None``: from step 0).
        train_seconds: Seconds spent training, every segment of a resumed run summed
            (``None`` when a resumed checkpoint did not record its own).
    """

    path: Path
    log_history: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    resumed_from: str | None = None
    train_seconds: float | None = None


def in_passes(dataset: Any, passes: int, seed: int) -> Any:
    """``dataset`` repeated ``passes`` times, pass ``k`` in the order of
    ``default_rng([seed, k]).permutation``: a trainer reading it in order (no sampler
    randomness) sees the same prompts at the same step whether or not it was resumed.
    (TRL's GRPO sampler draws every epoch's order from one generator it does not
    checkpoint, so a run resumed after the first epoch would replay epoch 1's order.)"""
    import numpy as np

    n = len(dataset)
    order = [int(i) for k in range(passes) for i in np.random.default_rng([seed, k]).permutation(n)]
    return dataset.select(order)


def load_model(name: str) -> tuple[Any, Any]:
    """The causal LM (float32) and its tokenizer for a path, hub id or alias
    (``tiny``, ``smollm2``: :func:`gtalign_sim.backends.models.resolve_model`)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ...backends.models import resolve_model

    path = resolve_model(name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, tokenizer


def lora_config(config: Any) -> Any:
    """A peft ``LoraConfig`` for the run, or ``None`` when LoRA is off."""
    if not config.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=int(config.lora_r),
        lora_alpha=float(config.lora_alpha),
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )


def training_args(config: Any) -> dict[str, Any]:
    """The ``TrainingArguments`` fields every run sets the same way."""
    return {
        "output_dir": str(config.output_dir),
        "max_steps": int(config.max_steps),
        "learning_rate": float(config.learning_rate),
        "per_device_train_batch_size": int(config.batch_size),
        "seed": int(config.seed),
        "data_seed": int(config.seed),
        "bf16": False,
        "fp16": False,
        "use_cpu": config.device == "cpu",
        "gradient_checkpointing": False,
        "logging_steps": 1,
        **(
            {"save_strategy": "steps", "save_steps": int(config.save_steps), "save_total_limit": 2}
            if config.save_steps
            else {"save_strategy": "no"}
        ),
        "report_to": "none",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }


def with_extra(
    args: dict[str, Any], extra: dict[str, Any], owned: dict[str, str]
) -> dict[str, Any]:
    """``args`` updated by the config's ``extra`` fields, which may override the shared
    defaults (``bf16``, ``gradient_checkpointing``, ``vllm_mode``, ...) but not a field
    the run config owns (``owned``: trainer field → the config field to set instead)."""
    clash = sorted(k for k in extra if k in owned)
    if clash:
        fix = ", ".join(f"{k} → {owned[k]}" for k in clash)
        raise ValueError(f"extra: {clash} are set by the run config; use its fields ({fix})")
    return {**args, **extra}


OWNED_ARGS: dict[str, str] = {
    "output_dir": "output_dir",
    "max_steps": "max_steps",
    "learning_rate": "learning_rate",
    "per_device_train_batch_size": "batch_size",
    "seed": "seed",
    "data_seed": "seed",
    "use_cpu": "device",
    "gradient_accumulation_steps": "grad_accum",
    "save_strategy": "save_steps",
    "save_steps": "save_steps",
    "save_total_limit": "save_steps (two are kept)",
}
"""Trainer fields every run config owns (see :func:`with_extra`)."""


CHECKPOINT_FIELDS: tuple[str, ...] = ("save_steps",)
"""Run-config fields that do not change the trained weights (a resumed run ends with the
uninterrupted one's): left out wherever two runs are compared."""

_STEP = re.compile(r"checkpoint-[0-9]+")
_RESUME_FILE = "gtalign_sim_resume.json"
"""Beside the checkpoints: the config and data they were made with."""


def _config_dict(config: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}


def resume_point(config: Any, dataset: Any) -> str | None:
    """The checkpoint folder a run with ``config`` on ``dataset`` resumes from, or ``None``.

    With ``config.save_steps`` 0 this is always ``None``. Otherwise the latest complete
    ``checkpoint-*`` under ``output_dir`` (one a crash cut short while it was written is
    named in a warning and passed over) is returned when the run that wrote it had the
    same config (``save_steps`` aside; paths inside the folder holding ``output_dir``
    relative to it, so a moved folder of runs resumes) and data (recorded in
    ``gtalign_sim_resume.json``, written here for a new run); checkpoints of another run
    are refused with a ``ValueError`` before any work.
    """
    if not config.save_steps:
        return None
    from ...core.paths import relocatable

    out = Path(config.output_dir)
    rows = dataset.to_list() if hasattr(dataset, "to_list") else list(dataset)
    data = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
    same = {k: v for k, v in _config_dict(config).items() if k not in CHECKPOINT_FIELDS}
    same = relocatable(same, out.absolute().parent)  # a moved folder of runs still resumes
    run = json.loads(json.dumps({"config": same, "data": data}, default=str))  # as stored
    found = checkpoints(out)
    if found:
        marker = out / _RESUME_FILE
        stored = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None
        if stored != run:
            raise ValueError(
                f"{out} holds checkpoints of another run (config or data differ); remove "
                f"its checkpoint-* folders or choose another output_dir"
            )
        complete = [c for c in found if (c / _CLOCK_FILE).is_file()]
        skipped = [c.name for c in found if c not in complete]
        if skipped:
            warnings.warn(
                f"{out}: {', '.join(skipped)} not complete (the run stopped while writing "
                f"it): resuming from {complete[-1].name if complete else 'step 0'}",
                stacklevel=2,
            )
        if complete:
            return str(complete[-1])
    out.mkdir(parents=True, exist_ok=True)
    (out / _RESUME_FILE).write_text(json.dumps(run, indent=2), encoding="utf-8")
    return None


_CLOCK_FILE = "gtalign_sim_clock.json"
"""In each checkpoint: the seconds trained to reach it (every earlier segment included),
written last and atomically, so it also marks the checkpoint complete."""


def checkpoints(folder: str | Path) -> list[Path]:
    """The ``checkpoint-<step>`` folders in ``folder``, by step (none: ``[]``)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and _STEP.fullmatch(p.name)]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def _prior_seconds(resume: str | None) -> float | None:
    """The training seconds recorded in the ``resume`` checkpoint (0 for a new run)."""
    if resume is None:
        return 0.0
    f = Path(resume) / _CLOCK_FILE
    if not f.is_file():
        return None
    value = json.loads(f.read_text(encoding="utf-8")).get("train_seconds")
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) and value >= 0 else None


def training_clock(resume: str | None) -> Any:
    """A ``TrainerCallback`` that writes into every checkpoint the seconds trained to reach
    it, counting from the ``resume`` checkpoint's own record; written last and atomically,
    the record also marks the checkpoint complete (:func:`resume_point`). ``seconds()`` is
    the run's total so far (``None`` when the resumed checkpoint kept no record). Pass it
    before the caller's callbacks, so that a checkpoint has its record when they see it."""
    from transformers import TrainerCallback

    prior, t0 = _prior_seconds(resume), time.perf_counter()

    class TrainingClock(TrainerCallback):  # type: ignore[misc]
        def seconds(self) -> float | None:
            return None if prior is None else prior + time.perf_counter() - t0

        def on_save(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            # called once the trainer has written the whole checkpoint
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            seconds = self.seconds()
            if folder.is_dir():
                record = json.dumps(
                    {"train_seconds": None if seconds is None else round(seconds, 3)}
                )
                tmp = folder / f".{_CLOCK_FILE}.tmp"
                tmp.write_text(record, encoding="utf-8")
                os.replace(tmp, folder / _CLOCK_FILE)

    return TrainingClock()


def train_and_save(
    trainer: Any, tokenizer: Any, config: Any, resume: str | None, clock: Any
) -> TrainResult:
    """Train (from the ``resume`` checkpoint when given) and :func:`save_folder`, with the
    training time of ``clock`` (:func:`training_clock`, one of the trainer's callbacks)."""
    trainer.train(resume_from_checkpoint=resume)
    seconds = clock.seconds()
    total = None if seconds is None else round(seconds, 1)
    return save_folder(trainer, tokenizer, config, resume, total)


TRAIN_RECORD = "gtalign_sim_train.json"
"""Beside a trained folder's weights: how it was trained (config, log, seconds)."""


def write_folder(model: Any, tokenizer: Any, out: str | Path, record: dict[str, Any]) -> Path:
    """Write ``model`` (a peft model: its adapter merged into the weights) and ``tokenizer``
    as a plain Hugging Face folder ``out`` that the transformers backend, the project's
    server and ``vllm serve`` load, with ``record`` in :data:`TRAIN_RECORD`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "merge_and_unload"):  # a peft model: fold the adapter in
        model = model.merge_and_unload()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    text = json.dumps(record, indent=2, default=str)
    (out / TRAIN_RECORD).write_text(text, encoding="utf-8")
    return out


def save_folder(
    trainer: Any,
    tokenizer: Any,
    config: Any,
    resumed_from: str | None = None,
    train_seconds: float | None = None,
) -> TrainResult:
    """Save the trained model and tokenizer with :func:`write_folder` (config, log and
    training time in its record); the run's checkpoints (``save_steps``) are removed once
    the folder is saved."""
    out = Path(config.output_dir)
    cfg = _config_dict(config)
    log = list(trainer.state.log_history)
    record = {"config": cfg, "log_history": log, "train_seconds": train_seconds}
    write_folder(trainer.model, tokenizer, out, record)
    for left in out.glob(".removed-checkpoint-*"):  # an earlier removal cut short
        shutil.rmtree(left)
    for checkpoint in out.glob("checkpoint-*"):  # renamed first: never half a checkpoint
        gone = checkpoint.with_name(f".removed-{checkpoint.name}")
        checkpoint.rename(gone)
        shutil.rmtree(gone)
    (out / _RESUME_FILE).unlink(missing_ok=True)
    name = Path(resumed_from).name if resumed_from else None
    return TrainResult(
        path=out, log_history=log, config=cfg, resumed_from=name, train_seconds=train_seconds
    )
