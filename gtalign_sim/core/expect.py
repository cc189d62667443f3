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
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import grid, rules
from .grid import Paths
from .vocab import MODES, N_ACTIONS, VERBOSITIES, Family, Mode
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
        per = n_intents * 2  # rows per profile: (intent, strategy), strategy fastest
        kk = np.repeat(np.arange(k_n), per)
        tt = np.tile(np.repeat(np.arange(n_intents), 2), k_n)
        ss = np.tile(np.arange(2), k_n * n_intents)
        sw = np.asarray(strategy_weight, float)[kk, tt, ss]
        w = sw * np.asarray(intent_prior, float)[tt] / max(k_n, 1)
        table = np.array(
            [
                [float(getattr(p, name)) for name in _PROFILE_COLUMNS]
                + [float(p.length_band[0]), float(p.length_band[1])]
                for p in profiles
            ],
            dtype=float,
        ).reshape(k_n, len(_PROFILE_COLUMNS) + 2)[kk]
        cols = {name: table[:, j].copy() for j, name in enumerate(_PROFILE_COLUMNS)}
        lo, hi = table[:, -2].copy(), table[:, -1].copy()
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
        self.rates = rules.price_rates(world, pricing)
        task = tables.task
        self.p_ok = np.array([world.p_correct(task.difficulty, v) for v in range(len(VERBOSITIES))])
        self.judged_length = task.family != Family.WRITING.value
        self.unambiguous = not task.ambiguous
        self.reply_tok = np.stack([tables.reply_tokens[k] for k in range(5)])  # (kind, T)
        self._facts: dict[Any, grid.ActionFacts] = {}  # when the tables keep no memo

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
        cq = MODES.index(Mode.CQ.value)
        return tuple(a for a in range(N_ACTIONS) if a // len(VERBOSITIES) != cq)

    # -------------------------------------------------------------- start state
    def initial_paths(self) -> Paths:
        """One path per row: the ledger right after the opening question."""
        r = self.rows
        s = r.strategy
        led = rules.Ledger.start(
            detailed=s == 0,
            known=(s == 0) | self.unambiguous,
            effort_detail=r.effort_detail,
            question_tokens=self.t.question_tokens[s, r.intent],
        )
        return Paths(np.arange(len(r)), r.weight.astype(float), led)

    # --------------------------------------------------------------------- step
    def step(
        self,
        st: Paths,
        node: np.ndarray,
        n_nodes: int,
        actions: Sequence[int],
        *,
        want_ends: bool = True,
        want_mass: bool = True,
        objectives: Sequence[Callable[[Any, Any], Any]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, Paths, np.ndarray]:
        """Apply every action in ``actions`` to every alive path (:func:`grid.step`)."""
        return grid.step(
            self,
            st,
            node,
            n_nodes,
            actions,
            want_ends=want_ends,
            want_mass=want_mass,
            objectives=objectives,
        )

    # ----------------------------------------------------------------- search
    def condition(self, prefix: Sequence[int]) -> Paths:
        """The alive paths after the assistant's past actions (the user kept replying)."""
        st = self.initial_paths()
        if len(prefix):
            st = grid.alive(st)
        for a in prefix:
            _, _, st, _ = self.step(
                st, np.zeros(len(st), dtype=int), 1, [a], want_ends=False, want_mass=False
            )
            if not len(st):
                break
        return st

    def tree(
        self,
        st: Paths,
        node: np.ndarray,
        n_roots: int,
        first: Sequence[int],
        later: Sequence[int],
    ) -> np.ndarray:
        """Values under the best continuation: ``(n_roots, len(first), 3)`` sums.

        Expands every level of the game tree (``first`` actions now, ``later`` after),
        then backs up: a node's value is the best action's ended mass plus its child's.
        Paths of probability zero contribute nothing and are dropped first.
        """
        return self._expand(st, node, n_roots, first, later, (self.objective,))[0]

    def _expand(
        self,
        st: Paths,
        node: np.ndarray,
        n_roots: int,
        first: Sequence[int],
        later: Sequence[int],
        objectives: Sequence[Callable[[Any, Any], Any]],
    ) -> list[np.ndarray]:
        """:meth:`tree` for each objective in ``objectives`` (one expansion)."""
        alive = st.prob > 0
        if not alive.all():
            st, node = st.take(alive), node[alive]
        n_obj = len(objectives)
        if not len(st):
            return [np.zeros((n_roots, len(first), 3)) for _ in range(n_obj)]
        levels: list[tuple[np.ndarray, int]] = []
        n_nodes = n_roots
        actions: Sequence[int] = first
        while True:
            ends, _, st, node = self.step(
                st, node, n_nodes, actions, want_mass=False, objectives=objectives
            )
            levels.append((ends.reshape(n_nodes, len(actions), n_obj + 2), len(actions)))
            n_nodes *= len(actions)
            if not len(st):
                break
            actions = later
        out = []
        for k in range(n_obj):
            cols = [k, n_obj, n_obj + 1]  # (objective k, U, L)
            child_value = np.zeros((n_nodes, 3))
            for ends_k, n_act in reversed(levels[1:]):
                total = ends_k[..., cols] + child_value.reshape(ends_k.shape[0], n_act, 3)
                child_value = total[np.arange(total.shape[0]), np.argmax(total[..., 0], axis=1)]
            ends_k, n_act = levels[0]
            out.append(ends_k[..., cols] + child_value.reshape(ends_k.shape[0], n_act, 3))
        return out

    def _shared(self, query: tuple[Any, ...], compute: Callable[[Any], Any]) -> Any:
        """``compute(objectives)`` for this planner's objective, memoised across planners.

        ``compute`` returns ``(mass, totals per objective)`` (or ``None``) and is a pure
        function of the planner's inputs and ``query``. For a named objective it runs
        once for all of :data:`OBJECTIVES` (one expansion of the tree, one backup each)
        and the result is kept (bounded, for the process) under a digest of those
        inputs: planners that differ only in their objective — the exact best
        responses on the same hypotheses — then share it.
        """
        name = self.objective_name
        if name not in OBJECTIVES:
            res = compute((self.objective,))
            return None if res is None else (res[0], res[1][0])
        h = hashlib.blake2b(grid.planner_key(self), digest_size=20)
        h.update(repr(query).encode())
        key = h.digest()
        if key in _SHARED_RESULTS:
            _SHARED_RESULTS.move_to_end(key)
            hit = _SHARED_RESULTS[key]
        else:
            res = compute(_SHARED_OBJECTIVES)
            hit = None if res is None else (res[0], dict(zip(_SHARED_NAMES, res[1], strict=True)))
            _SHARED_RESULTS[key] = hit
            if len(_SHARED_RESULTS) > _SHARED_MAX:
                _SHARED_RESULTS.popitem(last=False)
        if hit is None:
            return None
        mass, totals = hit
        return np.copy(mass), totals[name].copy()

    def best(
        self, prefix: Sequence[int] = (), candidates: Sequence[int] | None = None
    ) -> PlanResult:
        """The best next action after ``prefix`` by expectimax over the rest of the game."""
        first = tuple(int(a) for a in (candidates if candidates is not None else range(N_ACTIONS)))
        prefix = tuple(int(a) for a in prefix)
        later = self.continuation_actions

        def compute(objectives: Any) -> Any:
            st = self.condition(prefix)
            mass = float(st.prob.sum()) if len(st) else 0.0
            if mass <= 0:
                return None
            zeros = np.zeros(len(st), dtype=int)
            return mass, self._expand(st, zeros, 1, first, later, objectives)

        res = self._shared(("best", prefix, first, later), compute)
        if res is None:
            return PlanResult((first[0],), float("nan"), float("nan"), float("nan"), 0.0)
        mass, total = float(res[0]), res[1][0]
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
        prefix = tuple(int(a) for a in prefix)
        later = self.continuation_actions if continuation is None else (int(continuation),)
        root_of_row = np.asarray(root_of_row)

        def compute(objectives: Any) -> Any:
            st = self.condition(prefix)
            if not len(st):
                return None
            roots = root_of_row[st.row]
            mass = np.bincount(roots, weights=st.prob, minlength=n_roots)
            first = tuple(range(N_ACTIONS))
            return mass, self._expand(st, roots, n_roots, first, later, objectives)

        if n_roots <= _SHARED_MAX_ROOTS:
            query = ("values", prefix, later, n_roots, root_of_row.dtype.str, root_of_row.tobytes())
            res = self._shared(query, compute)
        else:  # one root per hypothesis (the users' own model): too large to keep
            res = compute((self.objective,))
            res = None if res is None else (res[0], res[1][0])
        if res is None:
            return np.full((n_roots, N_ACTIONS, 3), np.nan), np.zeros(n_roots)
        mass, total = res
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


_SHARED_NAMES: tuple[str, ...] = ("mutual", "sum", "user", "llm")
_SHARED_OBJECTIVES = tuple(OBJECTIVES[n] for n in _SHARED_NAMES)
_SHARED_MAX_ROOTS = 4
_SHARED_RESULTS: OrderedDict[bytes, Any] = OrderedDict()
_SHARED_MAX = 8192  # entries of a few hundred bytes
