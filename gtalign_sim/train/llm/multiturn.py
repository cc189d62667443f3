"""Multi-turn GRPO: each completion is an episode played against the simulated user.

:class:`EpisodeRollout` is TRL's ``rollout_func(prompts, trainer)``: TRL's sampler has
repeated each prompt ``num_generations`` times, so one playout per entry, in order.

**Prompt → episode.** :func:`openings` gives one row per episode seed: ``prompt`` is
exactly :meth:`~gtalign_sim.agents.llm.LLMAssistant.messages` after ``env.reset(seed)``,
``seed`` that seed. The rollout's registry maps :func:`prompt_key` (``(role, content)``
pairs as canonical JSON: an exact lookup) to the seed; :func:`openings` drops a seed
whose opening equals an earlier one's, a registry given one prompt under two seeds
raises, and a play whose env does not give the prompt back raises ``ValueError``.

**A playout.** Each assistant turn the trainer's model samples a reply after the context
so far (temperature only, ``max_new_tokens`` at most, a ``torch.Generator`` from
``SeedSequence([seed, step, index])``, ``step`` the trainer's global step at the call, a
repeated call at one step adding its count, so that a run resumed from a checkpoint
draws what the uninterrupted one drew; a caller without ``trainer.state`` counts its
calls instead): model tokens (``env_mask`` 1, log-prob
``log_softmax(logits / T)``). An :class:`~gtalign_sim.agents.llm.LLMAssistant` gets the
reply through a one-shot backend and makes the move exactly as it does (parse → action,
its ``fallback`` for a reply that does not parse, format score, billed tokens: context
read, tokens written); the env steps with it. Until the episode ends the user's message
follows as env tokens (``env_mask`` 0, log-prob 0): EOS when the reply was cut, then the
chat template's user turn and generation prompt. The turn cap is the game's horizon
``WorldConfig.max_turns`` (``env={"world": {"max_turns": k}}``): a capped episode ends
by the rules with a real record. All samples of a prompt play its seed (common random
numbers), so a group's rewards differ only through the replies. Later turns' context
holds the model's full earlier replies (the stream GRPO trains on), where
:class:`~gtalign_sim.agents.llm.LLMAssistant` shows only their responses.

**Reward.** :class:`EpisodeReward`: the variant's aggregate of the forwarded
``episode_user_welfare`` and ``episode_llm_welfare`` (gains). A failed episode
(:mod:`gtalign_sim.core.failures`) gets no number: ``None``, which TRL treats as
unscorable (out of the group's mean and std, advantage 0), and it is kept in
:attr:`EpisodeRollout.failures`; ``on_failure="raise"`` raises instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...agents.llm import FALLBACKS, LLMAssistant
from ...backends import ChatResult
from ...core.failures import EpisodeFailure
from ...envs.clarification import ClarificationGameEnv
from ...protocol import PromptConfig
from ...welfare import AGGREGATORS
from .common import check_int
from .openings import MULTI_TURN_COLUMNS, check_env, openings, openings_dataset, prompt_key

__all__ = [
    "FAILURE_POLICIES",
    "MULTI_TURN_COLUMNS",
    "EpisodeReward",
    "EpisodeRollout",
    "Playout",
    "openings",
    "openings_dataset",
    "prompt_key",
]

FAILURE_POLICIES: tuple[str, ...] = ("unscored", "raise")
"""What a failed episode does: no reward (``None``, recorded) or raise."""


@dataclass
class Playout:
    """One sample played out: the episode ``seed``, the token stream TRL trains on
    (``prompt_ids``, ``completion_ids``, ``logprobs``, ``env_mask``), the model's
    ``replies`` and their billed ``usage`` (context read, tokens written) per turn, and
    the env's episode ``record`` (``failure`` set when it failed)."""

    seed: int
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    usage: list[tuple[int, int]] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)


