"""Single-turn GRPO with TRL's ``GRPOTrainer`` on the reference recipe's reward.

Each prompt is one assistant turn of the simulator (from :mod:`.data`); the model writes
``num_generations`` replies and each is scored by :class:`CompletionReward`: the reply is
parsed by the protocol; its ``<response>`` is judged by the task's judge for the user's
hidden reading (``q_user``, ``q_llm``), and
:func:`gtalign_sim.welfare.completion.score_completion` gives ``U``, ``L`` (format,
payoff quality, answer score, length band) and their aggregate — the reward — with the
configured variant (:data:`REWARD_VARIANTS`: ``cobb_douglas`` √(U⁺·L⁺), the default;
``linear``; ``user_only``; ``llm_only``). A reply that does not parse gets
``score_completion``'s own invalid score (0, ``valid=False``), never another number; a
judge that cannot judge raises.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...protocol import ProtocolError, parse
from ...tasks import Task, judge_response
from ...welfare import AGGREGATORS
from ...welfare.completion import CompletionScore, score_completion
from .common import (
    OWNED_ARGS,
    TrainResult,
    check_common,
    check_int,
    check_positive,
    in_passes,
    load_model,
    lora_config,
    resume_point,
    train_and_save,
    training_clock,
    with_extra,
)
from .common import training_args as _training_args

__all__ = [
    "GRPO_COLUMNS",
    "GRPO_MODES",
    "REWARD_VARIANTS",
    "CompletionReward",
    "GRPORunConfig",
    "train_grpo",
]

REWARD_VARIANTS: tuple[str, ...] = tuple(AGGREGATORS)
"""Reward variants: the welfare aggregators (``cobb_douglas``, ``linear``, ``user_only``,
``llm_only``)."""

GRPO_COLUMNS: tuple[str, ...] = ("prompt", "task", "intent")
"""The dataset columns GRPO needs: the chat, the task (JSON) and the user's reading."""

_OWNED = {
    **OWNED_ARGS,
    **{k: k for k in ("num_generations", "max_completion_length", "temperature", "beta")},
    "use_vllm": "use_vllm",
    "shuffle_dataset": "seed (each pass over the prompts is shuffled from it)",
}

GRPO_MODES: tuple[str, ...] = ("single_turn", "multi_turn")
"""``single_turn``: one reply scored by :class:`CompletionReward`; ``multi_turn``: each
reply played out against the simulated user (:mod:`.multiturn`)."""


def _text(completion: Any) -> str:
    """The assistant text of a TRL completion (a str, or a list of chat messages)."""
    if isinstance(completion, str):
        return completion
    return "".join(str(m.get("content") or "") for m in completion if m.get("role") == "assistant")


