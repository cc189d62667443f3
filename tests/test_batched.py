"""The batched engine (``gtalign_sim/envs/batched.py``) against the AEC env.

Pins: the Gymnasium view's spaces and mask; on the AEC env's own episode seeds (replay
mode) a fixed policy gives identical per-episode U, L, reward, turns, stop reason and
observations; the fast path's per-policy means of U and L match the AEC env's within 3
standard errors; each user's DQ/VQ probability equals ``ParametricUser.p_vague``;
auto-reset in both modes; the reward variants; determinism from the seed; bad input.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest

from gtalign_sim.agents import build_assistant
from gtalign_sim.agents.base import Decision, past_actions
from gtalign_sim.core.vocab import PRICING_PLANS, StopCode, encode_action
from gtalign_sim.envs import ClarificationAssistantEnv, ClarificationGameEnv
from gtalign_sim.envs.batched import BatchedClarificationEngine
from gtalign_sim.envs.batched_supply import PROFILE_COLUMNS, draw_starts, vague_probabilities
from gtalign_sim.envs.batched_vector import ClarificationVectorEnv
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import ParametricUser, ScriptedUser, UserProfile, WorldConfig
from gtalign_sim.welfare import aggregate

DA_STD = encode_action("DA", 1)
SEQUENCE = (encode_action("AQ", 0), encode_action("CQ", 2), encode_action("DA", 2))
"""A fixed per-turn sequence: AQ concise, then CQ elaborate (redundant once the intent
is stated), then DA elaborate."""
POLICIES: dict[str, tuple[int, ...]] = {
    "always_da": (DA_STD, DA_STD, DA_STD),
    "always_cq": (encode_action("CQ", 1), DA_STD, DA_STD),
    "always_aq": (encode_action("AQ", 1), DA_STD, DA_STD),
    "sequence": SEQUENCE,
}
"""Action per assistant turn (the baselines answer directly, standard, once past turn 0)."""
N_AEC = 1000  # AEC episodes per policy (the same seeds for every policy)
N_IDENTICAL = 300  # of which replayed in the engine
N_FAST = 5000  # fast-path episodes per policy


class SequenceAssistant:
    """Plays ``actions[k]`` at its ``k``-th turn; records the observations it sees."""

    name = "sequence"

    def __init__(self, actions: tuple[int, ...]) -> None:
        self.actions = actions
        self.seen: list[np.ndarray] = []

    def reset(self, seed: int | None = None) -> None:
        """Nothing to reset."""

    def act(self, observation: Any, info: Any) -> Decision:
        self.seen.append(observation["observation"])
        return Decision(self.actions[len(past_actions(info))])


@pytest.fixture(scope="module")
def bank() -> TaskBank:
    return TaskBank.build(per_family=8, seed=3)


@pytest.fixture(scope="module")
def seeds() -> list[int]:
    return episode_seeds(11, N_AEC)


@pytest.fixture(scope="module")
def aec(bank: TaskBank, seeds: list[int]) -> dict[str, dict[str, Any]]:
    """Per policy: the AEC env's records (and the observations of the sequence policy)."""
    out: dict[str, dict[str, Any]] = {}
    for name, actions in POLICIES.items():
        env = ClarificationGameEnv(tasks=bank)
        if name == "sequence":
            assistant: Any = SequenceAssistant(actions)
            records, obs = [], []
            for seed in seeds[:N_IDENTICAL]:
                assistant.seen = []
                records.append(run_episode(env, assistant, seed))
                obs.append(assistant.seen)
            out[name] = {"records": records, "obs": obs}
        else:
            assistant = build_assistant(name)
            out[name] = {"records": [run_episode(env, assistant, s) for s in seeds]}
    return out


def play(engine: BatchedClarificationEngine, actions: tuple[int, ...], **reset: Any) -> dict:
    """Each slot's first episode under the per-turn ``actions``: outcomes and the
    observations before each turn (engine in ``same_step`` mode)."""
    obs, _, _ = engine.reset(**reset)
    n = engine.n
    seen: list[list[np.ndarray]] = [[row] for row in obs]
    out: dict[str, np.ndarray] = {}
    first = np.zeros(n, dtype=bool)
    while not first.all():
        obs, reward, term, trunc, info = engine.step(np.asarray(actions)[engine.turns])
        new = (term | trunc) & ~first
        if new.any():
            for key, value in (
                *info["final_info"].items(),
                ("reward", reward),
                ("truncated", trunc),
            ):
                out.setdefault(key, np.zeros(n, dtype=np.asarray(value).dtype))[new] = value[new]
        for i in np.flatnonzero(~first & ~new):
            seen[i].append(obs[i])
        first |= new
    out["obs"] = seen  # type: ignore[assignment]
    return out


