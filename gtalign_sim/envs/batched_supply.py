"""What the batched engine plays: stacked task tables and episode starts.

:class:`StackedTables` stacks the :class:`~gtalign_sim.users.TaskTables` of a task bank
(the token counts and judge scores the environment produces, rendered and judged once)
into flat arrays, so one fancy index gathers a turn's facts for every episode at once.

:class:`Starts` holds what ``reset`` draws for each episode: task, intent, hidden profile,
pricing plan, the opening strategy and the per-turn outcome uniforms. Two sources:

* :func:`draw_starts` — the fast path: every draw from one ``numpy.random.Generator``
  (same distributions as the AEC env, not the same numbers); the strategy comes from the
  users' own choice model, vectorised over episodes by :func:`vague_probabilities`.
* the engine's replay mode — the AEC env's own draws for given per-episode seeds
  (:meth:`~gtalign_sim.envs.batched.BatchedClarificationEngine.reset`).

:func:`play_turn` is one assistant turn and the user's response on arrays of episodes;
the engine's ``step`` and the users' choice model (:func:`strategy_values`) both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..core import rules
from ..core.vocab import (
    DIFFICULTIES,
    FAMILIES,
    MODES,
    N_ACTIONS,
    PRICING_PLANS,
    REPLY_KINDS,
    STRATEGIES,
    VERBOSITIES,
    Family,
    Mode,
    StopCode,
    Verbosity,
    encode_action,
)
from ..core.world import PriceRates, WorldConfig
from ..users import ParametricUser, TaskTables, UserPopulation

__all__ = [
    "PROFILE_COLUMNS",
    "StackedTables",
    "Starts",
    "draw_starts",
    "episode_view",
    "play_turn",
    "strategy_values",
    "vague_probabilities",
]

_TURN_COLUMNS: tuple[str, ...] = (  # what a turn reads of the profile
    *("patience", "effort_answer", "time_cost", "reading_cost", "money_value"),
    *("band_lo", "band_hi", "satisfaction"),
)
PROFILE_COLUMNS: tuple[str, ...] = (
    *_TURN_COLUMNS,
    *("effort_detail", "misfit_cost", "vague_bias", "rationality"),
)
"""The hidden profile's numeric fields, one array each (``length_band`` split in two)."""

_V = len(VERBOSITIES)
_CQ = MODES.index(Mode.CQ.value)
_AQ = MODES.index(Mode.AQ.value)
_STD = int(Verbosity.STANDARD)
_CONTINUE = int(StopCode.CONTINUE)
_GAVE_UP = int(StopCode.GAVE_UP)
THEN = encode_action(Mode.DA.value, _STD)
"""The users' model of the assistant after its opening: it answers directly, standard
verbosity (as in :func:`gtalign_sim.users.strategy_values`)."""


