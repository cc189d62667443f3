"""Paired statistics of pricing arms (``experiment=pricing_shift``).

A :class:`Panel` holds one assistant's episodes under every pricing arm (arm 0 the
baseline plan, arms 1… the priced plan at each scale), indexed by the shared episode
index. Every interval is a paired percentile bootstrap (``scipy.stats.bootstrap`` over
episode indices, resampled jointly across the arms, driven by the caller's generator);
the total variation distance between two action mixes also gets a paired permutation
test (``scipy.stats.permutation_test``, pairs swapped), because TV is biased above 0 and
its interval never contains 0. Only episodes valid in every arm of the assistant count.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.vocab import MODES, STRATEGIES, VERBOSITIES

__all__ = [
    "ACTIONS",
    "VALUES",
    "Panel",
    "analyse",
    "analyse_steering",
    "claim_iv",
    "paired_bootstrap",
    "prices",
    "tv_permutation_p",
]

VALUES: tuple[str, ...] = (
    "tokens",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "total_welfare",
)
"""Per-episode outcomes averaged per arm (tokens: billed prompt + completion; total: U + L,
which a price moves only by what is not a transfer)."""
ACTIONS: tuple[str, ...] = tuple(f"{m}_{v}" for m in MODES for v in VERBOSITIES)
"""First actions, mode × verbosity, in action-index order."""
PREDICTED: Mapping[str, int] = {"DA": +1, "CQ": -1}
"""Claim (iv): per-token pricing raises the DA share and lowers the CQ share."""


@dataclass
class Panel:
    """One assistant's first moves and outcomes per (arm, episode); ``-1``/NaN: missing."""

    mode: np.ndarray
    verb: np.ndarray
    vq: np.ndarray
    values: np.ndarray
    steered: dict[str, np.ndarray]
    reasons: Counter[str] = field(default_factory=Counter)
    attempted: int = 0

    @classmethod
    def empty(cls, arms: int, episodes: int, kinds: Sequence[str] = ()) -> Panel:
        """A panel for ``arms × episodes`` episodes (steering ``kinds`` plus ``none``)."""
        ints = lambda: np.full((arms, episodes), -1, dtype=int)  # noqa: E731
        return cls(
            ints(),
            ints(),
            ints(),
            np.full((arms, episodes, len(VALUES)), np.nan),
            {k: ints() for k in ("none", *kinds)},
        )

    def add(self, arm: int, episode: int, rec: Mapping[str, Any], steer: Any = None) -> None:
        """Store one record (a failed one counts as attempted, never as an outcome) and
        its counterfactual first modes ``{kind: mode}``."""
        self.attempted += 1
        failure = rec.get("failure")
        if failure:
            self.reasons[f"{failure.get('stage', '?')}: {failure.get('reason', '?')}"] += 1
            return
        if rec.get("modes"):
            self.mode[arm, episode] = MODES.index(rec["modes"][0])
            self.verb[arm, episode] = VERBOSITIES.index(rec["verbosities"][0])
        if rec.get("strategy") in STRATEGIES:
            self.vq[arm, episode] = STRATEGIES.index(rec["strategy"])
        tok = rec.get("tokens") or {}
        total = tok.get("billed_prompt", np.nan) + tok.get("billed_completion", np.nan)
        u, l_val, m = (rec.get(k) for k in VALUES[1:4])
        outcome = [total, u, l_val, m, None if u is None or l_val is None else u + l_val]
        self.values[arm, episode] = [np.nan if v is None else float(v) for v in outcome]
        for kind, mode in (steer or {}).items():
            self.steered[kind][arm, episode] = MODES.index(mode)

    @property
    def steerable(self) -> bool:
        """Whether any first move had a payoff matrix to steer."""
        return bool((self.steered["none"] >= 0).any())

    def valid(self, steering: bool = False) -> np.ndarray:
        """Episodes with a first move, a question type and outcomes in every arm (and
        every counterfactual mode, with ``steering``)."""
        ok = (self.mode >= 0).all(0) & (self.vq >= 0).all(0)
        ok &= np.isfinite(self.values).all(axis=(0, 2))
        if steering:
            ok &= np.logical_and.reduce([(m >= 0).all(0) for m in self.steered.values()])
        return ok

    def failures(self) -> dict[str, Any]:
        """``{"failed", "attempted", "reasons"}`` (the runner's failure accounting)."""
        return {
            "failed": sum(self.reasons.values()),
            "attempted": self.attempted,
            "reasons": dict(self.reasons),
        }