STOPS = {int(code): code.name.lower() for code in StopCode if code != StopCode.CONTINUE}


@pytest.mark.parametrize("policy", list(POLICIES))
def test_identical_to_the_aec_env_on_its_seeds(bank, seeds, aec, policy) -> None:
    engine = BatchedClarificationEngine(N_IDENTICAL, tasks=bank)
    got = play(engine, POLICIES[policy], episode_seeds=seeds[:N_IDENTICAL])
    recs = aec[policy]["records"][:N_IDENTICAL]
    assert got["user_welfare"].tolist() == [r["user_welfare"] for r in recs]
    assert got["llm_welfare"].tolist() == [r["llm_welfare"] for r in recs]
    assert got["reward"].tolist() == [r["aggregate"] for r in recs]
    assert got["turns"].tolist() == [r["turns"] for r in recs]
    assert [STOPS[int(c)] for c in got["stop_code"]] == [r["stop_reason"] for r in recs]
    assert got["strategy"].tolist() == [["DQ", "VQ"].index(r["strategy"]) for r in recs]
    assert got["truncated"].tolist() == [r["stop_reason"] == "max_turns" for r in recs]
    if policy == "sequence":  # every observation the assistant saw, bit for bit
        for mine, theirs in zip(got["obs"], aec[policy]["obs"], strict=True):
            assert len(mine) == len(theirs)
            assert all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))


def test_the_identical_episodes_end_every_way(aec) -> None:
    reasons = {r["stop_reason"] for p in POLICIES for r in aec[p]["records"][:N_IDENTICAL]}
    assert reasons == {"satisfied", "gave_up", "patience_exhausted"}


def test_identical_at_the_horizon(bank, seeds) -> None:
    """With a horizon shorter than patience, episodes are truncated (``max_turns``)."""
    world = {"max_turns": 2}
    env = ClarificationGameEnv(tasks=bank, world=world)
    recs = [run_episode(env, SequenceAssistant(SEQUENCE), s) for s in seeds[:60]]
    engine = BatchedClarificationEngine(60, tasks=bank, world=world)
    got = play(engine, SEQUENCE, episode_seeds=seeds[:60])
    assert got["user_welfare"].tolist() == [r["user_welfare"] for r in recs]
    assert got["llm_welfare"].tolist() == [r["llm_welfare"] for r in recs]
    truncated = [r["stop_reason"] == "max_turns" for r in recs]
    assert got["truncated"].tolist() == truncated and any(truncated)


@pytest.mark.parametrize("policy", ["always_da", "always_cq", "always_aq", "sequence"])
def test_fast_path_means_match_the_aec_env(bank, aec, policy) -> None:
    engine = BatchedClarificationEngine(N_FAST, tasks=bank)
    got = play(engine, POLICIES[policy], seed=20)
    recs = aec[policy]["records"]
    for key in ("user_welfare", "llm_welfare"):
        ref = np.array([r[key] for r in recs])
        mine = got[key]
        se = np.sqrt(ref.var(ddof=1) / len(ref) + mine.var(ddof=1) / len(mine))
        assert abs(mine.mean() - ref.mean()) < 3 * se, (policy, key, mine.mean(), ref.mean(), se)
    share = np.mean([r["strategy"] == "VQ" for r in recs])
    se = np.sqrt(share * (1 - share) / len(recs) + share * (1 - share) / N_FAST)
    assert abs(got["strategy"].mean() - share) < 3 * se


def test_fast_draws_match_the_aec_draws(bank, aec) -> None:
    """Every profile column, the plan, persona, task and intent: means within 3 SE."""
    engine = BatchedClarificationEngine(8, tasks=bank)
    args = (engine.tables, engine.population, engine.user, engine.world)
    st = draw_starts(np.random.default_rng(2), N_FAST, *args)
    recs = aec["always_da"]["records"]
    names = [p.name for p in engine.population.personas]
    tasks = {t.id: t for t in bank}

    def intent(r: dict) -> int:
        return [it.id for it in tasks[r["task_id"]].interpretations].index(r["profile"]["intent"])

    pairs = {
        **{
            k: (st.cols[k], [r["profile"][k] for r in recs])
            for k in PROFILE_COLUMNS
            if k not in ("band_lo", "band_hi")
        },
        "band_lo": (st.cols["band_lo"], [r["profile"]["length_band"][0] for r in recs]),
        "band_hi": (st.cols["band_hi"], [r["profile"]["length_band"][1] for r in recs]),
        "per_token": (st.pricing == 1, [r["profile"]["pricing"] == "per_token_api" for r in recs]),
        "intent": (st.intent, [intent(r) for r in recs]),
        "task": (st.task, [engine.tables.index[r["task_id"]] for r in recs]),
        **{
            f"persona_{k}": (st.persona == i, [r["profile"]["persona"] == k for r in recs])
            for i, k in enumerate(names)
        },
    }
    for key, (mine, ref) in pairs.items():
        mine, ref = np.asarray(mine, float), np.asarray(ref, float)
        se = np.sqrt(mine.var(ddof=1) / len(mine) + ref.var(ddof=1) / len(ref))
        assert abs(mine.mean() - ref.mean()) <= 3 * se + 1e-12, (key, mine.mean(), ref.mean())