class _OneShot:
    """A backend that returns the reply already written (for the LLM assistant's parser)."""

    name = "rollout"

    def __init__(self) -> None:
        self.next: ChatResult | None = None

    def generate(self, requests: Sequence[Any], *, raise_on_error: bool = True) -> list[Any]:
        if self.next is None or len(requests) != 1:
            raise RuntimeError("the rollout backend holds one reply for one request")
        out, self.next = self.next, None
        return [out]

    def close(self) -> None:
        """Nothing to release."""


def _sample(
    model: Any, context: list[int], max_new: int, temperature: float, eos: set[int], gen: Any
) -> tuple[list[int], list[float]]:
    """Sample up to ``max_new`` tokens after ``context`` (KV cache); their log-probs."""
    import torch

    ids = torch.tensor([context], device=model.device)
    past, toks, lps = None, [], []
    with torch.no_grad():
        for _ in range(max_new):
            out = model(input_ids=ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logp = torch.log_softmax(out.logits[0, -1].float() / temperature, dim=-1).cpu()
            tok = int(torch.multinomial(logp.exp(), 1, generator=gen))
            toks.append(tok)
            lps.append(float(logp[tok]))
            if tok in eos:
                break
            ids = torch.tensor([[tok]], device=model.device)
    return toks, lps


class EpisodeRollout:
    """TRL's ``rollout_func`` for multi-turn GRPO (see the module docstring).

    Args:
        episodes: ``{prompt_key(prompt): seed}``; see :meth:`from_dataset`.
        env: Keyword arguments of :class:`~gtalign_sim.envs.ClarificationGameEnv` (the
            same as the dataset's; ``user_policy`` must be ``simulator``).
        prompt: The prompt's settings (labels for the parser).
        fallback: The LLM assistant's move for a reply that does not parse
            (:data:`~gtalign_sim.agents.llm.FALLBACKS`).
        max_new_tokens: Tokens per reply at most.
        seed: Run seed of the sampling generators.
        on_failure: :data:`FAILURE_POLICIES`.
        keep_history: Keep every :class:`Playout` in :attr:`history`.
    """

    def __init__(
        self,
        episodes: Mapping[str, int],
        env: Mapping[str, Any] | None = None,
        prompt: PromptConfig | None = None,
        fallback: str = "template",
        max_new_tokens: int = 256,
        seed: int = 0,
        on_failure: str = "unscored",
        keep_history: bool = False,
    ) -> None:
        self.env = check_env(env or {})
        if fallback not in FALLBACKS:
            raise ValueError(f"fallback {fallback!r} unknown; allowed: {list(FALLBACKS)}")
        if on_failure not in FAILURE_POLICIES:
            raise ValueError(
                f"on_failure {on_failure!r} unknown; allowed: {list(FAILURE_POLICIES)}"
            )
        check_int("max_new_tokens", max_new_tokens)
        check_int("seed", seed, low=0)
        if not episodes:
            raise ValueError("episodes must map at least one prompt to its seed")
        self.episodes = {str(k): int(v) for k, v in episodes.items()}
        self.prompt = prompt or PromptConfig()
        self.fallback = fallback
        self.max_new_tokens = int(max_new_tokens)
        self.seed = int(seed)
        self.on_failure = on_failure
        self.keep_history = bool(keep_history)
        self.history: list[Playout] = []
        self.failures: list[dict[str, Any]] = []
        self.calls = 0
        self._last: tuple[int, int] | None = None  # (step, calls at it) of the last call
        self._tasks = self.env.get("tasks") or ClarificationGameEnv(**self.env).tasks

    @classmethod
    def from_dataset(cls, dataset: Any, **kwargs: Any) -> EpisodeRollout:
        """The rollout for a dataset with the :data:`MULTI_TURN_COLUMNS`; ``ValueError``
        if a column is missing or one prompt appears under two seeds."""
        missing = [c for c in MULTI_TURN_COLUMNS if c not in dataset.column_names]
        if missing:
            raise ValueError(
                f"dataset lacks the columns {missing}; it needs {list(MULTI_TURN_COLUMNS)}"
            )
        episodes: dict[str, int] = {}
        for p, s in zip(dataset["prompt"], dataset["seed"], strict=True):
            key = prompt_key(p)
            if episodes.setdefault(key, int(s)) != int(s):
                raise ValueError(f"one prompt under two seeds ({episodes[key]}, {s})")
        return cls(episodes, **kwargs)

    def seed_of(self, prompt: Sequence[Mapping[str, Any]]) -> int:
        """The episode seed of a dataset prompt (``KeyError`` for an unknown prompt)."""
        key = prompt_key(prompt)
        if key not in self.episodes:
            raise KeyError("a prompt that is not in the rollout's dataset")
        return self.episodes[key]

    def generator(self, call: int, index: int, repeat: int = 0) -> Any:
        """The sampling ``torch.Generator`` of sample ``index`` in the rollout call at step
        ``call`` (the ``repeat``-th call at that step, counted from 0)."""
        import torch

        key = [self.seed, int(call), int(index)] + ([int(repeat)] if repeat else [])
        ss = np.random.SeedSequence(key)
        return torch.Generator().manual_seed(int(ss.generate_state(1, dtype=np.uint64)[0] >> 1))

    def play(
        self,
        model: Any,
        tokenizer: Any,
        prompt: Sequence[Mapping[str, Any]],
        generator: Any,
        temperature: float = 1.0,
        template_kwargs: Mapping[str, Any] | None = None,
    ) -> Playout:
        """Play the episode of ``prompt`` with ``model`` writing the assistant's replies."""
        kw = dict(template_kwargs or {})
        seed = self.seed_of(prompt)
        env = ClarificationGameEnv(**{**self.env, "tasks": self._tasks})
        env.reset(seed=seed)
        backend = _OneShot()
        llm = LLMAssistant(
            backend=backend,
            prompt=self.prompt,
            fallback=self.fallback,
            world=env.world,
            population=env.population,
            seed=seed,
        )
        if env.episode or prompt_key(llm.messages(env.infos["assistant"])) != prompt_key(prompt):
            raise ValueError(
                f"the env reset on seed {seed} does not give the dataset's prompt back; "
                "build the dataset and the rollout with the same env settings"
            )
        out = Playout(seed=seed, prompt_ids=_chat_ids(tokenizer, prompt, True, kw))
        eos = _eos_ids(model, tokenizer)
        while not env.episode:
            context = out.prompt_ids + out.completion_ids
            toks, lps = _sample(model, context, self.max_new_tokens, temperature, eos, generator)
            text = tokenizer.decode(toks, skip_special_tokens=True)
            out.completion_ids += toks
            out.logprobs += lps
            out.env_mask += [1] * len(toks)
            out.replies.append(text)
            out.usage.append((len(context), len(toks)))
            finish = "stop" if toks[-1] in eos else "length"
            backend.next = ChatResult(text, finish, len(context), len(toks))
            try:
                decision = llm.act(env.observe("assistant"), env.infos["assistant"])
            except EpisodeFailure as exc:
                env.fail(exc)
                break
            env.step(decision)
            if env.episode:
                break
            user = _user_turn_ids(tokenizer, env.infos["assistant"]["message"], kw)
            if toks[-1] != tokenizer.eos_token_id:
                user = [int(tokenizer.eos_token_id), *user]
            out.completion_ids += user
            out.logprobs += [0.0] * len(user)
            out.env_mask += [0] * len(user)
        out.record = dict(env.episode)
        return out

    def __call__(self, prompts: Sequence[Any], trainer: Any) -> dict[str, list[Any]]:
        """TRL's ``rollout_func``: one playout per prompt entry, in order."""
        args = trainer.args
        if args.top_p != 1.0 or args.top_k not in (0, None) or args.min_p is not None:
            raise ValueError("multi-turn GRPO samples with temperature only: top_p=1, top_k=0")
        if args.repetition_penalty != 1.0:
            raise ValueError("multi-turn GRPO needs repetition_penalty=1.0")
        model = trainer.accelerator.unwrap_model(trainer.model)
        tokenizer = trainer.processing_class
        kw = dict(getattr(trainer, "chat_template_kwargs", None) or {})
        state = getattr(trainer, "state", None)
        call = int(state.global_step) if state is not None else self.calls
        repeat = self._last[1] + 1 if self._last and self._last[0] == call else 0
        self._last, self.calls = (call, repeat), self.calls + 1
        was_training = model.training
        model.eval()
        try:
            plays = [
                self.play(
                    model, tokenizer, p, self.generator(call, i, repeat), trainer.temperature, kw
                )
                for i, p in enumerate(prompts)
            ]
        finally:
            model.train(was_training)
        for p in plays:
            failure = p.record.get("failure")
            if failure is not None:
                if self.on_failure == "raise":
                    raise RuntimeError(f"episode seed {p.seed} failed: {failure}")
                self.failures.append({"seed": p.seed, **failure})
        if self.keep_history:
            self.history.extend(plays)
        return {
            "prompt_ids": [p.prompt_ids for p in plays],
            "completion_ids": [p.completion_ids for p in plays],
            "logprobs": [p.logprobs for p in plays],
            "env_mask": [p.env_mask for p in plays],
            "episode_seed": [p.seed for p in plays],
            "episode_user_welfare": [p.record.get("user_welfare") for p in plays],
            "episode_llm_welfare": [p.record.get("llm_welfare") for p in plays],
            "episode_failure": [p.record.get("failure") for p in plays],
        }


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """The tokens that end a reply: the tokenizer's EOS and the generation config's."""
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = [] if ids is None else ([ids] if isinstance(ids, int) else list(ids))
    return {int(tokenizer.eos_token_id), *(int(i) for i in ids)}


def _chat_ids(tokenizer: Any, chat: Sequence[Any], gen: bool, kw: Mapping[str, Any]) -> list[int]:
    """The chat template's token ids of ``chat`` (``gen``: with the generation prompt)."""
    msgs = [{"role": m["role"], "content": m["content"]} for m in chat]
    ids = tokenizer.apply_chat_template(
        msgs, tokenize=True, add_generation_prompt=gen, return_dict=False, **kw
    )
    return [int(i) for i in ids]


def _user_turn_ids(tokenizer: Any, text: str, kw: Mapping[str, Any]) -> list[int]:
    """The chat template's tokens for a user turn after a closed assistant turn (through
    the next generation prompt): the difference of two renderings of a short chat."""
    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    prefix = _chat_ids(tokenizer, chat, False, kw)
    full = _chat_ids(tokenizer, [*chat, {"role": "user", "content": text}], True, kw)
    eos = int(tokenizer.eos_token_id)
    if eos not in prefix:
        raise ValueError("the chat template must end an assistant turn with the EOS token")
    prefix = prefix[: len(prefix) - prefix[::-1].index(eos)]
    if full[: len(prefix)] != prefix:
        raise ValueError("the chat template is not prefix-preserving")
    return full[len(prefix) :]


class EpisodeReward:
    """The episode's welfare aggregate on gains, as a TRL reward function.

    Called by TRL with the fields :class:`EpisodeRollout` forwards; one reward per
    completion: ``AGGREGATORS[variant](U, L)``, or ``None`` for a failed episode.

    Args:
        variant: One of :data:`~gtalign_sim.train.llm.grpo.REWARD_VARIANTS`.
    """

    __name__ = "gtalign_episode_welfare"

    def __init__(self, variant: str = "cobb_douglas") -> None:
        if variant not in AGGREGATORS:
            raise ValueError(f"reward {variant!r} unknown; allowed: {list(AGGREGATORS)}")
        self.variant = variant
        self._agg = AGGREGATORS[variant]

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        episode_user_welfare: Sequence[float | None],
        episode_llm_welfare: Sequence[float | None],
        episode_failure: Sequence[Any],
        **_: Any,
    ) -> list[float | None]:
        """One reward per completion."""
        rows = zip(episode_user_welfare, episode_llm_welfare, episode_failure, strict=True)
        return [None if f is not None else float(self._agg(u, ell)) for u, ell, f in rows]
