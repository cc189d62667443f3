"""The TRL pipeline (gtalign_sim.train.llm): data synthesis, SFT and single-turn GRPO on
the tiny random model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import free_port, require, wait_until_serving

from gtalign_sim.agents import Decision, build_assistant
from gtalign_sim.agents.llm import LLMAssistant
from gtalign_sim.envs.clarification import ClarificationGameEnv
from gtalign_sim.envs.rollout import assistant_info
from gtalign_sim.game import PayoffMatrix
from gtalign_sim.protocol import parse, render
from gtalign_sim.tasks import TaskBank
from gtalign_sim.train.llm.data import (
    SynthesisConfig,
    candidate_actions,
    playout_welfare,
    synthesize,
)
from gtalign_sim.train.llm.grpo import CompletionReward, GRPORunConfig
from gtalign_sim.train.llm.sft import SFTRunConfig
from gtalign_sim.users import decode_action
from gtalign_sim.welfare.completion import score_completion

ENV = {"tasks_per_family": 20}


def test_import_is_light():
    code = (
        "import sys, gtalign_sim.train.llm as m; m.SynthesisConfig; m.SFTRunConfig; "
        "m.GRPORunConfig; m.CompletionReward; "
        "print(sorted(x for x in ('torch', 'transformers', 'trl', 'datasets', 'peft') "
        "if x in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: SynthesisConfig(planner="random"), "planner"),
        (lambda: SynthesisConfig(n_candidates=10), "n_candidates"),
        (lambda: SynthesisConfig(response="best"), "response"),
        (lambda: SynthesisConfig(n_episodes=0), "n_episodes"),
        (lambda: SynthesisConfig(env={"user_policy": "external"}), "user_policy"),
        (lambda: SFTRunConfig(max_steps=0), "max_steps"),
        (lambda: SFTRunConfig(learning_rate=-1.0), "learning_rate"),
        (lambda: SFTRunConfig(lora="yes"), "lora"),
        (lambda: SFTRunConfig(device="tpu"), "device"),
        (lambda: SFTRunConfig(max_length=4), "max_length"),
        (lambda: GRPORunConfig(reward="nash"), "reward"),
        (lambda: GRPORunConfig(num_generations=1), "num_generations"),
        (lambda: GRPORunConfig(batch_size=3, num_generations=2), "multiple of num_generations"),
        (lambda: CompletionReward("nash"), "reward"),
    ],
)
def test_bad_config_is_a_one_line_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------- data


def test_candidates_are_the_planners_action_then_the_other_modes():
    assert candidate_actions(8, 3) == [8, 2, 5]  # AQ elaborate, then DA, CQ elaborate
    assert candidate_actions(1, 1) == [1]
    assert candidate_actions(4, 9) == [4, 1, 7, 0, 2, 3, 5, 6, 8]
    with pytest.raises(ValueError, match="n must be"):
        candidate_actions(0, 0)


def test_synthesized_data_parses_and_is_deterministic_from_the_seed():
    cfg = SynthesisConfig(n_episodes=6, seed=1, env=ENV)
    ex = synthesize(cfg)
    assert ex == synthesize(cfg)
    assert ex != synthesize(SynthesisConfig(n_episodes=6, seed=2, env=ENV))
    assert [e["task_id"] for e in ex] == [
        "ambiguous_qa-0011",
        "ambiguous_qa-0017",
        "math-0017",
        "writing-0001",
        "safety-0010",
        "ambiguous_qa-0004",
    ]
    assert [e["action"] for e in ex] == [2, 2, 2, 1, 8, 2]
    assert [e["planner_action"] for e in ex] == [8, 2, 2, 1, 2, 2]
    writer = LLMAssistant(backend="template")
    for e in ex:
        p = parse(e["completion"][0]["content"])
        assert p.format_score == 1.0
        assert p.chosen_cell == (e["question_type"], decode_action(e["action"])[0])
        assert e["prompt"][0] == {"role": "system", "content": writer.prompt.system_prompt}
        assert e["prompt"][1]["content"].startswith(writer.instructions)
        assert [m["role"] for m in e["completion"]] == ["assistant"]


def test_later_turns_show_the_earlier_response_as_the_llm_would_see_it():
    ex = synthesize(SynthesisConfig(n_episodes=40, seed=1, n_candidates=1, env=ENV))
    later = [k for k, e in enumerate(ex) if e["turn"] > 0]
    assert later  # some episodes go on after a question or a wrong answer
    for k in later:
        before, e = ex[k - 1], ex[k]
        assert (before["episode"], before["turn"]) == (e["episode"], e["turn"] - 1)
        assert e["prompt"][: len(before["prompt"])] == before["prompt"]
        reply = parse(before["completion"][0]["content"]).response
        assert e["prompt"][len(before["prompt"])] == {"role": "assistant", "content": reply}
        assert e["prompt"][-1]["role"] == "user"


def test_best_of_n_keeps_the_candidate_with_the_highest_measured_welfare():
    ex = synthesize(SynthesisConfig(n_episodes=1, seed=1, env=ENV))[0]
    assert ex["candidates"] == [8, 2, 5]
    assert ex["candidate_welfare"] == pytest.approx(
        [0.6173954824064143, 0.621290602302425, 0.0], abs=1e-12
    )
    assert ex["action"] == 2 and ex["planner_action"] == 8  # DA beat the planner's AQ
    # each candidate's welfare is an honest replay: a fresh env on the same seed, the
    # candidate forced, then the planner, gives the same measured √(U·L)
    for action, welfare in zip(ex["candidates"], ex["candidate_welfare"], strict=True):
        env = ClarificationGameEnv(**ENV)
        planner = build_assistant("gtalign", world=env.world, population=env.population)
        planner.reset(1)
        env.reset(seed=ex["seed"])
        assert playout_welfare(env, planner, action) == pytest.approx(welfare, abs=1e-12)
        mode, v = decode_action(action)
        text = env.renderer.assistant_turn(env.task, mode, v, env.task.most_likely().id, True)
        env.step(Decision(action, text=text))
        while not env.episode:
            info = assistant_info(env, planner, env.infos["assistant"])
            d = planner.act(env.observe("assistant"), info)
            mode, v = decode_action(d.action)
            known = env.user_sim.state.intent_stated
            assumed = env.profile.intent if known else env.task.most_likely().id
            text = env.renderer.assistant_turn(env.task, mode, v, assumed, True)
            env.step(Decision(d.action, text=text))
        assert env.episode["mutual_welfare"] == pytest.approx(welfare, abs=1e-12)


def test_the_oracle_writes_its_own_matrix_and_played_text_parses():
    ex = synthesize(
        SynthesisConfig(
            n_episodes=3, seed=2, planner="oracle", n_candidates=2, response="played", env=ENV
        )
    )
    assert [e["candidates"] for e in ex] == [[0, 3], [2, 5], [2, 5]]
    for e in ex:
        p = parse(e["completion"][0]["content"])
        assert p.format_score == 1.0 and p.matrix.shape == (2, 3)


def test_recover_plays_wrong_answers_but_teaches_only_the_repairs():
    cfg = {"n_episodes": 12, "seed": 1, "n_candidates": 1, "env": ENV}
    played = synthesize(SynthesisConfig(response="played", **cfg))
    recover = synthesize(SynthesisConfig(response="recover", **cfg))
    turns = [(e["episode"], e["turn"]) for e in played]
    later = [(4, 1), (8, 1), (10, 1)]
    assert turns == sorted([(k, 0) for k in range(12)] + later)
    # the same episodes are played; the three wrong answers are left out, nothing else
    wrong = {(3, 0), (4, 0), (10, 0)}
    assert recover == [e for e in played if (e["episode"], e["turn"]) not in wrong]
    repair = next(e for e in recover if (e["episode"], e["turn"]) == (4, 1))
    assert repair["family"] == "safety"
    assert repair["prompt"][2]["content"].startswith("I'm not able to help with that request.")
    assert repair["prompt"][3] == {
        "role": "user",
        "content": "That doesn't look right. Could you check it and try again?",
    }
    response = parse(repair["completion"][0]["content"]).response
    assert response.startswith("Happy to help with that. Sure — here is how to do that:")
    # every kept text is the correct one
    correct = synthesize(SynthesisConfig(response="correct", **cfg))
    first = {(e["episode"], e["turn"]): e["completion"] for e in correct}
    for e in recover:
        if e["turn"] == 0:
            assert e["completion"] == first[(e["episode"], 0)]


def test_dataset_is_trl_conversational_prompt_completion():
    require("datasets", "pip install -e '.[train]'")
    trl = require("trl", "pip install -e '.[train]'")
    from gtalign_sim.train.llm.data import synthesize_dataset

    ds = synthesize_dataset(SynthesisConfig(n_episodes=2, seed=1, env=ENV))
    assert {"prompt", "completion", "task", "intent"} <= set(ds.column_names)
    assert trl.data_utils.is_conversational(ds[0])
    assert ds[0]["completion"][0]["role"] == "assistant"


# --------------------------------------------------------------------- reward

TASK = next(t for t in TaskBank.build(families=("math",), per_family=5, seed=0))
INTENT = TASK.interpretations[0]
MATRIX = PayoffMatrix(
    user=[[2.0, 0.0, 1.0], [1.0, 2.0, 1.5]], llm=[[2.0, 0.5, 1.0], [1.0, 1.5, 1.0]]
)


def _reply(answer: str) -> str:
    return render(
        MATRIX, ("DQ", "DA"), f"Answer: {answer}.", thinking="DQ: answer.", analysis="Choice: DQ_DA"
    )


def test_reward_is_the_recipe_score_of_the_judged_completion():
    task = json.dumps(TASK.to_dict())
    good, wrong, broken = _reply(INTENT.answer), _reply("12345 km"), "<thinking>no</thinking>"
    reward = CompletionReward(keep_history=True)
    comp = [[{"role": "assistant", "content": t}] for t in (good, wrong, broken)]
    out = reward(prompts=[[]] * 3, completions=comp, task=[task] * 3, intent=[INTENT.id] * 3)
    assert out == [
        score_completion(good, 1.0).aggregate,
        score_completion(wrong, 0.0).aggregate,
        0.0,
    ]
    assert out[0] == pytest.approx(0.7346964934690625, abs=1e-12)
    assert out[1] < out[0]
    assert [s.valid for _, s in reward.history] == [True, True, False]
    assert "payoff" in reward.history[2][1].error
    lin = CompletionReward("linear").score(good, task, INTENT.id)
    assert lin.aggregate == score_completion(good, 1.0, aggregator="linear").aggregate
    assert CompletionReward("user_only").score(good, task, INTENT.id).aggregate == lin.user
    assert CompletionReward("llm_only").score(good, task, INTENT.id).aggregate == lin.llm


# ---------------------------------------------------------------- SFT, GRPO


def _weights(path: str) -> dict:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# the tiny random model cannot learn the 2×3 payoff JSON in a few CPU steps; a one-cell
# game (same parser, same recipe) keeps the reply short enough to learn in 40
LABELS = {"user_strategies": ("DQ",), "assistant_actions": ("DA",)}
ONE_CELL = PayoffMatrix(user=[[2.0]], llm=[[1.5]], **LABELS)


def _short_reply(answer: str) -> str:
    return render(ONE_CELL, ("DQ", "DA"), f"Answer: {answer}.", thinking="DQ.", analysis="")


@pytest.fixture(scope="module")
def two_answers(tmp_path_factory):
    """The tiny model taught (SFT) one question's reply with the right and a wrong answer."""
    require("torch", "pip install -e '.[llm]'")
    require("trl", "pip install -e '.[train]'")
    require("peft", "pip install -e '.[train]'")
    datasets = require("datasets", "pip install -e '.[train]'")
    from gtalign_sim.backends.models import resolve_model
    from gtalign_sim.train.llm.sft import train_sft

    rows = [
        {
            "prompt": [{"role": "user", "content": INTENT.detailed}],
            "completion": [{"role": "assistant", "content": _short_reply(answer)}],
            "task": json.dumps(TASK.to_dict()),
            "intent": INTENT.id,
        }
        for answer in (INTENT.answer, "12345 km")
    ]
    ds = datasets.Dataset.from_list(rows * 4)
    base = resolve_model("tiny")
    out = tmp_path_factory.mktemp("sft")
    cfg = SFTRunConfig(
        model=base,
        output_dir=out,
        max_steps=40,
        learning_rate=1e-2,
        batch_size=4,
        max_length=256,
        extra={"lr_scheduler_type": "constant"},
    )
    return base, train_sft(cfg, ds), ds


