"""Exact expectations of the clarification game's outcomes under a model of the user.

:class:`Planner` evaluates the world model of :mod:`gtalign_sim.users.world` for a
set of *rows* — hypotheses about the hidden user (a sampled profile, an intent, and a
question strategy DQ/VQ) with posterior weights — over every branch of the game
tree: each answer is executed correctly or not, the user is satisfied or not, replies
or stops (patience, horizon, or not worth it). Because every user reply reveals the
intent and the only thing the assistant observes between its turns is that the user
replied, all paths alive at a decision point share one information state, so
expectimax over action sequences is the Bayes-optimal closed-loop policy.

Rendering is deterministic and the tables are built by rendering and judging each
answer variant (:class:`~gtalign_sim.users.TaskTables`), so token counts and judge
scores here are exactly the environment's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends.template import MODES, VERBOSITIES
from ..users import (
    N_ACTIONS,
    TaskTables,
    UserProfile,
    WorldConfig,
    finalize_llm,
    finalize_user,
    length_misfit,
)

__all__ = ["OBJECTIVES", "PlanResult", "Planner", "Rows"]

OBJECTIVES: dict[str, Callable[[Any, Any], Any]] = {
    "mutual": lambda u, l: np.sqrt(np.clip(u, 0, None) * np.clip(l, 0, None)),
    "sum": lambda u, l: u + l,
    "user": lambda u, l: u,
    "llm": lambda u, l: l,
}
"""What a planner maximises in expectation: √(U·L), U+L, U or L."""

_REPLY = ("clarify", "redundant", "followup", "retry", "correct_intent")


@dataclass
class Rows:
    """Hypotheses about the hidden user, as parallel arrays (one entry per row)."""

    intent: np.ndarray  # int index into the task's interpretations
    strategy: np.ndarray  # 0 = DQ, 1 = VQ
    weight: np.ndarray  # unnormalised posterior weight
    patience: np.ndarray
    effort_detail: np.ndarray
    effort_answer: np.ndarray
    time_cost: np.ndarray
    reading_cost: np.ndarray
    money_value: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray
    misfit_cost: np.ndarray
    satisfaction: np.ndarray

    @classmethod
    def build(
        cls,
        profiles: Sequence[UserProfile],
        n_intents: int,
        intent_prior: np.ndarray,
        strategy_weight: Callable[[int, int, int], float] | np.ndarray,
    ) -> Rows:
        """All (profile, intent, strategy) combinations.

        ``strategy_weight`` gives the weight of strategy ``s`` for profile ``k`` and
        intent ``t`` — a callable ``(k, t, s) -> w`` or an array ``(K, T, 2)`` — and is
        multiplied by the intent prior and ``1/K``.
        """
        k_n = len(profiles)
        kk, tt, ss = np.meshgrid(np.arange(k_n), np.arange(n_intents), np.arange(2), indexing="ij")
        kk, tt, ss = kk.ravel(), tt.ravel(), ss.ravel()
        if callable(strategy_weight):
            sw = np.array([strategy_weight(k, t, s) for k, t, s in zip(kk, tt, ss, strict=True)])
        else:
            sw = np.asarray(strategy_weight, float)[kk, tt, ss]
        w = sw * np.asarray(intent_prior, float)[tt] / max(k_n, 1)

        def col(name: str) -> np.ndarray:
            return np.array([float(getattr(profiles[k], name)) for k in kk])

        return cls(
            intent=tt,
            strategy=ss,
            weight=w,
            patience=col("patience"),
            effort_detail=col("effort_detail"),
            effort_answer=col("effort_answer"),
            time_cost=col("time_cost"),
            reading_cost=col("reading_cost"),
            money_value=col("money_value"),
            band_lo=np.array([profiles[k].length_band[0] for k in kk], float),
            band_hi=np.array([profiles[k].length_band[1] for k in kk], float),
            misfit_cost=col("misfit_cost"),
            satisfaction=col("satisfaction"),
        )

    def select(self, mask: np.ndarray) -> Rows:
        """The rows where ``mask`` is true."""
        return Rows(**{k: v[mask] for k, v in self.__dict__.items()})


@dataclass
class PlanResult:
    """Expected outcome of an action sequence (normalised over the alive mass)."""

    actions: tuple[int, ...]
    value: float
    user: float
    llm: float
    mass: float


class _State:
    """Alive paths: parallel arrays indexed by path."""

    __slots__ = (
        "ctx",
        "eff",
        "err",
        "known",
        "mis",
        "mon",
        "net",
        "prob",
        "ql",
        "qu",
        "rd",
        "row",
        "tim",
    )

    def __init__(self, **kw: np.ndarray) -> None:
        for k, v in kw.items():
            setattr(self, k, v)

    def take(self, idx: np.ndarray) -> _State:
        return _State(**{k: getattr(self, k)[idx] for k in self.__slots__})

    def __len__(self) -> int:
        return len(self.prob)


class Planner:
    """Expectimax over the assistant's action sequences for one task and pricing plan.

    Args:
        tables: rendered-and-judged facts of the task.
        world: the game's mechanics.
        pricing: the user's plan (observed by the assistant).
        rows: hypotheses about the user with their weights.
        objective: a name in :data:`OBJECTIVES` or ``f(U, L)``.
    """

    def __init__(
        self,
        tables: TaskTables,
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
            objective = OBJECTIVES[objective]
        self.objective = objective
        self.prices = world.token_prices(pricing)
        task = tables.task
        self.p_ok = np.array([world.p_correct(task.difficulty, v) for v in range(len(VERBOSITIES))])
        self.user_gain_p = world.p_correct(task.difficulty, 1)
        self.writing = task.family == "writing"
        self.unambiguous = not task.ambiguous
        # AQ words = answer words + follow-up words (same follow-up text for every answer)
        self.reply_tok = np.stack([tables.reply_tokens[k] for k in _REPLY])  # (5, T)

    def subset(self, mask: np.ndarray) -> Planner:
        """The same planner over the rows where ``mask`` is true."""
        other = copy.copy(self)
        other.rows = self.rows.select(mask)
        return other

    # -------------------------------------------------------------- start state
    def initial_state(self) -> _State:
        r = self.rows
        n = len(r.intent)
        s = r.strategy
        known = (s == 0) | self.unambiguous
        return _State(
            row=np.arange(n),
            prob=r.weight.astype(float),
            known=known,
            ctx=self.world.system_tokens + self.t.question_tokens[s, r.intent],
            eff=np.where(s == 0, r.effort_detail, 0.0),
            tim=np.zeros(n),
            rd=np.zeros(n),
            mon=np.zeros(n),
            mis=np.zeros(n),
            net=np.zeros(n),
            err=np.zeros(n),
            qu=np.zeros(n),
            ql=np.zeros(n),
        )

    # --------------------------------------------------------------------- step
    def step(
        self, st: _State, node: np.ndarray, n_nodes: int, actions: Sequence[int], k: int
    ) -> tuple[np.ndarray, np.ndarray, _State, np.ndarray]:
        """Apply every action in ``actions`` to every alive path at assistant turn ``k``.

        Paths belong to decision nodes (``node``, values in ``0..n_nodes-1``); child node
        ``node * A + a`` is "that node, then action ``a``". Returns ``(ends, mass, alive,
        alive_node)``: ``ends[n*A + a] = (Σ p·objective, Σ p·U, Σ p·L)`` over the paths that
        end right after that action, ``mass[n*A + a]`` the probability entering it, and the
        alive paths with their child node ids.
        """
        r, t, w = self.rows, self.t, self.world
        acts = np.asarray(actions, dtype=int)
        n_act = len(acts)
        modes = acts // len(VERBOSITIES)
        v = acts % len(VERBOSITIES)
        is_cq = (modes == MODES.index("CQ"))[:, None, None]
        is_aq = (modes == MODES.index("AQ"))[:, None, None]
        vv = v[:, None, None]
        ok = np.array([1, 0])[None, :, None]
        row = st.row[None, None, :]
        ti = self.rows.intent[st.row][None, None, :]
        assumed = np.where(st.known, self.rows.intent[st.row], t.default)[None, None, :]
        p_ok = self.p_ok[v][:, None, None]
        bprob = np.where(
            is_cq, np.array([1.0, 0.0])[None, :, None], np.where(ok == 1, p_ok, 1 - p_ok)
        )
        prob = st.prob[None, None, :] * bprob  # (A, 2, N)
        shape = prob.shape

        ans_tok = t.answer_tokens[assumed, vv, ok] + np.where(
            is_aq, t.followup_tokens[assumed, vv, ok], 0.0
        )
        c_tok = np.where(is_cq, t.cq_tokens[v][:, None, None], ans_tok)
        words = t.answer_words[assumed, vv, ok] + np.where(
            is_aq, t.followup_words[assumed, vv, ok], 0.0
        )
        q_new_u = np.where(is_aq, t.aq_q_user[assumed, vv, ok, ti], t.q_user[assumed, vv, ok, ti])
        q_new_l = np.where(is_aq, t.aq_q_llm[assumed, vv, ok, ti], t.q_llm[assumed, vv, ok, ti])
        better = (q_new_u > st.qu) | ((q_new_u == st.qu) & (q_new_l > st.ql))
        better &= ~is_cq
        qu = np.where(better, q_new_u, st.qu)
        ql = np.where(better, q_new_l, st.ql)
        if self.writing:
            mis = np.broadcast_to(st.mis, shape)
        else:
            add = length_misfit(words, r.band_lo[row], r.band_hi[row], r.misfit_cost[row])
            mis = st.mis + np.where(is_cq, 0.0, add)
        satisfied = ~is_cq & (q_new_u >= r.satisfaction[row])
        err = st.err + (~is_cq & (q_new_l < 0.5))
        u_in, u_out, pn_in, pn_out = self.prices
        mon = st.mon + r.money_value[row] * (u_in * st.ctx + u_out * c_tok)
        net = st.net + w.provider_money_value * (pn_in * st.ctx + pn_out * c_tok)
        rd = st.rd + r.reading_cost[row] * c_tok / 100.0
        out_of_time = (k + 1 >= r.patience[row]) | (k + 1 >= w.max_turns)
        # the user's reply decision (BaseUser.reply); kinds index _REPLY
        known = st.known[None, None, :]
        kind = np.where(is_cq, np.where(known, 1, 0), np.where(known, 3, np.where(is_aq, 2, 4)))
        effort = r.effort_answer[row] * np.where(kind == 2, w.followup_effort, 1.0)
        effort = effort + np.where(kind == 1, w.redundant_question_cost, 0.0)
        gives_up = ~(np.maximum(self.user_gain_p - qu, 0.0) > effort + r.time_cost[row])
        keep = prob > 0
        end = keep & (satisfied | out_of_time | gives_up)
        cont = keep & ~end

        child = node[None, None, :] * n_act + np.arange(n_act)[:, None, None]
        child = np.broadcast_to(child, shape)
        n_child = n_nodes * n_act
        mass = np.bincount(child[keep], weights=prob[keep], minlength=n_child)
        ends = np.zeros((n_child, 3))
        if end.any():
            eff_b = np.broadcast_to(st.eff, shape)[end]
            tim_b = np.broadcast_to(st.tim, shape)[end]

            def e(x: Any) -> np.ndarray:
                return np.broadcast_to(x, shape)[end]

            u_val, _ = finalize_user(e(qu), eff_b, tim_b, e(rd), e(mon), e(mis), w.user_cost_cap)
            l_val, _ = finalize_llm(e(ql), 1.0, e(net), w, e(err))
            u_val, l_val = np.asarray(u_val), np.asarray(l_val)
            pe = prob[end]
            obj = np.asarray(self.objective(u_val, l_val), float)
            ce = child[end]
            ends[:, 0] = np.bincount(ce, weights=pe * obj, minlength=n_child)
            ends[:, 1] = np.bincount(ce, weights=pe * u_val, minlength=n_child)
            ends[:, 2] = np.bincount(ce, weights=pe * l_val, minlength=n_child)
        if not cont.any():
            return ends, mass, _concat([]), np.zeros(0, dtype=int)

        def b(x: Any) -> np.ndarray:
            return np.broadcast_to(x, shape)[cont]

        alive = _State(
            row=b(st.row),
            prob=prob[cont],
            known=np.ones(int(cont.sum()), dtype=bool),
            ctx=b(st.ctx + c_tok + self.reply_tok[kind, ti]),
            eff=b(st.eff + effort),
            tim=b(st.tim + r.time_cost[row]),
            rd=b(rd),
            mon=b(mon),
            mis=b(mis),
            net=b(net),
            err=b(err),
            qu=b(qu),
            ql=b(ql),
        )
        return ends, mass, alive, child[cont]

    # ----------------------------------------------------------------- search
    continuation_actions: tuple[int, ...] = tuple(
        a for a in range(N_ACTIONS) if a // len(VERBOSITIES) != MODES.index("CQ")
    )
    """Actions considered once the user has replied (a clarifying question after the
    intent is stated only repeats it: pruned; see ``docs/model.md``)."""

    def condition(self, prefix: Sequence[int]) -> _State:
        """The alive paths after the assistant's past actions (the user kept replying)."""
        st = self.initial_state()
        for k, a in enumerate(prefix):
            _, _, st, _ = self.step(st, np.zeros(len(st), dtype=int), 1, [a], k)
            if not len(st):
                break
        return st

    def tree(
        self,
        st: _State,
        node: np.ndarray,
        n_roots: int,
        k: int,
        first: Sequence[int],
        later: Sequence[int],
    ) -> np.ndarray:
        """Values of the best continuation: ``(n_roots, len(first), 3)`` sums.

        Expands every level of the game tree from turn ``k`` (``first`` actions now,
        ``later`` afterwards), then backs up: a node's value is the best action's ended
        mass plus its child's value. Returns, for each root and first action,
        ``(Σ p·objective, Σ p·U, Σ p·L)`` under the best continuation.
        """
        levels: list[tuple[np.ndarray, int]] = []
        n_nodes = n_roots
        actions: Sequence[int] = first
        while True:
            ends, _, st, node = self.step(st, node, n_nodes, actions, k)
            levels.append((ends.reshape(n_nodes, len(actions), 3), len(actions)))
            n_nodes *= len(actions)
            k += 1
            if not len(st) or k >= self.world.max_turns:
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
        total = self.tree(
            st, np.zeros(len(st), dtype=int), 1, len(prefix), first, self.continuation_actions
        )[0]
        a = int(np.argmax(total[:, 0]))
        return PlanResult((first[a],), *(total[a] / mass), mass)

    def first_action_values(
        self, prefix: Sequence[int], root_of_row: np.ndarray, n_roots: int, continuation: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected ``(objective, U, L)`` of each first action, then ``continuation`` forever.

        Rows are grouped into ``n_roots`` roots by ``root_of_row`` (e.g. the strategy);
        returns ``(values (n_roots, 9, 3), mass (n_roots,))`` normalised per root.
        """
        st = self.condition(prefix)
        if not len(st):
            return np.full((n_roots, N_ACTIONS, 3), np.nan), np.zeros(n_roots)
        roots = np.asarray(root_of_row)[st.row]
        mass = np.bincount(roots, weights=st.prob, minlength=n_roots)
        total = self.tree(st, roots, n_roots, len(prefix), tuple(range(N_ACTIONS)), (continuation,))
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / mass[:, None, None], mass

    def evaluate(self, prefix: Sequence[int], action: int, continuation: int) -> PlanResult:
        """Expected outcome of ``action`` now, then ``continuation`` on every later turn."""
        st = self.condition(prefix)
        mass = float(st.prob.sum()) if len(st) else 0.0
        if mass <= 0:
            return PlanResult((action,), float("nan"), float("nan"), float("nan"), 0.0)
        total = self.tree(
            st, np.zeros(len(st), dtype=int), 1, len(prefix), (action,), (continuation,)
        )
        return PlanResult((action, continuation), *(total[0, 0] / mass), mass)


def _concat(states: list[_State]) -> _State:
    if not states:
        return _State(**{k: np.zeros(0) for k in _State.__slots__})
    if len(states) == 1:
        return states[0]
    return _State(**{k: np.concatenate([getattr(s, k) for s in states]) for k in _State.__slots__})
