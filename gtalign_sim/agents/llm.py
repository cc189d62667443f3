"""LLM-backed assistants: the GTAlign four-block protocol on any chat backend.

:class:`LLMAssistant` prompts a backend with the four-block contract
(``<thinking><payoff><analyze><response>``), parses the reply with
:mod:`gtalign_sim.protocol`, and turns it into a move: the mode is the one the
``<response>`` carries out (inferred from its text; the chosen cell's action when the
text is ambiguous), the verbosity is read off the response's length, and the response
text is what the user sees. It records the format score, the model's own payoff matrix
and chosen cell.

Every decision says who made it: ``estimates["decided_by"]`` is ``"model"`` or
``"fallback"``, and a fallback's ``estimates["fallback_reason"]`` is ``"parse_error"``
or ``"backend_error:<reason>"``. When the reply does not parse it follows ``fallback``
(``template``: the model-based GTAlign decision with template text; ``direct``: a
standard direct answer; ``raw``: no substitute — the reply exactly as the model wrote it is
what the user reads, its mode inferred from that text and its verbosity from its length,
so a broken reply has the consequences it would have in front of a real user). When the
*backend* fails (after its retries) it follows ``on_backend_error``: ``fail`` (the default)
fails the episode with
:class:`~gtalign_sim.core.failures.EpisodeFailure` (stage ``assistant_backend``) instead
of substituting a move the model never made; ``template``/``direct`` substitute, marked.

Pricing steering (``steering="reference"`` or ``"token_cost"``) is the reference's
two-stage generation: stop at ``</payoff>``, transform the parsed matrix for the user's
pricing plan (:mod:`gtalign_sim.welfare.transforms`), re-select the cell, then let the
model continue the *same* reply from ``<analyze>…Choice: X</analyze><response>`` so the
response carries out the steered action.

:meth:`LLMAssistant.act_batch` sends all episodes' prompts of one turn as one batch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..backends import (
    BackendError,
    ChatBackend,
    ChatRequest,
    ChatResult,
    SamplingParams,
    build_backend,
)
from ..backends.template import MODES
from ..core.failures import EpisodeFailure
from ..protocol import PromptConfig, ProtocolError, build_instructions, infer_action, parse
from ..protocol.render import default_analysis
from ..users import encode_action
from .base import Decision
from .steering import STEERING

__all__ = ["BACKEND_ERROR_POLICIES", "FALLBACKS", "STEERING", "LLMAssistant", "verbosity_of"]

FALLBACKS: tuple[str, ...] = ("template", "direct", "raw")
BACKEND_ERROR_POLICIES: tuple[str, ...] = ("fail", "template", "direct")

_CELL = re.compile(r"\b(DQ|VQ)\b")


def verbosity_of(text: str) -> int:
    """Verbosity level of a response by its length: < 40 words concise, < 150 standard."""
    n = len(text.split())
    return 0 if n < 40 else (1 if n < 150 else 2)


def _backend(spec: Any) -> ChatBackend:
    if spec is None:
        return build_backend("template")
    if isinstance(spec, Mapping):
        params = dict(spec)
        return build_backend(str(params.pop("name", "template")), **params)
    if isinstance(spec, str):
        return build_backend(spec)
    return spec


class LLMAssistant:
    """A chat model playing the GTAlign protocol (see the module docstring).

    Args:
        backend: a ChatBackend, a backend name, or ``{"name": ..., **params}``.
        prompt: the four-block prompt's settings.
        max_tokens, temperature: sampling for the whole reply (the response stage of
            steering uses the rest of the budget).
        fallback: what to do with a reply that does not parse (:data:`FALLBACKS`).
        on_backend_error: what to do when the backend fails after its retries
            (:data:`BACKEND_ERROR_POLICIES`): ``fail`` the episode (default) or substitute
            the ``template``/``direct`` move, marked as a fallback.
        steering: :data:`STEERING`; ``none`` generates in one call.
        rule: selection rule used to re-select the cell when steering.
        world, population, n_particles: for the ``template`` fallback (a model-based
            GTAlign decision) and, with the template backend, the reply text itself.
    """

    name = "llm_gtalign"

    def __init__(
        self,
        backend: Any = None,
        prompt: PromptConfig | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        fallback: str = "template",
        on_backend_error: str = "fail",
        steering: str = "none",
        rule: str = "gtalign",
        world: Any = None,
        population: Any = None,
        n_particles: int = 8,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        if fallback not in FALLBACKS:
            raise ValueError(f"fallback {fallback!r} unknown; allowed: {list(FALLBACKS)}")
        if on_backend_error not in BACKEND_ERROR_POLICIES:
            raise ValueError(
                f"on_backend_error {on_backend_error!r} unknown; "
                f"allowed: {list(BACKEND_ERROR_POLICIES)}"
            )
        if steering not in STEERING:
            raise ValueError(f"steering {steering!r} unknown; allowed: {list(STEERING)}")
        from ..game import SELECTION_RULES
        from .model_based import GTAlignAssistant

        if rule not in SELECTION_RULES:
            raise ValueError(f"rule {rule!r} unknown; allowed: {list(SELECTION_RULES)}")
        self.backend = _backend(backend)
        self.prompt = prompt or PromptConfig()
        self.instructions = build_instructions(self.prompt)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.fallback = fallback
        self.on_backend_error = on_backend_error
        self.steering = steering
        self.rule = rule
        self.seed = int(seed)
        self._model = GTAlignAssistant(
            world=world, population=population, n_particles=n_particles, seed=seed, trace=True
        )
        if name is not None:
            self.name = name

    def reset(self, seed: int | None = None) -> None:
        """Reseed the fallback model."""
        if seed is not None:
            self.seed = int(seed)
        self._model.reset(seed)

    # ------------------------------------------------------------------ prompt
    def messages(self, info: Mapping[str, Any]) -> list[dict[str, str]]:
        """The chat for this turn: system, instructions + first question, then the
        conversation (the assistant's earlier *responses*, the user's replies)."""
        history = list(info.get("history") or [])
        if not history:
            raise ValueError("info['history'] must hold at least the user's question")
        msgs = [{"role": "system", "content": self.prompt.system_prompt}]
        first = history[0].text
        msgs.append({"role": "user", "content": f"{self.instructions}\n\nQuestion: {first}"})
        for t in history[1:]:
            msgs.append(
                {"role": "assistant" if t.role == "assistant" else "user", "content": t.text}
            )
        return msgs

    def _sampling(self, max_tokens: int, stop: tuple[str, ...] = ()) -> SamplingParams:
        return SamplingParams(
            max_tokens=max(1, max_tokens), temperature=self.temperature, stop=stop, seed=self.seed
        )

    # -------------------------------------------------------------------- act
    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Decision:
        """One move (a batch of one); raises :class:`EpisodeFailure` when it failed."""
        out = self.act_batch([observation], [info])[0]
        if isinstance(out, EpisodeFailure):
            raise out
        return out

    def act_batch(
        self, observations: Sequence[Mapping[str, Any]], infos: Sequence[Mapping[str, Any]]
    ) -> list[Decision | EpisodeFailure]:
        """Moves for several episodes, with one backend call per generation stage.

        One episode's failure does not fail the others: its entry is the
        :class:`EpisodeFailure` (not raised), for the caller to fail that episode with
        (:meth:`~gtalign_sim.envs.ClarificationGameEnv.fail`).
        """
        if getattr(self.backend, "name", "") == "template":
            template_texts = [
                self._template_reply(o, i) for o, i in zip(observations, infos, strict=True)
            ]
        else:  # a real model writes the reply; no template text needed
            template_texts = [""] * len(infos)
        base = [self.messages(i) for i in infos]
        if self.steering == "none":
            reqs = [
                ChatRequest(
                    messages=tuple(m),
                    sampling=self._sampling(self.max_tokens),
                    request_id=f"turn-{k}",
                    metadata={"template_text": t},
                )
                for k, (m, t) in enumerate(zip(base, template_texts, strict=True))
            ]
            results = self._generate(reqs)
            return [
                self._decide(res.text if res.ok else None, res, None, o, i, err=res.error)
                for res, o, i in zip(results, observations, infos, strict=True)
            ]
        # two-stage steering: stage 1 up to </payoff>
        reqs = [
            ChatRequest(
                messages=tuple(m),
                sampling=self._sampling(self.max_tokens, stop=("</payoff>",)),
                request_id=f"stage1-{k}",
                metadata={"template_text": t},
            )
            for k, (m, t) in enumerate(zip(base, template_texts, strict=True))
        ]
        stage1 = self._generate(reqs)
        prefixes: list[str | None] = []
        steer_notes: list[dict[str, Any]] = []
        for res, info in zip(stage1, infos, strict=True):
            prefix, note = self._steer(res.text if res.ok else None, info)
            prefixes.append(prefix)
            steer_notes.append(note)
        cont = [
            (
                k,
                ChatRequest(
                    messages=(*base[k], {"role": "assistant", "content": prefixes[k]}),
                    sampling=self._sampling(
                        self.max_tokens - stage1[k].completion_tokens, stop=("</response>",)
                    ),
                    continue_final=True,
                    request_id=f"stage2-{k}",
                    metadata={"template_text": _after_response_tag(template_texts[k])},
                ),
            )
            for k in range(len(infos))
            if prefixes[k] is not None
        ]
        stage2 = (
            dict(
                zip(
                    [k for k, _ in cont],
                    self._generate([r for _, r in cont]),
                    strict=True,
                )
            )
            if cont
            else {}
        )
        out: list[Decision | EpisodeFailure] = []
        for k, (o, i) in enumerate(zip(observations, infos, strict=True)):
            if prefixes[k] is None or not stage2[k].ok:
                err = stage1[k].error or (stage2[k].error if k in stage2 else None)
                out.append(self._decide(None, stage1[k], steer_notes[k], o, i, err=err))
                continue
            full = prefixes[k] + stage2[k].text.strip() + "\n</response>"
            usage = _Usage(
                stage1[k].prompt_tokens + stage2[k].prompt_tokens,
                stage1[k].completion_tokens + stage2[k].completion_tokens,
            )
            out.append(self._decide(full, usage, steer_notes[k], o, i))
        return out

    # ---------------------------------------------------------------- helpers
    def _generate(self, reqs: Sequence[ChatRequest]) -> list[ChatResult]:
        """The backend's results; a backend that raises fails every request of the batch
        (reason ``backend``) rather than the whole rollout."""
        try:
            return list(self.backend.generate(list(reqs), raise_on_error=False))
        except Exception as exc:
            err = BackendError(f"backend raised {type(exc).__name__}: {exc}", reason="backend")
            return [ChatResult("", "error", request_id=r.request_id, error=err) for r in reqs]

    def _template_reply(self, observation: Mapping[str, Any], info: Mapping[str, Any]) -> str:
        """What the model-based GTAlign assistant would write (the template backend's text)."""
        d = self._model.act(observation, info)
        return d.trace or ""

    def _steer(
        self, text: str | None, info: Mapping[str, Any]
    ) -> tuple[str | None, dict[str, Any]]:
        """Parse stage 1's payoff, transform it for the pricing plan, re-select the cell,
        and return the prefix to continue (ending with ``<response>``)."""
        from ..protocol import parse_payoff
        from .steering import steer_matrix

        note: dict[str, Any] = {"steering": self.steering}
        if text is None:
            note["error"] = "stage 1 failed"
            return None, note
        text = text.rstrip()
        if "<payoff>" not in text:
            note["error"] = "no <payoff> block in stage 1"
            return None, note
        body = text.split("<payoff>", 1)[1]
        try:
            matrix = parse_payoff(body)
        except ProtocolError as exc:
            note["error"] = f"stage 1 payoff: {exc}"
            return None, note
        pricing = str(info.get("pricing", "subscription"))
        # the world's own prices and money rate; the reference transform's output is
        # rounded as the model would write it
        decimals = 1 if self.steering == "reference" else None
        steered = steer_matrix(matrix, self.steering, pricing, self._model.world, None, decimals)
        thinking = text.split("<payoff>", 1)[0]
        strategies = _CELL.findall(thinking)
        row = strategies[0] if strategies else None
        before = matrix.select(self.rule, user_strategy=row)
        after = steered.select(self.rule, user_strategy=row)
        note.update(before="_".join(before), after="_".join(after), changed=before != after)
        analysis = default_analysis(steered, tuple(after))
        prefix = f"{text}\n</payoff>\n<analyze>\n{analysis}\n</analyze>\n<response>\n"
        return prefix, note

    def _decide(
        self,
        text: str | None,
        usage: Any,
        steer: dict[str, Any] | None,
        observation: Mapping[str, Any],
        info: Mapping[str, Any],
        err: Any = None,
    ) -> Decision | EpisodeFailure:
        """The move for one reply: the model's, a marked fallback, or the episode's failure.

        ``text`` is ``None`` when there is no reply to parse: ``err`` set means the backend
        failed (``on_backend_error`` applies), otherwise stage 1 of steering did not
        parse (``fallback`` applies, the reason in ``steer["error"]``).
        """
        estimates: dict[str, Any] = {
            "billed_prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
            "billed_completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        }
        if steer is not None:
            estimates["steering"] = steer
        if text is None and err is not None:
            reason = str(getattr(err, "reason", None) or "backend")
            if self.on_backend_error == "fail":
                return EpisodeFailure("assistant_backend", reason, str(err))
            estimates.update(
                format_score=0.0,
                decided_by="fallback",
                fallback=self.on_backend_error,
                fallback_reason=f"backend_error:{reason}",
                backend_error=str(err)[:500],
            )
            return self._fallback(self.on_backend_error, text, estimates, observation, info)
        parsed = None
        why = None
        if text is None:
            why = f"protocol: {(steer or {}).get('error', 'no reply')}"
        else:
            try:
                parsed = parse(
                    text,
                    user_strategies=self.prompt.user_strategies,
                    assistant_actions=self.prompt.assistant_actions,
                )
            except ProtocolError as exc:
                why = f"protocol: {exc}"
        if parsed is None or not parsed.response.strip():
            estimates.update(
                format_score=0.0,
                parse_error=why or "empty <response>",
                decided_by="fallback",
                fallback=self.fallback,
                fallback_reason="parse_error",
            )
            return self._fallback(self.fallback, text, estimates, observation, info)
        mode = parsed.response_action or (parsed.chosen_cell[1] if parsed.chosen_cell else "DA")
        if mode not in MODES:
            mode = "DA"
        estimates.update(
            format_score=parsed.format_score,
            chosen_cell="_".join(parsed.chosen_cell) if parsed.chosen_cell else None,
            response_action=parsed.response_action,
            decided_by="model",
        )
        return Decision(
            encode_action(mode, verbosity_of(parsed.response)),
            text=parsed.response,
            payoff=parsed.matrix,
            trace=text,
            estimates=estimates,
        )

    def _fallback(
        self,
        kind: str,
        text: str | None,
        estimates: dict[str, Any],
        observation: Mapping[str, Any],
        info: Mapping[str, Any],
    ) -> Decision:
        """The move for a reply that does not parse (``template``: model-based GTAlign;
        ``direct``: a standard DA; ``raw``: the reply itself, as written, to the user)."""
        if kind == "raw":
            shown = text or ""
            mode = infer_action(shown, self.prompt.assistant_actions) or "DA"
            return Decision(
                encode_action(mode, verbosity_of(shown)),
                text=shown,
                trace=text,
                estimates=estimates,
            )
        if kind == "template":
            d = self._model.act(observation, info)
            return Decision(
                d.action,
                text=None,
                payoff=d.payoff,
                belief=d.belief,
                trace=text,
                estimates=estimates,
            )
        return Decision(encode_action("DA", 1), text=None, trace=text, estimates=estimates)


class _Usage:
    def __init__(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


def _after_response_tag(trace: str) -> str:
    """The part of a four-block text after ``<response>`` (the template's stage 2)."""
    return trace.split("<response>", 1)[1] if "<response>" in trace else trace
