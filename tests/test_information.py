"""What the assistant may know: the public view holds no privileged data.

* the Gymnasium view and ``env.infos["assistant"]`` never hold the hidden profile, the
  intent, the population or the users' model before the episode ends, and the
  observation is exactly :data:`ASSISTANT_FEATURES`, computable from the public info;
* ``run_episode`` hands ``info["privileged"]`` to privileged assistants only;
* the assistants of the default suite are all different policies.
"""

from __future__ import annotations

import dataclasses
import itertools
from importlib import resources

import gymnasium
import numpy as np
import pytest
import yaml

import gtalign_sim.envs  # noqa: F401 - registers the Gymnasium env
from gtalign_sim.agents import build_assistant
from gtalign_sim.core import DIFFICULTIES, FAMILIES, MODES, PRICING_PLANS, encode_action
from gtalign_sim.envs import ASSISTANT_FEATURES, ENV_ID, ClarificationGameEnv
from gtalign_sim.envs import clarification_game_v0 as aec
from gtalign_sim.envs.rollout import assistant_info, episode_seeds, run_episode
from gtalign_sim.tasks import Task, TaskBank
from gtalign_sim.users import BaseUser, Turn, UserPopulation, UserProfile

FORBIDDEN_KEYS = {"profile", "intent", "population", "user_model", "privileged", "oracle"}


@pytest.fixture(scope="module")
def bank():
    return TaskBank.build(per_family=20, seed=0)