class CompletionReward:
    """The single-turn reward of the reference recipe, as a TRL reward function.

    Called by TRL as ``reward(prompts=..., completions=..., task=[...], intent=[...])``
    (``task``: :meth:`~gtalign_sim.tasks.Task.to_dict` as JSON; ``intent``: the
    interpretation id the judge scores against). ``history`` keeps every scored
    ``(completion text, CompletionScore)`` when ``keep_history`` is on.

    Args:
        variant: One of :data:`REWARD_VARIANTS`.
        user_strategies, assistant_actions: The game's labels for the parser (default
            GTAlign's).
        keep_history: Record every scored completion in :attr:`history`.
    """

    __name__ = "gtalign_welfare"

    def __init__(
        self,
        variant: str = "cobb_douglas",
        user_strategies: Sequence[str] | None = None,
        assistant_actions: Sequence[str] | None = None,
        keep_history: bool = False,
    ) -> None:
        if variant not in REWARD_VARIANTS:
            raise ValueError(f"reward {variant!r} unknown; allowed: {list(REWARD_VARIANTS)}")
        self.variant = variant
        self._labels: dict[str, Sequence[str]] = {}
        if user_strategies is not None:
            self._labels["user_strategies"] = tuple(user_strategies)
        if assistant_actions is not None:
            self._labels["assistant_actions"] = tuple(assistant_actions)
        self.keep_history = bool(keep_history)
        self.history: list[tuple[str, CompletionScore]] = []
        self._tasks: dict[str, Task] = {}

    def _task(self, task: str | Task) -> Task:
        if isinstance(task, Task):
            return task
        cached = self._tasks.get(task)
        if cached is None:
            cached = Task.from_dict(json.loads(task))
            self._tasks[task] = cached
        return cached

    def score(self, text: str, task: str | Task, intent: str) -> CompletionScore:
        """The :class:`CompletionScore` of one completion for ``task`` and ``intent``."""
        try:
            parsed = parse(text, **self._labels)
        except ProtocolError:  # score_completion's own invalid score, with the parser's error
            return score_completion(text, 0.0, aggregator=self.variant, **self._labels)
        j = judge_response(self._task(task), intent, parsed.response)
        if not j.ok:
            raise RuntimeError(f"the judge could not judge a completion: {j.reason}")
        return score_completion(
            text, j.q_user, answer_quality_llm=j.q_llm, aggregator=self.variant, **self._labels
        )

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        task: Sequence[str],
        intent: Sequence[str],
        **_: Any,
    ) -> list[float]:
        """One reward per completion (the aggregate of its score)."""
        out = []
        for c, t, i in zip(completions, task, intent, strict=True):
            text = _text(c)
            s = self.score(text, t, i)
            if self.keep_history:
                self.history.append((text, s))
            out.append(float(s.aggregate))
        return out


@dataclass(frozen=True)
class GRPORunConfig:
    """A single-turn GRPO run.

    Attributes:
        model: A folder (e.g. an SFT output), a hub id in the local cache, or an alias.
        output_dir: Where the trained model folder is written.
        max_steps: Optimizer steps.
        learning_rate: Peak learning rate.
        batch_size: Completions per device per step (a multiple of ``num_generations``
            together with ``grad_accum``).
        grad_accum: Gradient accumulation steps.
        num_generations: Replies sampled per prompt (the GRPO group), at least 2.
        max_completion_length: Tokens per reply.
        temperature: Sampling temperature.
        beta: KL coefficient to the starting model (0: no reference model).
        reward: One of :data:`REWARD_VARIANTS`.
        seed: Seed of the trainer (data order, sampling, LoRA init).
        lora, lora_r, lora_alpha: LoRA adapters (peft), merged when saved.
        device: ``cpu`` or ``auto``.
        save_steps: 0: no checkpoints; N: a checkpoint every N steps under ``output_dir``,
            resumed from by a run with the same config and data (as SFT's), exactly:
            the prompts are read in passes shuffled from ``seed``
            (:func:`.common.in_passes`) and a multi-turn rollout keys its draws by the
            trainer's global step.
        use_vllm: Generate with vLLM inside TRL (``vllm_mode="colocate"``; GPU profile).
        mode: One of :data:`GRPO_MODES`; ``multi_turn`` generates with the trainer's model
            (``use_vllm`` off), ``max_completion_length`` tokens per reply.
    """

    model: str = "tiny"
    output_dir: str | Path = "outputs/grpo"
    max_steps: int = 20
    learning_rate: float = 1e-6
    batch_size: int = 4
    grad_accum: int = 1
    num_generations: int = 4
    max_completion_length: int = 512
    temperature: float = 1.0
    beta: float = 0.0
    reward: str = "cobb_douglas"
    seed: int = 0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: float = 32.0
    device: str = "cpu"
    save_steps: int = 0
    use_vllm: bool = False
    mode: str = "single_turn"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_common(self)
        check_int("grad_accum", self.grad_accum)
        check_int("num_generations", self.num_generations, low=2)
        check_int("max_completion_length", self.max_completion_length)
        check_positive("temperature", self.temperature)
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) or self.beta < 0:
            raise ValueError(f"beta must be a number >= 0, got {self.beta!r}")
        if self.reward not in REWARD_VARIANTS:
            raise ValueError(f"reward {self.reward!r} unknown; allowed: {list(REWARD_VARIANTS)}")
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ValueError(
                f"batch_size × grad_accum ({self.batch_size} × {self.grad_accum}) must be a "
                f"multiple of num_generations ({self.num_generations})"
            )
        if not isinstance(self.use_vllm, bool):
            raise ValueError(f"use_vllm must be true or false, got {self.use_vllm!r}")
        if self.mode not in GRPO_MODES:
            raise ValueError(f"mode {self.mode!r} unknown; allowed: {list(GRPO_MODES)}")
        if self.mode == "multi_turn" and self.use_vllm:
            raise ValueError("use_vllm must be false with mode='multi_turn'")
        if not isinstance(self.extra, dict):
            raise ValueError(f"extra must be a mapping of GRPOConfig fields, got {self.extra!r}")
        with_extra({}, self.extra, _OWNED)


