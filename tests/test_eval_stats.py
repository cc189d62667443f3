"""Tests of gtalign_sim.eval.stats: t quantiles and intervals, paired t-test, Holm, bootstrap.

Expected values come from closed forms of Student's t (df = 1, 2, 3, 4), from hand
computation (Holm) or from an independent draw with the same generator (bootstrap).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from gtalign_sim.eval import (
    bootstrap_ci,
    clip_interval,
    holm,
    mean_ci,
    paired_test,
    t_cdf,
    t_quantile,
)


def _t_quantile_df4(p: float) -> float:
    """Closed form of the t quantile with 4 degrees of freedom (Shaw 2006)."""
    alpha = 4 * p * (1 - p)
    q = math.cos(math.acos(math.sqrt(alpha)) / 3) / math.sqrt(alpha)
    return math.copysign(2 * math.sqrt(q - 1), p - 0.5)


def _t_cdf_df3(t: float) -> float:
    """Closed form of the t CDF with 3 degrees of freedom."""
    x = t / math.sqrt(3)
    return 0.5 + (x / (1 + x * x) + math.atan(x)) / math.pi


@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995])
def test_t_quantile_matches_closed_forms(p: float) -> None:
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-12)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-12)
    assert t_quantile(p, 4) == pytest.approx(_t_quantile_df4(p), rel=1e-12)
    assert t_quantile(1 - p, 4) == pytest.approx(-_t_quantile_df4(p), rel=1e-12)


def test_t_quantile_large_df_is_normal_and_bad_input_raises() -> None:
    assert t_quantile(0.975, math.inf) == pytest.approx(1.959963984540054, rel=1e-12)
    assert t_quantile(0.975, 1e7) == pytest.approx(1.959963984540054, abs=1e-6)
    assert t_quantile(0.5, 4) == 0.0
    for p, df in ((1.0, 3), (0.0, 3), (0.9, 0), (0.9, -1), (0.9, math.nan)):
        with pytest.raises(ValueError):
            t_quantile(p, df)


def test_t_cdf_matches_closed_form_and_inverts_quantile() -> None:
    for t in (-30.0, -2.5, -0.1, 0.0, 0.7, 3.0):
        assert t_cdf(t, 3) == pytest.approx(_t_cdf_df3(t), rel=1e-12, abs=1e-15)
    assert t_cdf(math.inf, 5) == 1.0 and t_cdf(-math.inf, 5) == 0.0
    for df in (1, 3, 7.5, 50, 1000):
        for p in (0.6, 0.9, 0.995):
            assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-12)
    with pytest.raises(ValueError, match="df"):
        t_cdf(1.0, 0)


def test_mean_ci_known_data() -> None:
    ci = mean_ci([1, 2, 3, 4, 5])
    half = _t_quantile_df4(0.975) * math.sqrt(2.5) / math.sqrt(5)
    assert ci["n"] == 5
    assert ci["mean"] == 3.0
    assert ci["std"] == pytest.approx(math.sqrt(2.5), rel=1e-15)
    assert ci["lo"] == pytest.approx(3 - half, rel=1e-12)
    assert ci["hi"] == pytest.approx(3 + half, rel=1e-12)
    assert set(ci) == {"mean", "lo", "hi", "std", "n"}
    # non-finite, None and string entries are ignored
    assert mean_ci([1, 2, 3, 4, 5, None, float("nan"), float("inf"), "x"]) == ci
    ci90 = mean_ci([1, 2, 3, 4, 5], confidence=0.9)
    assert ci90["hi"] - 3 == pytest.approx(_t_quantile_df4(0.95) * math.sqrt(0.5), rel=1e-12)


def test_mean_ci_is_clipped_to_the_quantity_range() -> None:
    shares = [1.0, 1.0, 1.0, 0.0]  # mean 0.75, t interval [-0.046, 1.546]
    free = mean_ci(shares)
    assert free["lo"] < 0 and free["hi"] > 1
    clipped = mean_ci(shares, bounds=(0.0, 1.0))
    assert (clipped["mean"], clipped["lo"], clipped["hi"]) == (0.75, 0.0, 1.0)
    assert clipped["std"] == free["std"] and clipped["n"] == 4
    inside = mean_ci([0.4, 0.5, 0.6], bounds=(0.0, 1.0))
    assert inside == mean_ci([0.4, 0.5, 0.6])  # an interval inside the range is unchanged
    assert mean_ci([], bounds=(0.0, 1.0))["lo"] is None
    # a difference of two shares lies in [-1, 1]
    diff = {"mean": 0.75, "lo": 0.463, "hi": 1.037, "verdict": "higher"}
    assert clip_interval(diff, (-1.0, 1.0)) == {**diff, "hi": 1.0}
    assert clip_interval(diff, None) is diff


def test_mean_ci_degenerate_sizes() -> None:
    one = mean_ci([0.4])
    assert (one["mean"], one["lo"], one["hi"], one["std"], one["n"]) == (0.4, 0.4, 0.4, 0.0, 1)
    assert "note" in one
    empty = mean_ci([])
    assert empty["n"] == 0 and empty["mean"] is None and empty["lo"] is None
    flat = mean_ci([0.5] * 4)
    assert flat["lo"] == flat["hi"] == 0.5
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1, 2], confidence=1.5)


def test_paired_test_exact_values() -> None:
    out = paired_test([1, 2, 3, 4], [1, 1, 1, 1])  # differences 0, 1, 2, 3
    std = math.sqrt(5 / 3)
    t = 1.5 / (std / 2)
    assert out["mean"] == 1.5 and out["n"] == 4
    assert out["std"] == pytest.approx(std, rel=1e-15)
    assert out["p_value"] == pytest.approx(2 * (1 - _t_cdf_df3(t)), rel=1e-12)
    half = t_quantile(0.975, 3) * std / 2
    assert (out["lo"], out["hi"]) == pytest.approx((1.5 - half, 1.5 + half), rel=1e-12)
    # a − b is signed: swapping flips the mean and keeps the p-value
    back = paired_test([1, 1, 1, 1], [1, 2, 3, 4])
    assert back["mean"] == -1.5 and back["p_value"] == out["p_value"]


def test_paired_test_drops_incomplete_pairs_and_handles_degenerate_cases() -> None:
    out = paired_test([1.0, None, 3.0, 5.0, math.nan], [0.0, 2.0, 1.0, 1.0, 1.0])
    assert out["n"] == 3 and out["mean"] == pytest.approx((1 + 2 + 4) / 3)
    assert paired_test([1.0], [0.0])["p_value"] is None  # n = 1
    assert paired_test([], [])["p_value"] is None
    assert paired_test([0.2, 0.4], [0.2, 0.4])["p_value"] == 1.0  # identical
    assert paired_test([0.5, 1.5], [0.0, 1.0])["p_value"] == 0.0  # constant shift
    with pytest.raises(ValueError, match="same length"):
        paired_test([1, 2, 3], [1, 2])


def test_holm_hand_computed() -> None:
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], rel=1e-15)
    # None is not a test: m = 2
    assert holm([0.01, None, 0.5]) == [0.02, None, 0.5]
    # capped at 1, and monotone in the sorted order
    assert holm([0.6, 0.7]) == [1.0, 1.0]
    assert holm([0.3, 0.4]) == pytest.approx([0.6, 0.6])
    assert holm([]) == [] and holm([None]) == [None] and holm([0.2]) == [0.2]
    with pytest.raises(ValueError, match="p-values"):
        holm([0.1, 1.5])


def test_bootstrap_ci_uses_the_passed_generator() -> None:
    x = np.random.default_rng(1).normal(0.5, 0.1, size=400)
    a = bootstrap_ci(x, np.random.default_rng(7))
    assert a == bootstrap_ci(x, np.random.default_rng(7))
    assert a != bootstrap_ci(x, np.random.default_rng(8))
    ref = scipy.stats.bootstrap(
        (x,), np.mean, n_resamples=2000, method="percentile", random_state=np.random.default_rng(7)
    )
    assert (a["lo"], a["hi"]) == (ref.confidence_interval.low, ref.confidence_interval.high)
    assert a["se"] == ref.standard_error
    assert a["mean"] == float(x.mean()) and a["n"] == 400
    t = mean_ci(x)
    assert a["lo"] == pytest.approx(t["lo"], abs=3e-3)
    assert a["hi"] == pytest.approx(t["hi"], abs=3e-3)
    bca = bootstrap_ci(x, np.random.default_rng(7), method="BCa")
    assert bca["lo"] == pytest.approx(t["lo"], abs=3e-3) and bca != a


def test_bootstrap_ci_degenerate_and_bad_input() -> None:
    single = bootstrap_ci([0.3], np.random.default_rng(0))
    assert (single["lo"], single["hi"], single["se"], single["n"]) == (0.3, 0.3, 0.0, 1)
    flat = bootstrap_ci([0.2] * 5, np.random.default_rng(0), method="BCa")
    assert (flat["lo"], flat["hi"], flat["se"]) == (0.2, 0.2, 0.0)
    empty = bootstrap_ci([], np.random.default_rng(0))
    assert empty["n"] == 0 and empty["lo"] is None and empty["se"] is None
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="method"):
        bootstrap_ci([1, 2], rng, method="studentized")
    with pytest.raises(ValueError, match="rng"):
        bootstrap_ci([1, 2], 7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci([1, 2], rng, n_boot=0)


def test_paired_ratio_difference_is_the_difference_of_linearisations() -> None:
    from scipy import stats as sps

    from gtalign_sim.eval.stats import paired_ratio_difference

    qa, ta = [1.0, 2.0, 3.0, 2.0], [2.0, 4.0, 4.0, 2.0]
    qb, tb = [1.0, 1.0, 2.0, 2.0], [4.0, 2.0, 2.0, 4.0]
    got = paired_ratio_difference(qa, ta, qb, tb, scale=10.0)
    ra, rb = 8.0 / 12.0, 6.0 / 12.0
    z = [(x - ra * y) / 3.0 - (u - rb * v) / 3.0 for x, y, u, v in zip(qa, ta, qb, tb, strict=True)]
    m = sum(z) / 4
    half = sps.t.ppf(0.975, 3) * (sum((v - m) ** 2 for v in z) / 3) ** 0.5 / 2.0
    assert got["n"] == 4
    assert got["mean"] == pytest.approx(10 * (ra - rb), rel=1e-12)
    assert (got["lo"], got["hi"]) == pytest.approx((10 * (ra - rb - half), 10 * (ra - rb + half)))
    same = paired_ratio_difference(qa, ta, qa, ta)
    assert (same["mean"], same["lo"], same["hi"]) == (0.0, 0.0, 0.0)