class StackedTables:
    """The :class:`~gtalign_sim.users.TaskTables` of ``tasks`` as flat arrays.

    A turn's facts are at ``key = ((task · T + assumed) · 9 + action) · 2 + ok`` (``T``
    the most intents of any task, ``ok`` 1 for a correctly executed answer): ``visible``
    tokens and ``words`` of the turn's text, and at ``key · T + intent`` the judge's
    ``q_user`` / ``q_llm`` against the true intent. The mapping is the environment's
    rendering: CQ is the clarifying question (unjudged, score 0), DA the answer, AQ the
    answer plus its follow-up judged as one text.
    """

    def __init__(self, tasks: Sequence[Any], world: WorldConfig) -> None:
        self.tasks = tuple(tasks)
        if not self.tasks:
            raise ValueError("tasks must hold at least one task")
        tabs = [TaskTables.cached(t) for t in self.tasks]
        m = len(tabs)
        n_t = max(tb.n_intents for tb in tabs)
        self.n_intents_max = n_t
        self.index = {t.id: i for i, t in enumerate(self.tasks)}
        vis = np.zeros((m, n_t, len(MODES), _V, 2))
        words = np.zeros_like(vis)
        q_u = np.zeros((*vis.shape, n_t))
        q_l = np.zeros_like(q_u)
        question = np.zeros((m, len(STRATEGIES), n_t))
        reply = np.zeros((m, len(REPLY_KINDS), n_t))
        std_tokens = np.zeros((m, n_t))
        cdf = np.ones((m, n_t))
        for i, tb in enumerate(tabs):
            k = tb.n_intents
            vis[i, :k, _CQ] = tb.cq_tokens[None, :, None]
            for mode, extra in ((0, 0.0), (_AQ, 1.0)):
                vis[i, :k, mode] = tb.answer_tokens + extra * tb.followup_tokens
                words[i, :k, mode] = tb.answer_words + extra * tb.followup_words
            q_u[i, :k, 0, :, :, :k] = tb.q_user
            q_l[i, :k, 0, :, :, :k] = tb.q_llm
            q_u[i, :k, _AQ, :, :, :k] = tb.aq_q_user
            q_l[i, :k, _AQ, :, :, :k] = tb.aq_q_llm
            question[i, :, :k] = tb.question_tokens
            reply[i, :, :k] = tb.reply_tokens
            std_tokens[i, :k] = tb.answer_tokens[:, _STD, 1]
            cum = np.cumsum([it.prior for it in tb.task.interpretations], dtype=float)
            cdf[i, :k] = cum / cum[-1]  # ends in exactly 1, as numpy's choice
        self.visible = vis.reshape(-1)
        self.words = words.reshape(-1)
        self.q_user = q_u.reshape(-1)
        self.q_llm = q_l.reshape(-1)
        self.question = question.reshape(-1)
        self.reply = reply.reshape(-1)
        self.std_tokens = std_tokens.reshape(-1)
        self.intent_cdf = cdf
        self.default = np.array([tb.default for tb in tabs])
        self.unambiguous = np.array([not t.ambiguous for t in self.tasks])
        self.judged_length = np.array([t.family != Family.WRITING.value for t in self.tasks])
        self.difficulty = np.array([DIFFICULTIES.index(t.difficulty) for t in self.tasks])
        self.family = np.array([FAMILIES.index(t.family) for t in self.tasks])
        self.ambiguity = np.array(
            [1.0 - max(it.prior for it in t.interpretations) for t in self.tasks]
        )
        self.p_ok = np.array(
            [[world.p_correct(t.difficulty, v) for v in range(_V)] for t in self.tasks]
        )

    def __len__(self) -> int:
        return len(self.tasks)

    def turn_key(self, task: np.ndarray, assumed: np.ndarray, action: np.ndarray, ok: Any) -> Any:
        """Flat index of a turn's facts (see the class docstring)."""
        return ((task * self.n_intents_max + assumed) * N_ACTIONS + action) * 2 + ok