def test_choice_probability_is_the_users_own(bank) -> None:
    engine = BatchedClarificationEngine(8, tasks=bank)
    st = draw_starts(
        np.random.default_rng(5), 120, engine.tables, engine.population, engine.user, engine.world
    )
    p = vague_probabilities(engine.tables, st, engine.user, engine.world, engine.population)
    names = [q.name for q in engine.population.personas]
    expected = []
    for i in range(len(st)):
        task = engine.tables.tasks[st.task[i]]
        c = {k: float(v[i]) for k, v in st.cols.items()}
        prof = UserProfile(
            persona=names[st.persona[i]],
            intent=task.interpretations[st.intent[i]].id,
            patience=int(c["patience"]),
            length_band=(c.pop("band_lo"), c.pop("band_hi")),
            pricing=PRICING_PLANS[st.pricing[i]],
            **{k: v for k, v in c.items() if k != "patience"},
        )
        expected.append(engine.user.p_vague(task, prof))
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-12)
    assert 0.05 < np.mean(p) < 0.95


def test_spaces_and_mask_are_the_gymnasium_views(bank) -> None:
    view = ClarificationAssistantEnv(tasks=bank)
    vec = ClarificationVectorEnv(num_envs=6, tasks=bank)
    assert vec.single_observation_space == view.observation_space
    assert vec.single_action_space == view.action_space
    assert vec.observation_space == gymnasium.vector.utils.batch_space(view.observation_space, 6)
    assert vec.action_space == gymnasium.spaces.MultiDiscrete([9] * 6)
    obs, info = vec.reset(seed=0)
    _, view_info = view.reset(seed=0)
    assert obs.shape == (6, view.observation_space.shape[0]) and obs.dtype == np.float32
    assert all(vec.single_observation_space.contains(row) for row in obs)
    mask = info["action_mask"]
    assert mask.dtype == view_info["action_mask"].dtype == np.int8
    assert (mask == view_info["action_mask"][None]).all() and mask.shape == (6, 9)
    _, _, _, _, info = vec.step(np.arange(6))
    assert (info["action_mask"] == 1).all()


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_autoreset_continues_with_the_next_seeds(bank, seeds, aec, mode) -> None:
    n, k = 4, 24  # 4 slots play 24 replayed episodes, in the order slots free up
    engine = BatchedClarificationEngine(n, tasks=bank, autoreset_mode=mode)
    obs, _, _ = engine.reset(episode_seeds=seeds[:k])
    order = list(range(n))  # the seed index each slot is playing
    next_seed, welfare = n, {}
    while len(welfare) < k - n:
        pending = engine._pending.copy()
        obs, reward, term, trunc, info = engine.step(np.full(n, DA_STD))
        done = term | trunc
        assert (reward[~done] == 0).all()
        if mode == "next_step":  # a restarted slot ignores its action and is not done
            assert not done[pending].any() and (obs[pending, 0] == 0).all()
            for i in np.flatnonzero(pending):
                order[i], next_seed = next_seed, next_seed + 1
        for i in np.flatnonzero(done):
            welfare[order[i]] = info["final_info"]["user_welfare"][i]
            if mode == "same_step":
                assert info["final_obs"][i, 0] > 0 and obs[i, 0] == 0  # terminal / fresh
                order[i], next_seed = next_seed, next_seed + 1
            else:
                assert obs[i, 0] > 0  # the terminal observation
    recs = aec["always_da"]["records"]
    assert welfare == {j: recs[j]["user_welfare"] for j in welfare}


