"""Metrics over per-episode records: welfare with CIs, paired comparisons, Pareto analysis.

Input is a sequence of episode records (the dicts of ``episodes.jsonl``, see
:func:`load_records`). Required per record: ``assistant``; everything else is optional and
missing values are skipped (``None`` in the output when nothing is left). Assistants are
compared on matched episodes (common random numbers): two records of different assistants
with the same ``episode`` index share task, user profile and randomness. When an
assistant has several records with the same ``episode`` (several seeds in one file), the
match key becomes ``(seed, episode)``.

Conventions:

* intervals are two-sided t intervals (:func:`mean_ci`); ``n = 1`` collapses to the mean;
* "first action" is ``modes[0]``, the assistant's first move of the episode;
* ``efficiency`` follows the paper's "answer score per 1,000 characters" but in tokens:
  ``1000 · mean(answer_quality) / mean(assistant tokens)`` (a ratio of means, so short
  failed episodes cannot blow it up); ``efficiency_chars`` is the same per 1,000
  characters of assistant text when transcripts are present;
* every float in the output is finite or ``None`` — ``json.dumps(allow_nan=False)`` works.
"""

from __future__ import annotations

import json
import math
import os
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gtalign_sim.game.pareto import pareto_mask

from .stats import bootstrap_ci, finite_values, mean_ci, t_cdf, t_quantile

__all__ = [
    "ACTION_MODES",
    "ASSISTANT_ORDER",
    "SCALAR_METRICS",
    "STRATEGIES",
    "MetricsAccumulator",
    "assistant_metrics",
    "assistant_order",
    "bootstrap_ci",
    "compare",
    "compute_metrics",
    "jsonable",
    "load_records",
    "mean_ci",
    "paired_difference",
    "pareto_analysis",
    "t_quantile",
    "write_json_atomic",
    "write_metrics",
]

SCHEMA = "gtalign_sim.eval.metrics/v1"

ACTION_MODES: tuple[str, ...] = ("DA", "CQ", "AQ")
"""Assistant modes counted in action frequencies; any other first mode counts as ``other``."""

STRATEGIES: tuple[str, ...] = ("DQ", "VQ")
"""User question strategies: detailed and vague."""

ASSISTANT_ORDER: tuple[str, ...] = (
    "oracle",
    "gtalign",
    "linear_welfare",
    "user_only",
    "selfish_llm",
    "always_da",
    "always_cq",
    "always_aq",
    "random",
)
"""Display order of the built-in assistants; other names follow in order of appearance."""

SCALAR_METRICS: tuple[str, ...] = (
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "aggregate",
    "answer_quality",
    "tokens",
    "turns",
    "format_score",
)
"""Per-episode scalars summarised with a mean and 95% CI for every assistant."""

_FAMILY_METRICS = ("mutual_welfare", "user_welfare", "llm_welfare", "answer_quality")
_UNKNOWN = "unknown"


