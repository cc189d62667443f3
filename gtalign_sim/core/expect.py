"""Exact expectations of the clarification game's rules under hypotheses about the user.

:class:`Planner` evaluates :mod:`gtalign_sim.core.rules` for a set of *rows* —
hypotheses about the hidden user (a profile, an intent, a question strategy) with
weights — over every branch of the game tree: each answer is executed correctly or not;
the user is satisfied, runs out of patience, reaches the horizon, gives up or replies.
Every reply states the intent and the only thing an assistant observes between its turns
is that the user replied, so all paths alive at a decision point share one information
state and expectimax over action sequences is the Bayes-optimal closed-loop policy.

The same functions drive the environment, so the planner's expectation of any policy
equals the environment's mean (tested per cell within 3 standard errors). The per-task
facts (token counts and judge scores of every answer variant) come from a ``tables``
object with the attributes of :class:`gtalign_sim.users.TaskTables`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rules
from .vocab import MODES, N_ACTIONS, VERBOSITIES, Family, Mode, StopCode, Verbosity
from .world import WorldConfig

__all__ = ["OBJECTIVES", "PlanResult", "Planner", "Rows"]

OBJECTIVES: dict[str, Callable[[Any, Any], Any]] = {
    "mutual": rules.mutual,
    "sum": lambda u, l: np.asarray(u, float) + np.asarray(l, float),
    "user": lambda u, l: np.asarray(u, float),
    "llm": lambda u, l: np.asarray(l, float),
}
"""What a planner maximises in expectation, on gains: √(U⁺·L⁺), U+L, U or L."""

_PROFILE_COLUMNS = (
    "patience",
    "effort_detail",
    "effort_answer",
    "time_cost",
    "reading_cost",
    "money_value",
    "misfit_cost",
    "satisfaction",
)


@dataclass
class Rows:
    """Hypotheses about the hidden user, as parallel arrays (one entry per row)."""

    intent: np.ndarray  # index into the task's interpretations
    strategy: np.ndarray  # 0 = DQ, 1 = VQ
    weight: np.ndarray  # unnormalised weight
    patience: np.ndarray
    effort_detail: np.ndarray
    effort_answer: np.ndarray
    time_cost: np.ndarray
    reading_cost: np.ndarray
    money_value: np.ndarray
    misfit_cost: np.ndarray
    satisfaction: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray

    @classmethod
    def build(
        cls,
        profiles: Sequence[Any],
        n_intents: int,
        intent_prior: np.ndarray,
        strategy_weight: np.ndarray,
    ) -> Rows:
        """All (profile, intent, strategy) combinations, weighted
        ``strategy_weight[k, t, s] · intent_prior[t] / K``."""
        k_n = len(profiles)
        kk, tt, ss = np.meshgrid(np.arange(k_n), np.arange(n_intents), np.arange(2), indexing="ij")
        kk, tt, ss = kk.ravel(), tt.ravel(), ss.ravel()
        sw = np.asarray(strategy_weight, float)[kk, tt, ss]
        w = sw * np.asarray(intent_prior, float)[tt] / max(k_n, 1)
        cols = {
            name: np.array([float(getattr(p, name)) for p in profiles])[kk]
            for name in _PROFILE_COLUMNS
        }
        lo = np.array([float(p.length_band[0]) for p in profiles])[kk]
        hi = np.array([float(p.length_band[1]) for p in profiles])[kk]
        return cls(intent=tt, strategy=ss, weight=w, band_lo=lo, band_hi=hi, **cols)

    def select(self, mask: np.ndarray) -> Rows:
        """The rows where ``mask`` is true."""
        return Rows(**{k: v[mask] for k, v in self.__dict__.items()})

    def __len__(self) -> int:
        return len(self.intent)


@dataclass
class PlanResult:
    """Expected outcome of a plan (normalised over the alive mass), on gains."""

    actions: tuple[int, ...]
    value: float
    user: float
    llm: float
    mass: float


@dataclass
class _Paths:
    row: np.ndarray
    prob: np.ndarray
    led: rules.Ledger

    def take(self, idx: Any) -> _Paths:
        return _Paths(self.row[idx], self.prob[idx], self.led.map(lambda x: x[idx]))

    def __len__(self) -> int:
        return len(self.prob)


_CQ = MODES.index(Mode.CQ.value)
_AQ = MODES.index(Mode.AQ.value)
_STD = int(Verbosity.STANDARD)


class Planner:
    """Expectimax over the assistant's action sequences for one task and pricing plan.

    Args:
        tables: rendered-and-judged facts of the task (:class:`~gtalign_sim.users.TaskTables`).
        world: the game's mechanics.
        pricing: the user's plan (observed by the assistant).
        rows: hypotheses about the user with their weights.
        objective: a name in :data:`OBJECTIVES` or ``f(U, L)`` on gains.
    """

    def __init__(
        self,
        tables: Any,
        world: WorldConfig,
        pricing: str,
        rows: Rows,
        objective: str | Callable[[Any, Any], Any] = "mutual",
    ) -> None:
        self.t = tables
        self.world = world
        self.rows = rows
        if isinstance(objective, str):
            if objective not in OBJECTIVES:
                raise ValueError(f"unknown objective {objective!r}; allowed: {sorted(OBJECTIVES)}")
            self.objective_name = objective
            objective = OBJECTIVES[objective]
        else:
            self.objective_name = "custom"
        self.objective = objective
        self.rates = world.rates(pricing)
        task = tables.task
        self.p_ok = np.array([world.p_correct(task.difficulty, v) for v in range(len(VERBOSITIES))])
        self.judged_length = task.family != Family.WRITING.value
        self.unambiguous = not task.ambiguous
        self.reply_tok = np.stack([tables.reply_tokens[k] for k in range(5)])  # (kind, T)

    def subset(self, mask: np.ndarray) -> Planner:
        """The same planner over the rows where ``mask`` is true."""
        other = copy.copy(self)
        other.rows = self.rows.select(mask)
        return other

    @property
    def continuation_actions(self) -> tuple[int, ...]:
        """Actions considered once the user has replied. A clarifying question after the
        intent is stated only repeats it; it is pruned except for the ``llm`` objective,
        for which a redundant question can pay (a billed turn)."""
        if self.objective_name == "llm":
            return tuple(range(N_ACTIONS))
        return tuple(a for a in range(N_ACTIONS) if a // len(VERBOSITIES) != _CQ)

    # -------------------------------------------------------------- start state
    def initial_paths(self) -> _Paths:
        """One path per row: the ledger right after the opening question."""
        r = self.rows
        s = r.strategy
        led = rules.Ledger.start(
            detailed=s == 0,
            known=(s == 0) | self.unambiguous,
            effort_detail=r.effort_detail,
            question_tokens=self.t.question_tokens[s, r.intent],
        )
        return _Paths(np.arange(len(r)), r.weight.astype(float), led)

    # --------------------------------------------------------------------- step
    def step(
        self, st: _Paths, node: np.ndarray, n_nodes: int, actions: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, _Paths, np.ndarray]:
        """Apply every action in ``actions`` to every alive path.

        Paths belong to decision nodes (``node`` in ``0..n_nodes-1``); child node
        ``node * A + a`` is "that node, then action ``a``". Returns ``(ends, mass, alive,
        alive_node)``: ``ends[n*A + a] = (Σ p·objective, Σ p·U, Σ p·L)`` over paths that
        end right after that action, ``mass`` the probability entering each child, and
        the alive paths with their child node ids.
        """
        r, t, w = self.rows, self.t, self.world
        acts = np.asarray(actions, dtype=int)
        n_act = len(acts)
        modes = (acts // len(VERBOSITIES))[:, None, None]
        v = (acts % len(VERBOSITIES))[:, None, None]
        is_cq, is_aq = modes == _CQ, modes == _AQ
        ok = np.array([1, 0])[None, :, None]
        row = st.row[None, None, :]
        ti = r.intent[st.row][None, None, :]
        assumed = np.where(st.led.known, r.intent[st.row], t.default)[None, None, :]
        p_ok = self.p_ok[v]
        bprob = np.where(is_cq, np.where(ok == 1, 1.0, 0.0), np.where(ok == 1, p_ok, 1 - p_ok))
        prob = st.prob[None, None, :] * bprob  # (A, 2, N)
        shape = prob.shape
        visible = np.where(
            is_cq,
            t.cq_tokens[v],
            t.answer_tokens[assumed, v, ok] + np.where(is_aq, t.followup_tokens[assumed, v, ok], 0),
        )
        words = t.answer_words[assumed, v, ok] + np.where(
            is_aq, t.followup_words[assumed, v, ok], 0.0
        )
        q_u = np.where(is_aq, t.aq_q_user[assumed, v, ok, ti], t.q_user[assumed, v, ok, ti])
        q_l = np.where(is_aq, t.aq_q_llm[assumed, v, ok, ti], t.q_llm[assumed, v, ok, ti])
        led = st.led.map(lambda x: x[None, None, :])
        led, code = rules.account_turn(
            led,
            mode=np.broadcast_to(modes, shape),
            prompt=w.system_tokens + led.ctx,
            completion=visible + w.reasoning_tokens,
            visible=visible,
            words=words,
            q_user=q_u,
            q_llm=q_l,
            reading_cost=r.reading_cost[row],
            money_value=r.money_value[row],
            band_lo=r.band_lo[row],
            band_hi=r.band_hi[row],
            misfit_cost=r.misfit_cost[row],
            satisfaction=r.satisfaction[row],
            patience=r.patience[row],
            rates=self.rates,
            world=w,
            judged_length=self.judged_length,
        )
        kind = rules.reply_kind(np.broadcast_to(modes, shape), led.known)
        reply_tokens = self.reply_tok[kind, ti]
        gain, cost = rules.reply_decision(
            led,
            kind,
            p_standard=self.p_ok[_STD],
            answer_tokens=t.answer_tokens[ti, _STD, 1],
            reply_tokens=reply_tokens,
            effort_answer=r.effort_answer[row],
            time_cost=r.time_cost[row],
            reading_cost=r.reading_cost[row],
            money_value=r.money_value[row],
            rates=self.rates,
            world=w,
        )
        keep = prob > 0
        cont = keep & (code == int(StopCode.CONTINUE)) & (gain > cost)
        end = keep & ~cont
        end_idx, cont_idx = np.nonzero(end.ravel())[0], np.nonzero(cont.ravel())[0]

        def pick(x: Any, idx: np.ndarray) -> np.ndarray:
            return np.broadcast_to(x, shape).reshape(-1)[idx]

        child = np.broadcast_to(
            node[None, None, :] * n_act + np.arange(n_act)[:, None, None], shape
        )
        n_child = n_nodes * n_act
        mass = np.bincount(child[keep], weights=prob[keep], minlength=n_child)
        ends = np.zeros((n_child, 3))
        if len(end_idx):
            led_end = led.map(lambda x: pick(x, end_idx))
            u_val, _ = rules.user_gain(led_end, w)
            l_val, _ = rules.provider_gain(led_end, u_val, w)
            obj = np.asarray(self.objective(u_val, l_val), float)
            pe, ce = prob.reshape(-1)[end_idx], child.reshape(-1)[end_idx]
            ends[:, 0] = np.bincount(ce, weights=pe * obj, minlength=n_child)
            ends[:, 1] = np.bincount(ce, weights=pe * u_val, minlength=n_child)
            ends[:, 2] = np.bincount(ce, weights=pe * l_val, minlength=n_child)
        if not len(cont_idx):
            return ends, mass, _empty(), np.zeros(0, dtype=int)
        led_c = led.map(lambda x: pick(x, cont_idx))
        rowc = pick(row, cont_idx)
        led_c = rules.account_reply(
            led_c,
            pick(kind, cont_idx),
            effort_answer=r.effort_answer[rowc],
            time_cost=r.time_cost[rowc],
            reply_tokens=pick(reply_tokens, cont_idx),
            world=w,
        )
        return ends, mass, _Paths(rowc, pick(prob, cont_idx), led_c), pick(child, cont_idx)

    # ----------------------------------------------------------------- search
    def condition(self, prefix: Sequence[int]) -> _Paths:
        """The alive paths after the assistant's past actions (the user kept replying)."""
        st = self.initial_paths()
        for a in prefix:
            _, _, st, _ = self.step(st, np.zeros(len(st), dtype=int), 1, [a])
            if not len(st):
                break
        return st

    def tree(
        self,
        st: _Paths,
        node: np.ndarray,
        n_roots: int,
        first: Sequence[int],
        later: Sequence[int],
    ) -> np.ndarray:
        """Values under the best continuation: ``(n_roots, len(first), 3)`` sums.

        Expands every level of the game tree (``first`` actions now, ``later`` after),
        then backs up: a node's value is the best action's ended mass plus its child's.
        """
        levels: list[tuple[np.ndarray, int]] = []
        n_nodes = n_roots
        actions: Sequence[int] = first
        while True:
            ends, _, st, node = self.step(st, node, n_nodes, actions)
            levels.append((ends.reshape(n_nodes, len(actions), 3), len(actions)))
            n_nodes *= len(actions)
            if not len(st):
                break
            actions = later
        child_value = np.zeros((n_nodes, 3))
        for ends3, n_act in reversed(levels[1:]):
            total = ends3 + child_value.reshape(ends3.shape[0], n_act, 3)
            child_value = total[np.arange(total.shape[0]), np.argmax(total[..., 0], axis=1)]
        ends3, n_act = levels[0]
        return ends3 + child_value.reshape(ends3.shape[0], n_act, 3)

    def best(
        self, prefix: Sequence[int] = (), candidates: Sequence[int] | None = None
    ) -> PlanResult:
        """The best next action after ``prefix`` by expectimax over the rest of the game."""
        st = self.condition(prefix)
        mass = float(st.prob.sum()) if len(st) else 0.0
        first = tuple(candidates if candidates is not None else range(N_ACTIONS))
        if mass <= 0:
            return PlanResult((first[0],), float("nan"), float("nan"), float("nan"), 0.0)
        total = self.tree(st, np.zeros(len(st), dtype=int), 1, first, self.continuation_actions)
        total = total[0]
        a = int(np.argmax(total[:, 0]))
        return PlanResult((first[a],), *(total[a] / mass), mass)

    def action_values(
        self,
        prefix: Sequence[int],
        root_of_row: np.ndarray,
        n_roots: int,
        continuation: int | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected ``(objective, U, L)`` of each first action per root, normalised.

        Rows are grouped into ``n_roots`` roots by ``root_of_row``; after the first
        action the plan is ``continuation`` on every turn, or the best continuation for
        the objective when ``None``. Returns ``(values (n_roots, 9, 3), mass (n_roots,))``.
        """
        st = self.condition(prefix)
        if not len(st):
            return np.full((n_roots, N_ACTIONS, 3), np.nan), np.zeros(n_roots)
        roots = np.asarray(root_of_row)[st.row]
        mass = np.bincount(roots, weights=st.prob, minlength=n_roots)
        later = self.continuation_actions if continuation is None else (continuation,)
        total = self.tree(st, roots, n_roots, tuple(range(N_ACTIONS)), later)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / mass[:, None, None], mass

    def evaluate(self, prefix: Sequence[int], action: int, continuation: int) -> PlanResult:
        """Expected outcome of ``action`` now, then ``continuation`` on every later turn."""
        st = self.condition(prefix)
        mass = float(st.prob.sum()) if len(st) else 0.0
        if mass <= 0:
            return PlanResult((action,), float("nan"), float("nan"), float("nan"), 0.0)
        total = self.tree(st, np.zeros(len(st), dtype=int), 1, (action,), (continuation,))
        return PlanResult((action, continuation), *(total[0, 0] / mass), mass)


def _empty() -> _Paths:
    z = np.zeros(0)
    return _Paths(np.zeros(0, dtype=int), z, rules.Ledger.start(z, z, z, z))
