"""The world model of the clarification game: outcomes, costs and welfare.

This module is the single source of truth for the game's mechanics. The PettingZoo
environment samples from it turn by turn (with real rendered text and a real judge),
and model-based assistants (GTAlign, the oracle) compute expectations with it. The
mechanics, with every default and its rationale, are in ``docs/model.md``; briefly:

* The user opens with a detailed (DQ) or vague (VQ) question. DQ states the intent and
  costs ``effort_detail``.
* Each assistant turn picks a mode (DA, CQ, AQ) and a verbosity (concise, standard,
  elaborate). An answer assumes the user's intent when it is known (DQ, or after any
  user reply) and the task's most likely reading otherwise; it is executed correctly
  with probability ``skill[difficulty] + verbosity_skill[v]``; the judge scores it
  against the real intent.
* A user whose answer quality reaches their ``satisfaction`` stops. Otherwise, while
  patience lasts, they reply — answering the clarifying question, answering the
  follow-up (cheaper), or correcting the answer — which reveals the intent.
* Money follows the pricing plan; reading costs follow tokens; answers far from the
  user's preferred length cost ``misfit``.

Welfare of an episode, each side normalised to [0, 1]:
``U = (Q_user − min(costs, C) + C) / (1 + C)`` with the user's costs (effort, time,
reading, money, length misfit) and ``C = user_cost_cap``;
``L = (s·Q_llm + f·format + clip(net money, −M, M) + M) / (s + f + 2M)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends.template import MODES, VERBOSITIES, TemplateRenderer
from ..welfare import count_tokens, get_pricing
from ..welfare.pricing import PricingPolicy, per_million

if TYPE_CHECKING:
    from ..tasks import Task

__all__ = [
    "N_ACTIONS",
    "TaskTables",
    "WorldConfig",
    "decode_action",
    "encode_action",
    "finalize_llm",
    "finalize_user",
    "length_misfit",
]

N_ACTIONS = len(MODES) * len(VERBOSITIES)
"""The assistant's action space: mode × verbosity, index ``mode * 3 + verbosity``."""