# --------------------------------------------------------------------------- record access


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Read an ``episodes.jsonl`` file (one JSON object per line; blank lines skipped)."""
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
    return out


def _num(x: Any) -> float | None:
    """``x`` as a finite float, else ``None``."""
    if x is None or isinstance(x, str):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _assistant_tokens(r: Mapping[str, Any]) -> float | None:
    tokens = r.get("tokens")
    if isinstance(tokens, Mapping) and _num(tokens.get("assistant")) is not None:
        return _num(tokens.get("assistant"))
    if _num(tokens) is not None:
        return _num(tokens)
    transcript = r.get("transcript")
    if isinstance(transcript, list) and transcript:
        vals = [_num(t.get("tokens")) for t in transcript if t.get("role") == "assistant"]
        if vals and all(v is not None for v in vals):
            return float(sum(vals))  # type: ignore[arg-type]
    return None


def _transcript_chars(r: Mapping[str, Any], role: str | None) -> float | None:
    transcript = r.get("transcript")
    if not isinstance(transcript, list) or not transcript:
        return None
    total = 0
    for turn in transcript:
        if role is None or turn.get("role") == role:
            total += len(str(turn.get("text") or ""))
    return float(total)


def _turns(r: Mapping[str, Any]) -> float | None:
    t = _num(r.get("turns"))
    if t is not None:
        return t
    modes = r.get("modes")
    return float(len(modes)) if isinstance(modes, list) and modes else None


def _value(r: Mapping[str, Any], metric: str) -> float | None:
    if metric == "tokens":
        return _assistant_tokens(r)
    if metric == "turns":
        return _turns(r)
    return _num(r.get(metric))


def _first_mode(r: Mapping[str, Any]) -> str | None:
    modes = r.get("modes")
    if isinstance(modes, list) and modes and modes[0] is not None:
        return str(modes[0])
    return None


def _strategy(r: Mapping[str, Any]) -> str | None:
    s = r.get("strategy")
    return s if s in STRATEGIES else None


def _pricing(r: Mapping[str, Any]) -> str:
    profile = r.get("profile")
    plan = profile.get("pricing") if isinstance(profile, Mapping) else None
    if isinstance(plan, Mapping):  # a pricing config {"name": ..., ...}
        plan = plan.get("name")
    return str(plan) if plan else _UNKNOWN


def assistant_order(names: Iterable[str]) -> list[str]:
    """Distinct names in display order: :data:`ASSISTANT_ORDER` first, then as they appear."""
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    known = [n for n in ASSISTANT_ORDER if n in seen]
    return known + [n for n in seen if n not in ASSISTANT_ORDER]


# --------------------------------------------------------------------------- columns


_EXTRA_COLUMNS = ("assistant_chars", "total_chars", "user_tokens")
_NAN = float("nan")


class _Columns:
    """What the metrics need of one assistant's episodes, column by column.

    Floats live in ``array('d')`` (NaN where a value is missing: every statistic below
    drops missing and non-finite values alike), labels are interned strings, and the
    verbosities are pooled into one counter, so a record costs ~150 bytes here however
    long its transcript and decisions are.
    """

    __slots__ = ("episode", "family", "mode", "pricing", "seed", "stop", "strategy", "values")

    def __init__(self, metrics: Sequence[str]) -> None:
        self.values: dict[str, array[float]] = {m: array("d") for m in metrics}
        self.episode: list[Any] = []
        self.seed: list[Any] = []
        self.family: list[str] = []
        self.pricing: list[str] = []
        self.strategy: list[str | None] = []
        self.mode: list[str | None] = []
        self.stop: list[str] = []

    def __len__(self) -> int:
        return len(self.episode)

    def column(self, metric: str, rows: Iterable[int] | None = None) -> list[float]:
        col = self.values[metric]
        return list(col) if rows is None else [col[i] for i in rows]

    def permute(self, order: Sequence[int]) -> None:
        for m, col in self.values.items():
            self.values[m] = array("d", (col[i] for i in order))
        for name in ("episode", "seed", "family", "pricing", "strategy", "mode", "stop"):
            col = getattr(self, name)
            setattr(self, name, [col[i] for i in order])


def _intern(s: str | None, table: dict[str, str]) -> str | None:
    return None if s is None else table.setdefault(s, s)


class MetricsAccumulator:
    """Metrics over records fed one at a time (:meth:`add`), holding only compact columns.

    ``compute_metrics(records)`` is ``MetricsAccumulator().add_all(records).result()``;
    an experiment streams ``episodes.jsonl`` through :meth:`add` instead of loading it, so
    memory grows by ~150 bytes per episode rather than by whole records. With
    ``canonical=True``, :meth:`result` first sorts every assistant's episodes by
    ``(episode, seed)``: the metrics then do not depend on the order the records arrived
    in (a resumed run appends in a different order; floating-point sums are
    order-sensitive in the last bits).
    """

    def __init__(self, metric: str = "mutual_welfare") -> None:
        self._metrics = tuple(dict.fromkeys((*SCALAR_METRICS, metric, *_EXTRA_COLUMNS)))
        self._cols: dict[str, _Columns] = {}
        self._verb: dict[str, Counter[str]] = {}
        self._strings: dict[str, str] = {}
        self._failures: dict[str, Counter[str]] = {}
        self._attempted: Counter[str] = Counter()
        self.n_records = 0

    def add(self, r: Mapping[str, Any]) -> None:
        """Digest one episode record (needs ``assistant``). A failed episode (its
        ``failure`` is set) is counted by stage and reason, never averaged."""
        if "assistant" not in r:
            raise ValueError(f"record {self.n_records} has no 'assistant' key")
        name = str(r["assistant"])
        self._attempted[name] += 1
        failure = r.get("failure")
        if failure:
            key = f"{failure.get('stage', '?')}: {failure.get('reason', '?')}"
            self._failures.setdefault(name, Counter())[key] += 1
            self.n_records += 1
            return
        cols = self._cols.get(name)
        if cols is None:
            cols = self._cols[name] = _Columns(self._metrics)
            self._verb[name] = Counter()
        self.n_records += 1
        for m in self._metrics:
            if m == "assistant_chars":
                v = _transcript_chars(r, "assistant")
            elif m == "total_chars":
                v = _transcript_chars(r, None)
            elif m == "user_tokens":
                tokens = r.get("tokens")
                v = _num(tokens.get("user")) if isinstance(tokens, Mapping) else None
            else:
                v = _value(r, m)
            cols.values[m].append(_NAN if v is None else v)
        t = self._strings
        cols.episode.append(r.get("episode"))
        cols.seed.append(r.get("seed"))
        cols.family.append(_intern(str(r.get("family") or _UNKNOWN), t))  # type: ignore[arg-type]
        cols.pricing.append(_intern(_pricing(r), t))  # type: ignore[arg-type]
        cols.strategy.append(_strategy(r))
        cols.mode.append(_intern(_first_mode(r), t))
        cols.stop.append(_intern(str(r.get("stop_reason")), t))  # type: ignore[arg-type]
        verb = self._verb[name]
        for v in r.get("verbosities") or []:
            if v is not None:
                verb[str(v)] += 1

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> MetricsAccumulator:
        """:meth:`add` every record; returns ``self``."""
        for r in records:
            self.add(r)
        return self

    def groups(self, canonical: bool = False) -> dict[str, _Columns]:
        """Columns by assistant in display order (sorted by episode if ``canonical``)."""
        if canonical:
            for cols in self._cols.values():
                order = sorted(range(len(cols)), key=lambda i, c=cols: _episode_order(c, i))
                cols.permute(order)
        return {a: self._cols[a] for a in assistant_order(self._cols)}

    def assistant_metrics(self, canonical: bool = False) -> dict[str, dict[str, Any]]:
        """:func:`assistant_metrics` of the records added."""
        return {a: _single_assistant(c, self._verb[a]) for a, c in self.groups(canonical).items()}

    def result(
        self,
        reference: str = "gtalign",
        metric: str = "mutual_welfare",
        eps: float = 0.01,
        canonical: bool = False,
    ) -> dict[str, Any]:
        """:func:`compute_metrics` of the records added."""
        if metric not in self._metrics:
            raise ValueError(f"metric {metric!r} was not collected; pass it to the constructor")
        groups = self.groups(canonical)
        per = {a: _single_assistant(c, self._verb[a]) for a, c in groups.items()}
        names = list(per)
        ref: str | None = reference
        notes = []
        if ref not in per:
            fallback = "gtalign" if "gtalign" in per else (names[0] if names else None)
            if names:
                notes.append(f"reference {reference!r} not in records; using {fallback!r}")
            ref = fallback
        comparison = _compare(groups, ref, metric) if ref is not None else {}
        out = {
            "schema": SCHEMA,
            "n_records": self.n_records,
            "assistants": names,
            "reference": ref,
            "comparison_metric": metric,
            "assistant_metrics": per,
            "comparison": comparison,
            "pareto": _pareto(groups, eps),
            "notes": notes,
            "failures": self.failures(),
        }
        return jsonable(out)

    def failures(self) -> dict[str, dict[str, Any]]:
        """Failed episodes per assistant: ``{"failed", "attempted", "fraction", "reasons"}``
        (reasons ``"<stage>: <reason>"`` with counts), for every assistant seen."""
        out = {}
        for name in assistant_order(self._attempted):
            reasons = self._failures.get(name, Counter())
            n, total = sum(reasons.values()), self._attempted[name]
            out[name] = {
                "failed": n,
                "attempted": total,
                "fraction": n / total if total else 0.0,
                "reasons": dict(reasons.most_common()),
            }
        return out


def _episode_order(cols: _Columns, i: int) -> tuple[Any, ...]:
    ep, seed = cols.episode[i], cols.seed[i]
    if isinstance(ep, int) and not isinstance(ep, bool):
        return (0, ep, seed if isinstance(seed, int) else -1)
    return (1, 0, 0)  # unkeyed records keep their arrival order, after the keyed ones


def _accumulate(
    records: Iterable[Mapping[str, Any]], metric: str = "mutual_welfare"
) -> dict[str, _Columns]:
    return MetricsAccumulator(metric).add_all(records).groups()


def _mean(values: Iterable[Any]) -> float | None:
    x = finite_values(values)
    return float(x.mean()) if x.size else None


def _frac(k: int, n: int) -> float | None:
    return k / n if n else None


def jsonable(obj: Any) -> Any:
    """A JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to ``None``, tuples to lists."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


