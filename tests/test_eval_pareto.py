"""Exact values of gtalign_sim.eval.pareto on small hand-made point sets.

Three assistants on two matched episodes (ε = 0.05), plus an episode only A ran:

    episode 0:  A = (0.8, 0.4)   B = (0.5, 0.5)    C = (0.2, 0.2)
    episode 1:  A = (0.6, 0.6)   B = (0.62, 0.3)   C = (0.4, 1.0)
    episode 2:  A = (0.7, 0.5)

Every expected number below is worked out by hand in the comments.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from gtalign_sim.eval import compute_metrics, mean_ci, pareto_analysis
from gtalign_sim.eval.metrics import pareto_analysis as metrics_pareto_analysis
from gtalign_sim.eval.pareto import eps_dominates, hypervolume_2d

POINTS = {
    "A": [(0.8, 0.4), (0.6, 0.6), (0.7, 0.5)],
    "B": [(0.5, 0.5), (0.62, 0.3)],
    "C": [(0.2, 0.2), (0.4, 1.0)],
}
EPS = 0.05


def _records(points: dict[str, list[tuple[float, float]]]) -> list[dict[str, Any]]:
    return [
        {"assistant": a, "episode": e, "user_welfare": u, "llm_welfare": l}
        for a, pts in points.items()
        for e, (u, l) in enumerate(pts)
    ]


@pytest.fixture(scope="module")
def pareto() -> dict[str, Any]:
    return pareto_analysis(_records(POINTS), eps=EPS)


def approx(x: Any) -> Any:
    return pytest.approx(x, rel=1e-12, abs=1e-12)


def test_hypervolume_2d_hand_computed() -> None:
    # staircase (3,1), (2,2), (1,3) above (0,0): 3·1 + 2·(2−1) + 1·(3−2) = 6
    assert hypervolume_2d([(3, 1), (2, 2), (1, 3)], (0, 0)) == 6.0
    # a dominated point, a duplicate and points not strictly above ref add nothing
    assert hypervolume_2d([(3, 1), (2, 2), (1, 3), (1, 1), (2, 2), (0, 5), (4, 0)], (0, 0)) == 6.0
    assert hypervolume_2d([(2, 3)], (1, 1)) == 2.0
    assert hypervolume_2d([], (0, 0)) == 0.0


def test_eps_dominates_vectorised() -> None:
    assert eps_dominates((0.6, 0.6), (0.62, 0.3), 0.05)  # ≥ b − ε both, > b + ε in L
    assert not eps_dominates((0.6, 0.6), (0.62, 0.3), 0.0)  # exactly: U is lower
    assert not eps_dominates((0.5, 0.5), (0.5, 0.5), 0.0)  # equal points do not dominate
    assert list(eps_dominates([(1.0, 1.0), (math.nan, 2.0)], (0.0, 0.0), 0.1)) == [True, False]


def test_mean_points_frontier_and_hypervolume(pareto) -> None:
    # means: A = (0.7, 0.5), B = (0.56, 0.4), C = (0.3, 0.6)
    assert pareto["means"]["A"]["user_welfare"] == approx(0.7)
    assert pareto["means"]["B"] == approx(
        {"user_welfare": 0.56, "llm_welfare": 0.4, "mutual_welfare_of_means": math.sqrt(0.224)}
    )
    # A dominates B; A and C are incomparable
    assert pareto["on_frontier"] == {"A": True, "B": False, "C": True}
    assert pareto["frontier"] == ["C", "A"]  # by increasing U
    # reference point (min U, min L) = (0.3, 0.4): only A's box has area, 0.4 · 0.1
    assert pareto["reference_point"] == approx([0.3, 0.4])
    assert pareto["hypervolume"] == approx({"A": 0.04, "B": 0.0, "C": 0.0})
    assert pareto["joint_hypervolume"] == approx(0.04)


def test_eps_dominance_counts_on_matched_episodes(pareto) -> None:
    # ep 0: A and B ε-dominate C; ep 1: A ε-dominates B (0.6 ≥ 0.57, 0.6 ≥ 0.25, 0.6 > 0.35)
    dom = pareto["eps_dominance"]
    counts = {(a, b): cell["count"] for a, row in dom.items() for b, cell in row.items()}
    assert counts == {
        ("A", "B"): 1,
        ("A", "C"): 1,
        ("B", "A"): 0,
        ("B", "C"): 1,
        ("C", "A"): 0,
        ("C", "B"): 0,
    }
    assert dom["A"]["B"] == {"count": 1, "n": 2, "fraction": 0.5}  # episode 2 is unmatched


def test_per_episode_share_coverage_and_regret(pareto) -> None:
    assert pareto["n_matched_all"] == 2
    assert pareto["frontier_episodes"] == {"A": 2, "B": 2, "C": 2}  # ep 2 has one assistant
    # not ε-dominated: ep 0 A, B (C is); ep 1 A, C (B is, by A)
    assert pareto["frontier_share"] == approx({"A": 1.0, "B": 0.5, "C": 0.5})
    # exact frontiers: ep 0 {A, B}; ep 1 {A, B, C}. ε-covered frontier points:
    # A: ep 0 {A} of 2, ep 1 {A, B} of 3 → (1/2 + 2/3) / 2 = 7/12
    # B: ep 0 {B} of 2, ep 1 {B} of 3 → 5/12;  C: ep 0 none, ep 1 {C} of 3 → 1/6
    assert pareto["eps_coverage"] == approx({"A": 7 / 12, "B": 5 / 12, "C": 1 / 6})
    # L∞ regret: only C in ep 0 is off the frontier: to A max(0.6, 0.2), to B max(0.3, 0.3)
    assert pareto["mean_linf_regret"] == approx({"A": 0.0, "B": 0.0, "C": 0.15})
    # ranges over the points of episodes 0 and 1: U 0.2–0.8, L 0.2–1.0
    assert pareto["regret_scale"] == approx([0.6, 0.8])
    # normalised: to A max(0.6/0.6, 0.2/0.8) = 1, to B max(0.3/0.6, 0.3/0.8) = 0.5 → 0.5 / 2
    assert pareto["mean_linf_regret_normalized"] == approx({"A": 0.0, "B": 0.0, "C": 0.25})


def test_nash_social_welfare_is_the_mean_product_of_gains(pareto) -> None:
    nsw = pareto["nash_social_welfare"]
    # A: 0.32, 0.36, 0.35; B: 0.25, 0.186; C: 0.04, 0.4
    assert nsw["A"] == approx(mean_ci([0.8 * 0.4, 0.6 * 0.6, 0.7 * 0.5]))
    assert nsw["A"]["mean"] == approx((0.32 + 0.36 + 0.35) / 3) and nsw["A"]["n"] == 3
    assert nsw["B"]["mean"] == approx(0.218) and nsw["C"]["mean"] == approx(0.22)
    # gains below the disagreement point (0, 0) count as 0
    clipped = pareto_analysis(_records({"A": [(-0.5, 0.4), (0.5, 0.4)], "B": [(0.1, 0.1)] * 2}))
    assert clipped["nash_social_welfare"]["A"]["mean"] == approx(0.1)


def test_same_analysis_everywhere(pareto) -> None:
    recs = _records(POINTS)
    assert metrics_pareto_analysis is pareto_analysis
    assert compute_metrics(recs, reference="A", eps=EPS)["pareto"] == pareto
    with pytest.raises(ValueError, match="eps"):
        pareto_analysis(recs, eps=-0.1)
