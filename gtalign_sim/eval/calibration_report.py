"""Summaries of payoff calibration rows (:func:`gtalign_sim.eval.calibration.calibrate_record`).

Errors are ``estimate − truth`` in welfare gains, per side (U: the user, L: the
provider). Every mean has a 95% interval that treats an episode as the unit of
resampling (cluster-robust standard error of the mean, t quantile with ``episodes − 1``
degrees of freedom): the cells of one decision and the decisions of one episode are not
independent. Paired comparisons use the episodes both assistants have a turn-1
estimate in (common random numbers); an interval containing 0 is a tie.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .tidy import long_row as _row

__all__ = [
    "SIDES",
    "cluster_mean",
    "metrics_rows",
    "reliability",
    "side_stats",
    "summarize",
]

SIDES: dict[str, str] = {"U": "u", "L": "l"}
"""The two sides and their field suffix in calibration rows."""


def cluster_mean(
    values: Sequence[float], clusters: Sequence[Any], confidence: float = 0.95
) -> dict[str, Any]:
    """Mean of ``values`` with a cluster-robust ``confidence`` interval (clusters:
    episodes). With one value per cluster it is the usual t interval."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    c = np.asarray(clusters)
    keep = np.isfinite(v)
    v, c = v[keep], c[keep]
    if not len(v):
        return {"n": 0, "clusters": 0, "mean": None, "ci": None}
    _, inv = np.unique(c, return_inverse=True)
    g = int(inv.max()) + 1
    mean = float(v.mean())
    if g < 2:
        return {"n": len(v), "clusters": g, "mean": mean, "ci": None}
    resid = np.bincount(inv, weights=v - mean)
    se = float(np.sqrt(g / (g - 1) * np.sum(resid**2)) / len(v))
    half = float(stats.t.ppf(0.5 + confidence / 2, g - 1)) * se
    return {"n": len(v), "clusters": g, "mean": mean, "ci": [mean - half, mean + half]}


def side_stats(parts: Sequence[Mapping[str, Any]], episodes: Sequence[int]) -> dict[str, Any]:
    """Per side: MAE and bias against the truth (and against the information-state
    truth, ``*_info``), each with its interval."""
    out: dict[str, Any] = {}
    for side, x in SIDES.items():
        est = np.array([_f(p[f"est_{x}"]) for p in parts])
        true = np.array([_f(p[f"true_{x}"]) for p in parts])
        info = np.array([_f(p[f"info_{x}"]) for p in parts])
        err, err_info = est - true, est - info
        mae, bias = cluster_mean(np.abs(err), episodes), cluster_mean(err, episodes)
        if mae["ci"] is not None:  # a mean absolute value: the interval stays >= 0
            mae["ci"] = [max(mae["ci"][0], 0.0), mae["ci"][1]]
        out[side] = {
            "n": mae["n"],
            "episodes": mae["clusters"],
            "mae": mae["mean"],
            "mae_ci": mae["ci"],
            "bias": bias["mean"],
            "bias_ci": bias["ci"],
            "mae_info": cluster_mean(np.abs(err_info), episodes)["mean"],
            "bias_info": cluster_mean(err_info, episodes)["mean"],
        }
    return out


