"""Data synthesis: a planner plays the simulator and writes four-block SFT traces.

A planner (:data:`PLANNERS`: ``gtalign`` — :class:`~gtalign_sim.agents.GTAlignAssistant`,
the default — ``gtalign_cd`` or the privileged ``oracle``) plays
:class:`~gtalign_sim.envs.ClarificationGameEnv` on episode seeds derived from the run seed.
Every assistant turn becomes one example (``"recover"`` below leaves wrong answers out):

* ``prompt`` — exactly the chat the LLM assistant is shown at that turn
  (:meth:`gtalign_sim.agents.llm.LLMAssistant.messages` on the env's public info);
* ``completion`` — one assistant message, a strict four-block reply written by
  :func:`gtalign_sim.protocol.render`: the planner's own payoff matrix (rounded to one
  decimal) in ``<payoff>``, the kept cell (observed question type, kept action's mode) in
  ``<analyze>``, and the response text the env renders for the kept action.

**Response text** (``response``): ``"correct"`` (default) is the env's template text for
the action with a correct outcome (the reading it assumes is the one the env assumes: the
user's once stated, else the most likely), handed to the env as the assistant's own text
— the way an LLM assistant's reply reaches the env, so later prompts show it and the
judge scores it. ``"played"`` lets the env render the action with its own outcome draw
(a wrong answer with probability ``1 - p_correct``) and copies that text. ``"recover"``
plays like ``"played"`` (wrong answers happen, and the user's repair turns follow them) but
writes no example for a turn whose text is not the correct one: the model sees repairs
after wrong answers in its later prompts and learns the correct reply to them, never the
wrong answer itself. A kept turn's text then equals ``"correct"``'s.

**Best-of-N** (``n_candidates`` = N): at each turn the candidates are the planner's action,
then the other modes at its verbosity, then the remaining actions in index order (first N).
Each is played out from the *same state*: the running env is deep-copied at the decision
point (same task, hidden user, drawn outcome uniforms and user RNG state: common random
numbers), the candidate is played, and the planner finishes the episode in the copy. The
candidate with the highest measured episode ``mutual_welfare`` √(U⁺·L⁺) is kept (ties: the
earlier candidate, so the planner's own action wins ties); the main episode then goes on
with it. A candidate whose playout fails has no welfare and is never kept.

Everything but :func:`to_dataset` runs without the ``train`` extra.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...agents import Decision, build_assistant, past_actions
from ...agents.model_based import to_payoff_scale
from ...core.vocab import MODES, N_ACTIONS, VERBOSITIES, decode_action, encode_action
from ...envs.clarification import ClarificationGameEnv
from ...envs.rollout import assistant_info, episode_seeds
from ...game import PayoffMatrix
from ...protocol import PromptConfig, ProtocolError, parse, render

__all__ = [
    "PLANNERS",
    "RESPONSES",
    "SynthesisConfig",
    "candidate_actions",
    "planner_matrix",
    "playout_welfare",
    "synthesize",
    "synthesize_dataset",
    "to_dataset",
]

PLANNERS: tuple[str, ...] = ("gtalign", "gtalign_cd", "oracle")
"""Planners that can write traces (built-in assistant names)."""

RESPONSES: tuple[str, ...] = ("correct", "played", "recover")
"""Where the ``<response>`` text comes from (see the module docstring)."""


@dataclass(frozen=True)
class SynthesisConfig:
    """What to synthesize.

    Attributes:
        n_episodes: Episodes to play (each gives one example per assistant turn).
        seed: Run seed; episode seeds derive from it (``SeedSequence``).
        planner: One of :data:`PLANNERS`.
        n_candidates: Best-of-N's N, 1 to 9 (1: the planner's own action, no playouts).
        response: One of :data:`RESPONSES`.
        n_particles: The planner's particle count (``None``: its default).
        env: Keyword arguments of :class:`~gtalign_sim.envs.ClarificationGameEnv`.
        prompt: The prompt's settings (default :class:`~gtalign_sim.protocol.PromptConfig`).
    """

    n_episodes: int = 32
    seed: int = 0
    planner: str = "gtalign"
    n_candidates: int = 3
    response: str = "correct"
    n_particles: int | None = None
    env: Mapping[str, Any] = field(default_factory=dict)
    prompt: PromptConfig | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n_episodes, bool) or not isinstance(self.n_episodes, int):
            raise ValueError(f"n_episodes must be an int >= 1, got {self.n_episodes!r}")
        if self.n_episodes < 1:
            raise ValueError(f"n_episodes must be an int >= 1, got {self.n_episodes!r}")
        if self.planner not in PLANNERS:
            raise ValueError(f"planner {self.planner!r} unknown; allowed: {list(PLANNERS)}")
        if isinstance(self.n_candidates, bool) or self.n_candidates not in range(1, N_ACTIONS + 1):
            raise ValueError(
                f"n_candidates must be an int in 1..{N_ACTIONS}, got {self.n_candidates!r}"
            )
        if self.response not in RESPONSES:
            raise ValueError(f"response {self.response!r} unknown; allowed: {list(RESPONSES)}")
        if not isinstance(self.env, Mapping):
            raise ValueError(f"env must be a mapping of env keyword arguments, got {self.env!r}")
        if self.env.get("user_policy", "simulator") != "simulator":
            raise ValueError("env.user_policy must be 'simulator' (the simulated user replies)")
        if self.n_particles is not None and (
            isinstance(self.n_particles, bool) or int(self.n_particles) < 1
        ):
            raise ValueError(f"n_particles must be None or an int >= 1, got {self.n_particles!r}")


def candidate_actions(action: int, n: int) -> list[int]:
    """Best-of-N's candidates: ``action``, the other modes at its verbosity, then the
    remaining actions in index order; the first ``n`` (1 to 9)."""
    if n not in range(1, N_ACTIONS + 1):
        raise ValueError(f"n must be in 1..{N_ACTIONS}, got {n!r}")
    mode, v = decode_action(int(action))
    order = [int(action)] + [encode_action(m, v) for m in MODES if m != mode]
    order += [a for a in range(N_ACTIONS) if a not in order]
    return order[:n]


def planner_matrix(planner: Any, decision: Decision, info: Mapping[str, Any]) -> PayoffMatrix:
    """The planner's own payoff matrix (rows DQ/VQ, columns DA/CQ/AQ, payoff scale).

    A planner that reports one (GTAlign) gives its ``decision.payoff``. An exact planner
    (the oracle) reports none; its matrix is its own planner's expected gains ``(U, L)`` of
    each (question type, mode) — the mode now at the decision's verbosity, then its best
    plan — under its model of the users (unconditioned on the observed type, so both rows
    are estimates; a row the history rules out copies the other).
    """
    if decision.payoff is not None:
        return decision.payoff
    plan = planner.planner(info, objective=planner.objective, condition=False)
    values, mass = plan.action_values(past_actions(info), plan.rows.strategy, 2, None)
    uv = np.array(values[..., 1:], float)  # (2 strategies, 9 actions, (U, L))
    for s in (0, 1):
        if mass[s] <= 0 or np.isnan(uv[s]).all():
            uv[s] = uv[1 - s]
    v = decode_action(int(decision.action))[1]
    cells = uv[:, [encode_action(m, v) for m in MODES]]
    return PayoffMatrix(user=to_payoff_scale(cells[..., 0]), llm=to_payoff_scale(cells[..., 1]))


def _memo(env: ClarificationGameEnv) -> dict[int, Any]:
    """Objects a deep copy of the env shares instead of copying (never mutated by play)."""
    return {id(o): o for o in (env.tasks, env.world, env.population, env.renderer)}


def _response_text(env: ClarificationGameEnv, action: int) -> str:
    """The env's template text for ``action`` with a correct outcome."""
    mode, v = decode_action(int(action))
    assumed = env.profile.intent if env.user_sim.state.intent_stated else env.task.most_likely().id
    return env.renderer.assistant_turn(env.task, mode, v, assumed, True)