def train_grpo(
    config: GRPORunConfig,
    dataset: Any,
    reward: Any = None,
    rollout: Any = None,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """GRPO-train ``config.model`` on the prompts of ``dataset`` (columns
    :data:`GRPO_COLUMNS`; others dropped) and save the model folder; ``callbacks`` go to
    the trainer, and ``config.save_steps`` resumes a stopped run (as :func:`.train_sft`).

    ``reward`` defaults to ``CompletionReward(config.reward)``; pass one with
    ``keep_history=True`` to inspect what was scored. ``config.extra`` passes further
    ``GRPOConfig`` fields through (e.g. vLLM settings of the GPU profile).

    ``mode="multi_turn"``: the dataset has :data:`.multiturn.MULTI_TURN_COLUMNS`;
    ``rollout`` defaults to :meth:`.multiturn.EpisodeRollout.from_dataset` (default env)
    and ``reward`` to :class:`.multiturn.EpisodeReward`.
    """
    from trl import GRPOConfig, GRPOTrainer

    columns = GRPO_COLUMNS
    if config.mode == "multi_turn":
        from .multiturn import MULTI_TURN_COLUMNS, EpisodeReward, EpisodeRollout

        columns = MULTI_TURN_COLUMNS
        if rollout is None:
            rollout = EpisodeRollout.from_dataset(
                dataset, max_new_tokens=config.max_completion_length, seed=config.seed
            )
        reward = EpisodeReward(config.reward) if reward is None else reward
    elif rollout is not None:
        raise ValueError("rollout is for mode='multi_turn' only")
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise ValueError(f"dataset lacks the columns {missing}; it needs {list(columns)}")
    if reward is None:
        reward = CompletionReward(config.reward)
    elif reward.variant != config.reward:
        raise ValueError(
            f"reward variant {reward.variant!r} differs from config.reward {config.reward!r}"
        )
    dataset = dataset.select_columns(list(columns))
    resume = resume_point(config, dataset)
    clock = training_clock(resume)
    prompts = config.max_steps * config.batch_size * config.grad_accum // config.num_generations
    world = max(1, int(os.environ.get("WORLD_SIZE", "1")))
    dataset = in_passes(dataset, -(-prompts * world // len(dataset)) + 1, config.seed)
    model, tokenizer = load_model(config.model)
    tokenizer.padding_side = "left"
    vllm: dict[str, Any] = {"use_vllm": True, "vllm_mode": "colocate"} if config.use_vllm else {}
    base = {
        **_training_args(config),
        "gradient_accumulation_steps": int(config.grad_accum),
        "num_generations": int(config.num_generations),
        "max_completion_length": int(config.max_completion_length),
        "temperature": float(config.temperature),
        "beta": float(config.beta),
        "shuffle_dataset": False,  # in_passes shuffled it: a resumed run sees the same order
        **vllm,
    }
    args = GRPOConfig(**with_extra(base, dict(config.extra), _OWNED))
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config),
        rollout_func=rollout,
        callbacks=[clock, *callbacks],
    )
    return train_and_save(trainer, tokenizer, config, resume, clock)
