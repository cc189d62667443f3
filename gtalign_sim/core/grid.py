"""One level of the planner's game tree, evaluated on the (action, branch, path) grid.

:class:`~gtalign_sim.core.Planner` expands the game tree level by level. This module
holds a level's machinery: the alive :class:`Paths`; the task's facts for a tuple of
actions (:func:`action_facts`, memoised with the task's tables); and :func:`step`,
which applies every action to every alive path with :mod:`gtalign_sim.core.rules` in
consecutive blocks of the grid small enough to stay in cache. Every sum runs over the
whole grid in its order, so no number depends on the blocking. :func:`digest` and
:func:`world_repr` build the keys under which planners share results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from . import rules
from .vocab import MODES, VERBOSITIES, Mode, StopCode, Verbosity
from .world import WorldConfig

__all__ = [
    "BLOCK",
    "FACT_ARRAYS",
    "ActionFacts",
    "Flat",
    "Paths",
    "action_facts",
    "alive",
    "blocks",
    "cat",
    "digest",
    "empty",
    "planner_key",
    "step",
    "world_repr",
]


@dataclass
class Paths:
    """Alive paths of the game tree: their row (hypothesis), probability and ledger."""

    row: np.ndarray
    prob: np.ndarray
    led: rules.Ledger

    def take(self, idx: Any) -> Paths:
        return Paths(self.row[idx], self.prob[idx], self.led.map(lambda x: x[idx]))

    def __len__(self) -> int:
        return len(self.prob)


_CQ = MODES.index(Mode.CQ.value)
_AQ = MODES.index(Mode.AQ.value)
_STD = int(Verbosity.STANDARD)
_CONTINUE = int(StopCode.CONTINUE)


@dataclass
class ActionFacts:
    """The task's facts for one tuple of actions, by (action, executed ok, assumed[, true]
    interpretation): exactly the values :func:`step` would gather per path
    (same expressions, evaluated once per distinct index instead of once per path)."""

    n_act: int
    mode: np.ndarray  # (A, 1, 1) mode index
    bprob: np.ndarray  # (A, 2, 1) probability of each execution branch (ok = 1, 0)
    visible: np.ndarray  # (A, 2, T) by assumed interpretation
    words: np.ndarray  # (A, 2, T)
    q_user: np.ndarray  # (A, 2, T*T) by assumed * T + true
    q_llm: np.ndarray  # (A, 2, T*T)


class Flat:
    """Entries of a block of the ``(action, branch, path)`` grid at flat indices ``idx``
    of its ``shape``: their coordinates ``a`` (action in the block), ``n`` (path), and
    a gather of any array broadcastable to the shape (without broadcasting it)."""

    def __init__(self, idx: np.ndarray, shape: tuple[int, int, int], coords: Any = None) -> None:
        self.idx = idx
        self.shape = shape
        if coords is not None:
            self.a, self.o, self.n = coords
        elif shape[0] == 1 and shape[1] == 1:
            self.a, self.o, self.n = 0, 0, idx
        else:
            self.a, rest = np.divmod(idx, shape[1] * shape[2])
            self.o, self.n = np.divmod(rest, shape[2])

    def select(self, mask: np.ndarray) -> Flat:
        """The entries where ``mask`` (over these entries) is true."""
        pick = [c if np.ndim(c) == 0 else c[mask] for c in (self.a, self.o, self.n)]
        return Flat(self.idx[mask], self.shape, pick)

    def __len__(self) -> int:
        return len(self.idx)

    def __call__(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.shape == self.shape:
            return x.reshape(-1)[self.idx]
        if x.ndim != 3:
            x = x.reshape((1,) * (3 - x.ndim) + x.shape)
        a, o, n = x.shape
        if a == 1 and o == 1:
            return x[0, 0][self.n] if n > 1 else np.full(len(self.idx), x[0, 0, 0])
        return x[self.a if a > 1 else 0, self.o if o > 1 else 0, self.n if n > 1 else 0]


def action_facts(planner: Any, actions: Sequence[int]) -> ActionFacts:
    """The task's facts for ``actions`` under ``planner``'s skills (memoised with
    the task's tables, else on the planner)."""
    key = tuple(int(a) for a in actions)
    memo = getattr(planner.t, "memo", planner._facts)
    memo_key = ("planner_facts", key, planner.p_ok.tobytes())
    hit = memo.get(memo_key)
    if hit is not None:
        return hit
    t = planner.t
    acts = np.asarray(key, dtype=int)
    modes = (acts // len(VERBOSITIES))[:, None, None]
    v = (acts % len(VERBOSITIES))[:, None, None]
    is_cq, is_aq = modes == _CQ, modes == _AQ
    ok = np.array([1, 0])[None, :, None]
    p_ok = planner.p_ok[v]
    bprob = np.where(is_cq, np.where(ok == 1, 1.0, 0.0), np.where(ok == 1, p_ok, 1 - p_ok))
    n_t = t.answer_tokens.shape[0]
    assumed = np.arange(n_t)[None, None, :]
    visible = np.where(
        is_cq,
        t.cq_tokens[v],
        t.answer_tokens[assumed, v, ok] + np.where(is_aq, t.followup_tokens[assumed, v, ok], 0),
    )
    words = t.answer_words[assumed, v, ok] + np.where(is_aq, t.followup_words[assumed, v, ok], 0.0)
    a4, ti4 = assumed[..., None], np.arange(n_t)[None, None, None, :]
    v4, ok4, aq4 = v[..., None], ok[..., None], is_aq[..., None]
    q_u = np.where(aq4, t.aq_q_user[a4, v4, ok4, ti4], t.q_user[a4, v4, ok4, ti4])
    q_l = np.where(aq4, t.aq_q_llm[a4, v4, ok4, ti4], t.q_llm[a4, v4, ok4, ti4])
    n_act = len(acts)
    hit = ActionFacts(
        n_act=n_act,
        mode=modes,
        bprob=bprob,
        visible=np.broadcast_to(visible, (n_act, 2, n_t)).copy(),
        words=np.broadcast_to(words, (n_act, 2, n_t)).copy(),
        q_user=q_u.reshape(n_act, 2, n_t * n_t),
        q_llm=q_l.reshape(n_act, 2, n_t * n_t),
    )
    for arr in (hit.mode, hit.bprob, hit.visible, hit.words, hit.q_user, hit.q_llm):
        arr.flags.writeable = False  # shared by every planner of the task
    if len(memo) > 64:  # bounded: a few action tuples and skills per task
        memo.clear()
    memo[memo_key] = hit
    return hit


def step(
    planner: Any,
    st: Paths,
    node: np.ndarray,
    n_nodes: int,
    actions: Sequence[int],
    *,
    want_ends: bool = True,
    want_mass: bool = True,
    objectives: Sequence[Callable[[Any, Any], Any]] | None = None,
) -> tuple[np.ndarray, np.ndarray, Paths, np.ndarray]:
    """Apply every action in ``actions`` to every alive path.

    Paths belong to decision nodes (``node`` in ``0..n_nodes-1``); child node
    ``node * A + a`` is "that node, then action ``a``". Returns ``(ends, mass, alive,
    alive_node)``: ``ends[n*A + a] = (Σ p·objective, Σ p·U, Σ p·L)`` over paths that
    end right after that action, ``mass`` the probability entering each child, and
    the alive paths with their child node ids (in ``(action, branch, path)`` order).
    ``want_ends`` / ``want_mass`` false skip those sums (returned as zeros);
    ``objectives`` (default: the planner's) give one leading column each.

    The ``(action, branch, path)`` grid is evaluated in consecutive blocks small
    enough to stay in cache; the sums run over the whole grid in its order, so the
    result does not depend on the blocking.
    """
    r, t, w = planner.rows, planner.t, planner.world
    objs = (planner.objective,) if objectives is None else tuple(objectives)
    f = action_facts(planner, actions)
    n_act = f.n_act
    n_child = n_nodes * n_act
    n_paths = len(st)
    row = st.row
    ti = r.intent[row]
    assumed = np.where(st.led.known, ti, t.default)
    pk = assumed * t.answer_tokens.shape[0] + ti
    led0 = st.led.map(lambda x: x[None, None, :])
    row3 = row[None, None, :]
    prompt = w.system_tokens + led0.ctx
    reading_cost, money_value = r.reading_cost[row3], r.money_value[row3]
    band_lo, band_hi = r.band_lo[row3], r.band_hi[row3]
    misfit_cost, satisfaction = r.misfit_cost[row3], r.satisfaction[row3]
    patience = r.patience[row3]
    prob_n = st.prob[None, None, :]
    ends_parts: list[tuple[np.ndarray, ...]] = []
    mass_parts: list[tuple[np.ndarray, np.ndarray]] = []
    cont_parts: list[tuple[np.ndarray, ...]] = []
    for a0, a1, o0, o1 in blocks(n_act, n_paths):
        shape = (a1 - a0, o1 - o0, n_paths)
        prob = prob_n * f.bprob[a0:a1, o0:o1]
        visible = f.visible[a0:a1, o0:o1][:, :, assumed]
        mode = f.mode[a0:a1]
        led, code = rules.account_turn(
            led0,
            mode=mode,
            prompt=prompt,
            completion=visible + w.reasoning_tokens,
            visible=visible,
            words=f.words[a0:a1, o0:o1][:, :, assumed],
            q_user=f.q_user[a0:a1, o0:o1][:, :, pk],
            q_llm=f.q_llm[a0:a1, o0:o1][:, :, pk],
            reading_cost=reading_cost,
            money_value=money_value,
            band_lo=band_lo,
            band_hi=band_hi,
            misfit_cost=misfit_cost,
            satisfaction=satisfaction,
            patience=patience,
            rates=planner.rates,
            world=w,
            judged_length=planner.judged_length,
        )
        keep = prob > 0
        flat_prob = prob.reshape(-1)
        cand = Flat(np.flatnonzero(keep & (code == _CONTINUE)), shape)
        cont = cand
        if len(cand.idx):  # the user weighs one more round
            rc, tc = row[cand.n], ti[cand.n]
            kind = rules.reply_kind(mode[cand.a, 0, 0], cand(led.known))
            reply_tokens = planner.reply_tok[kind, tc]
            led_k = led.map(cand)
            gain, cost = rules.reply_decision(
                led_k,
                kind,
                p_standard=planner.p_ok[_STD],
                answer_tokens=t.answer_tokens[tc, _STD, 1],
                reply_tokens=reply_tokens,
                effort_answer=r.effort_answer[rc],
                time_cost=r.time_cost[rc],
                reading_cost=r.reading_cost[rc],
                money_value=r.money_value[rc],
                rates=planner.rates,
                world=w,
            )
            go = gain > cost
            cont = cand.select(go)
            if len(cont.idx):
                rowc = row[cont.n]
                led_c = rules.account_reply(
                    led_k.map(itemgetter(go)),
                    kind[go],
                    effort_answer=r.effort_answer[rowc],
                    time_cost=r.time_cost[rowc],
                    reply_tokens=reply_tokens[go],
                    world=w,
                )
                child = node[cont.n] * n_act + (cont.a + a0)
                cont_parts.append((rowc, flat_prob[cont.idx], child, led_c))
        if want_mass:
            kept = Flat(np.flatnonzero(keep), shape)
            mass_parts.append((node[kept.n] * n_act + (kept.a + a0), flat_prob[kept.idx]))
        if want_ends:
            end_mask = keep
            if len(cont.idx):
                end_mask = keep.copy()
                end_mask.reshape(-1)[cont.idx] = False
            end = Flat(np.flatnonzero(end_mask), shape)
            if len(end.idx):
                if 4 * len(end.idx) >= 3 * end_mask.size:  # most paths end here:
                    # the gains on the whole block, then the ending entries
                    u_all = rules.user_gain_value(led, w)
                    l_all, _ = rules.provider_gain(led, u_all, w)
                    u_val, l_val = end(u_all), end(l_all)
                else:
                    led_end = led.map(end)
                    u_val = rules.user_gain_value(led_end, w)
                    l_val, _ = rules.provider_gain(led_end, u_val, w)
                pe = flat_prob[end.idx]
                ce = node[end.n] * n_act + (end.a + a0)
                cols = [pe * np.asarray(fn(u_val, l_val), float) for fn in objs]
                ends_parts.append((ce, *cols, pe * u_val, pe * l_val))
    mass = np.zeros(n_child)
    if mass_parts:
        mass = np.bincount(
            cat([m[0] for m in mass_parts]),
            weights=cat([m[1] for m in mass_parts]),
            minlength=n_child,
        )
    ends = np.zeros((n_child, len(objs) + 2))
    if ends_parts:
        ce = cat([e[0] for e in ends_parts])
        for k in range(len(objs) + 2):
            ends[:, k] = np.bincount(
                ce, weights=cat([e[k + 1] for e in ends_parts]), minlength=n_child
            )
    if not cont_parts:
        return ends, mass, empty(), np.zeros(0, dtype=int)
    if len(cont_parts) == 1:
        rowc, probc, child, led_c = cont_parts[0]
    else:
        rowc = cat([c[0] for c in cont_parts])
        probc = cat([c[1] for c in cont_parts])
        child = cat([c[2] for c in cont_parts])
        led_c = rules.Ledger.concat([c[3] for c in cont_parts])
    return ends, mass, Paths(rowc, probc, led_c), child


_WORLD_REPRS: dict[int, tuple[WorldConfig, str]] = {}


FACT_ARRAYS: tuple[str, ...] = (
    "answer_tokens",
    "answer_words",
    "q_user",
    "q_llm",
    "aq_q_user",
    "aq_q_llm",
    "cq_tokens",
    "followup_tokens",
    "followup_words",
    "question_tokens",
    "reply_tokens",
)
"""The task tables' arrays a planner reads (its key digests them)."""


def digest(h: Any, arr: Any) -> None:
    """Feed ``arr`` (dtype, shape and bytes) to the hash ``h``."""
    a = np.ascontiguousarray(arr)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())


def planner_key(planner: Any) -> bytes:
    """A digest of ``planner``'s inputs but its objective: the task's facts, the world,
    the prices, the hypotheses (kept on the planner while they are the same objects)."""
    inputs = (planner.t, planner.rows, planner.world, planner.rates, planner.p_ok)
    cached = planner.__dict__.get("_static")
    if cached is not None and all(a is b for a, b in zip(cached[0], inputs, strict=True)):
        return cached[1]
    t, r = planner.t, planner.rows
    memo = getattr(t, "memo", None)
    facts = None if memo is None else memo.get("digest")
    if facts is None:  # the task's facts: digested once per tables object
        h = hashlib.blake2b(digest_size=20)
        h.update(repr(int(t.default)).encode())
        for arr in FACT_ARRAYS:
            digest(h, getattr(t, arr))
        facts = h.digest()
        if memo is not None:
            memo["digest"] = facts
    h = hashlib.blake2b(facts, digest_size=20)
    h.update(world_repr(planner.world).encode())
    h.update(repr((tuple(planner.rates), planner.judged_length, planner.unambiguous)).encode())
    for arr in (planner.p_ok, planner.reply_tok, *r.__dict__.values()):
        digest(h, arr)
    key = h.digest()
    planner._static = (inputs, key)
    return key


def world_repr(world: WorldConfig) -> str:
    """``repr(world)``, computed once per world object (its mutable parts — skills and
    prices — reach a planner's key through its ``p_ok`` and rates)."""
    hit = _WORLD_REPRS.get(id(world))
    if hit is None or hit[0] is not world:
        if len(_WORLD_REPRS) > 16:
            _WORLD_REPRS.clear()
        hit = _WORLD_REPRS[id(world)] = (world, repr(world))
    return hit[1]


def empty() -> Paths:
    """No paths."""
    fields = {name: np.zeros(0) for name in rules.LEDGER_FIELDS}
    fields["known"] = np.zeros(0, dtype=bool)
    return Paths(np.zeros(0, dtype=int), np.zeros(0), rules.Ledger(**fields))


BLOCK = 8192
"""Grid entries evaluated at once by :func:`step` (a few tens of kB per array)."""


def blocks(n_act: int, n_paths: int) -> list[tuple[int, int, int, int]]:
    """Consecutive blocks ``(a0, a1, o0, o1)`` of the ``(action, branch, path)`` grid in
    its flat order: several actions at once, or one (action, branch) per block."""
    if 2 * n_paths * n_act <= BLOCK:
        return [(0, n_act, 0, 2)]
    if 2 * n_paths <= BLOCK:
        g = BLOCK // (2 * n_paths)
        return [(a, min(a + g, n_act), 0, 2) for a in range(0, n_act, g)]
    return [(a, a + 1, o, o + 1) for a in range(n_act) for o in (0, 1)]


def cat(parts: list[np.ndarray]) -> np.ndarray:
    """The parts one after the other."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def alive(st: Paths) -> Paths:
    """``st`` without its paths of probability zero (they contribute nothing)."""
    alive = st.prob > 0
    return st if alive.all() else st.take(alive)