def encode_action(mode: str, verbosity: int) -> int:
    """Action index of ``(mode, verbosity)``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; allowed: {list(MODES)}")
    if verbosity not in range(len(VERBOSITIES)):
        raise ValueError(f"verbosity must be in 0..{len(VERBOSITIES) - 1}, got {verbosity!r}")
    return MODES.index(mode) * len(VERBOSITIES) + int(verbosity)


def decode_action(action: int) -> tuple[str, int]:
    """``(mode, verbosity)`` of an action index in ``0..N_ACTIONS-1``."""
    a = int(action)
    if not 0 <= a < N_ACTIONS:
        raise ValueError(f"action must be in 0..{N_ACTIONS - 1}, got {action!r}")
    return MODES[a // len(VERBOSITIES)], a % len(VERBOSITIES)


def _default_pricing() -> dict[str, dict[str, float]]:
    compute = {
        "compute_cost_per_input_token": per_million(0.8),
        "compute_cost_per_output_token": per_million(3.2),
    }
    return {
        "subscription": dict(compute),
        "per_token_api": {
            "price_per_input_token": per_million(2.5),
            "price_per_output_token": per_million(10.0),
            **compute,
        },
        "free": dict(compute),
    }


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of the game's mechanics (see ``docs/model.md`` for the rationale).

    Attributes:
        max_turns: assistant turns per episode at most (the horizon).
        skill: probability of executing an answer correctly, by task difficulty.
        verbosity_skill: added to ``skill`` for concise / standard / elaborate turns.
        followup_effort: answering an AQ follow-up costs this fraction of ``effort_answer``.
        redundant_question_cost: extra user cost of being asked what they already said.
        cue_dq, cue_vq: Beta parameters of the specificity cue of DQ and VQ messages.
        user_cost_cap: ``C``, the user's costs count up to this much.
        provider_success, provider_format: weights of answer quality and format in L.
        provider_money_value: the provider's welfare units per dollar.
        provider_money_cap: ``M``, the provider's net money counts within ``±M``.
        provider_error_cost: ``E``, reputation lost per wrong answer delivered (an answer
            the judge scores below 0.5 for the provider), even if corrected later.
        system_tokens: tokens of the system prompt billed as input every turn.
        pricing: plan name -> parameters of its :class:`~gtalign_sim.welfare.PricingPolicy`.
    """

    max_turns: int = 3
    skill: Mapping[str, float] = field(
        default_factory=lambda: {"easy": 0.95, "medium": 0.85, "hard": 0.70}
    )
    verbosity_skill: tuple[float, float, float] = (-0.04, 0.0, 0.02)
    followup_effort: float = 0.5
    redundant_question_cost: float = 0.05
    cue_dq: tuple[float, float] = (5.0, 2.0)
    cue_vq: tuple[float, float] = (2.0, 5.0)
    user_cost_cap: float = 1.0
    provider_success: float = 0.8
    provider_format: float = 0.2
    provider_money_value: float = 40.0
    provider_money_cap: float = 0.3
    provider_error_cost: float = 0.15
    system_tokens: int = 60
    pricing: Mapping[str, Mapping[str, float]] = field(default_factory=_default_pricing)

    def __post_init__(self) -> None:
        if int(self.max_turns) < 1:
            raise ValueError(f"WorldConfig.max_turns must be >= 1, got {self.max_turns!r}")
        for k, v in self.skill.items():
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"WorldConfig.skill[{k!r}] must be in [0, 1], got {v!r}")
        if len(self.verbosity_skill) != len(VERBOSITIES):
            raise ValueError(
                f"WorldConfig.verbosity_skill needs {len(VERBOSITIES)} values ({VERBOSITIES})"
            )
        for name in ("cue_dq", "cue_vq"):
            a, b = getattr(self, name)
            if a <= 0 or b <= 0:
                raise ValueError(f"WorldConfig.{name} Beta parameters must be > 0, got {(a, b)}")
        for name in (
            "followup_effort",
            "redundant_question_cost",
            "user_cost_cap",
            "provider_success",
            "provider_format",
            "provider_money_value",
            "provider_money_cap",
            "provider_error_cost",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"WorldConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.provider_success + self.provider_format + 2 * self.provider_money_cap <= 0:
            raise ValueError("WorldConfig: provider weights must not all be 0")
        for plan in self.pricing:
            self.policy(plan)  # validates names and parameters

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> WorldConfig:
        """Build from a mapping of field values (unknown fields raise, naming them)."""
        if not config:
            return cls()
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(f"unknown world parameter(s) {unknown}; allowed: {sorted(allowed)}")
        kwargs: dict[str, Any] = {}
        for k, v in config.items():
            if k in ("verbosity_skill", "cue_dq", "cue_vq"):
                v = tuple(float(x) for x in v)
            elif k == "skill":
                v = {str(a): float(b) for a, b in dict(v).items()}
            elif k == "pricing":
                merged = _default_pricing()
                for plan, params in dict(v).items():
                    merged[str(plan)] = {**merged.get(str(plan), {}), **dict(params or {})}
                v = merged
            kwargs[k] = v
        return cls(**kwargs)

    def policy(self, plan: str) -> PricingPolicy:
        """The pricing policy of ``plan`` with this world's parameters."""
        params = dict(self.pricing.get(plan, {}))
        return get_pricing(plan, **params)

    def p_correct(self, difficulty: str, verbosity: int) -> float:
        """Probability that an answer is executed correctly."""
        if difficulty not in self.skill:
            raise ValueError(f"unknown difficulty {difficulty!r}; allowed: {sorted(self.skill)}")
        return float(np.clip(self.skill[difficulty] + self.verbosity_skill[verbosity], 0.0, 1.0))

    def token_prices(self, plan: str) -> tuple[float, float, float, float]:
        """Marginal dollars per (input, output) token for the user, then the provider's net.

        Returns ``(user_in, user_out, provider_net_in, provider_net_out)``; the policies
        are linear in tokens, so these four numbers describe any turn.
        """
        pol = self.policy(plan)
        c_in = pol.marginal_cost(1.0, 0.0)
        c_out = pol.marginal_cost(0.0, 1.0)
        return (
            c_in.user_cost,
            c_out.user_cost,
            c_in.provider_revenue - c_in.provider_cost,
            c_out.provider_revenue - c_out.provider_cost,
        )


# ----------------------------------------------------------------- welfare


def length_misfit(words: Any, lo: Any, hi: Any, weight: Any) -> Any:
    """Cost of an answer of ``words`` words for a user preferring ``[lo, hi]``.

    0 inside the band; outside, ``weight`` times the relative distance to the band,
    capped at ``weight``. Vectorised.
    """
    words = np.asarray(words, dtype=float)
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    below = np.where(words < lo, (lo - words) / np.maximum(lo, 1.0), 0.0)
    above = np.where(words > hi, (words - hi) / np.maximum(hi, 1.0), 0.0)
    return np.asarray(weight, dtype=float) * np.minimum(below + above, 1.0)


USER_TERMS: tuple[str, ...] = ("quality", "effort", "time", "reading", "money", "misfit")
LLM_TERMS: tuple[str, ...] = ("quality", "format", "money")


def finalize_user(
    quality: Any,
    effort: Any,
    time: Any,
    reading: Any,
    money: Any,
    misfit: Any,
    cost_cap: float,
) -> tuple[Any, dict[str, Any]]:
    """The user's welfare ``U`` in [0, 1] and its additive terms (vectorised).

    ``U = (Q − min(costs, C) + C) / (1 + C)``; the returned terms (``baseline`` =
    ``C/(1+C)``, ``quality`` positive, each cost negative, scaled down together when
    the costs exceed ``C``) sum to ``U``.
    """
    costs = {
        "effort": np.asarray(effort, float),
        "time": np.asarray(time, float),
        "reading": np.asarray(reading, float),
        "money": np.asarray(money, float),
        "misfit": np.asarray(misfit, float),
    }
    total = sum(costs.values())
    shrink = np.where(total > cost_cap, cost_cap / np.maximum(total, 1e-12), 1.0)
    scale = 1.0 + cost_cap
    q = np.clip(np.asarray(quality, float), 0.0, 1.0)
    terms = {"baseline": np.full_like(q, cost_cap / scale), "quality": q / scale}
    for k, v in costs.items():
        terms[k] = -v * shrink / scale
    u = sum(terms.values())
    return np.clip(u, 0.0, 1.0), terms


def finalize_llm(
    quality: Any,
    format_score: Any,
    net_money: Any,
    config: WorldConfig,
    errors: Any = 0.0,
    revenue: Any = None,
) -> tuple[Any, dict[str, Any]]:
    """The provider's welfare ``L`` in [0, 1] and its terms (vectorised).

    ``L = (s·Q + f·format + clip(net, −M, M) − E·errors + M + E·T) / (s + f + 2M + E·T)``
    with ``T = max_turns`` (at most one error per turn); the terms sum to ``L``. When
    ``revenue`` (in the same units as ``net_money``) is given, the money term is split into
    ``revenue`` and ``compute`` (``net = revenue − compute``), both scaled by the clip.
    """
    s, f, m = config.provider_success, config.provider_format, config.provider_money_cap
    e_max = config.provider_error_cost * config.max_turns
    scale = s + f + 2 * m + e_max
    q = np.clip(np.asarray(quality, float), 0.0, 1.0)
    net = np.clip(np.asarray(net_money, float), -m, m)
    errs = np.clip(np.asarray(errors, float), 0.0, config.max_turns)
    terms = {
        "baseline": np.full_like(q, (m + e_max) / scale),
        "quality": s * q / scale,
        "format": f * np.asarray(format_score, float) / scale,
        "money": net / scale,
        "errors": -config.provider_error_cost * errs / scale,
    }
    if revenue is not None:
        raw = np.asarray(net_money, float)
        shrink = np.where(np.abs(raw) > 1e-15, net / np.where(raw == 0, 1.0, raw), 1.0)
        rev = np.asarray(revenue, float)
        money = terms.pop("money")
        terms["revenue"] = rev * shrink / scale
        terms["compute"] = money - terms["revenue"]
    return np.clip(sum(terms.values()), 0.0, 1.0), terms


# ------------------------------------------------------------- task tables


_TABLE_CACHE: dict[tuple[str, int, int], TaskTables] = {}


@dataclass
class TaskTables:
    """Everything the model needs about one task, computed by rendering and judging.

    Indices: ``a`` the assumed interpretation, ``v`` verbosity, ``ok`` whether the
    answer was executed correctly, ``t`` the true intent; interpretations are in task
    order. Because rendering is deterministic, these are exactly the token counts and
    judge scores the environment will produce.
    """

    task: Task
    default: int
    answer_tokens: np.ndarray  # (A, V, 2)
    answer_words: np.ndarray  # (A, V, 2)
    q_user: np.ndarray  # (A, V, 2, T)
    q_llm: np.ndarray  # (A, V, 2, T)
    aq_q_user: np.ndarray  # (A, V, 2, T): the judge on the AQ text (answer + follow-up)
    aq_q_llm: np.ndarray  # (A, V, 2, T)
    cq_tokens: np.ndarray  # (V,)
    followup_tokens: np.ndarray  # (A, V, 2): AQ total minus the answer
    followup_words: np.ndarray  # (A, V, 2)
    question_tokens: np.ndarray  # (2, T): DQ / VQ opening message
    reply_tokens: dict[str, np.ndarray]  # kind -> (T,)

    @classmethod
    def cached(cls, task: Task, renderer: TemplateRenderer | None = None) -> TaskTables:
        """:meth:`build`, memoised per (task, renderer variant) for the whole process."""
        key = (task.id, hash(task), renderer.variant if renderer else 0)
        hit = _TABLE_CACHE.get(key)
        if hit is None:
            hit = cls.build(task, renderer)
            _TABLE_CACHE[key] = hit
            if len(_TABLE_CACHE) > 8192:
                _TABLE_CACHE.pop(next(iter(_TABLE_CACHE)))
        return hit

    @classmethod
    def build(cls, task: Task, renderer: TemplateRenderer | None = None) -> TaskTables:
        """Render every answer variant once and judge it against every intent.

        The model uses the family's *rule-based* judge (what model-based assistants
        assume), whatever judge is registered for the run.
        """
        from ..tasks.judges import RULE_JUDGES

        rule_judge = RULE_JUDGES[task.family]

        def judge_response(task: Task, intent: str, text: str) -> Any:
            return rule_judge.judge(task, intent, text)

        renderer = renderer or TemplateRenderer()
        ids = [it.id for it in task.interpretations]
        n, nv = len(ids), len(VERBOSITIES)
        tok = np.zeros((n, nv, 2))
        words = np.zeros((n, nv, 2))
        qu = np.zeros((n, nv, 2, n))
        ql = np.zeros((n, nv, 2, n))
        aqu = np.zeros((n, nv, 2, n))
        aql = np.zeros((n, nv, 2, n))
        fu = np.zeros((n, nv, 2))
        fw = np.zeros((n, nv, 2))
        for a, aid in enumerate(ids):
            for v in range(nv):
                for ok in (0, 1):
                    text = renderer.assistant_turn(task, "DA", v, aid, bool(ok))
                    tok[a, v, ok] = count_tokens(text)
                    words[a, v, ok] = len(text.split())
                    aq = renderer.assistant_turn(task, "AQ", v, aid, bool(ok))
                    fu[a, v, ok] = max(count_tokens(aq) - tok[a, v, ok], 0)
                    fw[a, v, ok] = max(len(aq.split()) - words[a, v, ok], 0)
                    for t, tid in enumerate(ids):
                        j = judge_response(task, tid, text)
                        qu[a, v, ok, t] = j.q_user
                        ql[a, v, ok, t] = j.q_llm
                        j = judge_response(task, tid, aq)
                        aqu[a, v, ok, t] = j.q_user
                        aql[a, v, ok, t] = j.q_llm
        cq = np.array(
            [count_tokens(renderer.assistant_turn(task, "CQ", v, ids[0])) for v in range(nv)],
            dtype=float,
        )
        qt = np.array(
            [
                [count_tokens(renderer.user_question(task, s, tid)) for tid in ids]
                for s in ("DQ", "VQ")
            ],
            dtype=float,
        )
        replies = {
            kind: np.array(
                [count_tokens(renderer.user_reply(task, tid, kind)) for tid in ids], float
            )
            for kind in ("clarify", "redundant", "followup", "correct_intent", "retry")
        }
        default = ids.index(task.most_likely().id)
        return cls(task, default, tok, words, qu, ql, aqu, aql, cq, fu, fw, qt, replies)

    @cached_property
    def n_intents(self) -> int:
        """Number of interpretations."""
        return len(self.task.interpretations)
