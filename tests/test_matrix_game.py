"""Tests for gtalign_sim.envs.matrix_game: PettingZoo conformance, payoffs, policies."""

from __future__ import annotations

import functools
import itertools
import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, render_test, seed_test
from pettingzoo.utils.conversions import parallel_to_aec_wrapper

from gtalign_sim.envs import matrix_game as mg
from gtalign_sim.envs.matrix_game import (
    AlwaysCooperate,
    AlwaysDefect,
    GrimTrigger,
    MatrixGameEnv,
    Policy,
    RandomPolicy,
    TitForTat,
    gtalign_game,
    play_repeated,
    prisoners_dilemma,
)
from gtalign_sim.game import PRESETS, PayoffMatrix, get_preset

# PD payoffs of the preset: T=5 > R=3 > P=1 > S=0.
T_, R_, P_, S_ = 5.0, 3.0, 1.0, 0.0

# Warnings PettingZoo's checkers raise by design for this environment: agents are named
# "user"/"assistant" (not "<name>_<n>"), the first observation has no history and t=0
# (all zeros), and a one-shot game with memory=0 observes only t/T (a single number).
EXPECTED_WARNINGS = (
    "We recommend agents to be named",
    "Observation numpy array is all zeros",
    "Observation is a single number",
)

CONFIGS = [
    pytest.param({"game": "prisoners_dilemma", "rounds": 1}, id="pd-oneshot"),
    pytest.param({"game": "prisoners_dilemma", "rounds": 1, "memory": 0}, id="pd-oneshot-mem0"),
    pytest.param({"game": "prisoners_dilemma", "rounds": 6, "memory": 3}, id="pd-repeated"),
    pytest.param({"game": "gtalign_example", "rounds": 1}, id="gtalign-oneshot"),
    pytest.param({"game": "gtalign_example", "rounds": 4, "memory": 2}, id="gtalign-repeated"),
]