def play_turn(
    tables: StackedTables,
    world: WorldConfig,
    user: ParametricUser,
    led: rules.Ledger,
    ep: Mapping[str, np.ndarray],
    action: np.ndarray,
    ok: np.ndarray,
    decide: Callable[[rules.Ledger, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[rules.Ledger, np.ndarray, np.ndarray]:
    """One assistant turn and the user's response, for arrays of episodes.

    ``ep`` holds each episode's ``task``, ``intent``, profile columns, ``misfit`` (the
    misfit cost, 0 on writing tasks: ``judged_length=False``) and ``rates`` (a
    :class:`PriceRates` of arrays); ``ok`` whether an answer is executed correctly.
    The rules: :func:`rules.account_turn`, then where the user may go on
    :func:`rules.reply_kind`, :func:`rules.reply_decision`, the user's own
    ``decide_continue`` and :func:`rules.account_reply`. Returns the ledger after the
    turn (and the reply, where the user replied), the stop code (``CONTINUE`` where the
    user replied, ``GAVE_UP`` where it declined) and the reply's tokens.

    ``decide(ledger, going, q_user)`` replaces the user's ``decide_continue`` (a learning
    user): it gets the ledger after the turn, where the rules let the user go on and the
    turn's judged ``Q_user``, and returns whether each user replies.
    """
    t, task, intent = tables, ep["task"], ep["intent"]
    mode = action // len(VERBOSITIES)
    assumed = np.where(led.known, intent, t.default[task])
    key = t.turn_key(task, assumed, action, ok)
    visible = t.visible[key]
    qk = key * t.n_intents_max + intent
    led1, code = rules.account_turn(
        led,
        mode=mode,
        prompt=world.system_tokens + led.ctx,
        completion=visible + world.reasoning_tokens,
        visible=visible,
        words=t.words[key],
        q_user=t.q_user[qk],
        q_llm=t.q_llm[qk],
        reading_cost=ep["reading_cost"],
        money_value=ep["money_value"],
        band_lo=ep["band_lo"],
        band_hi=ep["band_hi"],
        misfit_cost=ep["misfit"],
        satisfaction=ep["satisfaction"],
        patience=ep["patience"],
        rates=ep["rates"],
        world=world,
    )
    kind = rules.reply_kind(mode, led1.known)
    reply_tokens = t.reply[(task * len(REPLY_KINDS) + kind) * t.n_intents_max + intent]
    gain, cost = rules.reply_decision(
        led1,
        kind,
        p_standard=t.p_ok[task, _STD],
        answer_tokens=t.std_tokens[task * t.n_intents_max + intent],
        reply_tokens=reply_tokens,
        effort_answer=ep["effort_answer"],
        time_cost=ep["time_cost"],
        reading_cost=ep["reading_cost"],
        money_value=ep["money_value"],
        rates=ep["rates"],
        world=world,
    )
    going = code == _CONTINUE
    if decide is None:
        wants = user.decide_continue(gain, cost)
    else:
        wants = decide(led1, going, t.q_user[qk])
    go = going & np.asarray(wants, dtype=bool)
    led2 = rules.account_reply(
        led1,
        kind,
        effort_answer=ep["effort_answer"],
        time_cost=ep["time_cost"],
        reply_tokens=reply_tokens,
        world=world,
    )
    merged = {}
    for f in fields(rules.Ledger):  # a reply changes only some fields
        before, after = getattr(led1, f.name), getattr(led2, f.name)
        merged[f.name] = before if after is before else np.where(go, after, before)
    out = rules.Ledger(**merged)
    return out, np.where(going & ~go, _GAVE_UP, code), reply_tokens


@dataclass
class Starts:
    """Episode starts, one entry per episode (``cols``: :data:`PROFILE_COLUMNS`).

    ``pricing`` indexes :data:`~gtalign_sim.core.vocab.PRICING_PLANS`, ``persona`` the
    population's personas, ``strategy`` 0 = DQ, 1 = VQ; ``uniforms[:, k]`` decides whether
    the answer at assistant turn ``k`` is executed correctly (``u < p_correct``).
    """

    task: np.ndarray
    intent: np.ndarray
    pricing: np.ndarray
    persona: np.ndarray
    strategy: np.ndarray
    uniforms: np.ndarray
    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.task)

    def take(self, idx: Any) -> Starts:
        """The starts at ``idx``."""
        kw = {f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name != "cols"}
        return Starts(cols={k: v[idx] for k, v in self.cols.items()}, **kw)

    @staticmethod
    def concat(parts: Sequence[Starts]) -> Starts:
        """The starts of ``parts``, in order."""
        kw = {
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields(Starts)
            if f.name != "cols"
        }
        cols = {k: np.concatenate([p.cols[k] for p in parts]) for k in parts[0].cols}
        return Starts(cols=cols, **kw)


def _categorical(rng: np.random.Generator, cdf: np.ndarray) -> np.ndarray:
    """One draw per row of ``cdf`` (rows of cumulative probabilities ending in 1)."""
    u = rng.random(cdf.shape[0])
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)


def _profiles(
    rng: np.random.Generator, n: int, population: UserPopulation
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``n`` hidden profiles as columns, distributed as :meth:`UserPopulation.sample`:
    a persona, a pricing plan, then each field uniform in the persona's range (the
    length band's upper end at least its lower end)."""
    personas = population.personas
    cum = np.cumsum(population.persona_weights)
    persona = _categorical(rng, np.broadcast_to(cum / cum[-1], (n, len(cum))))
    names = list(population.pricing)
    cum = np.cumsum([population.pricing[k] for k in names], dtype=float)
    plan = _categorical(rng, np.broadcast_to(cum / cum[-1], (n, len(cum))))
    pricing = np.array([PRICING_PLANS.index(k) for k in names])[plan]

    def field(name: str) -> np.ndarray:
        rng_ = np.array([getattr(p, name) for p in personas], dtype=float)[persona]
        return rng_[:, 0] + (rng_[:, 1] - rng_[:, 0]) * rng.random(n)

    pat = np.array([p.patience for p in personas])[persona]
    cols = {"patience": rng.integers(pat[:, 0], pat[:, 1] + 1).astype(float)}
    for name in ("effort_detail", "effort_answer", "time_cost", "reading_cost", "money_value"):
        cols[name] = field(name)
    cols["band_lo"] = field("length_lo")
    cols["band_hi"] = np.maximum(cols["band_lo"], field("length_hi"))
    for name in ("misfit_cost", "satisfaction", "vague_bias", "rationality"):
        cols[name] = field(name)
    return persona, pricing, cols


def vague_probabilities(
    tables: StackedTables,
    starts: Starts,
    user: ParametricUser,
    world: WorldConfig,
    population: UserPopulation,
) -> np.ndarray:
    """Each episode's probability of a vague question, by the user's own choice model:
    :func:`strategy_values` combined with the user's beliefs by
    :meth:`ParametricUser.choice_probability`."""
    values = strategy_values(tables, starts, world, user)
    names = [p.name for p in population.personas]
    belief = np.array([[user.belief_of(k, plan) for plan in PRICING_PLANS] for k in names])
    resid = np.array([[user.residual_of(k, plan) for plan in PRICING_PLANS] for k in names])
    return user.choice_probability(
        values,
        belief[starts.persona, starts.pricing],
        resid[starts.persona, starts.pricing],
        starts.cols["rationality"],
        starts.cols["vague_bias"],
    )


def episode_view(tables: StackedTables, starts: Starts, rates: np.ndarray) -> dict[str, Any]:
    """What :func:`play_turn` needs of each episode of ``starts`` (``rates``: each plan's
    :class:`PriceRates`, shape ``(plans, 6)``); ``"packed"`` holds the float columns as
    rows, so :func:`_select` gathers paths with one index."""
    misfit = np.where(tables.judged_length[starts.task], starts.cols["misfit_cost"], 0.0)
    packed = np.concatenate(
        [
            np.stack([starts.cols[k] for k in _TURN_COLUMNS]),
            misfit[None],
            rates[starts.pricing].T,
        ]
    )
    return _select(packed, starts.task, starts.intent)


def _select(packed: np.ndarray, task: np.ndarray, intent: np.ndarray) -> dict[str, Any]:
    n = len(_TURN_COLUMNS)
    ep: dict[str, Any] = dict(zip(_TURN_COLUMNS, packed[:n], strict=True))
    ep.update(misfit=packed[n], rates=PriceRates(*packed[n + 1 :]), packed=packed)
    ep.update(task=task, intent=intent)
    return ep


def strategy_values(
    tables: StackedTables,
    starts: Starts,
    world: WorldConfig,
    user: ParametricUser,
    batch: int = 2048,
) -> np.ndarray:
    """``E[U]`` of each episode's user for each (strategy, first action): ``(n, 2, 9)``.

    The users' own model (:func:`gtalign_sim.users.strategy_values`: their profile and
    intent, the assistant opening with the action and answering directly after), taken
    as the exact expectation over the execution branches of every answer: each branch is
    played by :func:`play_turn`, weighted by its probability (``batch`` episodes at a
    time, to bound memory).
    """
    if len(starts) > batch:
        parts = [
            strategy_values(tables, starts.take(slice(i, i + batch)), world, user, batch)
            for i in range(0, len(starts), batch)
        ]
        return np.concatenate(parts)
    n, t = len(starts), tables
    rates = np.array([world.rates(p) for p in PRICING_PLANS])
    root = np.arange(n * 2 * N_ACTIONS).repeat(2)  # root = (episode, strategy, action)
    ep_of, strategy, action = root // (2 * N_ACTIONS), root // N_ACTIONS % 2, root % N_ACTIONS
    ok = np.tile([1, 0], n * 2 * N_ACTIONS)
    task = starts.task[ep_of]
    is_cq = action // len(VERBOSITIES) == _CQ
    p_ok = np.where(is_cq, 1.0, t.p_ok[task, action % len(VERBOSITIES)])
    weight = np.where(ok == 1, p_ok, 1.0 - p_ok)
    keep = weight > 0  # a clarifying question has one branch
    root, ep_of, strategy, action, ok, weight, task = (
        x[keep] for x in (root, ep_of, strategy, action, ok, weight, task)
    )
    detailed = strategy == 0
    led = rules.Ledger.start(
        detailed=detailed,
        known=detailed | t.unambiguous[task],
        effort_detail=starts.cols["effort_detail"][ep_of],
        question_tokens=t.question[(task * 2 + strategy) * t.n_intents_max + starts.intent[ep_of]],
    )
    total = np.zeros(n * 2 * N_ACTIONS)
    base = episode_view(t, starts, rates)
    while len(root):
        packed = np.take(base["packed"], ep_of, axis=1)
        ep = _select(packed, starts.task[ep_of], starts.intent[ep_of])
        led, stop, _ = play_turn(t, world, user, led, ep, action, ok)
        end = stop != _CONTINUE
        u, _ = rules.user_gain(led, world)
        total += np.bincount(root[end], weights=(weight * u)[end], minlength=len(total))
        go = np.flatnonzero(~end).repeat(2)  # each continuing path, both branches
        ok = np.tile([1, 0], len(go) // 2)
        p_std = t.p_ok[ep["task"][go], _STD]
        weight = weight[go] * np.where(ok == 1, p_std, 1.0 - p_std)
        pos = weight > 0
        if not pos.all():  # a branch of probability 0 (skill 0 or 1)
            go, ok, weight = go[pos], ok[pos], weight[pos]
        root, ep_of, action = root[go], ep_of[go], np.full(len(go), THEN)
        led = led.map(lambda x, go=go: x[go])
    return total.reshape(n, 2, N_ACTIONS)


def draw_starts(
    rng: np.random.Generator,
    n: int,
    tables: StackedTables,
    population: UserPopulation,
    user: ParametricUser,
    world: WorldConfig,
) -> Starts:
    """``n`` episode starts drawn from ``rng`` (the fast path; see the module docstring)."""
    task = rng.integers(len(tables), size=n)
    persona, pricing, cols = _profiles(rng, n, population)
    intent = _categorical(rng, tables.intent_cdf[task])
    uniforms = rng.random((n, world.max_turns + 1))
    starts = Starts(task, intent, pricing, persona, np.zeros(n, dtype=int), uniforms, cols)
    p_vague = vague_probabilities(tables, starts, user, world, population)
    starts.strategy = (rng.random(n) < p_vague).astype(int)
    return starts
