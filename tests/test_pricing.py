"""Tests of gtalign_sim.welfare pricing policies and pricing-aware payoff transforms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtalign_sim.game import PayoffMatrix
from gtalign_sim.welfare import (
    DEFAULT_EXPECTED_TOKENS,
    DEFAULT_MONEY_TO_PAYOFF,
    DEFAULT_REFERENCE_OFFSET,
    PRICING_POLICIES,
    Free,
    PerTokenAPI,
    PricingPolicy,
    Subscription,
    TurnCost,
    get_pricing,
    per_million,
    pricing_from_config,
    reference_regime,
    reference_transform,
    resolve_pricing,
    token_cost_deltas,
    token_cost_transform,
)

# ---------------------------------------------------------------------- policies


def test_per_million() -> None:
    assert per_million(0.15) == pytest.approx(1.5e-7)


def test_subscription_turn_cost_hand_computed() -> None:
    sub = Subscription(
        monthly_fee=30.0,
        turns_per_month=300.0,
        compute_cost_per_input_token=1e-6,
        compute_cost_per_output_token=2e-6,
    )
    cost = sub.turn_cost(1000, 500)
    assert sub.fee_per_turn == pytest.approx(0.1)
    assert cost.user_cost == pytest.approx(0.1)
    assert cost.provider_revenue == pytest.approx(0.1)
    assert cost.provider_cost == pytest.approx(1000 * 1e-6 + 500 * 2e-6)  # 0.002
    assert cost.provider_net == pytest.approx(0.098)
    # The user's cost does not depend on tokens; the provider's does.
    assert sub.turn_cost(0, 0).user_cost == cost.user_cost
    assert sub.turn_cost(5000, 5000).provider_cost > cost.provider_cost


def test_per_token_api_turn_cost_hand_computed() -> None:
    api = PerTokenAPI(
        price_per_input_token=2e-6,
        price_per_output_token=8e-6,
        compute_cost_per_input_token=1e-6,
        compute_cost_per_output_token=2e-6,
    )
    cost = api.turn_cost(1000, 500)
    assert cost.user_cost == pytest.approx(0.002 + 0.004)
    assert cost.provider_revenue == pytest.approx(0.006)
    assert cost.provider_cost == pytest.approx(0.001 + 0.001)
    assert cost.provider_net == pytest.approx(0.004)
    assert api.turn_cost(0, 0) == TurnCost(0.0, 0.0, 0.0)


def test_free_turn_cost_hand_computed() -> None:
    free = Free(compute_cost_per_input_token=1e-6, compute_cost_per_output_token=3e-6)
    cost = free.turn_cost(100, 200)
    assert cost.user_cost == 0.0 and cost.provider_revenue == 0.0
    assert cost.provider_cost == pytest.approx(100e-6 + 600e-6)
    assert cost.provider_net == pytest.approx(-700e-6)


def test_default_numbers() -> None:
    api = PerTokenAPI()
    assert api.price_per_input_token == pytest.approx(0.15e-6)
    assert api.price_per_output_token == pytest.approx(0.60e-6)
    assert api.compute_cost_per_input_token < api.price_per_input_token
    assert api.compute_cost_per_output_token < api.price_per_output_token
    sub = Subscription()
    assert sub.monthly_fee == 20.0 and sub.fee_per_turn == pytest.approx(20 / 600)
    assert Free().compute_cost_per_output_token == api.compute_cost_per_output_token


def test_names_and_who_pays_per_token() -> None:
    assert (Subscription.name, PerTokenAPI.name, Free.name) == (
        "subscription",
        "per_token_api",
        "free",
    )
    assert Subscription().who_pays_per_token == "provider"
    assert PerTokenAPI().who_pays_per_token == "user"
    assert Free().who_pays_per_token == "provider"
    assert Free(0.0, 0.0).who_pays_per_token == "none"
    assert PerTokenAPI(price_per_input_token=0, price_per_output_token=0).who_pays_per_token == (
        "provider"
    )


def test_registry_and_get_pricing() -> None:
    assert set(PRICING_POLICIES) == {"subscription", "per_token_api", "free"}
    for name, cls in PRICING_POLICIES.items():
        policy = get_pricing(name)
        assert isinstance(policy, cls) and isinstance(policy, PricingPolicy)
        assert policy.name == name
    assert get_pricing("subscription", monthly_fee=10.0).monthly_fee == 10.0


def test_unknown_names_and_fields() -> None:
    with pytest.raises(ValueError, match="allowed") as err:
        get_pricing("pay_what_you_want")
    for name in PRICING_POLICIES:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="monthly_fee"):
        get_pricing("per_token_api", monthly_fee=10.0)
    with pytest.raises(ValueError, match="name"):
        pricing_from_config({"monthly_fee": 10.0})


@pytest.mark.parametrize(
    ("cls", "field"),
    [
        (Subscription, "monthly_fee"),
        (Subscription, "compute_cost_per_input_token"),
        (PerTokenAPI, "price_per_input_token"),
        (PerTokenAPI, "price_per_output_token"),
        (PerTokenAPI, "compute_cost_per_output_token"),
        (Free, "compute_cost_per_input_token"),
    ],
)
def test_negative_prices_rejected_naming_the_field(cls: type, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        cls(**{field: -1e-6})
    with pytest.raises(ValueError, match=field):
        cls(**{field: float("nan")})


def test_other_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="turns_per_month"):
        Subscription(turns_per_month=0)
    with pytest.raises(ValueError, match="prompt_tokens"):
        PerTokenAPI().turn_cost(-1, 10)
    with pytest.raises(ValueError, match="completion_tokens"):
        PerTokenAPI().turn_cost(1, float("inf"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        PerTokenAPI().price_per_input_token = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("policy", [Subscription(), PerTokenAPI(), Free()])
@pytest.mark.parametrize(
    "bad", [-1, -1e-9, float("nan"), float("inf"), 10**400, np.float64("nan"), np.int64(-3)]
)
def test_bad_token_counts_name_the_argument(policy: object, bad: object) -> None:
    with pytest.raises(ValueError, match="prompt_tokens"):
        policy.turn_cost(bad, 10)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="completion_tokens"):
        policy.turn_cost(10, bad)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="completion_tokens"):
        policy.marginal_cost(10, bad)  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["12", None, True, [1], object()])
def test_non_numeric_token_counts_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="prompt_tokens must be a number"):
        PerTokenAPI().turn_cost(bad, 1)  # type: ignore[arg-type]


def test_numpy_token_counts_are_accepted() -> None:
    expected = PerTokenAPI().turn_cost(3, 4)
    assert PerTokenAPI().turn_cost(np.int64(3), np.float32(4)) == expected
    assert PerTokenAPI().turn_cost(np.array(3.0), 4) == expected


def test_config_round_trip_and_resolution() -> None:
    for policy in (Subscription(monthly_fee=12.0), PerTokenAPI(price_per_input_token=1e-6), Free()):
        config = policy.to_config()
        assert config["name"] == policy.name
        assert pricing_from_config(config) == policy
        assert resolve_pricing(config) == policy
    api = PerTokenAPI()
    assert pricing_from_config(api) is api
    assert resolve_pricing("free") == Free()


def test_turn_cost_arithmetic() -> None:
    a = TurnCost(1.0, 0.5, 2.0)
    b = TurnCost(0.5, 0.25, 1.0)
    assert a + b == TurnCost(1.5, 0.75, 3.0)
    assert a - b == b
    assert a.provider_net == 1.5
    sub = Subscription()
    marginal = sub.marginal_cost(100, 100)
    assert marginal.user_cost == 0.0 and marginal.provider_revenue == 0.0
    assert marginal.provider_cost == pytest.approx(sub.turn_cost(100, 100).provider_cost)


# ------------------------------------------------------------ reference transform

BASE = PayoffMatrix(
    # A detailed question is best answered directly; for a vague one, clarifying edges
    # out a direct guess (joint 2.5 vs 2.4) and answer-plus-question is worst.
    user=[[3.0, 1.0, 2.0], [1.0, 1.3, 0.8]],
    llm=[[3.0, 2.0, 2.5], [1.4, 1.2, 0.9]],
)


def test_reference_transform_subscription_deltas_exact() -> None:
    out = reference_transform(BASE, Subscription())
    np.testing.assert_allclose(out.user - BASE.user, [[0, 0.5, 1.0]] * 2, atol=1e-12)
    np.testing.assert_allclose(out.llm - BASE.llm, DEFAULT_REFERENCE_OFFSET, atol=1e-12)
    assert out.user_strategies == BASE.user_strategies
    assert out.assistant_actions == BASE.assistant_actions


def test_reference_transform_api_deltas_exact() -> None:
    out = reference_transform(BASE, "per_token_api", offset=0.3)
    np.testing.assert_allclose(out.user - BASE.user, 0.3, atol=1e-12)
    np.testing.assert_allclose(out.llm - BASE.llm, [[1.0, 0.0, 0.5]] * 2, atol=1e-12)


def test_reference_transform_free_is_unchanged() -> None:
    assert reference_transform(BASE, Free()) is BASE
    assert reference_transform(BASE, Free(0.0, 0.0)) is BASE
    assert reference_regime("free") is None
    assert reference_regime("subscription") == "provider"
    assert reference_regime({"name": "per_token_api"}) == "user"


@dataclasses.dataclass(frozen=True)
class _Tip(PricingPolicy):
    """A custom policy: the user tips per output token, compute is free."""

    name = "tip"
    tip: float = 1e-6

    def turn_cost(self, prompt_tokens: float, completion_tokens: float) -> TurnCost:
        return TurnCost(completion_tokens * self.tip, 0.0, completion_tokens * self.tip)


def test_custom_policy_plugs_in() -> None:
    tip = _Tip()
    assert tip.who_pays_per_token == "user"
    assert reference_regime(tip) == "user"
    assert reference_regime(_Tip(tip=0.0)) is None
    assert reference_regime(PerTokenAPI(0.0, 0.0)) == "user"  # built-ins map by type
    du, dl = token_cost_deltas(BASE, tip)
    np.testing.assert_allclose(du + dl, 0.0, atol=1e-12)  # a pure transfer


def test_reference_transform_rounds_to_one_decimal() -> None:
    m = PayoffMatrix(user=[[0.123, 0.456, 0.789]] * 2, llm=[[1.111, 2.222, 3.333]] * 2)
    out = reference_transform(m, "subscription", offset=0.0)
    np.testing.assert_array_equal(out.user, [[0.1, 1.0, 1.8]] * 2)
    np.testing.assert_array_equal(out.llm, [[1.1, 2.2, 3.3]] * 2)
    raw = reference_transform(m, "subscription", offset=0.0, decimals=None)
    np.testing.assert_allclose(raw.user - m.user, [[0, 0.5, 1.0]] * 2)


def test_reference_transform_action_labels() -> None:
    # Column order does not matter: bonuses are looked up by label.
    shuffled = BASE.restrict(assistant_actions=["AQ", "DA", "CQ"])
    out = reference_transform(shuffled, "subscription", offset=0.0)
    np.testing.assert_allclose(out.user - shuffled.user, [[1.0, 0.0, 0.5]] * 2, atol=1e-12)
    custom = PayoffMatrix(user=[[1, 2]], llm=[[1, 2]], assistant_actions=["Short", "Long"])
    with pytest.raises(ValueError, match="user_bonus"):
        reference_transform(custom, "subscription")
    with pytest.raises(ValueError, match="llm_bonus"):
        reference_transform(custom, "per_token_api")
    out = reference_transform(custom, "per_token_api", llm_bonus={"Short": 1.0, "Long": 0.0})
    np.testing.assert_allclose(out.llm - custom.llm, [[1.0, 0.0]])
    with pytest.raises(ValueError, match="Long"):
        reference_transform(custom, "per_token_api", llm_bonus={"Short": 1.0})


# ------------------------------------------------------------ token-cost transform


def test_token_cost_deltas_hand_computed() -> None:
    du, dl = token_cost_deltas(BASE, PerTokenAPI())
    s = DEFAULT_MONEY_TO_PAYOFF
    # DA: 300 prompt + 400 completion tokens at $0.15 / $0.60 per 1M.
    assert du[0, 0] == pytest.approx(-s * (300 * 0.15e-6 + 400 * 0.60e-6))  # −0.57
    assert dl[0, 0] == pytest.approx(s * (300 * 0.10e-6 + 400 * 0.40e-6))  # +0.38
    assert du[0, 0] == pytest.approx(-0.57)
    # Same deltas for both user strategies (default table is keyed by action).
    np.testing.assert_array_equal(du[0], du[1])


def test_token_cost_deltas_signs_under_api() -> None:
    du, dl = token_cost_deltas(BASE, "per_token_api")
    actions = list(BASE.assistant_actions)
    longest = max(actions, key=lambda a: sum(DEFAULT_EXPECTED_TOKENS[a]))
    assert longest == "AQ"
    assert (du < 0).all() and (dl > 0).all()
    assert actions[int(np.argmin(du[0]))] == longest  # the user loses most on AQ
    order = sorted(actions, key=lambda a: sum(DEFAULT_EXPECTED_TOKENS[a]))
    llm_by_tokens = [dl[0, actions.index(a)] for a in order]
    assert llm_by_tokens == sorted(llm_by_tokens)  # the LLM gains with tokens


def test_token_cost_deltas_signs_under_subscription_and_free() -> None:
    actions = list(BASE.assistant_actions)
    order = sorted(actions, key=lambda a: sum(DEFAULT_EXPECTED_TOKENS[a]))
    for policy in ("subscription", "free"):
        du, dl = token_cost_deltas(BASE, policy)
        assert (du == 0).all()  # a flat fee (or nothing) is not a marginal cost
        assert (dl < 0).all()
        llm_by_tokens = [dl[0, actions.index(a)] for a in order]
        assert llm_by_tokens == sorted(llm_by_tokens, reverse=True)  # drops with tokens


def test_token_cost_deltas_amortised_fee_when_not_marginal() -> None:
    sub = Subscription()
    du, dl = token_cost_deltas(BASE, sub, marginal=False)
    np.testing.assert_allclose(du, -DEFAULT_MONEY_TO_PAYOFF * sub.fee_per_turn)
    _, dl_m = token_cost_deltas(BASE, sub)
    np.testing.assert_allclose(dl - dl_m, DEFAULT_MONEY_TO_PAYOFF * sub.fee_per_turn)


def test_token_cost_transform_applies_the_deltas() -> None:
    du, dl = token_cost_deltas(BASE, "per_token_api", money_to_payoff=1000.0)
    out = token_cost_transform(BASE, "per_token_api", money_to_payoff=1000.0)
    np.testing.assert_allclose(out.user, BASE.user + du)
    np.testing.assert_allclose(out.llm, BASE.llm + dl)
    rounded = token_cost_transform(BASE, "per_token_api", decimals=1)
    assert rounded == token_cost_transform(BASE, "per_token_api").rounded(1)
    assert token_cost_transform(BASE, "subscription", money_to_payoff=0.0) == BASE


def test_token_cost_transform_custom_labels_and_cell_keys() -> None:
    m = PayoffMatrix(user=[[1, 2]], llm=[[1, 2]], assistant_actions=["Short", "Long"])
    out = token_cost_transform(
        m,
        PerTokenAPI(price_per_input_token=0, price_per_output_token=1e-3),
        expected_tokens={"Short": (0, 1), "Long": (0, 10)},
        money_to_payoff=100.0,
        provider_money_to_payoff=0.0,
    )
    np.testing.assert_allclose(out.user - m.user, [[-0.1, -1.0]])
    np.testing.assert_allclose(out.llm, m.llm)
    with pytest.raises(ValueError, match="Long"):
        token_cost_transform(m, "per_token_api", expected_tokens={"Short": (0, 1)})
    with pytest.raises(ValueError, match="Short"):
        token_cost_transform(m, "per_token_api")  # the default table knows DA/CQ/AQ only
    # A cell key overrides the action's entry for that cell only.
    table = {**DEFAULT_EXPECTED_TOKENS, "VQ_CQ": (2000.0, 1000.0)}
    du, _ = token_cost_deltas(BASE, "per_token_api", expected_tokens=table)
    du0, _ = token_cost_deltas(BASE, "per_token_api")
    assert du[1, 1] < du0[1, 1] and du[0, 1] == du0[0, 1]


def test_token_cost_transform_rejects_bad_scales_and_entries() -> None:
    with pytest.raises(ValueError, match="money_to_payoff"):
        token_cost_transform(BASE, "free", money_to_payoff=-1.0)
    with pytest.raises(ValueError, match="provider_money_to_payoff"):
        token_cost_transform(BASE, "free", provider_money_to_payoff=float("nan"))
    with pytest.raises(ValueError, match="pair"):
        token_cost_transform(BASE, "free", expected_tokens={"DA": 3, "CQ": 3, "AQ": 3})
    with pytest.raises(ValueError, match="prompt_tokens"):
        token_cost_transform(
            BASE, "free", expected_tokens={"DA": (-1, 3), "CQ": (1, 3), "AQ": (1, 3)}
        )


prices = st.floats(0, 1e-4)


@settings(max_examples=100, deadline=None)
@given(
    price_in=prices,
    price_out=prices,
    compute_in=prices,
    compute_out=prices,
    fee=st.floats(0, 100),
    tokens=st.lists(st.tuples(st.floats(0, 1e4), st.floats(0, 1e4)), min_size=3, max_size=3),
)
def test_prices_are_transfers_with_equal_scales(
    price_in: float,
    price_out: float,
    compute_in: float,
    compute_out: float,
    fee: float,
    tokens: list[tuple[float, float]],
) -> None:
    """user + llm changes by the compute cost alone, whatever the pricing policy."""
    table = dict(zip(("DA", "CQ", "AQ"), tokens, strict=True))
    compute = {
        "compute_cost_per_input_token": compute_in,
        "compute_cost_per_output_token": compute_out,
    }
    policies = [
        PerTokenAPI(price_per_input_token=price_in, price_per_output_token=price_out, **compute),
        Subscription(monthly_fee=fee, **compute),
        Free(**compute),
    ]
    sums = []
    for policy in policies:
        du, dl = token_cost_deltas(BASE, policy, expected_tokens=table)
        sums.append(du + dl)
    expected = [-DEFAULT_MONEY_TO_PAYOFF * (p * compute_in + c * compute_out) for p, c in tokens]
    for total in sums:
        np.testing.assert_allclose(total, [expected] * 2, rtol=1e-9, atol=1e-12)


# ------------------------------------------------- the paper's steering example


def _vq_action(matrix: PayoffMatrix) -> str:
    return matrix.select("gtalign", user_strategy="VQ").action


def test_base_matrix_choices() -> None:
    assert _vq_action(BASE) == "CQ"
    assert BASE.select("gtalign", user_strategy="DQ").action == "DA"


def test_reference_transform_flips_cq_to_da() -> None:
    """CQ under subscription steering becomes DA under per-token API steering."""
    assert _vq_action(reference_transform(BASE, "subscription")) == "CQ"
    assert _vq_action(reference_transform(BASE, "per_token_api")) == "DA"


def test_token_cost_transform_flips_cq_to_da_when_the_user_values_money_more() -> None:
    """With the provider's dollar worth a quarter of the user's, the extra round trip of
    CQ costs the user more than it earns the provider under per-token pricing, while on a
    subscription it only costs the provider a little compute: CQ → DA."""
    kwargs = {"provider_money_to_payoff": DEFAULT_MONEY_TO_PAYOFF / 4}
    assert _vq_action(token_cost_transform(BASE, "subscription", **kwargs)) == "CQ"
    assert _vq_action(token_cost_transform(BASE, "per_token_api", **kwargs)) == "DA"


def test_token_cost_transform_with_equal_scales_cannot_flip_a_sum_rule() -> None:
    """With equal scales prices are transfers: the gtalign (sum-first) choice is the
    same under every policy (it moves only through compute costs)."""
    choices = {_vq_action(token_cost_transform(BASE, p)) for p in PRICING_POLICIES}
    assert choices == {"CQ"}