def run_checker(fn, *args, **kwargs) -> None:
    """Run a PettingZoo checker; fail on any warning other than the expected ones."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args, **kwargs)
    unexpected = [
        str(w.message) for w in caught if not any(s in str(w.message) for s in EXPECTED_WARNINGS)
    ]
    assert not unexpected, unexpected


# --------------------------------------------------------------------------- conformance


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_parallel_api(kwargs: dict) -> None:
    run_checker(parallel_api_test, mg.parallel_env(**kwargs), num_cycles=20)


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_aec_api(kwargs: dict) -> None:
    run_checker(api_test, mg.env(**kwargs), num_cycles=20)


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_seed_tests(kwargs: dict) -> None:
    run_checker(parallel_seed_test, functools.partial(mg.parallel_env, **kwargs), num_cycles=20)
    run_checker(seed_test, functools.partial(mg.env, **kwargs), num_cycles=20)


def test_render_test_and_ansi_history(capsys: pytest.CaptureFixture[str]) -> None:
    run_checker(render_test, functools.partial(mg.env, rounds=3))
    e = prisoners_dilemma(rounds=3, render_mode="ansi")
    e.reset()
    e.step({"user": 0, "assistant": 1})
    e.step({"user": 1, "assistant": 1})
    text = e.render()
    assert isinstance(text, str)
    assert "round 1: user=C assistant=D payoffs=(0, 5)" in text
    assert "round 2: user=D assistant=D payoffs=(1, 1)" in text
    assert "total: user=1 assistant=6" in text
    h = prisoners_dilemma(rounds=2, render_mode="human")
    h.reset()
    capsys.readouterr()
    assert h.render() is None
    assert "round 0/2" in capsys.readouterr().out
    with pytest.warns(UserWarning, match="render_mode"):
        assert MatrixGameEnv().render() is None


def test_factories_and_metadata() -> None:
    assert MatrixGameEnv.metadata["name"] == "matrix_game_v0"
    assert set(MatrixGameEnv.metadata["render_modes"]) == {"human", "ansi"}
    assert isinstance(mg.parallel_env(), MatrixGameEnv)
    aec = mg.env(rounds=2)
    assert isinstance(aec.unwrapped, MatrixGameEnv)
    assert isinstance(mg.raw_env(), parallel_to_aec_wrapper)
    pd = prisoners_dilemma(rounds=10)
    assert pd.rounds == 10 and pd.game == get_preset("prisoners_dilemma")
    g = gtalign_game(rounds=3, memory=2)
    assert g.game == get_preset("gtalign_example") and g.memory == 2
    custom = MatrixGameEnv(PayoffMatrix([[1, 2]], [[3, 4]]))
    assert custom.game_name == "custom" and custom.action_space("user").n == 1


def test_spaces() -> None:
    e = gtalign_game(rounds=3, memory=2)
    assert e.action_space("user").n == 2 and e.action_space("assistant").n == 3
    for agent in e.possible_agents:
        assert e.action_space(agent) is e.action_space(agent)
        assert e.observation_space(agent) is e.observation_space(agent)
        space = e.observation_space(agent)
        assert space.shape == (2 * (2 + 3) + 1,) and space.dtype == np.float32
    assert MatrixGameEnv(rounds=1, memory=0).observation_space("user").shape == (1,)
    with pytest.raises(ValueError, match="unknown agent"):
        e.action_space("player_0")


# --------------------------------------------------------------------------- dynamics


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_rewards_equal_matrix_payoffs(name: str) -> None:
    game = get_preset(name)
    n, m = game.shape
    e = MatrixGameEnv(name, rounds=n * m)
    e.reset()
    for i, j in itertools.product(range(n), range(m)):
        _, rewards, _, _, infos = e.step({"user": i, "assistant": j})
        u, l = game.payoff(i, j)
        assert rewards == {"user": u, "assistant": l}
        info = infos["user"]
        assert info == infos["assistant"]
        assert info["cell"] == game.cell_name(i, j)
        assert info["joint_action"] == (i, j)
        assert (info["user_payoff"], info["assistant_payoff"]) == (u, l)
    assert info["cumulative_user_payoff"] == pytest.approx(game.user.sum())
    assert info["cumulative_assistant_payoff"] == pytest.approx(game.llm.sum())


def test_one_shot_terminates() -> None:
    e = prisoners_dilemma()
    obs, infos = e.reset(seed=0)
    assert e.agents == ["user", "assistant"]
    assert infos == {"user": {"round": 0}, "assistant": {"round": 0}}
    obs, rewards, term, trunc, infos = e.step({"user": 1, "assistant": 0})
    assert rewards == {"user": T_, "assistant": S_}
    assert term == {"user": True, "assistant": True}
    assert trunc == {"user": False, "assistant": False}
    assert e.agents == []
    assert infos["user"]["cumulative_user_payoff"] == T_
    assert set(obs) == {"user", "assistant"}
    with pytest.raises(RuntimeError, match="reset"):
        e.step({"user": 0, "assistant": 0})


def test_repeated_truncates_at_horizon() -> None:
    e = prisoners_dilemma(rounds=3)
    e.reset()
    for t in range(1, 4):
        obs, _, term, trunc, infos = e.step({"user": 0, "assistant": 0})
        assert not any(term.values())
        assert all(trunc.values()) == (t == 3) and any(trunc.values()) == (t == 3)
        assert infos["user"]["round"] == t
        assert ("cumulative_user_payoff" in infos["user"]) == (t == 3)
        assert obs["user"][-1] == pytest.approx(t / 3)
    assert e.agents == []
    assert infos["assistant"]["cumulative_assistant_payoff"] == 3 * R_


def test_observation_encodes_recent_joint_actions() -> None:
    e = prisoners_dilemma(rounds=3, memory=2)
    obs, _ = e.reset()
    assert not obs["user"].any() and not obs["assistant"].any()
    obs, *_ = e.step({"user": 0, "assistant": 1})  # C_D
    np.testing.assert_array_equal(obs["user"], [1, 0, 0, 1, 0, 0, 0, 0, np.float32(1 / 3)])
    np.testing.assert_array_equal(obs["assistant"], [0, 1, 1, 0, 0, 0, 0, 0, np.float32(1 / 3)])
    obs, *_ = e.step({"user": 1, "assistant": 1})  # D_D, then C_D one slot back
    np.testing.assert_array_equal(obs["user"], [0, 1, 0, 1, 1, 0, 0, 1, np.float32(2 / 3)])
    assert obs["user"].dtype == np.float32
    assert e.decode_observation("user", obs["user"]) == ([(1, 1), (0, 1)], pytest.approx(2 / 3))
    assert e.decode_observation("assistant", obs["assistant"])[0] == [(1, 1), (1, 0)]
    obs, *_ = e.step({"user": 0, "assistant": 0})  # memory 2: the first round drops out
    assert e.decode_observation("user", obs["user"])[0] == [(0, 0), (1, 1)]


def test_observation_layout_in_the_2x3_game() -> None:
    e = gtalign_game(rounds=2)
    e.reset()
    obs, *_ = e.step({"user": 0, "assistant": 2})  # DQ_AQ
    # user: own DQ over 2, then opponent AQ over 3; assistant: own AQ over 3, then DQ over 2
    np.testing.assert_array_equal(obs["user"], [1, 0, 0, 0, 1, 0.5])
    np.testing.assert_array_equal(obs["assistant"], [0, 0, 1, 1, 0, 0.5])
    for agent in e.possible_agents:
        assert e.observation_space(agent).contains(obs[agent])


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(sorted(PRESETS)),
    data=st.data(),
)
def test_cumulative_payoffs_are_sums(name: str, data: st.DataObject) -> None:
    game = get_preset(name)
    n, m = game.shape
    rounds = data.draw(st.integers(1, 8))
    plays = data.draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, m - 1)),
            min_size=rounds,
            max_size=rounds,
        )
    )
    e = MatrixGameEnv(name, rounds=rounds, memory=1)
    e.reset()
    for i, j in plays:
        *_, infos = e.step({"user": i, "assistant": j})
    assert infos["user"]["cumulative_user_payoff"] == pytest.approx(
        sum(game.user[i, j] for i, j in plays)
    )
    assert infos["user"]["cumulative_assistant_payoff"] == pytest.approx(
        sum(game.llm[i, j] for i, j in plays)
    )
    assert e.decode_observation("user", e._observe("user"))[0] == [plays[-1]]


# --------------------------------------------------------------------------- seeding


def _sampled(e: MatrixGameEnv, seed: int) -> list[tuple[int, int]]:
    e.reset(seed=seed)
    out = []
    while e.agents:
        actions = {a: int(e.action_space(a).sample()) for a in e.agents}
        e.step(actions)
        out.append((actions["user"], actions["assistant"]))
    return out


def test_reset_seed_seeds_spaces_without_global_state() -> None:
    # The legacy global state is read only to check that the environment never touches it.
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    a = _sampled(gtalign_game(rounds=40), seed=7)
    b = _sampled(gtalign_game(rounds=40), seed=7)
    c = _sampled(gtalign_game(rounds=40), seed=8)
    assert a == b and a != c
    assert random.getstate() == py_state
    after = np.random.get_state()  # noqa: NPY002
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1])
    assert np_state[2:] == after[2:]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rounds": 0}, "rounds"),
        ({"rounds": -2}, "rounds"),
        ({"rounds": 2.5}, "rounds"),
        ({"rounds": True}, "rounds"),
        ({"memory": -1}, "memory"),
        ({"rounds": 3, "memory": 0}, "memory"),
        ({"rounds": 3, "memory": 4}, "memory"),
        ({"memory": 1.0}, "memory"),
        ({"render_mode": "rgb_array"}, "render_mode"),
        ({"game": 42}, "game"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        MatrixGameEnv(**kwargs)


def test_unknown_preset_lists_choices() -> None:
    with pytest.raises(ValueError, match="no_such_game") as exc:
        MatrixGameEnv("no_such_game")
    for name in PRESETS:
        assert name in str(exc.value)


def test_bad_actions() -> None:
    e = gtalign_game(rounds=2)
    with pytest.raises(RuntimeError, match="reset"):
        e.step({"user": 0, "assistant": 0})
    e.reset()
    with pytest.raises(ValueError, match="assistant"):
        e.step({"user": 0})
    with pytest.raises(ValueError, match="not in"):
        e.step({"user": 2, "assistant": 0})
    with pytest.raises(ValueError, match="unknown agents"):
        e.step({"user": 0, "assistant": 0, "player_2": 0})
    _, rewards, *_ = e.step({"user": np.int64(1), "assistant": np.int32(2)})
    assert rewards == {"user": 4.0, "assistant": 0.5}


# --------------------------------------------------------------------------- policies


def test_tit_for_tat_vs_always_defect() -> None:
    out = play_repeated(prisoners_dilemma(rounds=10), TitForTat(), AlwaysDefect(), seed=0)
    assert out["rounds"] == 10
    assert out["user_actions"] == [0] + [1] * 9
    assert out["assistant_actions"] == [1] * 10
    assert out["cells"][:2] == ["C_D", "D_D"]
    assert out["user_total"] == S_ + 9 * P_
    assert out["assistant_total"] == T_ + 9 * P_


def test_tit_for_tat_vs_itself_cooperates() -> None:
    out = play_repeated(prisoners_dilemma(rounds=10), TitForTat(), TitForTat())
    assert out["cells"] == ["C_C"] * 10
    assert out["user_total"] == out["assistant_total"] == 10 * R_


def test_grim_trigger_never_forgives() -> None:
    class DefectOnce(Policy):
        def act(self, history):
            return 1 if len(history) == 2 else 0

    out = play_repeated(prisoners_dilemma(rounds=6), GrimTrigger(), DefectOnce())
    assert out["user_actions"] == [0, 0, 0, 1, 1, 1]
    out = play_repeated(prisoners_dilemma(rounds=5), GrimTrigger(), AlwaysCooperate())
    assert out["user_actions"] == [0] * 5


def test_tit_for_tat_with_mapping_in_the_2x3_game() -> None:
    # User: answer DA with VQ, CQ/AQ with DQ. Assistant: answer DQ with AQ, VQ with DA.
    user = TitForTat(cooperate=0, response={0: 1, 1: 0, 2: 0})
    assistant = TitForTat(cooperate=2, response={0: 2, 1: 0})
    out = play_repeated(gtalign_game(rounds=5), user, assistant)
    assert out["cells"] == ["DQ_AQ"] * 5
    assert out["user_total"] == out["assistant_total"] == 15.0
    out = play_repeated(gtalign_game(rounds=3), user, AlwaysDefect(action=0))
    assert out["cells"] == ["DQ_DA", "VQ_DA", "VQ_DA"]
    with pytest.raises(ValueError, match="response"):
        play_repeated(gtalign_game(rounds=2), TitForTat(), AlwaysDefect(action=2))


def test_random_policy_is_reproducible() -> None:
    runs = [
        play_repeated(
            gtalign_game(rounds=30), RandomPolicy(np.random.default_rng(1)), RandomPolicy(2)
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert set(runs[0]["assistant_actions"]) == {0, 1, 2}
    with pytest.raises(RuntimeError, match="reset"):
        RandomPolicy(0).act(())


def test_constant_policy_checks_its_action() -> None:
    with pytest.raises(ValueError, match="out of range"):
        play_repeated(prisoners_dilemma(rounds=2), AlwaysDefect(action=2), AlwaysCooperate())
    with pytest.raises(ValueError, match="action"):
        AlwaysCooperate(action=-1)
