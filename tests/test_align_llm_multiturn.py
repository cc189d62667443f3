"""Multi-turn GRPO (gtalign_sim.train.llm.multiturn): TRL's rollout_func plays each
completion against the simulated user on the tiny random model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import require

from gtalign_sim.agents.llm import LLMAssistant
from gtalign_sim.backends import ChatResult
from gtalign_sim.envs.clarification import ClarificationGameEnv
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.train.llm.grpo import GRPORunConfig
from gtalign_sim.train.llm.multiturn import (
    EpisodeReward,
    EpisodeRollout,
    openings,
    prompt_key,
)
from gtalign_sim.users import ParametricUser

ENV = {"tasks_per_family": 20}
ROWS = openings(8, seed=1, env=ENV)
PICK = [ROWS[4], ROWS[0]]  # the first plays two turns with the tiny model, the second one


def _rollout(rows=PICK, **kw) -> EpisodeRollout:
    return EpisodeRollout({prompt_key(r["prompt"]): r["seed"] for r in rows}, env=ENV, **kw)


class _Replay:
    """Replays recorded replies (text and billed tokens) to an LLM assistant."""

    name = "replay"

    def __init__(self, replies, usage):
        self.queue = list(zip(replies, usage, strict=True))

    def generate(self, requests, *, raise_on_error=True):
        text, (p, c) = self.queue.pop(0)
        return [ChatResult(text, "stop", p, c)]

    def close(self):
        pass


def _replayed(play, env=ENV, fallback="template"):
    """The episode record of ``play``'s replies replayed by the project's own rollout."""
    game = ClarificationGameEnv(**env)
    llm = LLMAssistant(
        backend=_Replay(play.replies, play.usage),
        fallback=fallback,
        world=game.world,
        population=game.population,
        seed=play.seed,
    )
    return run_episode(game, llm, play.seed)


def _trainer(model, tokenizer, temperature=1.0):
    args = SimpleNamespace(top_p=1.0, top_k=0, min_p=None, repetition_penalty=1.0)
    return SimpleNamespace(
        args=args,
        accelerator=SimpleNamespace(unwrap_model=lambda m: m),
        model=model,
        processing_class=tokenizer,
        temperature=temperature,
        chat_template_kwargs={},
    )


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    """The tiny random model with its end-of-turn logit raised: its replies end at varying
    lengths, so a group's episodes differ (billed tokens) and GRPO has advantages."""
    torch = require("torch", "pip install -e '.[llm]'")
    require("trl", "pip install -e '.[train]'")
    from gtalign_sim.train.llm.common import load_model

    model, tok = load_model("tiny")
    ids = tok.apply_chat_template(
        ROWS[0]["prompt"], tokenize=True, add_generation_prompt=True, return_dict=False
    )
    with torch.no_grad():
        h = model.model(input_ids=torch.tensor([ids])).last_hidden_state[0].mean(0)
        model.lm_head.weight[tok.eos_token_id] = 5.0 * h / h.norm()
    path = tmp_path_factory.mktemp("tiny_eos")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def tiny(tiny_path):
    from gtalign_sim.train.llm.common import load_model

    return load_model(tiny_path)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: GRPORunConfig(mode="chat"), "mode"),
        (lambda: GRPORunConfig(mode="multi_turn", use_vllm=True), "use_vllm"),
        (lambda: EpisodeReward("nash"), "reward"),
        (lambda: _rollout(fallback="none"), "fallback"),
        (lambda: _rollout(on_failure="ignore"), "on_failure"),
        (lambda: _rollout(max_new_tokens=0), "max_new_tokens"),
        (lambda: openings(0), "n_episodes"),
        (lambda: openings(2, env={"user_policy": "external"}), "user_policy"),
    ],
)
def test_bad_config_is_a_one_line_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_openings_are_the_llm_assistants_turn_zero_chat_on_distinct_seeds():
    assert openings(8, seed=1, env=ENV) == ROWS
    seeds = episode_seeds(1, 8)
    assert [r["seed"] for r in ROWS] == seeds  # all 8 openings distinct
    env = ClarificationGameEnv(**ENV)
    for r in ROWS:
        env.reset(seed=r["seed"])
        assert r["prompt"] == LLMAssistant().messages(env.infos["assistant"])
    rows2 = openings(8, seed=2, env=ENV)  # two seeds open identically: the later is dropped
    assert [r["seed"] for r in rows2] == [s for k, s in enumerate(episode_seeds(2, 8)) if k != 3]
    assert len({prompt_key(r["prompt"]) for r in rows2}) == 7


