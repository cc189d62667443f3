"""Tests for gtalign_sim.game: matrices, Pareto, equilibria, dominance, selection, dilemmas."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gtalign_sim.game import (
    SELECTION_RULES,
    DegenerateGameWarning,
    PayoffFormatError,
    PayoffMatrix,
    ces,
    cobb_douglas,
    get_preset,
    nash_product,
    pareto_mask,
    rawlsian,
    utilitarian,
    weighted_linear,
)

# --------------------------------------------------------------------------- helpers


def brute_force_pareto(points: np.ndarray) -> np.ndarray:
    keep = []
    for i, p in enumerate(points):
        dominated = False
        for j, q in enumerate(points):
            if j != i and (q >= p).all() and (q > p).any():
                dominated = True
        keep.append(not dominated)
    return np.array(keep)


def brute_force_pure_ne(u: np.ndarray, l: np.ndarray) -> set[tuple[int, int]]:
    out = set()
    n, m = u.shape
    for i, j in itertools.product(range(n), range(m)):
        user_ok = all(u[i, j] >= u[k, j] for k in range(n))
        llm_ok = all(l[i, j] >= l[i, k] for k in range(m))
        if user_ok and llm_ok:
            out.add((i, j))
    return out


def games(max_n: int = 4, max_m: int = 4, lo: int = -5, hi: int = 5):
    """Random integer bimatrix games (lots of ties) of size 1..max_n × 1..max_m."""

    @st.composite
    def build(draw):
        n = draw(st.integers(1, max_n))
        m = draw(st.integers(1, max_m))
        ints = st.integers(lo, hi)
        u = draw(arrays(np.int64, (n, m), elements=ints))
        l = draw(arrays(np.int64, (n, m), elements=ints))
        return PayoffMatrix(u, l)

    return build()


# ------------------------------------------------------------------------ PayoffMatrix


def test_default_labels_and_cells():
    m = PayoffMatrix([[1, 2, 3], [4, 5, 6]], [[6, 5, 4], [3, 2, 1]])
    assert m.user_strategies == ("DQ", "VQ")
    assert m.assistant_actions == ("DA", "CQ", "AQ")
    assert m.payoff("VQ", "CQ") == (5.0, 2.0)
    assert m.cell_name(1, 2) == "VQ_AQ"
    assert next(iter(m.cells())) == ("DQ", "DA")
    generic = PayoffMatrix([[1]], [[2]])
    assert generic.user_strategies == ("U0",) and generic.assistant_actions == ("A0",)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"user": [[1, 2]], "llm": [[1, 2, 3]]}, "shape"),
        ({"user": [1, 2], "llm": [1, 2]}, "2-D"),
        ({"user": [[1, np.nan]], "llm": [[1, 2]]}, "finite"),
        ({"user": [["a"]], "llm": [[1]]}, "numeric"),
        ({"user": [[1, 2]], "llm": [[1, 2]], "assistant_actions": ["X", "X"]}, "distinct"),
        ({"user": [[1, 2]], "llm": [[1, 2]], "assistant_actions": ["X_1", "Y"]}, "'_'"),
        ({"user": [[1, 2]], "llm": [[1, 2]], "assistant_actions": ["X"]}, "labels"),
    ],
)
def test_constructor_errors_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PayoffMatrix(**kwargs)


def test_unknown_label_lists_allowed():
    m = get_preset("gtalign_example")
    with pytest.raises(ValueError, match=r"allowed: \['DQ', 'VQ'\]"):
        m.payoff("XQ", "DA")
    with pytest.raises(ValueError, match="allowed"):
        m.select(rule="nope")


def test_matrix_is_immutable():
    m = get_preset("gtalign_example")
    with pytest.raises(ValueError):
        m.user[0, 0] = 10.0


GTALIGN_JSON = {
    "DQ_AQ": {"LLM": 2.0, "user": 3.1},
    "DQ_CQ": {"LLM": 0.5, "user": -1.0},
    "DQ_DA": {"LLM": 1.5, "user": 2.0},
    "VQ_AQ": {"LLM": 1.0, "user": 1.2},
    "VQ_CQ": {"LLM": 2.0, "user": 0.5},
    "VQ_DA": {"LLM": -0.5, "user": 0.0},
}


def test_from_gtalign_roundtrip_dict_and_json():
    m = PayoffMatrix.from_gtalign(GTALIGN_JSON)
    assert m.payoff("DQ", "AQ") == (3.1, 2.0)
    assert m.to_gtalign() == GTALIGN_JSON
    assert PayoffMatrix.from_gtalign(json.dumps(GTALIGN_JSON)) == m
    assert PayoffMatrix.from_gtalign(m.to_json()) == m
    assert list(m.to_gtalign()) == sorted(GTALIGN_JSON)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("VQ_DA"), "missing key.*VQ_DA"),
        (lambda d: d.update(VQ_XX={"LLM": 1, "user": 1}), "unexpected key.*VQ_XX"),
        (lambda d: d["DQ_DA"].pop("LLM"), r"DQ_DA.*exactly the keys"),
        (lambda d: d["DQ_DA"].update(llm=1), r"DQ_DA.*exactly the keys"),
        (lambda d: d["DQ_CQ"].update(user="high"), r"DQ_CQ.*'user'.*number.*'high'"),
        (lambda d: d["DQ_CQ"].update(user=True), r"DQ_CQ.*number"),
        (lambda d: d["DQ_CQ"].update(LLM=float("inf")), r"DQ_CQ.*finite"),
        (lambda d: d.update(DQ_CQ=[1, 2]), r"DQ_CQ.*object"),
    ],
)
def test_from_gtalign_strict_validation(mutate, match):
    d = json.loads(json.dumps(GTALIGN_JSON))
    mutate(d)
    with pytest.raises(PayoffFormatError, match=match):
        PayoffMatrix.from_gtalign(d)


def test_from_gtalign_rejects_bad_json_and_non_objects():
    with pytest.raises(PayoffFormatError, match="JSON"):
        PayoffMatrix.from_gtalign("{not json")
    with pytest.raises(PayoffFormatError, match="object"):
        PayoffMatrix.from_gtalign("[1, 2]")


def test_from_gtalign_custom_labels():
    m = PayoffMatrix([[1, 2]], [[3, 4]], ["S"], ["X", "Y"])
    back = PayoffMatrix.from_gtalign(m.to_gtalign(), ["S"], ["X", "Y"])
    assert back == m


def test_transforms_return_new_matrices():
    m = get_preset("gtalign_example")
    shifted = m.add(user=[0, 0.5, 1.0], llm=1.0)
    assert shifted.payoff("VQ", "AQ")[0] == pytest.approx(m.payoff("VQ", "AQ")[0] + 1.0)
    assert shifted.payoff("DQ", "DA")[1] == pytest.approx(m.payoff("DQ", "DA")[1] + 1.0)
    assert m.restrict(assistant_actions=["AQ", "DA"]).assistant_actions == ("AQ", "DA")
    assert m.disagreement_point("min") == (0.2, 0.5)
    with pytest.raises(ValueError, match="allowed"):
        m.disagreement_point("median")


# --------------------------------------------------------------------------- Pareto


@settings(max_examples=200, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(0, 12), st.just(2)), elements=st.integers(-5, 5)))
def test_pareto_mask_equals_brute_force(points):
    assert (pareto_mask(points, tol=0.0) == brute_force_pareto(points)).all()


@settings(max_examples=100, deadline=None)
@given(games())
def test_pareto_frontier_equals_brute_force_non_dominated(game):
    expected = brute_force_pareto(game.points())
    cells = list(game.cells())
    assert game.pareto_frontier(tol=0.0) == [c for c, k in zip(cells, expected, strict=True) if k]


def test_pareto_tolerance_is_explicit():
    pts = np.array([[1.0, 1.0], [1.0 + 1e-12, 1.0]])
    assert pareto_mask(pts, tol=1e-9).all()  # within tolerance: equal, both kept
    assert pareto_mask(pts, tol=0.0).tolist() == [False, True]


# --------------------------------------------------------------------------- equilibria


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(games())
def test_pure_equilibria_match_brute_force(game):
    expected = brute_force_pure_ne(game.user, game.llm)
    got = {(game.row_index(s), game.col_index(a)) for s, a in game.pure_nash_equilibria(tol=0.0)}
    assert got == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(games(max_n=3, max_m=3))
def test_every_equilibrium_is_a_mutual_best_response_and_no_pure_one_missing(game):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateGameWarning)
        eqs = game.nash_equilibria()
    assert eqs, "every finite game has an equilibrium"
    for x, y in eqs:
        assert x.sum() == pytest.approx(1.0) and y.sum() == pytest.approx(1.0)
        assert (x >= 0).all() and (y >= 0).all()
        ux = game.user @ y
        ly = x @ game.llm
        assert x @ ux >= ux.max() - 1e-6
        assert ly @ y >= ly.max() - 1e-6
    pure = {(int(np.argmax(x)), int(np.argmax(y))) for x, y in eqs if x.max() == 1 and y.max() == 1}
    assert pure == brute_force_pure_ne(game.user, game.llm)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (3, 3), elements=st.floats(-5, 5, allow_nan=False)), st.data())
def test_random_real_games_have_verified_equilibria(u, data):
    l = data.draw(arrays(np.float64, (3, 3), elements=st.floats(-5, 5, allow_nan=False)))
    game = PayoffMatrix(u, l)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateGameWarning)
        eqs = game.nash_equilibria()
    assert eqs
    assert all(game.is_nash(x, y, tol=1e-6) for x, y in eqs)


def test_prisoners_dilemma():
    pd = get_preset("prisoners_dilemma")
    eqs = pd.nash_equilibria()
    assert len(eqs) == 1
    x, y = eqs[0]
    assert x.tolist() == [0.0, 1.0] and y.tolist() == [0.0, 1.0]
    report = pd.analyze_dilemma()
    assert report.is_dilemma
    assert report.game_type == "prisoners_dilemma"
    assert report.labelling == ("C", "D", "C", "D")
    assert report.price_of_anarchy == pytest.approx(3.0)  # 6 / 2
    assert report.price_of_anarchy > 1
    assert pd.dominated("user") == ["C"] and pd.dominated("assistant") == ["C"]
    assert pd.iterated_elimination().shape == (1, 1)


def test_stag_hunt():
    sh = get_preset("stag_hunt")
    eqs = sh.nash_equilibria()
    assert len(eqs) == 3
    assert sh.pure_nash_equilibria() == [("Stag", "Stag"), ("Hare", "Hare")]
    mixed = [e for e in eqs if e[0].max() < 1]
    assert len(mixed) == 1
    np.testing.assert_allclose(mixed[0][0], [0.75, 0.25])
    report = sh.analyze_dilemma()
    assert report.game_type == "stag_hunt" and report.is_dilemma
    assert report.price_of_stability == pytest.approx(1.0)


def test_battle_of_the_sexes_has_three_equilibria():
    bos = get_preset("battle_of_the_sexes")
    eqs = bos.nash_equilibria()
    assert len(eqs) == 3
    mixed = next(e for e in eqs if e[0].max() < 1)
    np.testing.assert_allclose(mixed[0], [0.6, 0.4])
    np.testing.assert_allclose(mixed[1], [0.4, 0.6])
    assert bos.analyze_dilemma().game_type == "battle_of_the_sexes"


def test_matching_pennies_has_one_mixed_equilibrium():
    mp = get_preset("matching_pennies")
    eqs = mp.nash_equilibria()
    assert len(eqs) == 1
    np.testing.assert_allclose(eqs[0][0], [0.5, 0.5])
    np.testing.assert_allclose(eqs[0][1], [0.5, 0.5])
    assert mp.pure_nash_equilibria() == []
    assert mp.analyze_dilemma().game_type == "discoordination"


def test_chicken_and_harmony_types():
    assert get_preset("chicken").analyze_dilemma().game_type == "chicken"
    harmony = get_preset("harmony").analyze_dilemma()
    assert harmony.game_type == "harmony" and not harmony.is_dilemma
    assert harmony.price_of_anarchy == pytest.approx(1.0)


def test_classification_is_label_order_invariant():
    pd = get_preset("prisoners_dilemma")
    flipped = pd.restrict(user_strategies=["D", "C"], assistant_actions=["D", "C"])
    report = flipped.analyze_dilemma()
    assert report.game_type == "prisoners_dilemma"
    assert report.labelling == ("C", "D", "C", "D")


def test_degenerate_game_warns_and_keeps_all_pure_equilibria():
    # every cell is an equilibrium: a maximally degenerate game
    flat = PayoffMatrix(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.warns(DegenerateGameWarning):
        eqs = flat.nash_equilibria()
    pure = {(int(np.argmax(x)), int(np.argmax(y))) for x, y in eqs if x.max() == 1 and y.max() == 1}
    assert pure == {(i, j) for i in range(2) for j in range(3)}


def test_gtalign_example_is_a_dilemma():
    g = get_preset("gtalign_example")
    assert g.pure_nash_equilibria() == [("VQ", "DA")]
    assert g.payoff("VQ", "DA") == (1.0, 1.0)
    report = g.analyze_dilemma()
    assert report.is_dilemma and report.game_type == "not_2x2"
    sub = g.restrict(assistant_actions=["DA", "AQ"]).analyze_dilemma()
    assert sub.game_type == "prisoners_dilemma"


def test_best_responses_pure_and_mixed():
    sh = get_preset("stag_hunt")
    assert sh.best_responses("assistant", "Stag") == ["Stag"]
    assert sh.best_responses("user", [0.75, 0.25]) == ["Stag", "Hare"]  # indifferent
    with pytest.raises(ValueError, match="player"):
        sh.best_responses("judge", "Stag")
    with pytest.raises(ValueError, match="sum to 1"):
        sh.best_responses("user", [0.9, 0.9])


def test_weak_vs_strict_dominance():
    g = PayoffMatrix([[1, 2], [1, 3]], [[0, 0], [0, 0]], ["A", "B"], ["X", "Y"])
    assert g.dominated("user", strict=True) == []
    assert g.dominated("user", strict=False) == ["A"]


# --------------------------------------------------------------------------- welfare


def test_welfare_functions_values():
    assert utilitarian(1, 2) == 3
    assert rawlsian(1, 2) == 1
    assert weighted_linear(1.0, 3.0, user_weight=0.25) == pytest.approx(2.5)
    assert cobb_douglas(0.25, 1.0) == pytest.approx(0.5)
    assert nash_product(3, 2, disagreement=(1, 1)) == pytest.approx(2.0)
    assert cobb_douglas(-1, 5) == 0.0  # a loss against the disagreement point
    assert ces(0.25, 1.0, rho=0.0) == pytest.approx(0.5)
    assert ces(2.0, 4.0, rho=1.0) == pytest.approx(3.0)
    assert ces(2.0, 4.0, rho=-np.inf) == pytest.approx(2.0)
    assert ces(0.0, 4.0, rho=-1.0) == 0.0
    with pytest.raises(ValueError, match="user_weight"):
        weighted_linear(1, 1, user_weight=2)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 10), st.floats(0.01, 10), st.floats(-20, 0.99))
def test_ces_lies_between_min_and_mean_for_rho_below_one(u, l, rho):
    w = float(ces(u, l, rho=rho))
    assert min(u, l) * (1 - 1e-7) <= w <= (u + l) / 2 * (1 + 1e-7)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 10), st.floats(0.01, 10))
def test_ces_limits(u, l):
    assert float(ces(u, l, rho=1e-9)) == pytest.approx(float(cobb_douglas(u, l)), rel=1e-6)
    assert float(ces(u, l, rho=-200)) == pytest.approx(min(u, l), rel=1e-2)


# --------------------------------------------------------------------------- selection


def test_gtalign_rule_pareto_then_sum_user_llm():
    # three cells tie on the sum; user payoff breaks the tie
    m = PayoffMatrix([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], [[3.0, 2.0, 1.0], [0.0, 0.0, 0.0]])
    assert m.select("gtalign") == ("DQ", "AQ")
    assert m.select("selfish_llm") == ("DQ", "DA")
    assert m.select("selfish_user") == ("DQ", "AQ")
    # all-zero row: every key ties, the first action in label order wins
    assert m.select("gtalign", user_strategy="VQ") == ("VQ", "DA")


def test_max_product_reference_quirk_and_random_ties():
    m = PayoffMatrix([[-2.0, 1.0, 1.0]], [[-2.0, 2.0, 2.0]], ["DQ"])
    assert m.select("max_product") == ("DQ", "DA")  # (-2)·(-2) = 4 beats 2: the reference quirk
    tie = PayoffMatrix([[1.0, 2.0, 1.0]], [[2.0, 1.0, 2.0]], ["DQ"])
    picks = {tie.select("max_product", rng=np.random.default_rng(s)).action for s in range(30)}
    assert picks == {"DA", "CQ", "AQ"}


def test_max_welfare_with_names_and_disagreement():
    m = PayoffMatrix([[4.0, 2.5, 0.0]], [[0.0, 2.5, 4.0]], ["DQ"])
    assert m.select("max_welfare", welfare="cobb_douglas").action == "CQ"
    assert m.select("max_welfare", welfare="rawlsian").action == "CQ"
    assert m.select("max_welfare", welfare="ces", welfare_params={"rho": -1}).action == "CQ"
    # weighted towards the user
    assert (
        m.select(
            "max_welfare", welfare="weighted_linear", welfare_params={"user_weight": 0.9}
        ).action
        == "DA"
    )
    neg = PayoffMatrix([[-4.0, -1.0, -3.0]], [[-1.0, -1.5, -4.0]], ["DQ"])
    assert neg.select("max_welfare", welfare="cobb_douglas", disagreement="min").action == "CQ"
    with pytest.raises(ValueError, match="allowed"):
        m.select("max_welfare", welfare="bogus")


def test_selection_under_a_belief():
    g = get_preset("gtalign_example")
    # certain VQ: same as the known row
    assert g.select("gtalign", user_strategy=[0.0, 1.0]) == g.select("gtalign", user_strategy="VQ")
    assert g.select("gtalign", user_strategy={"DQ": 0.5, "VQ": 0.5}).user_strategy in ("DQ", "VQ")
    belief = np.array([0.4, 0.6])
    choice = g.select("max_welfare", user_strategy=belief)
    expected = int(np.argmax(belief @ (g.user + g.llm)))
    assert choice == ("VQ", g.assistant_actions[expected])
    with pytest.raises(ValueError, match="sum to 1"):
        g.select(user_strategy=[0.5, 0.6])
    with pytest.raises(ValueError, match="probabilities"):
        g.select(user_strategy=[1.0])


def test_nash_rule():
    pd = get_preset("prisoners_dilemma")
    assert pd.select("nash") == ("D", "D")
    assert pd.select("nash", user_strategy="C") == ("C", "D")  # assistant's best response
    sh = get_preset("stag_hunt")
    assert sh.select("nash") == ("Stag", "Stag")  # the payoff-dominant equilibrium
    mp = get_preset("matching_pennies")
    assert mp.select("nash") in set(mp.cells())


@settings(max_examples=100, deadline=None)
@given(games(max_n=3, max_m=3), st.sampled_from(SELECTION_RULES))
def test_every_rule_returns_a_valid_cell(game, rule):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateGameWarning)
        s, a = game.select(rule)
    assert s in game.user_strategies and a in game.assistant_actions
    if rule == "gtalign":
        assert (s, a) in game.pareto_frontier()


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000,
        '{"a": ' + "9" * 5000 + "}",
    ],
)
def test_from_gtalign_pathological_json_raises_payoff_format_error(text):
    with pytest.raises(PayoffFormatError):
        PayoffMatrix.from_gtalign(text)


def test_from_gtalign_huge_integer_is_not_finite():
    d = json.loads(json.dumps(GTALIGN_JSON))
    d["DQ_DA"]["user"] = 10**400
    with pytest.raises(PayoffFormatError, match="finite number"):
        PayoffMatrix.from_gtalign(d)