def reliability(
    parts: Sequence[Mapping[str, Any]], episodes: Sequence[int], bins: int
) -> dict[str, list[dict[str, Any]]]:
    """The calibration curve per side: estimates in ``bins`` equal-count bins, each
    bin's mean estimate and mean truth (with its interval)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for side, x in SIDES.items():
        est = np.array([_f(p[f"est_{x}"]) for p in parts])
        true = np.array([_f(p[f"true_{x}"]) for p in parts])
        ep = np.asarray(episodes)
        keep = np.isfinite(est) & np.isfinite(true)
        est, true, ep = est[keep], true[keep], ep[keep]
        curve: list[dict[str, Any]] = []
        if len(est):
            order = np.argsort(est, kind="stable")
            for idx in np.array_split(order, min(bins, len(est))):
                t = cluster_mean(true[idx], ep[idx])
                curve.append(
                    {
                        "est": float(est[idx].mean()),
                        "true": t["mean"],
                        "true_ci": t["ci"],
                        "n": len(idx),
                    }
                )
        out[side] = curve
    return out


def summarize(
    rows: Iterable[Mapping[str, Any]], bins: int = 10, order: Sequence[str] = ()
) -> dict[str, Any]:
    """The metrics of calibration rows (each with ``assistant``, ``episode``,
    ``family``, ``turn``, ``kind``, ``chosen``, and for matrices ``cells`` and
    ``regret``), by assistant: ``cells`` (actual row: all, by turn, family, family ×
    turn, column), ``other_row``, ``chosen``, ``regret``, ``reliability``,
    ``reconstruction`` and ``paired`` turn-1 comparisons. Assistants appear in
    ``order`` (then any other label, e.g. ``llm_gtalign [fallback]``, sorted); the first
    is the reference of the paired comparisons."""
    rows = sorted(rows, key=lambda r: (r["assistant"], r["episode"], r["turn"]))
    seen = sorted({r["assistant"] for r in rows})
    names = [n for n in order if n in seen] + [n for n in seen if n not in order]
    out: dict[str, Any] = {k: {} for k in ("cells", "other_row", "chosen", "regret", "reliability")}
    out["reconstruction"] = {}
    for name in names:
        mine = [r for r in rows if r["assistant"] == name]
        out["reconstruction"][name] = _reconstruction(mine)
        chosen = [(r["chosen"], r) for r in mine]
        out["chosen"][name] = _grouped(chosen, ("turn", "family"))
        matrix = [r for r in mine if r["kind"] == "matrix"]
        if matrix:
            actual = [(c, r) for r in matrix for c in r["cells"] if c["row"] == "actual"]
            other = [(c, r) for r in matrix for c in r["cells"] if c["row"] == "other"]
            block = _grouped(actual, ("turn", "family", "col"))
            block["by_family_turn"] = {
                f: _grouped([(c, r) for c, r in actual if r["family"] == f], ("turn",))["by_turn"]
                for f in _ordered(r["family"] for r in matrix)
            }
            out["cells"][name] = block
            out["other_row"][name] = _grouped(other, ("turn",))
            out["regret"][name] = _regret_block(matrix)
            curve = actual
        else:
            curve = chosen
        out["reliability"][name] = {
            "of": "matrix cells (actual row)" if matrix else "chosen action",
            **reliability([c for c, _ in curve], [r["episode"] for _, r in curve], bins),
        }
    out["paired"] = _paired(rows, names)
    return out


def _grouped(
    items: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], by: Sequence[str]
) -> dict[str, Any]:
    parts = [c for c, _ in items]
    eps = [r["episode"] for _, r in items]
    block: dict[str, Any] = {"all": side_stats(parts, eps)}
    for key in by:
        keyed = [(c.get(key, r.get(key)), c, r) for c, r in items]
        block[f"by_{key}"] = {
            str(val): side_stats(
                [c for v, c, _ in keyed if v == val],
                [r["episode"] for v, _, r in keyed if v == val],
            )
            for val in _ordered(v for v, _, _ in keyed)
        }
    return block


def _regret_block(matrix: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def stats(rs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        rs = [r for r in rs if r.get("regret")]
        eps = [r["episode"] for r in rs]
        out: dict[str, Any] = {"n": len(rs)}
        for w in ("mutual", "sum"):
            best = cluster_mean([float(r["regret"][f"best_{w}"]) for r in rs], eps)
            if best["ci"] is not None:  # a rate: the interval stays in [0, 1]
                best["ci"] = [max(best["ci"][0], 0.0), min(best["ci"][1], 1.0)]
            gap = cluster_mean([r["regret"][w] for r in rs], eps)
            out[w] = {
                "best_rate": best["mean"],
                "best_rate_ci": best["ci"],
                "regret": gap["mean"],
                "regret_ci": gap["ci"],
            }
        return out

    turns = _ordered(r["turn"] for r in matrix)
    return {
        "all": stats(matrix),
        "by_turn": {str(t): stats([r for r in matrix if r["turn"] == t]) for t in turns},
    }


def _reconstruction(mine: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    sources: dict[str, int] = {}
    for r in mine:
        for c in r.get("cells", []):
            if c["row"] == "actual":
                sources[c["v_source"]] = sources.get(c["v_source"], 0) + 1
    gaps = [
        abs(p[f"true_{x}"] - p[f"info_{x}"])
        for r in mine
        for p in (r["chosen"], *r.get("cells", []))
        for x in SIDES.values()
        if p[f"true_{x}"] is not None and p[f"info_{x}"] is not None
    ]
    return {
        "decisions": len(mine),
        "max_abs_realized_minus_information": max(gaps) if gaps else None,
        "by_turn": {
            str(t): sum(r["turn"] == t for r in mine) for t in _ordered(r["turn"] for r in mine)
        },
        "replayed": sum(r["state"] == "replay" for r in mine),
        "information_state_only": sum(r["state"] != "replay" for r in mine),
        "assistant_verified": sum(r["assistant_ok"] is True for r in mine),
        "assistant_mismatch": sum(r["assistant_ok"] is False for r in mine),
        "column_verbosity": sources,
    }


def _paired(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Turn-1 errors of each assistant minus the first one's, on shared episodes: the
    chosen cell's absolute error (every assistant) and the actual row's MAE (matrices)."""
    first = {(r["assistant"], r["episode"]): r for r in rows if r["turn"] == 1}

    def per_episode(name: str, what: str, x: str) -> dict[int, float]:
        out = {}
        for (a, ep), r in first.items():
            if a != name:
                continue
            if what == "chosen":
                e = _f(r["chosen"][f"est_{x}"]) - _f(r["chosen"][f"true_{x}"])
            elif r["kind"] == "matrix":
                cells = [c for c in r["cells"] if c["row"] == "actual"]
                e = float(np.mean([abs(_f(c[f"est_{x}"]) - _f(c[f"true_{x}"])) for c in cells]))
            else:
                continue
            if np.isfinite(e):
                out[ep] = abs(e)
        return out

    result: dict[str, Any] = {}
    for what in ("chosen", "matrix"):
        pool = [
            n
            for n in names
            if what == "chosen"
            or any(r["kind"] == "matrix" for (a, _), r in first.items() if a == n)
        ]
        if len(pool) < 2:
            continue
        ref, block = pool[0], {}
        for name in pool[1:]:
            block[name] = {}
            for side, x in SIDES.items():
                a, b = per_episode(ref, what, x), per_episode(name, what, x)
                shared = sorted(set(a) & set(b))
                d = cluster_mean([b[e] - a[e] for e in shared], shared)
                tie = d["ci"] is None or d["ci"][0] <= 0 <= d["ci"][1]
                block[name][side] = {
                    "diff": d["mean"],
                    "ci": d["ci"],
                    "episodes": d["n"],
                    "tie": tie,
                }
        result[what] = {"reference": ref, "vs": block}
    return result


