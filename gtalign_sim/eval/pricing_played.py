"""Played steering arms of ``experiment=pricing_shift``: paired statistics.

A steered assistant (the same assistant with ``steering`` set) plays the same episodes
as the unsteered one, under the subscription and at some per-token price scales. For one
assistant and one steering, :func:`analyse_played` gives

* ``arms`` / ``shift``: the steered arms' first-move mixes (overall and by question type)
  and mean outcomes, and per-token − subscription with claim (iv)'s verdict
  (:func:`~gtalign_sim.eval.pricing_stats.analyse` on the steered arms alone);
* ``vs_unsteered``: per played arm, steered − unsteered on the same plan and episodes
  (first-mode shares overall and by question type, TV with its permutation p-value,
  tokens, U, L, √(U·L), U + L);
* ``vs_counterfactual``: per played arm, the played first modes against the
  counterfactual ones (the unsteered arm's recorded first matrix steered and
  re-selected), as counts on the episodes both have.

Every interval is a paired percentile bootstrap over episodes (the caller's generator).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.vocab import MODES
from .pricing_stats import Panel, analyse

__all__ = ["analyse_played", "pair"]

_PAIRED = ("delta", "delta_by_type", "tv", "delta_outcomes", "delta_vq_share")


def pair(a: Panel, i: int, b: Panel, j: int) -> Panel:
    """A two-arm panel: arm ``i`` of ``a`` (arm 0) and arm ``j`` of ``b`` (arm 1), on the
    shared episode index (no counterfactual modes)."""
    take = lambda x, y: np.stack([x[i], y[j]])  # noqa: E731
    return Panel(
        take(a.mode, b.mode),
        take(a.verb, b.verb),
        take(a.vq, b.vq),
        take(a.values, b.values),
        {"none": take(a.steered["none"], b.steered["none"])},
    )


def _vs_unsteered(base: Panel, i: int, p: Panel, j: int, n_boot: int, rng: Any) -> Any:
    """Steered arm ``j`` of ``p`` − unsteered arm ``i`` of ``base``, paired."""
    a = analyse(pair(base, i, p, j), ["unsteered", "steered"], [1.0], n_boot, rng, False)
    if not a["arms"]:
        return {"n_paired": a["n_paired"]}
    s = a["shift"]["1"]
    unsteered = a["arms"]["unsteered"]
    return {
        "n_paired": a["n_paired"],
        "unsteered": {"share": unsteered["share"], "by_type": unsteered["by_type"]},
        **{k: s[k] for k in _PAIRED},
    }


def _vs_counterfactual(base: Panel, i: int, p: Panel, j: int, kind: str) -> dict[str, Any]:
    """Counts of played and counterfactual first modes on the episodes both have."""
    cf, played = base.steered.get(kind), p.mode[j]
    if cf is None:
        return {"n": 0}
    ok = (cf[i] >= 0) & (played >= 0)
    counts = lambda x: {m: int((x[ok] == c).sum()) for c, m in enumerate(MODES)}  # noqa: E731
    return {
        "n": int(ok.sum()),
        "agree": int((cf[i][ok] == played[ok]).sum()),
        "played": counts(played),
        "counterfactual": counts(cf[i]),
    }


def analyse_played(
    base: Panel,
    base_labels: Sequence[str],
    p: Panel,
    labels: Sequence[str],
    kind: str,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """One assistant's played ``kind`` steering: ``p`` holds the steered arms named
    ``labels`` (arm 0 the subscription, then ``per_token_api@<scale>``), ``base`` the
    unsteered arms named ``base_labels`` (with the counterfactual first modes)."""
    scales = [float(lab.split("@")[1]) for lab in labels[1:]]
    out = analyse(p, labels, scales, n_boot, rng)
    idx = [list(base_labels).index(lab) for lab in labels]
    out["vs_unsteered"] = {
        lab: _vs_unsteered(base, i, p, j, n_boot, rng)
        for j, (lab, i) in enumerate(zip(labels, idx, strict=True))
    }
    out["vs_counterfactual"] = {
        lab: _vs_counterfactual(base, i, p, j, kind)
        for j, (lab, i) in enumerate(zip(labels, idx, strict=True))
    }
    return out