def leaks(obj, intent, default, public, path="info"):
    """Privileged data in ``obj``: forbidden keys, the profile / population / user model,
    or the intent id: a value equal to it, or (while the intent is not public) a string
    containing it. Once public, the intent may appear in text (ids such as ``"today"``
    are words). The task is public (every reading with its prior) and is not searched;
    a turn's ``assumed_intent`` may be the default reading, or the intent once public."""
    if isinstance(obj, (UserProfile, UserPopulation, BaseUser)):
        yield f"{path} is a {type(obj).__name__}"
    elif isinstance(obj, Task):
        return
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if str(k).lower() in FORBIDDEN_KEYS:
                yield f"{path} has the key {k!r}"
            yield from leaks(v, intent, default, public, f"{path}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from leaks(v, intent, default, public, f"{path}[{i}]")
    elif isinstance(obj, Turn):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if f.name == "assumed_intent" and v is not None:
                if v != default and not (public and v == intent):
                    yield f"{path}.assumed_intent = {v!r} (intent not public)"
            else:
                yield from leaks(v, intent, default, public, f"{path}.{f.name}")
    elif isinstance(obj, str):
        if obj == intent or (not public and intent in obj):
            yield f"{path} contains the intent id {intent!r}"
    elif dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__"):
        yield f"{path} is an unexpected object {type(obj).__name__}"


def public_features(info, max_turns):
    """The assistant's features recomputed from the public info only."""
    task, hist = info["task"], info["history"]
    users = [t for t in hist if t.role == "user"]
    last_mode = next((t.mode for t in reversed(hist) if t.role == "assistant"), None)
    feats = {
        "turn": info["turn"] / max_turns,
        "detailed_question": float(info["question_type"] == "DQ"),
        "ambiguity": 1.0 - max(it.prior for it in task.interpretations),
        **{f"difficulty_{d}": float(task.difficulty == d) for d in DIFFICULTIES},
        **{f"family_{f}": float(task.family == f) for f in FAMILIES},
        **{f"pricing_{p}": float(info["pricing"] == p) for p in PRICING_PLANS},
        "intent_stated": float(len(users) > 1),
        "context_tokens_k": sum(t.tokens for t in hist) / 1000.0,
        "last_user_tokens_100": users[-1].tokens / 100.0 if users else 0.0,
        "user_replies": max(len(users) - 1, 0) / max_turns,
        **{f"last_mode_{m}": float(last_mode == m) for m in MODES},
    }
    assert sorted(feats) == sorted(ASSISTANT_FEATURES)
    return np.array([feats[k] for k in ASSISTANT_FEATURES], dtype=np.float32)


PUBLIC_KEYS = {"action_mask", "task", "message", "history", "question_type", "pricing", "turn"}


def _check_step(obs, info, game, bank):
    """One step's public view: no leak, and the observation is the public features."""
    intent, task = game.profile.intent, game.task
    default = task.most_likely().id
    # the intent is public once a detailed question or a reply has stated it (or if the
    # task has one reading)
    replied = any(t.role == "user" for t in info["history"][1:])
    public = info["question_type"] == "DQ" or replied or not task.ambiguous
    view = {k: v for k, v in info.items() if k != "episode"}
    assert not list(leaks(view, intent, default, public))
    assert set(view) <= PUBLIC_KEYS
    assert info["task"] is bank.get(task.id)  # the bank's task, not a tailored copy
    assert obs.shape == (len(ASSISTANT_FEATURES),)
    want = public_features(info, game.world.max_turns)
    i = ASSISTANT_FEATURES.index("intent_stated")
    # public either way: "the user replied" (the code) or "the intent is stated" (the docs)
    assert obs[i] in (float(replied), float(public))
    want[i] = obs[i]
    np.testing.assert_array_equal(obs, want)


def test_gymnasium_view_holds_no_privileged_data(bank):
    env = gymnasium.make(ENV_ID, tasks=bank)
    game = env.unwrapped.game
    assert env.observation_space.shape == (len(ASSISTANT_FEATURES),)
    rng = np.random.default_rng(0)
    steps = ended = 0
    for seed in range(40):
        obs, info = env.reset(seed=seed)
        done = trunc = False
        while not (done or trunc):
            _check_step(obs, info, game, bank)
            assert info == {"action_mask": info["action_mask"], **game.infos["assistant"]}
            obs, _, done, trunc, info = env.step(int(rng.integers(9)))
            steps += 1
        assert "episode" in info  # the record (with the profile) only at the end
        _check_step(obs, info, game, bank)
        ended += 1
    assert ended == 40 and steps > 45  # some episodes run past the first turn


def test_aec_infos_hold_no_privileged_data(bank):
    """``env.infos["assistant"]`` and ``env.last()`` through the PettingZoo loop, on
    ambiguous tasks with non-default intents (the hardest case for a leak)."""
    env = ClarificationGameEnv(tasks=bank)
    tasks = [t for t in bank if t.ambiguous][:12]
    rng = np.random.default_rng(1)
    for i, task in enumerate(tasks):
        intent = next(it.id for it in task.interpretations if it.id != task.most_likely().id)
        profile = UserProfile(intent=intent, patience=3, pricing=PRICING_PLANS[i % 2])
        for strategy in ("DQ", "VQ"):
            env.reset(seed=i, options={"task": task, "profile": profile, "strategy": strategy})
            while not env.episode:
                obs, _, term, trunc, info = env.last()
                assert env.agent_selection == "assistant" and not (term or trunc)
                assert info is env.infos["assistant"]
                _check_step(obs["observation"], info, env, bank)
                env.step(int(rng.integers(9)))


def test_observation_does_not_depend_on_the_hidden_user(bank):
    """Same seed, task, plan and question type; different hidden intent and costs: the
    assistant's first view is identical (and stays so while the transcripts agree)."""
    task = next(t for t in bank if t.ambiguous and t.family == "ambiguous_qa")
    views = []
    for it, patience, cost in itertools.product(task.interpretations, (1, 3), (0.02, 0.2)):
        profile = UserProfile(intent=it.id, patience=patience, effort_answer=cost, time_cost=cost)
        env = ClarificationGameEnv(tasks=bank)
        env.reset(seed=5, options={"task": task, "profile": profile, "strategy": "VQ"})
        obs, _, _, _, info = env.last()
        views.append((obs["observation"].tolist(), info["message"], info["turn"]))
    assert all(v == views[0] for v in views)


def test_intent_stated_feature_is_set_by_a_detailed_question(bank):
    env = ClarificationGameEnv(tasks=bank)
    task = next(t for t in bank if t.ambiguous)
    profile = UserProfile(intent=task.interpretations[0].id)
    env.reset(seed=0, options={"task": task, "profile": profile, "strategy": "DQ"})
    assert env.user_sim.state.intent_stated
    obs = env.observe("assistant")["observation"]
    assert obs[ASSISTANT_FEATURES.index("intent_stated")] == 1.0


# ----------------------------------------------------------------- privileged hand-off
def _spy(agent, env, calls):
    act = agent.act

    def spy(obs, info):
        raw = getattr(env, "unwrapped", env)
        calls.append(
            {
                "privileged": "privileged" in info,
                "profile_is_env_profile": (info.get("privileged") or {}).get("profile")
                is raw.profile,
                "intent": (info.get("privileged") or {}).get("intent") == raw.profile.intent,
                "public_is_env_info": all(
                    info[k] is raw.infos["assistant"][k] for k in raw.infos["assistant"]
                ),
            }
        )
        return act(obs, info)

    agent.act = spy


@pytest.mark.parametrize("wrapped", [False, True])
def test_run_episode_hands_privileged_view_only_to_privileged_assistants(bank, wrapped):
    env = aec.env(tasks=bank) if wrapped else ClarificationGameEnv(tasks=bank)
    raw = env.unwrapped
    seeds = episode_seeds(11, 8)
    for name in ("gtalign", "always_cq", "oracle"):
        agent = build_assistant(name, world=raw.world, population=raw.population, n_particles=8)
        calls: list[dict[str, bool]] = []
        _spy(agent, env, calls)
        for s in seeds:
            run_episode(env, agent, s)
        assert len(calls) >= len(seeds)
        assert all(c["public_is_env_info"] for c in calls)
        if name == "oracle":
            assert all(c["privileged"] and c["profile_is_env_profile"] for c in calls)
            assert all(c["intent"] for c in calls)
        else:
            assert not any(c["privileged"] for c in calls)
            raw.reset(seed=0)
            info = raw.infos["assistant"]
            assert assistant_info(env, agent, info) is info


# ------------------------------------------------------------------ distinct assistants
def _suite():
    text = resources.files("gtalign_sim").joinpath("conf/assistants/suite.yaml").read_text()
    return yaml.safe_load(text)


def test_default_suite_assistants_are_all_different(bank):
    """Over up to 100 episodes (stopping once every pair has differed), every pair of
    the default suite's assistants (plus gtalign_cd) chooses different actions in at
    least one episode."""
    cfg = _suite()
    names = list(dict.fromkeys([*cfg["names"], "gtalign_cd"]))
    assert {"oracle", "gtalign", "always_da", "random"} <= set(names)
    env = ClarificationGameEnv(tasks=bank)
    agents = {}
    for name in names:
        kw = {"seed": 0}
        if name in ("oracle", "selfish_llm", "user_only", "linear_welfare", "clairvoyant"):
            kw["n_particles"] = cfg["oracle_particles"]
        elif name != "random":
            kw["n_particles"] = cfg["n_particles"]
        if name == "gtalign":
            kw["rule"] = cfg["gtalign_rule"]
        agents[name] = build_assistant(name, world=env.world, population=env.population, **kw)
        agents[name].reset()
    same = set(itertools.combinations(names, 2))
    for s in episode_seeds(3, 100):
        acts = {
            n: run_episode(env, a, s, record_decisions=False)["actions"] for n, a in agents.items()
        }
        same = {(a, b) for a, b in same if acts[a] == acts[b]}
        if not same:
            break
    assert not same, f"identical on every episode: {sorted(same)}"


def test_fixed_baselines_act_as_named(bank):
    env = ClarificationGameEnv(tasks=bank)
    for name, mode in (("always_da", "DA"), ("always_cq", "CQ"), ("always_aq", "AQ")):
        agent = build_assistant(name)
        for s in episode_seeds(4, 5):
            rec = run_episode(env, agent, s)
            assert rec["modes"][0] == mode
            assert all(a == encode_action("DA", 1) for a in rec["actions"][1:])