# --------------------------------------------------------------------------- action mixes


def _action_block(c: _Columns, rows: Sequence[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """First-action frequencies and counts by user strategy (``DQ``, ``VQ``, ``all``).

    Episodes without a first mode are left out of the denominators (counted in
    ``counts[...]["missing"]``); first modes outside :data:`ACTION_MODES` count as
    ``other`` (that key appears only when some episode has one). Frequencies are
    ``None`` for a strategy with no episodes.
    """
    counters: dict[str, Counter[str]] = {s: Counter() for s in (*STRATEGIES, "all")}
    missing: Counter[str] = Counter()
    for i in rows:
        mode = c.mode[i]
        strat = c.strategy[i]
        keys = ["all"] if strat is None else [strat, "all"]
        for k in keys:
            if mode is None:
                missing[k] += 1
            else:
                counters[k][mode if mode in ACTION_MODES else "other"] += 1
    has_other = counters["all"]["other"] > 0
    labels = [*ACTION_MODES, "other"] if has_other else list(ACTION_MODES)
    freqs: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    for s, cnt in counters.items():
        n = sum(cnt.values())
        freqs[s] = {m: _frac(cnt[m], n) for m in labels}
        counts[s] = {**{m: cnt[m] for m in labels}, "n": n, "missing": missing[s]}
    return freqs, counts


def _welfare_block(c: _Columns, rows: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(rows)}
    for m in _FAMILY_METRICS:
        out[m] = _mean(c.column(m, rows))
    ci = mean_ci(c.column("mutual_welfare", rows))
    out["mutual_welfare_lo"], out["mutual_welfare_hi"] = ci["lo"], ci["hi"]
    return out


def _strategy_share(c: _Columns, rows: Sequence[int]) -> tuple[float | None, dict[str, int]]:
    cnt = Counter(c.strategy[i] or _UNKNOWN for i in rows)
    known = cnt["DQ"] + cnt["VQ"]
    return _frac(cnt["VQ"], known), {"DQ": cnt["DQ"], "VQ": cnt["VQ"], _UNKNOWN: cnt[_UNKNOWN]}


def _single_assistant(c: _Columns, verb: Counter[str]) -> dict[str, Any]:
    rows = range(len(c))
    out: dict[str, Any] = {"n_episodes": len(c)}
    for m in SCALAR_METRICS:
        out[m] = mean_ci(c.column(m))
    out["action_frequencies"], out["action_counts"] = _action_block(c, rows)
    n_verb = sum(verb.values())
    out["verbosity_frequencies"] = {k: verb[k] / n_verb for k in sorted(verb)}
    out["stop_reasons"] = dict(sorted(Counter(c.stop).items()))
    out["user_strategy_share"], out["user_strategy_counts"] = _strategy_share(c, rows)

    fams: dict[str, list[int]] = defaultdict(list)
    plans: dict[str, list[int]] = defaultdict(list)
    for i in rows:
        fams[c.family[i]].append(i)
        plans[c.pricing[i]].append(i)
    out["by_family"] = {f: _welfare_block(c, fams[f]) for f in sorted(fams)}
    by_pricing = {}
    for p in sorted(plans):
        block = _welfare_block(c, plans[p])
        block["action_frequencies"], _ = _action_block(c, plans[p])
        block["user_strategy_share"], _ = _strategy_share(c, plans[p])
        by_pricing[p] = block
    out["by_pricing"] = by_pricing

    q = _mean(c.column("answer_quality"))
    tok = _mean(c.column("tokens"))
    a_chars = _mean(c.column("assistant_chars"))
    t_chars = _mean(c.column("total_chars"))
    out["efficiency"] = 1000.0 * q / tok if q is not None and tok else None
    out["efficiency_chars"] = 1000.0 * q / a_chars if q is not None and a_chars else None
    out["mean_assistant_chars"] = a_chars
    out["mean_total_chars"] = t_chars
    if a_chars is not None and t_chars:
        out["response_length_ratio"] = a_chars / t_chars
    else:  # fall back to tokens when there is no transcript text
        user_tok = _mean(c.column("user_tokens"))
        total = (tok or 0.0) + (user_tok or 0.0)
        out["response_length_ratio"] = tok / total if tok is not None and total else None
    n_err = sum(1 for s in c.stop if s == "error")
    out["error_rate"] = _frac(n_err, len(c))
    return out


def assistant_metrics(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-assistant summary, keyed in display order (:func:`assistant_order`).

    Each value holds: ``n_episodes``; for each of :data:`SCALAR_METRICS` (``tokens`` =
    assistant tokens) a :func:`mean_ci` dict; ``action_frequencies`` / ``action_counts``
    of the first mode by user strategy (``DQ``, ``VQ``, ``all``; frequencies sum to 1);
    ``verbosity_frequencies`` pooled over all assistant turns; ``stop_reasons`` counts;
    ``user_strategy_share`` (fraction of VQ among episodes with a known strategy);
    ``by_family[family]`` and ``by_pricing[plan]`` (``n``, mean mutual/user/llm welfare
    and answer quality, mutual CI; pricing also its first-action frequencies);
    ``efficiency`` (quality per 1,000 assistant tokens), ``efficiency_chars``,
    ``response_length_ratio``, ``mean_assistant_chars``, ``mean_total_chars``,
    ``error_rate``. Missing family/pricing are grouped as ``"unknown"``.
    """
    return MetricsAccumulator().add_all(records).assistant_metrics()


# --------------------------------------------------------------------------- comparisons


def _keyed(c: _Columns, name: str, with_seed: bool = False) -> dict[Any, int]:
    """Rows of one assistant by match key: ``episode``, or ``(seed, episode)`` when
    episodes repeat (or ``with_seed``). Records without ``episode`` get keys that match
    nothing."""
    eps = c.episode
    if not with_seed and all(e is not None for e in eps) and len(set(eps)) == len(eps):
        return {e: i for i, e in enumerate(eps)}
    keyed: dict[Any, int] = {}
    for i, e in enumerate(eps):
        key = (c.seed[i], e) if e is not None else ("#", i)
        if key in keyed:
            raise ValueError(
                f"assistant {name!r} has two records for episode key {key}; "
                "cannot match episodes across assistants"
            )
        keyed[key] = i
    return keyed


def _matched(
    groups: Mapping[str, _Columns], names: Sequence[str], outer: bool = False
) -> tuple[list[Any], list[dict[Any, int]]]:
    """Episode keys shared by all ``names`` (all keys seen if ``outer``) and, per name, its
    rows by key."""
    keyed = [_keyed(groups[n], n) for n in names]
    # keys of mixed styles (int vs tuple) never match: fall back to (seed, episode) for all
    if len({type(next(iter(k), None)) for k in keyed if k}) > 1:
        keyed = [_keyed(groups[n], n, with_seed=True) for n in names]
    keys = set(keyed[0]) if keyed else set()
    for k in keyed[1:]:
        keys = keys | set(k) if outer else keys & set(k)
    return sorted(keys, key=repr), keyed


def _paired(
    groups: Mapping[str, _Columns], a: str, b: str, metric: str, confidence: float = 0.95
) -> dict[str, Any]:
    for name in (a, b):
        if name not in groups:
            raise ValueError(f"unknown assistant {name!r}; present: {list(groups)}")
    keys, (ka, kb) = _matched(groups, [a, b])
    col_a, col_b = groups[a].values[metric], groups[b].values[metric]
    diffs = []
    for k in keys:
        va, vb = col_a[ka[k]], col_b[kb[k]]
        if math.isfinite(va) and math.isfinite(vb):
            diffs.append(va - vb)
    d = np.asarray(diffs, dtype=float)
    ci = mean_ci(d, confidence)
    n = int(d.size)
    out: dict[str, Any] = {"a": a, "b": b, "metric": metric, **ci}
    out["p_better"] = _frac(int(np.sum(d > 1e-12)), n)
    out["p_worse"] = _frac(int(np.sum(d < -1e-12)), n)
    out["p_tie"] = _frac(int(np.sum(np.abs(d) <= 1e-12)), n)
    p_value: float | None = None
    if n >= 2:
        std = float(ci["std"])
        if std > 0:
            t = abs(float(d.mean())) / (std / math.sqrt(n))
            p_value = min(1.0, 2.0 * t_cdf(-t, n - 1))  # lower tail: no cancellation
        else:
            p_value = 1.0 if abs(float(d.mean())) <= 1e-12 else 0.0
    out["p_value"] = p_value
    return out


def paired_difference(
    records: Iterable[Mapping[str, Any]],
    a: str,
    b: str,
    metric: str = "mutual_welfare",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Mean and t-CI of the per-episode difference ``a − b`` on matched episodes (CRN).

    Returns ``{"a", "b", "metric", "mean", "lo", "hi", "std", "n", "p_better", "p_worse",
    "p_tie", "p_value"}``: ``p_better`` is the fraction of matched episodes where ``a``'s
    value exceeds ``b``'s (by more than 1e-12), ``p_value`` the two-sided paired t-test
    p-value. Episodes where either value is missing are dropped. ``n = 0`` gives ``None``
    statistics with a ``"note"``. Unknown assistant names raise ``ValueError``.
    """
    return _paired(_accumulate(records, metric), a, b, metric, confidence)


def _compare(
    groups: Mapping[str, _Columns], reference: str, metric: str, confidence: float = 0.95
) -> dict[str, dict[str, Any]]:
    names = list(groups)
    if reference not in names:
        raise ValueError(f"reference assistant {reference!r} not in records; present: {names}")
    return {
        other: _paired(groups, other, reference, metric, confidence)
        for other in names
        if other != reference
    }


def compare(
    records: Iterable[Mapping[str, Any]],
    reference: str = "gtalign",
    metric: str = "mutual_welfare",
    confidence: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """Paired differences ``other − reference`` for every other assistant, keyed by name.

    Negative means mean the reference is better. Raises ``ValueError`` if ``reference``
    has no records.
    """
    return _compare(_accumulate(records, metric), reference, metric, confidence)


# --------------------------------------------------------------------------- Pareto


def _hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by ``points`` (maximisation) above reference point ``ref``."""
    p = points[np.all(points > ref, axis=1)]
    if len(p) == 0:
        return 0.0
    p = p[np.argsort(-p[:, 0])]  # by U descending
    area, best_l = 0.0, ref[1]
    for u, l in p:
        if l > best_l:
            area += (u - ref[0]) * (l - best_l)
            best_l = l
    return float(area)


def pareto_analysis(records: Iterable[Mapping[str, Any]], eps: float = 0.01) -> dict[str, Any]:
    """Compare assistants in the (U, L) = (user_welfare, llm_welfare) plane.

    Returns:

    * ``means[a]``: mean ``user_welfare``, ``llm_welfare`` and ``√(Ū·L̄)``;
    * ``on_frontier[a]`` / ``frontier``: whether ``a``'s mean point is on the joint Pareto
      frontier of all mean points (``gtalign_sim.game.pareto.pareto_mask``), and the
      frontier names ordered by increasing U;
    * ``reference_point``: the minima of the mean U and mean L over assistants;
      ``hypervolume[a]``: area of the box between that point and ``a``'s mean point
      (0 for an assistant holding a minimum); ``joint_hypervolume``: area of their union;
    * ``eps_dominance[a][b]``: ``{"count", "n", "fraction"}`` — on how many of the ``n``
      episodes matched between ``a`` and ``b`` the point of ``a`` ε-dominates that of
      ``b``, i.e. ``a ≥ b − ε`` in both coordinates and ``a > b + ε`` in one
      (``gtalign_sim.game.pareto.dominates`` with ``tol = ε``);
    * per episode, among the assistants that ran it (episodes with at least two;
      ``frontier_episodes[a]`` counts ``a``'s): ``frontier_share[a]`` (fraction of ``a``'s
      episodes where no other assistant ε-dominates it) and ``mean_linf_regret[a]`` (mean
      L∞ distance from ``a``'s point up to the episode's Pareto frontier, 0 when on it);
      ``n_matched_all`` counts the episodes every assistant ran.

    Assistants without a finite mean (U, L) are left out of the frontier analysis.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return _pareto(_accumulate(records), eps)


def _pareto(groups: Mapping[str, _Columns], eps: float) -> dict[str, Any]:
    means: dict[str, dict[str, float]] = {}
    for a, c in groups.items():
        u = _mean(c.column("user_welfare"))
        l = _mean(c.column("llm_welfare"))
        if u is not None and l is not None:
            mutual = math.sqrt(max(u, 0.0) * max(l, 0.0))
            means[a] = {"user_welfare": u, "llm_welfare": l, "mutual_welfare_of_means": mutual}
    names = list(means)
    out: dict[str, Any] = {
        "assistants": names,
        "eps": eps,
        "means": means,
        "on_frontier": {},
        "frontier": [],
        "reference_point": None,
        "hypervolume": {},
        "joint_hypervolume": None,
        "eps_dominance": {},
        "n_matched_all": 0,
        "frontier_episodes": {},
        "frontier_share": {},
        "mean_linf_regret": {},
    }
    if not names:
        return out
    pts = np.array([[means[a]["user_welfare"], means[a]["llm_welfare"]] for a in names])
    mask = pareto_mask(pts)
    out["on_frontier"] = {a: bool(m) for a, m in zip(names, mask, strict=True)}
    out["frontier"] = sorted(
        (a for a, m in zip(names, mask, strict=True) if m), key=lambda a: means[a]["user_welfare"]
    )
    ref = pts.min(axis=0)
    out["reference_point"] = [float(ref[0]), float(ref[1])]
    out["hypervolume"] = {
        a: float(max(0.0, p[0] - ref[0]) * max(0.0, p[1] - ref[1]))
        for a, p in zip(names, pts, strict=True)
    }
    out["joint_hypervolume"] = _hypervolume_2d(pts, ref)

    def points(name: str, rows: Sequence[int | None]) -> np.ndarray:
        c = groups[name]
        u, l = c.values["user_welfare"], c.values["llm_welfare"]
        vals = [(np.nan, np.nan) if i is None else (u[i], l[i]) for i in rows]
        return np.array(vals, dtype=float)

    def eps_dominates(x: np.ndarray, y: np.ndarray, tol: float) -> np.ndarray:
        # vectorised gtalign_sim.game.pareto.dominates over the last axis
        return np.all(x >= y - tol, axis=-1) & np.any(x > y + tol, axis=-1)

    dom: dict[str, dict[str, Any]] = {a: {} for a in names}
    for a in names:
        for b in names:
            if a == b:
                continue
            keys, (ka, kb) = _matched(groups, [a, b])
            pa = points(a, [ka[k] for k in keys]).reshape(-1, 2)
            pb = points(b, [kb[k] for k in keys]).reshape(-1, 2)
            ok = np.isfinite(pa).all(axis=1) & np.isfinite(pb).all(axis=1)
            count = int(eps_dominates(pa[ok], pb[ok], eps).sum())
            n = int(ok.sum())
            dom[a][b] = {"count": count, "n": n, "fraction": _frac(count, n)}
    out["eps_dominance"] = dom

    keys, keyed_list = _matched(groups, names, outer=True)
    # arr[e, i] = (U, L) of assistant i on episode e; NaN where it did not run / lacks U or L
    arr = np.stack(
        [
            points(a, [kd.get(k) for k in keys]).reshape(-1, 2)
            for a, kd in zip(names, keyed_list, strict=True)
        ],
        axis=1,
    ).reshape(len(keys), len(names), 2)
    present = np.isfinite(arr).all(axis=-1)  # [e, i]
    out["n_matched_all"] = int(present.all(axis=1).sum())
    keep = present.sum(axis=1) >= 2
    arr, present = arr[keep], present[keep]
    # comparisons with NaN are False: absent assistants never dominate anybody
    x_j, x_i = arr[:, :, None, :], arr[:, None, :, :]  # [e, j, i, :]: j vs i
    # i is on the ε-frontier when no other j ε-dominates it (j = i never does for ε >= 0)
    share = ~eps_dominates(x_j, x_i, eps).any(axis=1)  # [e, i]
    on_front = present & ~eps_dominates(x_j, x_i, 1e-9).any(axis=1)  # exact frontier, [e, j]
    gaps = np.clip(x_j - x_i, 0.0, None).max(axis=-1)  # [e, j, i]: L∞ gap from i up to j
    regret = np.where(on_front[:, :, None], gaps, np.inf).min(axis=1)  # [e, i]
    for i, a in enumerate(names):
        m = present[:, i]
        n = int(m.sum())
        out["frontier_episodes"][a] = n
        out["frontier_share"][a] = float(share[m, i].mean()) if n else None
        out["mean_linf_regret"][a] = float(regret[m, i].mean()) if n else None
    return out


# --------------------------------------------------------------------------- everything


def compute_metrics(
    records: Iterable[Mapping[str, Any]],
    reference: str = "gtalign",
    metric: str = "mutual_welfare",
    eps: float = 0.01,
) -> dict[str, Any]:
    """All metrics in one JSON-safe dict (what :func:`write_metrics` saves).

    Keys: ``schema``, ``n_records``, ``assistants`` (display order), ``reference`` (the
    requested one if present, else ``gtalign``, else the first assistant; ``None`` when
    there are no records), ``comparison_metric``, ``assistant_metrics``
    (:func:`assistant_metrics`), ``comparison`` (:func:`compare`, ``other − reference``)
    and ``pareto`` (:func:`pareto_analysis`). Records are digested one at a time
    (:class:`MetricsAccumulator`), so a generator keeps memory flat.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    acc = MetricsAccumulator(metric).add_all(records)
    return acc.result(reference=reference, metric=metric, eps=eps)


def write_json_atomic(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON to ``path`` through a temporary file and
    ``os.replace``: a reader (or a crash) sees the old file or the new one, never half."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return p


def write_metrics(
    records: Iterable[Mapping[str, Any]] | MetricsAccumulator,
    path: str | Path,
    reference: str = "gtalign",
    metric: str = "mutual_welfare",
    eps: float = 0.01,
    canonical: bool = False,
) -> dict[str, Any]:
    """Compute :func:`compute_metrics` and write it as JSON to ``path`` (a directory gets
    ``metrics.json`` inside it) atomically; parent directories are created. ``records``
    may be a filled :class:`MetricsAccumulator` (``canonical`` then sorts its episodes
    first). Returns the dict."""
    if isinstance(records, MetricsAccumulator):
        out = records.result(reference=reference, metric=metric, eps=eps, canonical=canonical)
    else:
        out = compute_metrics(records, reference=reference, metric=metric, eps=eps)
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.json"
    write_json_atomic(out, p)
    return out
