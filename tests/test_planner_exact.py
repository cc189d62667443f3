"""The planner's speed-ups change no number: blocked grids, shared expansions, memos.

Every comparison here is bit for bit (``tobytes``), not approximate: the main job's
records must stay byte-identical when the planner is made faster.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from gtalign_sim.core import OBJECTIVES, Planner, Rows, expect, grid, rules
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import TaskTables, UserPopulation, WorldConfig


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=6, seed=3)


@pytest.fixture(autouse=True)
def fresh_shared_results(monkeypatch):
    """Each test starts with an empty cross-planner memo."""
    monkeypatch.setattr(expect, "_SHARED_RESULTS", OrderedDict())


def particle_planner(task, objective, *, k=6, seed=0, pricing="per_token_api", vq=None):
    """A planner over ``k`` profiles from the default population (every intent and both
    question types, or only VQ / DQ rows when ``vq`` is set)."""
    rng = np.random.default_rng(seed)
    profiles = [sample_profile(rng, pricing) for _ in range(k)]
    n = len(task.interpretations)
    sw = np.ones((k, n, 2))
    if vq is not None:
        sw[..., 0 if vq else 1] = 0.0
    prior = np.array([it.prior for it in task.interpretations], float)
    rows = Rows.build(profiles, n, prior, sw)
    return Planner(TaskTables.cached(task), WorldConfig(), pricing, rows, objective)


def sample_profile(rng, pricing):
    return UserPopulation().sample(rng, pricing=pricing)


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def plan_numbers(planner, prefix=()):
    """Everything the assistants read from a planner, as arrays."""
    best = planner.best(prefix)
    values, mass = planner.action_values(prefix, planner.rows.strategy, 2, None)
    fixed, _ = planner.action_values(prefix, planner.rows.strategy, 2, 4)
    return [
        np.array([*best.actions, best.value, best.user, best.llm, best.mass]),
        values,
        mass,
        fixed,
    ]


def tasks_of(bank):
    return [bank.by_family(f)[i] for f in bank.families for i in (0, 1)]


def test_blocked_grid_matches_one_block(bank, monkeypatch):
    """Evaluating the (action, branch, path) grid in small blocks gives the same bits as
    one block: the sums run over the whole grid in its order."""
    for task in tasks_of(bank):
        custom = lambda u, l: rules.mutual(u, l)  # noqa: E731 - unshared path
        monkeypatch.setattr(grid, "BLOCK", 10**9)
        whole = plan_numbers(particle_planner(task, custom))
        monkeypatch.setattr(grid, "BLOCK", 7)  # several blocks per action and branch
        blocked = plan_numbers(particle_planner(task, custom))
        assert all(same_bits(a, b) for a, b in zip(whole, blocked, strict=True)), task.id


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_shared_expansion_matches_own_objective(bank, name):
    """A named objective (served from one expansion for all four) gives the same bits as
    the same function passed as a custom objective (expanded on its own)."""
    fn = OBJECTIVES[name]
    for task in tasks_of(bank):
        for prefix in ((), (4,), (3,)):
            shared = plan_numbers(particle_planner(task, name, vq=True), prefix)
            alone = plan_numbers(
                particle_planner(task, lambda u, l, fn=fn: fn(u, l), vq=True), prefix
            )
            assert all(same_bits(a, b) for a, b in zip(shared, alone, strict=True)), task.id


def test_shared_results_follow_every_input(bank):
    """The memo is keyed on what the expansion reads: a planner that differs in its
    hypotheses, prices or task gets its own numbers, never a neighbour's."""
    task, other = bank.by_family("math")[0], bank.by_family("writing")[0]
    base = particle_planner(task, "mutual")
    first = plan_numbers(base)
    variants = {
        "rows": particle_planner(task, "mutual", seed=1),
        "pricing": particle_planner(task, "mutual", pricing="subscription"),
        "task": particle_planner(other, "mutual"),
        "subset": base.subset(base.rows.strategy == 1),
    }
    for what, planner in variants.items():
        got = plan_numbers(planner)
        alone = plan_numbers(_unshared(planner))
        assert all(same_bits(a, b) for a, b in zip(got, alone, strict=True)), what
        assert not all(same_bits(a, b) for a, b in zip(got, first, strict=True)), what
    # the memo held the base planner's entry all along
    assert all(same_bits(a, b) for a, b in zip(plan_numbers(base), first, strict=True))


def _unshared(planner: Planner) -> Planner:
    fn = OBJECTIVES[planner.objective_name]
    return Planner(
        planner.t,
        planner.world,
        _pricing_of(planner),
        planner.rows,
        lambda u, l: fn(u, l),
    )


def _pricing_of(planner: Planner) -> str:
    for plan in ("free", "per_token_api", "subscription"):
        if rules.price_rates(planner.world, plan) == planner.rates:
            return plan
    raise AssertionError("unknown rates")


def test_user_gain_value_is_the_sum_of_its_terms():
    rng = np.random.default_rng(7)
    world = WorldConfig()
    for n in (1, 5, 1000):
        fields = {
            name: rng.random(n) * rng.choice([0.0, 1.0, 3.0], n) for name in rules.LEDGER_FIELDS
        }
        fields["known"] = rng.random(n) < 0.5
        fields["wrong"] = rng.integers(0, 3, n).astype(float)
        led = rules.Ledger(**fields)
        u, terms = rules.user_gain(led, world)
        assert same_bits(u, sum(terms.values()))
        assert same_bits(rules.user_gain_value(led, world), sum(terms.values()))


def test_price_rates_are_the_worlds_rates():
    world = WorldConfig()
    for plan in ("free", "per_token_api", "subscription"):
        assert rules.price_rates(world, plan) == world.rates(plan)
    dearer = WorldConfig.from_config(
        {"pricing": {"per_token_api": {"price_per_input_token": 1e-3}}}
    )
    assert rules.price_rates(dearer, "per_token_api") == dearer.rates("per_token_api")
    assert rules.price_rates(dearer, "per_token_api") != world.rates("per_token_api")
    with pytest.raises(ValueError, match="unknown pricing plan"):
        rules.price_rates(world, "barter")


def test_task_tables_memo_is_not_part_of_equality(bank):
    task = bank.by_family("safety")[0]
    a, b = TaskTables.build(task), TaskTables.build(task)
    a.memo["x"] = 1
    assert a.n_intents == b.n_intents
    assert "memo" not in repr(a)