def _step(env: ClarificationGameEnv, action: int, response: str) -> str:
    """Play ``action`` for the assistant; returns the response text the env recorded
    (``"correct"``: the correct text; ``"played"``/``"recover"``: the env's own draw)."""
    n = len(env.history)
    if response == "correct":
        env.step(Decision(int(action), text=_response_text(env, action)))
    else:
        env.step(Decision(int(action)))
    return env.history[n].text


def _finish_with(env: ClarificationGameEnv, planner: Any, response: str) -> None:
    """Let ``planner`` play the running episode to its end."""
    while not env.episode:
        info = env.infos["assistant"]
        d = planner.act(env.observe("assistant"), assistant_info(env, planner, info))
        _step(env, d.action, response)


def playout_welfare(
    env: ClarificationGameEnv, planner: Any, action: int, response: str = "correct"
) -> float | None:
    """Measured ``mutual_welfare`` of playing ``action`` now and ``planner`` afterwards,
    in a deep copy of ``env`` (same state and random numbers); ``None`` if it failed."""
    sim = copy.deepcopy(env, _memo(env))
    _step(sim, action, response)
    _finish_with(sim, planner, response)
    w = sim.episode.get("mutual_welfare")
    return None if w is None else float(w)


def _build_planner(config: SynthesisConfig, env: ClarificationGameEnv) -> Any:
    kwargs: dict[str, Any] = {"world": env.world, "population": env.population}
    if config.n_particles is not None:
        kwargs["n_particles"] = int(config.n_particles)
    planner = build_assistant(config.planner, **kwargs)
    planner.reset(config.seed)
    return planner