@pytest.mark.parametrize(
    ("reward", "aggregator"),
    [
        ("aggregate", "cobb_douglas"),
        ("aggregate", "linear"),
        ("llm", "cobb_douglas"),
        ("user", "linear"),
    ],
)
def test_reward_variants(bank, seeds, reward, aggregator) -> None:
    engine = BatchedClarificationEngine(
        40, tasks=bank, assistant_reward=reward, aggregator=aggregator
    )
    got = play(engine, POLICIES["always_aq"], episode_seeds=seeds[:40])
    u, l_val = got["user_welfare"], got["llm_welfare"]
    want = {"aggregate": aggregate(u, l_val, aggregator), "llm": l_val, "user": u}[reward]
    assert got["reward"].tolist() == want.tolist()
    env = ClarificationGameEnv(tasks=bank, assistant_reward=reward, aggregator=aggregator)
    env.reset(seed=seeds[0])
    for agent in env.agent_iter():
        _, r, term, trunc, _ = env.last()
        if (term or trunc) and agent == "assistant":
            assert r == got["reward"][0]
        env.step(None if (term or trunc) else POLICIES["always_aq"][env.turn])


def test_determinism_from_the_seed(bank) -> None:
    def run(seed: int, mode: str) -> list[np.ndarray]:
        engine = BatchedClarificationEngine(64, tasks=bank, autoreset_mode=mode, chunk=100)
        obs, _, _ = engine.reset(seed=seed)
        rng, out = np.random.default_rng(1), [obs]
        for _ in range(8):
            obs, reward, term, trunc, _ = engine.step(rng.integers(0, 9, 64))
            out += [obs, reward, term, trunc]
        return out

    a, b, c = run(7, "same_step"), run(7, "same_step"), run(8, "same_step")
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    d = run(7, "next_step")
    assert np.array_equal(a[0], d[0]) and not np.array_equal(a[-4], d[-4])


def test_record_episode_statistics_wrapper(bank) -> None:
    vec = gymnasium.wrappers.vector.RecordEpisodeStatistics(
        ClarificationVectorEnv(num_envs=16, tasks=bank)
    )
    vec.reset(seed=1)
    returns = []
    for _ in range(6):
        _, reward, term, trunc, info = vec.step(np.full(16, DA_STD))
        if "episode" in info:
            ended = info["_episode"]
            assert (ended == (term | trunc)).all()
            assert np.allclose(info["episode"]["r"][ended], reward[ended])
            returns += list(info["episode"]["l"][ended])
    assert returns and set(returns) <= {1, 2, 3}


def test_bad_input(bank) -> None:
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        BatchedClarificationEngine(0, tasks=bank)
    with pytest.raises(ValueError, match="autoreset_mode 'later' unknown"):
        BatchedClarificationEngine(2, tasks=bank, autoreset_mode="later")
    with pytest.raises(ValueError, match="assistant_reward 'both' unknown"):
        BatchedClarificationEngine(2, tasks=bank, assistant_reward="both")
    with pytest.raises(ValueError, match="unknown aggregator 'max'"):
        BatchedClarificationEngine(2, tasks=bank, aggregator="max")
    with pytest.raises(ValueError, match="learn=False"):
        BatchedClarificationEngine(2, tasks=bank, user={"learn": True})
    with pytest.raises(ValueError, match="another world"):
        BatchedClarificationEngine(2, tasks=bank, user=ParametricUser(WorldConfig(max_turns=2)))
    with pytest.raises(ValueError, match="learn=False"):
        BatchedClarificationEngine(2, tasks=bank, user=ScriptedUser(["What is it?"]))
    engine = BatchedClarificationEngine(3, tasks=bank)
    with pytest.raises(RuntimeError, match="before reset"):
        engine.step([0, 0, 0])
    engine.reset(seed=0)
    with pytest.raises(ValueError, match="actions must be 3 integers"):
        engine.step([0, 0])
    with pytest.raises(ValueError, match=r"actions must be in 0\.\.8"):
        engine.step([0, 9, 0])
    with pytest.raises(ValueError, match="episode_seeds must hold"):
        engine.reset(episode_seeds=[])
    assert isinstance(engine.user, ParametricUser)


def test_gymnasium_make_vec_builds_the_batched_engine() -> None:
    import gymnasium

    import gtalign_sim  # noqa: F401 - registers the id
    from gtalign_sim.envs import ClarificationVectorEnv

    env = gymnasium.make_vec(
        "gtalign_sim/ClarificationAssistant-v0",
        num_envs=4,
        vectorization_mode="vector_entry_point",
        tasks_per_family=5,
    )
    assert isinstance(env, ClarificationVectorEnv)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, env.single_observation_space.shape[0])
