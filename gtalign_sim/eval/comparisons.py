"""Paired comparisons of assistants on matched episodes (common random numbers).

The per-episode differences ``a − b`` of one metric on the episodes both assistants ran
(:func:`~gtalign_sim.eval.columns.matched_rows`) get a t interval and a paired t-test
(:func:`~gtalign_sim.eval.stats.paired_test`). Comparing several assistants with one
reference is a family of tests: ``p_holm`` holds the Holm-adjusted p-values
(:func:`~gtalign_sim.eval.stats.holm`), and ``verdict`` says ``"higher"`` / ``"lower"``
only when the interval excludes 0 *and* ``p_holm < 1 − confidence``; everything else,
in particular an effect whose interval contains 0, is a ``"tie"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .columns import Columns, fraction, group_records, matched_rows
from .stats import holm, paired_test

__all__ = ["compare", "paired_difference"]

_TIE = 1e-12  # per-episode differences this small count as ties (p_tie)


def _paired(
    groups: Mapping[str, Columns], a: str, b: str, metric: str, confidence: float = 0.95
) -> dict[str, Any]:
    for name in (a, b):
        if name not in groups:
            raise ValueError(f"unknown assistant {name!r}; present: {list(groups)}")
    keys, (ka, kb) = matched_rows(groups, [a, b])
    col_a, col_b = groups[a].values[metric], groups[b].values[metric]
    va = np.array([col_a[ka[k]] for k in keys], dtype=float)
    vb = np.array([col_b[kb[k]] for k in keys], dtype=float)
    test = paired_test(va, vb, confidence)  # drops episodes missing either value
    ok = np.isfinite(va) & np.isfinite(vb)
    d = va[ok] - vb[ok]
    n = int(d.size)
    p_value = test.pop("p_value")
    out: dict[str, Any] = {"a": a, "b": b, "metric": metric, **test}
    out["p_better"] = fraction(int(np.sum(d > _TIE)), n)
    out["p_worse"] = fraction(int(np.sum(d < -_TIE)), n)
    out["p_tie"] = fraction(int(np.sum(np.abs(d) <= _TIE)), n)
    out["p_value"] = p_value
    return _with_holm({"_": out}, confidence)["_"]


def _with_holm(
    comparisons: dict[str, dict[str, Any]], confidence: float
) -> dict[str, dict[str, Any]]:
    """Add ``p_holm`` (Holm-adjusted over this family of comparisons) and ``verdict``."""
    names = list(comparisons)
    adjusted = holm([comparisons[o]["p_value"] for o in names])
    alpha = 1.0 - confidence
    for o, p_holm in zip(names, adjusted, strict=True):
        d = comparisons[o]
        d["p_holm"] = p_holm
        verdict = "tie"
        if p_holm is not None and p_holm < alpha:
            if d["lo"] > 0:
                verdict = "higher"
            elif d["hi"] < 0:
                verdict = "lower"
        d["verdict"] = verdict
    return comparisons


def paired_difference(
    records: Iterable[Mapping[str, Any]],
    a: str,
    b: str,
    metric: str = "mutual_welfare",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Mean and t-CI of the per-episode difference ``a − b`` on matched episodes (CRN).

    Returns ``{"a", "b", "metric", "mean", "lo", "hi", "std", "n", "p_better", "p_worse",
    "p_tie", "p_value", "p_holm", "verdict"}``: ``p_better`` is the fraction of matched
    episodes where ``a``'s value exceeds ``b``'s (by more than 1e-12), ``p_value`` the
    two-sided paired t-test p-value (:func:`~gtalign_sim.eval.stats.paired_test`),
    ``p_holm`` the same (a family of one test) and ``verdict`` ``"higher"`` / ``"lower"``
    when ``a``'s value is above / below ``b``'s (CI excludes 0 and ``p_holm < 1 −
    confidence``), else ``"tie"``. Episodes where either value is missing are dropped.
    ``n = 0`` gives ``None`` statistics with a ``"note"``. Unknown assistant names raise
    ``ValueError``.
    """
    return _paired(group_records(records, (metric,)), a, b, metric, confidence)


def _compare(
    groups: Mapping[str, Columns], reference: str, metric: str, confidence: float = 0.95
) -> dict[str, dict[str, Any]]:
    names = list(groups)
    if reference not in names:
        raise ValueError(f"reference assistant {reference!r} not in records; present: {names}")
    out = {
        other: _paired(groups, other, reference, metric, confidence)
        for other in names
        if other != reference
    }
    return _with_holm(out, confidence)


def compare(
    records: Iterable[Mapping[str, Any]],
    reference: str = "gtalign",
    metric: str = "mutual_welfare",
    confidence: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """Paired differences ``other − reference`` for every other assistant, keyed by name.

    Each value is a :func:`paired_difference` dict; negative means mean the reference is
    better. ``p_holm`` is Holm-adjusted over the family of these comparisons, and
    ``verdict`` (``"higher"`` / ``"lower"`` / ``"tie"``, the other assistant relative to
    the reference) uses it: a claim "A beats B" among several assistants needs
    ``verdict != "tie"``; an effect whose CI contains 0 is always a tie. Raises
    ``ValueError`` if ``reference`` has no records.
    """
    return _compare(group_records(records, (metric,)), reference, metric, confidence)