def synthesize(config: SynthesisConfig | None = None) -> list[dict[str, Any]]:
    """Play the episodes and return one example (a plain dict) per assistant turn (with
    ``response="recover"``, none for a turn that gave a wrong answer).

    Keys: ``prompt`` (chat messages), ``completion`` (one assistant message), ``task_id``,
    ``task`` (the task as JSON, for the reward's judge), ``intent`` (the user's hidden
    reading, for the judge only), ``family``, ``question_type``, ``pricing``,
    ``episode``, ``seed``, ``turn``, ``action`` (kept), ``planner_action``,
    ``candidates``, ``candidate_welfare`` (measured, per candidate; ``None`` = failed
    playout; empty when N = 1) and ``episode_welfare`` (the played episode's
    ``mutual_welfare``). Raises ``RuntimeError`` if a completion does not parse.
    """
    from ...agents.llm import LLMAssistant

    config = config or SynthesisConfig()
    env = ClarificationGameEnv(**dict(config.env))
    planner = _build_planner(config, env)
    prompt = config.prompt or PromptConfig()
    writer = LLMAssistant(backend="template", prompt=prompt)
    out: list[dict[str, Any]] = []
    for k, seed in enumerate(episode_seeds(config.seed, config.n_episodes)):
        env.reset(seed=seed)
        rows: list[dict[str, Any]] = []
        while not env.episode:
            info = env.infos["assistant"]
            pinfo = assistant_info(env, planner, info)
            decision = planner.act(env.observe("assistant"), pinfo)
            matrix = planner_matrix(planner, decision, pinfo).rounded(prompt.decimals)
            cands = candidate_actions(decision.action, config.n_candidates)
            welfare: list[float | None] = []
            kept = int(decision.action)
            if len(cands) > 1:
                welfare = [playout_welfare(env, planner, a, config.response) for a in cands]
                scored = [(w, -i) for i, w in enumerate(welfare) if w is not None]
                if not scored:
                    raise RuntimeError(f"episode {k}: every best-of-N playout failed")
                kept = cands[-max(scored)[1]]
            messages = writer.messages(info)
            turn = int(env.turn)
            recover = config.response == "recover"
            expected = _response_text(env, kept) if recover else None
            text = _step(env, kept, config.response)
            if recover and text != expected:
                continue  # a wrong answer: played (later prompts show it), not taught
            strategy = str(info["question_type"])
            completion = render(matrix, (strategy, decode_action(kept)[0]), text)
            try:
                parse(
                    completion,
                    user_strategies=prompt.user_strategies,
                    assistant_actions=prompt.assistant_actions,
                )
            except ProtocolError as exc:
                msg = f"episode {k} turn {turn}: completion does not parse: {exc}"
                raise RuntimeError(msg) from exc
            rows.append(
                {
                    "prompt": messages,
                    "completion": [{"role": "assistant", "content": completion}],
                    "task_id": env.task.id,
                    "task": json.dumps(env.task.to_dict(), sort_keys=True),
                    "intent": env.profile.intent,
                    "family": env.task.family,
                    "question_type": strategy,
                    "pricing": env.profile.pricing,
                    "episode": k,
                    "seed": int(seed),
                    "turn": turn,
                    "action": kept,
                    "verbosity": VERBOSITIES[decode_action(kept)[1]],
                    "planner_action": int(decision.action),
                    "candidates": cands,
                    "candidate_welfare": welfare,
                }
            )
        final = env.episode.get("mutual_welfare")
        for r in rows:
            r["episode_welfare"] = None if final is None else float(final)
        out.extend(rows)
    return out


def to_dataset(examples: list[dict[str, Any]]) -> Any:
    """The examples as a ``datasets.Dataset`` (TRL's conversational prompt/completion)."""
    from datasets import Dataset

    if not examples:
        raise ValueError("examples must not be empty")
    return Dataset.from_list(examples)


def synthesize_dataset(config: SynthesisConfig | None = None) -> Any:
    """:func:`synthesize` then :func:`to_dataset`."""
    return to_dataset(synthesize(config))