def test_registry_maps_a_prompt_to_its_seed_and_rejects_ambiguity(tiny):
    datasets = require("datasets", "pip install -e '.[train]'")
    ds = datasets.Dataset.from_list(ROWS)
    ro = EpisodeRollout.from_dataset(ds, env=ENV)
    assert [ro.seed_of(p) for p in ds["prompt"]] == [r["seed"] for r in ROWS]
    bad = datasets.Dataset.from_list([ROWS[0], {**ROWS[0], "seed": 7}])
    with pytest.raises(ValueError, match="two seeds"):
        EpisodeRollout.from_dataset(bad, env=ENV)
    with pytest.raises(ValueError, match="seed"):
        EpisodeRollout.from_dataset(ds.remove_columns("seed"), env=ENV)
    with pytest.raises(KeyError):
        ro.seed_of([{"role": "user", "content": "hi"}])
    model, tok = tiny  # an env that does not reproduce the opening is refused
    other = EpisodeRollout(ro.episodes, env={"tasks_per_family": 21})
    with pytest.raises(ValueError, match="same env settings"):
        other.play(model, tok, ROWS[0]["prompt"], other.generator(0, 0))


def test_rollout_plays_real_episodes_masks_user_tokens_and_is_seeded(tiny):
    import torch

    model, tok = tiny
    ro = _rollout(max_new_tokens=12, keep_history=True)
    prompts = [PICK[0]["prompt"]] * 3 + [PICK[1]["prompt"]] * 3
    out = ro(prompts, _trainer(model, tok))
    assert all(len(v) == 6 for v in out.values())  # one completion per entry, in order
    assert out["episode_seed"] == [PICK[0]["seed"]] * 3 + [PICK[1]["seed"]] * 3
    fields = {k: out[k] for k in out if k.startswith("episode_")}
    rewards = EpisodeReward()(prompts, [None] * 6, **fields)
    assert len(set(rewards)) > 1
    for k, play in enumerate(ro.history):
        rec = _replayed(play)  # the same replies in a fresh env: the same episode exactly
        assert rec["failure"] is None
        assert rec["user_welfare"] == play.record["user_welfare"]
        assert rec["llm_welfare"] == play.record["llm_welfare"]
        assert rewards[k] == rec["aggregate"] == play.record["aggregate"]
        assert len(play.replies) == rec["turns"]
        # the completion: each reply (model tokens), then the user's message (env tokens)
        users = [t["text"] for t in rec["transcript"] if t["role"] == "user"][1:]
        assert len(users) == rec["turns"] - 1
        spans, pos, mask = [], 0, play.env_mask
        while pos < len(mask):
            end = pos
            while end < len(mask) and mask[end] == mask[pos]:
                end += 1
            spans.append((mask[pos], play.completion_ids[pos:end]))
            pos = end
        assert [m for m, _ in spans] == [1, 0] * len(users) + [1]
        for (_, reply), (_, ids), text in zip(spans[::2], spans[1::2], users, strict=False):
            cut = "" if reply[-1] == tok.eos_token_id else "<|im_end|>"  # a cut reply is closed
            turn = f"\n<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
            assert tok.decode(ids) == cut + turn
        assert [lp for lp, m in zip(play.logprobs, mask, strict=True) if not m] == [0.0] * (
            mask.count(0)
        )
        # the sampling log-probs are the model's on the very token stream TRL trains on
        ids = torch.tensor([play.prompt_ids + play.completion_ids])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, len(play.prompt_ids) - 1 : -1]
        ref = torch.log_softmax(logits, -1).gather(1, ids[0, len(play.prompt_ids) :, None])[:, 0]
        for lp, r, m in zip(play.logprobs, ref.tolist(), mask, strict=True):
            if m:
                assert lp == pytest.approx(r, abs=1e-4)
    assert [len(p.replies) for p in ro.history] == [2, 2, 2, 1, 1, 1]
    again = _rollout(max_new_tokens=12)(prompts, _trainer(model, tok))
    assert again == out  # deterministic from the seed
    other = _rollout(max_new_tokens=12, seed=1)(prompts[:1], _trainer(model, tok))
    assert other["completion_ids"][0] != out["completion_ids"][0]


def test_reward_variants_are_the_envs_own_aggregates(tiny):
    model, tok = tiny
    ro = _rollout(max_new_tokens=4, keep_history=True, fallback="direct")
    out = ro([PICK[0]["prompt"]] * 2, _trainer(model, tok))
    fields = {k: out[k] for k in out if k.startswith("episode_")}
    for variant in ("cobb_douglas", "linear", "user_only", "llm_only"):
        rewards = EpisodeReward(variant)([], [], **fields)
        for r, play in zip(rewards, ro.history, strict=True):
            rec = _replayed(play, env={**ENV, "aggregator": variant}, fallback="direct")
            assert r == rec["aggregate"]