def test_sft_changes_weights_and_the_folder_loads_through_the_backend(two_answers):
    from gtalign_sim.backends import ChatRequest, SamplingParams, build_backend

    base, result, _ = two_answers
    before, after = _weights(base), _weights(str(result.path))
    assert before.keys() == after.keys()
    assert any(not (before[k] == after[k]).all() for k in before)
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == 40 and losses[-1] < losses[0] / 10
    backend = build_backend("transformers", model=str(result.path))
    req = ChatRequest(
        messages=({"role": "user", "content": INTENT.detailed},),
        sampling=SamplingParams(max_tokens=8),
    )
    out = backend.generate([req])[0]
    assert out.ok and out.completion_tokens > 0
    assert out.text.startswith("<thinking>")  # it learned the reply's opening


def test_the_trained_folder_is_served_over_http_by_the_projects_server(two_answers):
    """``python -m gtalign_sim.backends.server --model <folder>`` (a real process on
    loopback) serves the trained folder; the openai backend gets what the transformers
    backend generates from it directly (greedy)."""
    require("openai", "pip install -e '.[api]'")
    from pathlib import Path

    from gtalign_sim.backends import ChatRequest, SamplingParams, build_backend

    folder, port = str(two_answers[1].path), free_port()
    cmd = [sys.executable, "-m", "gtalign_sim.backends.server", "--model", folder]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_serving(proc, port, 120)
        req = ChatRequest(
            messages=({"role": "user", "content": INTENT.detailed},),
            sampling=SamplingParams(max_tokens=12),
        )
        url = f"http://127.0.0.1:{port}/v1"
        served = build_backend("openai", model=folder, base_url=url, timeout=60, max_retries=0)
        over_http = served.generate([req])[0]
        served.close()
        direct = build_backend("transformers", model=folder).generate([req])[0]
        assert over_http.ok and over_http.text.startswith("<thinking>")
        assert (over_http.text, over_http.completion_tokens) == (
            direct.text,
            direct.completion_tokens,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_sft_with_lora_merges_the_adapter_into_a_plain_folder(two_answers, tmp_path):
    from gtalign_sim.train.llm.sft import train_sft

    base, _, ds = two_answers
    cfg = SFTRunConfig(
        model=base, output_dir=tmp_path, max_steps=1, learning_rate=1e-2, max_length=256, lora=True
    )
    result = train_sft(cfg, ds.select(range(2)))
    assert not (result.path / "adapter_config.json").exists()
    assert _weights(base).keys() == _weights(str(result.path)).keys()


def test_sft_warns_of_cut_examples_and_refuses_when_no_completion_fits(two_answers, tmp_path):
    from transformers import AutoTokenizer

    from gtalign_sim.train.llm.sft import _lengths, train_sft

    base, _, ds = two_answers
    lengths = _lengths(ds, AutoTokenizer.from_pretrained(base))
    prompt, full = min(p for p, _ in lengths), min(f for _, f in lengths)
    assert prompt < full - 1
    cfg = SFTRunConfig(model=base, output_dir=tmp_path, max_steps=1, max_length=full - 1)
    longest = max(f for _, f in lengths)
    with pytest.warns(UserWarning, match=rf"8 of 8 examples .* \(longest {longest} tokens\)"):
        train_sft(cfg, ds)
    with pytest.raises(ValueError, match=rf"the shortest prompt is {prompt} tokens"):
        train_sft(SFTRunConfig(model=base, output_dir=tmp_path, max_length=prompt), ds)


def test_grpo_rewards_real_generated_completions_and_changes_weights(two_answers, tmp_path):
    from gtalign_sim.train.llm.grpo import train_grpo

    _, sft, ds = two_answers
    reward = CompletionReward(keep_history=True, **LABELS)
    cfg = GRPORunConfig(
        model=str(sft.path),
        output_dir=tmp_path,
        max_steps=2,
        learning_rate=1e-3,
        batch_size=8,
        num_generations=8,
        max_completion_length=160,
        temperature=0.5,
    )
    result = train_grpo(cfg, ds, reward)
    assert len(reward.history) == 16  # 2 steps × 8 generated replies, each scored once
    task = json.dumps(TASK.to_dict())
    for text, score in reward.history:  # the recorded reward is the recipe's, re-derived
        assert score == CompletionReward(**LABELS).score(text, task, INTENT.id)
    rewards = [s.aggregate for _, s in reward.history]
    assert len(set(rewards)) > 1  # not a constant
    assert any(s.valid for _, s in reward.history) and not all(s.valid for _, s in reward.history)
    logged = [h["reward"] for h in result.log_history if "reward" in h]
    assert logged == pytest.approx([sum(rewards[:8]) / 8, sum(rewards[8:]) / 8], abs=1e-6)
    before, after = _weights(str(sft.path)), _weights(str(result.path))
    assert any(not (before[k] == after[k]).all() for k in before)


def test_extra_overrides_defaults_but_not_the_run_configs_own_fields(tmp_path):
    from gtalign_sim.train.llm import GRPORunConfig, SFTRunConfig
    from gtalign_sim.train.llm.common import OWNED_ARGS, with_extra

    merged = with_extra({"bf16": False, "max_steps": 3}, {"bf16": True}, OWNED_ARGS)
    assert merged == {"bf16": True, "max_steps": 3}
    SFTRunConfig(extra={"bf16": True, "gradient_checkpointing": True})  # allowed
    with pytest.raises(ValueError, match=r"extra: \['max_steps'\] are set by the run config"):
        GRPORunConfig(extra={"max_steps": 3})
    with pytest.raises(ValueError, match=r"max_length → max_length"):
        SFTRunConfig(extra={"max_length": 64})
    with pytest.raises(ValueError, match=r"per_device_train_batch_size → batch_size"):
        SFTRunConfig(extra={"per_device_train_batch_size": 2})
