"""Metrics over per-episode records: welfare with CIs, paired comparisons, Pareto analysis.

Input is a sequence of episode records (the dicts of ``episodes.jsonl``, see
:func:`load_records`). Required per record: ``assistant``; everything else is optional and
missing values are skipped (``None`` in the output when nothing is left). Assistants are
compared on matched episodes (common random numbers): two records of different assistants
with the same ``episode`` index share task, user profile and randomness. When an
assistant has several records with the same ``episode`` (several seeds in one file), the
match key becomes ``(seed, episode)``. The paired comparisons live in
:mod:`~gtalign_sim.eval.comparisons` and the Pareto analysis in
:mod:`~gtalign_sim.eval.pareto`; both are re-exported here.

Conventions:

* intervals are two-sided t intervals (:func:`mean_ci`); ``n = 1`` collapses to the mean;
* "first action" is ``modes[0]``, the assistant's first move of the episode;
* ``efficiency`` follows the paper's "answer score per 1,000 characters" but in tokens:
  ``1000 · mean(answer_quality) / mean(assistant tokens)`` over the episodes that have
  both (a ratio of means, so short episodes cannot blow it up), with a delta-method 95%
  interval ``efficiency_ci95`` (:func:`~gtalign_sim.eval.stats.ratio_ci`);
  ``efficiency_chars`` is the same per 1,000 characters of assistant text when
  transcripts are present;
* every float in the output is finite or ``None`` — ``json.dumps(allow_nan=False)`` works.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .columns import ASSISTANT_ORDER, STRATEGIES, UNKNOWN, assistant_order
from .columns import Columns as _Columns
from .columns import finite_mean as _mean
from .columns import fraction as _frac
from .comparisons import _compare, compare, paired_difference
from .pareto import _hypervolume_2d as _hypervolume_2d  # re-exported: the old home
from .pareto import _pareto, pareto_analysis
from .stats import bootstrap_ci, mean_ci, paired_ratio_difference, ratio_ci, t_quantile

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
_EXTRA_COLUMNS = ("assistant_chars", "total_chars", "user_tokens")
_UNKNOWN = UNKNOWN


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
        cols.append(r, self._strings)
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
                cols.sort_by_episode()
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
        efficiency = _efficiency_comparison(groups, ref) if ref is not None else {}
        out = {
            "schema": SCHEMA,
            "n_records": self.n_records,
            "assistants": names,
            "reference": ref,
            "comparison_metric": metric,
            "assistant_metrics": per,
            "comparison": comparison,
            "efficiency_comparison": efficiency,
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
    eff = ratio_ci(c.column("answer_quality"), c.column("tokens"), scale=1000.0)
    out["efficiency"] = eff["mean"]
    out["efficiency_ci95"] = [eff["lo"], eff["hi"]] if eff["lo"] is not None else None
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


def _efficiency_comparison(groups: Mapping[str, _Columns], ref: str) -> dict[str, Any]:
    """Answer quality per 1,000 assistant tokens, ``other − reference`` on matched
    episodes (:func:`~gtalign_sim.eval.stats.paired_ratio_difference`)."""
    from .columns import matched_rows

    out: dict[str, Any] = {}
    for other in groups:
        if other == ref:
            continue
        keys, (rows_o, rows_r) = matched_rows(groups, [other, ref])
        o, r = groups[other], groups[ref]
        io, ir = [rows_o[k] for k in keys], [rows_r[k] for k in keys]
        out[other] = paired_ratio_difference(
            o.column("answer_quality", io),
            o.column("tokens", io),
            r.column("answer_quality", ir),
            r.column("tokens", ir),
            scale=1000.0,
        )
    return out