def _ordered(values: Iterable[Any]) -> list[Any]:
    vals = list(dict.fromkeys(values))
    try:
        return sorted(vals)
    except TypeError:
        return vals


def _f(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _groups(block: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """``(group, stats)`` of a grouped block: ``all``, ``turn=``, ``family=``, ``col=``,
    ``family=…,turn=``."""
    for key, v in block.items():
        if key == "all":
            yield "all", v
        elif key == "by_family_turn":
            for f, d in v.items():
                yield from ((f"family={f},turn={t}", s) for t, s in d.items())
        elif key.startswith("by_"):
            yield from ((f"{key[3:]}={k}", s) for k, s in v.items())


def metrics_rows(m: Mapping[str, Any], run: str) -> list[dict[str, Any]]:
    """Long-form rows (:data:`~gtalign_sim.eval.tidy.COLUMNS`) of a calibration run, per
    assistant and group (``all``, ``turn=``, ``family=``, ``col=``, ``family=…,turn=``):
    ``<block>_<U|L>_mae`` and ``_bias`` for ``cells``, ``other_row`` and ``chosen``
    (cluster CI, ``n`` estimates); ``regret_<sum|mutual>`` and ``best_rate_<…>``; the
    paired turn-1 ``paired_<chosen|matrix>_<U|L>_diff`` (group ``vs=<reference>``, ``n``
    episodes); ``failed_fraction``."""
    rows = []
    for block in ("cells", "other_row", "chosen"):
        for a, b in (m.get(block) or {}).items():
            for g, stats in _groups(b):
                for side, s in stats.items():
                    for k in ("mae", "bias"):
                        rows.append(
                            _row(run, a, f"{block}_{side}_{k}", g, s[k], s[f"{k}_ci"], s["n"])
                        )
    for a, b in (m.get("regret") or {}).items():
        for g, stats in _groups(b):
            for w in ("sum", "mutual"):
                for k in ("regret", "best_rate"):
                    s = stats[w]
                    rows.append(_row(run, a, f"{k}_{w}", g, s[k], s[f"{k}_ci"], stats["n"]))
    for what, p in (m.get("paired") or {}).items():
        for a, sides in p["vs"].items():
            for side, d in sides.items():
                g = f"vs={p['reference']}"
                rows.append(
                    _row(run, a, f"paired_{what}_{side}_diff", g, d["diff"], d["ci"], d["episodes"])
                )
    for a, f in (m.get("failures") or {}).items():
        rows.append(_row(run, a, "failed_fraction", "all", f["fraction"], None, f["attempted"]))
    return rows