class _BrokenReader(ParametricUser):
    """A user simulator that raises when it reads the assistant's first answer."""

    def read(self, history):
        raise RuntimeError("reader bug")


def test_a_failed_episode_gets_no_reward_and_is_recorded(tiny):
    model, tok = tiny
    env = {**ENV, "user": {"_target_": f"{__name__}._BrokenReader"}}
    rows = openings(1, seed=1, env=env)
    ro = EpisodeRollout({prompt_key(rows[0]["prompt"]): rows[0]["seed"]}, env=env, max_new_tokens=4)
    out = ro([rows[0]["prompt"]] * 2, _trainer(model, tok))
    fields = {k: out[k] for k in out if k.startswith("episode_")}
    assert EpisodeReward()([], [], **fields) == [None, None]
    assert [f["stage"] for f in ro.failures] == ["user", "user"]
    assert out["episode_user_welfare"] == [None, None]
    strict = EpisodeRollout(ro.episodes, env=env, max_new_tokens=4, on_failure="raise")
    with pytest.raises(RuntimeError, match="reader bug"):
        strict([rows[0]["prompt"]] * 2, _trainer(model, tok))


def test_grpo_multi_turn_trains_on_real_episodes_and_changes_weights(tiny_path, tmp_path):
    datasets = require("datasets", "pip install -e '.[train]'")
    from transformers import AutoModelForCausalLM

    from gtalign_sim.train.llm.grpo import train_grpo

    ds = datasets.Dataset.from_list(PICK)
    ro = _rollout(max_new_tokens=12, keep_history=True)
    cfg = GRPORunConfig(
        model=tiny_path,
        output_dir=tmp_path,
        max_steps=2,
        learning_rate=1e-2,
        batch_size=4,
        num_generations=2,
        max_completion_length=12,
        mode="multi_turn",
    )
    result = train_grpo(cfg, ds, rollout=ro)
    assert ro.calls == 2 and len(ro.history) == 8
    for call in (ro.history[:4], ro.history[4:]):  # 2 prompts × 2 completions, grouped
        assert call[0].seed == call[1].seed != call[2].seed == call[3].seed
    rewards = [_replayed(play)["aggregate"] for play in ro.history]  # the env's own numbers
    logged = [h["reward"] for h in result.log_history if "reward" in h]
    assert logged == pytest.approx([sum(rewards[:4]) / 4, sum(rewards[4:]) / 4], abs=1e-6)
    assert len(set(rewards[:2])) == 2  # the group's rewards differ: an advantage to learn
    before = AutoModelForCausalLM.from_pretrained(tiny_path).state_dict()
    after = AutoModelForCausalLM.from_pretrained(str(result.path)).state_dict()
    assert any(not (before[k] == after[k]).all() for k in before)


def test_sampling_is_keyed_by_the_trainers_step_so_a_resumed_run_draws_the_same():
    ro = _rollout(max_new_tokens=4)
    keys = []
    ro.generator = lambda call, index, repeat=0: keys.append((call, index, repeat))  # spy
    ro.play = lambda model, tok, prompt, gen, temp, kw: SimpleNamespace(
        seed=0, record={}, prompt_ids=[], completion_ids=[], logprobs=[], env_mask=[]
    )
    model = SimpleNamespace(training=False, eval=lambda: None, train=lambda mode=True: None)
    trainer = _trainer(model, None)
    trainer.state = SimpleNamespace(global_step=4)  # e.g. resumed from checkpoint-4
    ro([PICK[0]["prompt"]] * 2, trainer)
    ro([PICK[0]["prompt"]], trainer)  # a second call at the same step
    trainer.state.global_step = 5
    ro([PICK[0]["prompt"]], trainer)
    assert keys == [(4, 0, 0), (4, 1, 0), (4, 0, 1), (5, 0, 0)]
    assert ro.calls == 3
    # the first call at step k draws from SeedSequence([seed, k, index]), the key call k had
    # before steps keyed it; a repeated call at k draws apart
    plain = _rollout(seed=3)
    state = np.random.SeedSequence([3, 4, 1]).generate_state(1, dtype=np.uint64)[0]
    assert plain.generator(4, 1).initial_seed() == int(state >> 1)
    assert plain.generator(4, 1, 1).initial_seed() != int(state >> 1)