def prices(policy: Any) -> dict[str, float]:
    """A policy's user prices in dollars per 1M input / output tokens."""
    c_in, c_out = policy.marginal_cost(1.0, 0.0), policy.marginal_cost(0.0, 1.0)
    return {"input": round(c_in.user_cost * 1e6, 6), "output": round(c_out.user_cost * 1e6, 6)}


def paired_bootstrap(
    fn: Callable[[np.ndarray], dict[str, np.ndarray]],
    n: int,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, dict[str, np.ndarray]]:
    """Percentile 95% intervals of every statistic of ``fn`` over resampled episodes.

    ``fn(idx)`` maps episode indices ``(B, n)`` to arrays ``(..., B)``; returns
    ``{name: {"mean", "lo", "hi"}}`` (the point estimate on the data, the interval from
    ``n_boot`` resamples of ``scipy.stats.bootstrap``; NaN where a resample leaves the
    statistic undefined, e.g. a share by question type with none of that type)."""
    import scipy.stats

    with np.errstate(invalid="ignore", divide="ignore"):
        point = fn(np.arange(n)[None])
    keys = list(point)

    def stat(i: np.ndarray, axis: int = -1) -> np.ndarray:
        i2 = np.atleast_2d(i).astype(int)
        out = fn(i2)
        vec = np.concatenate([out[k].reshape(-1, i2.shape[0]) for k in keys])
        return vec[:, 0] if np.ndim(i) == 1 else vec

    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        # a share by question type is NaN in a resample without that type: its
        # interval is reported as None, which is what scipy's warning is about
        warnings.simplefilter("ignore", scipy.stats.DegenerateDataWarning)
        res = scipy.stats.bootstrap(
            (np.arange(n),),
            stat,
            n_resamples=n_boot,
            vectorized=True,
            batch=max(1, 200_000 // n),
            method="percentile",
            random_state=rng,
        )
    lo = np.atleast_1d(res.confidence_interval.low)
    hi = np.atleast_1d(res.confidence_interval.high)
    out, start = {}, 0
    for k in keys:
        shape = point[k].shape[:-1]
        size = int(np.prod(shape))
        out[k] = {
            "mean": point[k][..., 0],
            "lo": lo[start : start + size].reshape(shape),
            "hi": hi[start : start + size].reshape(shape),
        }
        start += size
    return out


def tv_permutation_p(
    x: np.ndarray, y: np.ndarray, k: int, n_resamples: int, rng: np.random.Generator
) -> float:
    """One-sided p-value of "the mixes of paired codes ``x`` and ``y`` (``0..k-1``)
    differ" by their total variation distance, swapping within pairs."""
    import scipy.stats

    def tv(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        pa = (a[..., None] == np.arange(k)).mean(axis=-2)
        pb = (b[..., None] == np.arange(k)).mean(axis=-2)
        return 0.5 * np.abs(pa - pb).sum(axis=-1)

    res = scipy.stats.permutation_test(
        (x, y),
        tv,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="greater",
        random_state=rng,
    )
    return float(res.pvalue)


def _mix(codes: np.ndarray, vq: np.ndarray, k: int, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Shares ``(A, k, B)`` and shares by question type ``(A, 2, k, B)`` of resampled
    codes, plus differences of arms 1… from arm 0 and their TV."""
    x = (codes[..., None] == np.arange(k))[:, idx].astype(float)  # (A, B, n, k)
    share = x.mean(2)
    by = []
    for t in range(len(STRATEGIES)):
        w = (vq == t)[:, idx].astype(float)  # (A, B, n)
        by.append((x * w[..., None]).sum(2) / w.sum(2)[..., None])
    by_t = np.stack(by, 2)  # (A, B, 2, k)
    d = share[1:] - share[:1]
    return {
        "share": np.moveaxis(share, 1, -1),
        "by_type": np.moveaxis(by_t, 1, -1),
        "delta": np.moveaxis(d, 1, -1),
        "delta_by_type": np.moveaxis(by_t[1:] - by_t[:1], 1, -1),
        "tv": 0.5 * np.abs(d).sum(-1),
    }


def _ci(block: Mapping[str, np.ndarray], at: tuple[int, ...] = ()) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k in ("mean", "lo", "hi"):
        v = float(np.asarray(block[k])[at])
        out[k] = round(v, 6) if np.isfinite(v) else None
    return out


def _direction(ci: Mapping[str, float | None], sign: int) -> str:
    lo, hi = ci["lo"], ci["hi"]
    if lo is None or hi is None or lo <= 0 <= hi:
        return "tie"
    return "as predicted" if (1 if lo > 0 else -1) == sign else "opposite"


def claim_iv(delta: Mapping[str, Mapping[str, float | None]]) -> dict[str, str]:
    """Claim (iv)'s verdict from the per-token − baseline share differences with CIs:
    per mode ``as predicted`` / ``opposite`` / ``tie`` (CI contains 0), and overall
    ``holds`` (some as predicted, none opposite), ``contradicted``, ``mixed`` or ``tie``."""
    out = {m: _direction(delta[m], s) for m, s in PREDICTED.items()}
    found = set(out.values())
    if found == {"tie"}:
        verdict = "tie"
    elif "opposite" not in found:
        verdict = "holds"
    elif "as predicted" not in found:
        verdict = "contradicted"
    else:
        verdict = "mixed"
    return {**out, "verdict": verdict}


def _mix_blocks(b: Mapping[str, Any], labels: Sequence[str], names: Sequence[str]) -> Any:
    arms = {
        lab: {
            "share": {x: _ci(b["share"], (j, c)) for c, x in enumerate(names)},
            "by_type": {
                t: {x: _ci(b["by_type"], (j, ti, c)) for c, x in enumerate(names)}
                for ti, t in enumerate(STRATEGIES)
            },
        }
        for j, lab in enumerate(labels)
    }
    shift = {
        lab: {
            "delta": {x: _ci(b["delta"], (j, c)) for c, x in enumerate(names)},
            "delta_by_type": {
                t: {x: _ci(b["delta_by_type"], (j, ti, c)) for c, x in enumerate(names)}
                for ti, t in enumerate(STRATEGIES)
            },
            "tv": _ci(b["tv"], (j,)),
        }
        for j, lab in enumerate(labels[1:])
    }
    return arms, shift


def analyse(
    p: Panel,
    labels: Sequence[str],
    scales: Sequence[float],
    n_boot: int,
    rng: np.random.Generator,
    actions: bool = True,
) -> dict[str, Any]:
    """Per arm: mode and action mixes (overall, by question type), VQ share, mean
    outcomes; per scale: paired differences from arm 0, TV with permutation p-values and
    claim (iv)'s verdict (overall and on vague questions). ``actions=False`` leaves out
    the mode × verbosity mixes and their TV."""
    ok = p.valid()
    mode, act, vq, val = p.mode[:, ok], (p.mode * 3 + p.verb)[:, ok], p.vq[:, ok], p.values[:, ok]
    n = int(ok.sum())
    out: dict[str, Any] = {"n_paired": n, "dropped": int(ok.size - n)}
    if n < 2:
        return {**out, "arms": {}, "shift": {}}

    def fn(idx: np.ndarray) -> dict[str, np.ndarray]:
        m = _mix(mode, vq, len(MODES), idx)
        a = _mix(act, vq, len(ACTIONS), idx) if actions else {}
        mean = np.moveaxis(val[:, idx].mean(2), 1, -1)  # (A, V, B)
        vq_share = vq[:, idx].mean(2)  # (A, B)
        return {
            **{f"mode_{k}": v for k, v in m.items()},
            **{f"action_{k}": a[k] for k in ("share", "by_type", "tv") if k in a},
            "mean": mean,
            "delta_mean": mean[1:] - mean[:1],
            "vq": vq_share,
            "delta_vq": vq_share[1:] - vq_share[:1],
        }

    b = paired_bootstrap(fn, n, n_boot, rng)
    mode_b = {k[5:]: v for k, v in b.items() if k.startswith("mode_")}
    arms, shift = _mix_blocks(mode_b, labels, MODES)
    for j, lab in enumerate(labels):
        if actions:
            arms[lab]["action_share"] = {
                x: _ci(b["action_share"], (j, c)) for c, x in enumerate(ACTIONS)
            }
            arms[lab]["action_by_type"] = {
                t: {x: _ci(b["action_by_type"], (j, ti, c)) for c, x in enumerate(ACTIONS)}
                for ti, t in enumerate(STRATEGIES)
            }
        arms[lab]["vq_share"] = _ci(b["vq"], (j,))
        arms[lab].update({v: _ci(b["mean"], (j, c)) for c, v in enumerate(VALUES)})
    for j, (lab, k) in enumerate(zip(labels[1:], scales, strict=True)):
        s = shift.pop(lab)
        s["scale"] = k
        s["tv"]["p_value"] = tv_permutation_p(mode[0], mode[j + 1], len(MODES), n_boot, rng)
        if actions:
            s["action_tv"] = _ci(b["action_tv"], (j,))
            p_act = tv_permutation_p(act[0], act[j + 1], len(ACTIONS), n_boot, rng)
            s["action_tv"]["p_value"] = p_act
        s["delta_outcomes"] = {v: _ci(b["delta_mean"], (j, c)) for c, v in enumerate(VALUES)}
        s["delta_vq_share"] = _ci(b["delta_vq"], (j,))
        s["claim_iv"] = claim_iv(s["delta"])
        s["claim_iv_vq"] = claim_iv(s["delta_by_type"]["VQ"])
        shift[f"{k:g}"] = s
    return {**out, "arms": arms, "shift": shift}


def analyse_steering(
    p: Panel,
    labels: Sequence[str],
    scales: Sequence[float],
    n_boot: int,
    rng: np.random.Generator,
    kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Per steering kind (of ``kinds``, default all the panel has): the counterfactual
    first-mode mix per arm, its shift from arm 0 (claim iv's verdict) and, per arm, the
    steered − unsteered shares; plus how often re-selecting the recorded matrix
    reproduces the recorded first mode."""
    ok = p.valid(steering=True)
    n = int(ok.sum())
    kinds = [k for k in p.steered if k != "none" and (kinds is None or k in kinds)]
    out: dict[str, Any] = {"n_paired": n}
    if n < 2:
        return out
    vq, base = p.vq[:, ok], p.mode[:, ok]
    out["reproduced"] = round(float((p.steered["none"][:, ok] == base).mean()), 6)
    for kind in kinds:
        codes = p.steered[kind][:, ok]

        def fn(idx: np.ndarray, codes: np.ndarray = codes) -> dict[str, np.ndarray]:
            m = _mix(codes, vq, len(MODES), idx)
            own = (codes[..., None] == np.arange(len(MODES)))[:, idx].mean(2)
            ref = (base[..., None] == np.arange(len(MODES)))[:, idx].mean(2)
            return {**m, "vs_unsteered": np.moveaxis(own - ref, 1, -1)}

        b = paired_bootstrap(fn, n, n_boot, rng)
        arms, shift = _mix_blocks(b, labels, MODES)
        for j, lab in enumerate(labels):
            arms[lab]["vs_unsteered"] = {
                x: _ci(b["vs_unsteered"], (j, c)) for c, x in enumerate(MODES)
            }
        for j, (lab, k) in enumerate(zip(labels[1:], scales, strict=True)):
            s = shift.pop(lab)
            s["scale"] = k
            s["tv"]["p_value"] = tv_permutation_p(codes[0], codes[j + 1], len(MODES), n_boot, rng)
            s["claim_iv"] = claim_iv(s["delta"])
            shift[f"{k:g}"] = s
        out[kind] = {"arms": arms, "shift": shift}
    return out
