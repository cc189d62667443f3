"""Metrics in long ("tidy") form: one row per run × assistant × metric × group.

:func:`metrics_rows` flattens a metrics dict (:func:`~gtalign_sim.eval.metrics.compute_metrics`,
``metrics.json``) into rows with the columns :data:`COLUMNS`; :func:`write_metrics_csv`
writes them to ``metrics.csv`` with the standard :mod:`csv` module, so any reader
(``csv.DictReader``, pandas, R) can stack runs. ``lo``/``hi`` are the 95% interval where the
metrics dict has one and empty otherwise; ``n`` is the number of episodes behind the value
(empty where the dict does not record it). Floats are written with ``repr``, so reading
them back gives exactly the values of ``metrics.json``.

Rows per assistant ``a`` (``group`` is ``all`` unless stated):

* every per-episode summary (``user_welfare``, ``mutual_welfare``, ``tokens``, …) and
  every plain number (``efficiency``, ``error_rate``, ``user_strategy_share``, …);
* ``first_action_<mode>``: first-action frequency, groups ``all``, ``strategy=DQ``,
  ``strategy=VQ``, ``pricing=<plan>`` and ``pricing=<plan>,strategy=<s>``;
  ``verbosity_<v>`` and ``stop_reason_<r>`` (fractions of turns and episodes);
* ``mutual_welfare`` (with interval), ``user_welfare``, ``llm_welfare``,
  ``answer_quality`` and ``user_strategy_share`` for groups ``family=<f>`` and
  ``pricing=<plan>``;
* paired comparison with the reference (``a − reference``, group ``vs=<reference>``):
  ``paired_diff_<metric>`` (with interval), ``paired_p_value_<metric>``,
  ``paired_p_holm_<metric>``, ``paired_p_better_<metric>``;
* Pareto analysis: ``nash_social_welfare`` (with interval), ``hypervolume``,
  ``on_frontier`` (1 or 0), ``frontier_share``, ``eps_coverage``, ``mean_linf_regret``,
  ``mean_linf_regret_normalized`` and ``eps_dominance`` (group ``vs=<b>``: fraction of
  matched episodes where ``a`` ε-dominates ``b``);
* ``failed_fraction`` (``n`` = attempted episodes).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "COLUMNS",
    "empirical_game_rows",
    "long_row",
    "metrics_rows",
    "write_metrics_csv",
    "write_rows_csv",
]

COLUMNS: tuple[str, ...] = ("run", "assistant", "metric", "group", "mean", "lo", "hi", "n")
"""Columns of :func:`metrics_rows` and ``metrics.csv``, in order."""

_GROUP_METRICS = ("mutual_welfare", "user_welfare", "llm_welfare", "answer_quality")
_PARETO_SCALARS = (
    "hypervolume",
    "on_frontier",
    "frontier_share",
    "eps_coverage",
    "mean_linf_regret",
    "mean_linf_regret_normalized",
)


def _number(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    return float(x) if isinstance(x, (int, float)) else None


def _is_summary(v: Any) -> bool:
    return isinstance(v, Mapping) and "mean" in v and "n" in v


def long_row(
    run: str,
    assistant: str,
    metric: str,
    group: str,
    mean: Any,
    ci: Sequence[Any] | None = None,
    n: Any = None,
) -> dict[str, Any]:
    """One :data:`COLUMNS` row (``ci``: ``(lo, hi)`` or ``None``), values as they are."""
    lo, hi = ci if ci else (None, None)
    return {
        "run": run,
        "assistant": assistant,
        "metric": metric,
        "group": group,
        "mean": mean,
        "lo": lo,
        "hi": hi,
        "n": n,
    }


class _Rows:
    def __init__(self, run: str) -> None:
        self.run = run
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        assistant: str,
        metric: str,
        group: str,
        mean: Any,
        lo: Any = None,
        hi: Any = None,
        n: Any = None,
    ) -> None:
        self.rows.append(
            {
                "run": self.run,
                "assistant": assistant,
                "metric": metric,
                "group": group,
                "mean": _number(mean),
                "lo": _number(lo),
                "hi": _number(hi),
                "n": int(n) if isinstance(n, int) and not isinstance(n, bool) else None,
            }
        )

    def summary(self, assistant: str, metric: str, group: str, s: Mapping[str, Any]) -> None:
        self.add(assistant, metric, group, s.get("mean"), s.get("lo"), s.get("hi"), s.get("n"))

    def freqs(
        self, assistant: str, prefix: str, group: str, freqs: Mapping[str, Any], n: Any
    ) -> None:
        for k, v in freqs.items():
            self.add(assistant, f"{prefix}_{k}", group, v, n=n)


def _assistant_rows(out: _Rows, a: str, m: Mapping[str, Any]) -> None:
    n_ep = m.get("n_episodes")
    for key, v in m.items():
        if _is_summary(v):
            out.summary(a, key, "all", v)
        elif key != "n_episodes" and _number(v) is not None:
            out.add(a, key, "all", v, n=n_ep)
    counts = m.get("action_counts") or {}
    for s, freqs in (m.get("action_frequencies") or {}).items():
        group = "all" if s == "all" else f"strategy={s}"
        out.freqs(a, "first_action", group, freqs, (counts.get(s) or {}).get("n"))
    out.freqs(a, "verbosity", "all", m.get("verbosity_frequencies") or {}, None)
    stops = m.get("stop_reasons") or {}
    total = sum(stops.values())
    for reason, k in stops.items():
        out.add(a, f"stop_reason_{reason}", "all", k / total, n=total)
    for kind in ("family", "pricing"):
        for name, block in (m.get(f"by_{kind}") or {}).items():
            group, n = f"{kind}={name}", block.get("n")
            for key in _GROUP_METRICS:
                lo, hi = block.get(f"{key}_lo"), block.get(f"{key}_hi")
                out.add(a, key, group, block.get(key), lo, hi, n)
            if "user_strategy_share" in block:
                out.add(a, "user_strategy_share", group, block["user_strategy_share"], n=n)
            for s, freqs in (block.get("action_frequencies") or {}).items():
                sub = group if s == "all" else f"{group},strategy={s}"
                out.freqs(a, "first_action", sub, freqs, None)


def metrics_rows(metrics: Mapping[str, Any], run: str) -> list[dict[str, Any]]:
    """Long-form rows ``{run, assistant, metric, group, mean, lo, hi, n}`` of a metrics dict.

    ``mean``/``lo``/``hi`` are floats or ``None``, ``n`` an int or ``None``; assistants come
    in the dict's order (see the module docstring for the metric and group names). Raises
    ``ValueError`` when ``metrics`` has no ``assistant_metrics`` mapping (not a
    :func:`~gtalign_sim.eval.metrics.compute_metrics` dict) or ``run`` is not a string.
    """
    if not isinstance(run, str):
        raise ValueError(f"run must be a string, got {type(run).__name__}")
    per = metrics.get("assistant_metrics") if isinstance(metrics, Mapping) else None
    if not isinstance(per, Mapping):
        raise ValueError(
            "metrics has no 'assistant_metrics' mapping; expected a compute_metrics dict"
        )
    out = _Rows(run)
    names = list(metrics.get("assistants") or per)
    for a in names:
        if a in per:
            _assistant_rows(out, a, per[a])

    ref, cm = metrics.get("reference"), metrics.get("comparison_metric", "mutual_welfare")
    for a, d in (metrics.get("comparison") or {}).items():
        group, n = f"vs={d.get('b', ref)}", d.get("n")
        out.summary(a, f"paired_diff_{cm}", group, d)
        for key in ("p_value", "p_holm", "p_better"):
            if key in d:
                out.add(a, f"paired_{key}_{cm}", group, d[key], n=n)

    pareto = metrics.get("pareto") or {}
    episodes = pareto.get("frontier_episodes") or {}
    for a in pareto.get("assistants") or []:
        if a in (pareto.get("nash_social_welfare") or {}):
            out.summary(a, "nash_social_welfare", "all", pareto["nash_social_welfare"][a])
        for key in _PARETO_SCALARS:
            table = pareto.get(key) or {}
            if a in table:
                n = episodes.get(a) if key not in ("hypervolume", "on_frontier") else None
                out.add(a, key, "all", table[a], n=n)
        for b, cell in ((pareto.get("eps_dominance") or {}).get(a) or {}).items():
            out.add(a, "eps_dominance", f"vs={b}", cell.get("fraction"), n=cell.get("n"))

    for a, f in (metrics.get("failures") or {}).items():
        out.add(a, "failed_fraction", "all", f.get("fraction"), n=f.get("attempted"))
    return out.rows


def write_metrics_csv(metrics: Mapping[str, Any], path: str | Path, run: str) -> Path:
    """Write :func:`metrics_rows` as CSV with header :data:`COLUMNS` to ``path`` (a
    directory gets ``metrics.csv`` inside it), atomically: through a temporary file and
    ``os.replace``, so a reader sees the old file or the new one. ``None`` is written as
    an empty cell. Returns the path written."""
    return write_rows_csv(metrics_rows(metrics, run), path)


def empirical_game_rows(metrics: Mapping[str, Any], run: str) -> list[dict[str, Any]]:
    """Long-form rows of an empirical game's metrics (``experiment=prisoners_dilemma``):
    per cell ``user_welfare`` and ``llm_welfare`` (assistant = the policy, group
    ``strategy=<s>``, a normal 95% interval from the cell's standard error, ``n`` = episodes
    per cell), and the game's ``price_of_anarchy`` (bootstrap interval) and
    ``dilemma_fraction`` / ``same_type_fraction`` over resamples (assistant empty)."""
    out = _Rows(run)
    n = metrics.get("episodes_per_cell")
    for i, strat in enumerate(metrics.get("strategies") or []):
        for j, policy in enumerate(metrics.get("policies") or []):
            for side, key in (("user", "user_welfare"), ("llm", "llm_welfare")):
                mean, se = metrics[side][i][j], metrics[f"{side}_se"][i][j]
                lo = hi = None
                if mean is not None and se is not None:
                    lo, hi = mean - 1.96 * se, mean + 1.96 * se
                out.rows.append(
                    {
                        "run": run,
                        "assistant": policy,
                        "metric": key,
                        "group": f"strategy={strat}",
                        "mean": mean,
                        "lo": lo,
                        "hi": hi,
                        "n": n,
                    }
                )
    boot = metrics.get("bootstrap") or {}
    ci = boot.get("price_of_anarchy_ci95") or [None, None]
    out.rows.append(
        {
            "run": run,
            "assistant": "",
            "metric": "price_of_anarchy",
            "group": "all",
            "mean": metrics.get("price_of_anarchy"),
            "lo": ci[0],
            "hi": ci[1],
            "n": n,
        }
    )
    for key in ("dilemma_fraction", "same_type_fraction"):
        out.rows.append(
            {
                "run": run,
                "assistant": "",
                "metric": key,
                "group": "all",
                "mean": boot.get(key),
                "lo": None,
                "hi": None,
                "n": boot.get("n"),
            }
        )
    return out.rows


def write_rows_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write long-form ``rows`` (columns :data:`COLUMNS`) as CSV to ``path`` (a directory
    gets ``metrics.csv`` inside it), atomically: through a temporary file and
    ``os.replace``, so a reader sees the old file or the new one. ``None`` is written as
    an empty cell. Returns the path written."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return p
