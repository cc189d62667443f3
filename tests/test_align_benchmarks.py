"""The align benchmarks: ``benchmarks/format_stop_probe.py`` (the evaluation's prompt
rebuilt from a run directory, next-token probabilities read at the right positions, the
training data's figures) and ``benchmarks/sft_step_time.py`` (full vs LoRA on a run's data)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "format_stop_probe.py"
_spec = importlib.util.spec_from_file_location("gtalign_format_probe", _PATH)
fp = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fp
_spec.loader.exec_module(fp)

REPLY = "<thinking>t</thinking>\n<response>\nA list:\n- one\n- two\n</response>"
MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "Question: q"}]


@pytest.fixture(scope="module")
def tiny():
    require("torch", "pip install -e '.[llm]'")
    from gtalign_sim.backends import build_backend

    return build_backend("transformers", model="tiny", batch_size=1)


def test_line_end_probabilities_are_those_of_the_next_token(tiny):
    import torch

    from gtalign_sim.backends import ChatRequest

    ends = fp.line_end_probabilities(tiny, MESSAGES, REPLY)
    start = REPLY.index("<response>")
    newlines = [i + 1 for i, c in enumerate(REPLY) if c == "\n" and i > start]
    assert [e["char"] for e in ends] == newlines  # every line end inside <response>
    # recompute one from the prefix alone: the distribution after the line's last token
    tok = tiny.tokenizer
    p_ids = tok(tiny.prompt_text(ChatRequest(messages=tuple(MESSAGES))), add_special_tokens=False)
    r = tok(REPLY, add_special_tokens=False, return_offsets_mapping=True)
    k = next(i for i, (_, end) in enumerate(r["offset_mapping"]) if end == newlines[1])
    ids = torch.tensor([p_ids["input_ids"] + r["input_ids"][: k + 1]])
    with torch.no_grad():
        row = torch.softmax(tiny.model(ids).logits[0, -1].float(), dim=-1)
    vocab = [tok.decode([i]) for i in range(len(tok))]
    close = sum(float(row[i]) for i, v in enumerate(vocab) if fp.closes(v))
    assert close > 0  # the tiny tokenizer splits "</" into "<" and "/": "<" counts
    bullet = sum(float(row[i]) for i, v in enumerate(vocab) if v.lstrip(" ")[:1] in ("-", "*", "•"))
    assert ends[1]["p_close"] == pytest.approx(close, rel=1e-5)
    assert ends[1]["p_bullet"] == pytest.approx(bullet, rel=1e-5)
    assert fp.line_end_probabilities(tiny, MESSAGES, "no response block\n") == []


def test_a_token_closes_when_it_begins_the_closing_tag():
    assert [fp.closes(v) for v in ("</", "\n</", "<", "</div", " </response>")] == [True] * 5
    assert [fp.closes(v) for v in ("-", "\n", "", "<response", "res", "/")] == [False] * 6


def test_the_probe_reads_the_evaluations_prompt_and_reports(tmp_path, tiny):
    run = tmp_path / "run"
    (run / "eval" / "base").mkdir(parents=True)
    (run / "config.yaml").write_text("align:\n  model: tiny\n  instructions: compact\n")
    recs = [
        {"task_id": "math-0001", "transcript": [{"role": "user", "text": "other"}]},
        {"task_id": "writing-0087", "transcript": [{"role": "user", "text": "Review it."}]},
    ]
    lines = "".join(json.dumps(r) + "\n" for r in recs)
    (run / "eval" / "base" / "episodes.jsonl").write_text(lines)
    (run / "data").mkdir()
    taught = [
        "<response>\nA:\n- a\n- b\n- c\nYours.\n</response>",
        "<response>\n* x\n* y\n</response>",
        "<response>\nNo list.\n</response>",
        "<thinking>cut</thinking>",
    ]
    examples = [{"completion": [{"role": "assistant", "content": c}]} for c in taught]
    (run / "data" / "examples.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples))
    assert fp.first_question(run, "base", "writing-0087") == "Review it."
    assert fp.unparsed_turns(run, "base") == []  # these records hold no decisions
    with pytest.raises(SystemExit, match="no episode of it"):
        fp.first_question(run, "base", "writing-0001")
    out = tmp_path / "probe.json"
    args = ["--model", "base", "--max-tokens", "6", "--samples", "2", "--json", str(out)]
    cmd = [sys.executable, str(_PATH), str(run), "--task", "writing-0087", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(out.read_text())
    assert (got["task"], got["model"], got["greedy"]["tokens"]) == ("writing-0087", "base", 6)
    assert got["sampled"]["seeds"] == [0, 1]
    assert got["sampled"]["distinct"] == 2  # each sample its own seed: not one reply twice
    from transformers import AutoTokenizer

    from gtalign_sim.backends.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model("tiny"))
    longest = max(len(tok(c, add_special_tokens=False)["input_ids"]) for c in taught)
    assert got["training_lists"] == {
        "lists": 2,
        "bullets_per_list": [2, 3],
        "after_last_bullet": {"</response>": 1, "a line": 1},
        "longest_completion_tokens": longest,
    }
    assert got["taught_lengths"] == {}  # no first-turn writing rows in this data
    assert got["answers_on_hidden_readings"] == {"first_turns": 0, "by_family": {}, "total": 0}
    assert fp.response_lines(taught[0]) == ["A:", "- a", "- b", "- c", "Yours."]
    assert fp.response_lines(taught[3]) == []


def test_taught_lengths_cross_the_stated_length_with_the_taught_one(tmp_path):
    def row(question: str, words: int, family: str = "writing", turn: int = 0) -> dict:
        reply = "<response>\n" + " ".join(["word"] * words) + "\n</response>"
        return {
            "family": family,
            "turn": turn,
            "prompt": [{"role": "user", "content": f"Rules.\n\nQuestion: {question}"}],
            "completion": [{"role": "assistant", "content": reply}],
        }

    rows = [
        row("A note, short (under 60 words), formal.", 30),
        row("A note, long (250 to 400 words).", 300),
        row("A note.", 120),
        row("A note.", 30),
        row("A note.", 70),  # between the short and the medium band
        row("A note.", 300, turn=1),  # a later turn: not counted
        row("What is 2 + 2?", 3, family="math"),
    ]
    (tmp_path / "data").mkdir()
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "data" / "examples.jsonl").write_text(text)
    assert fp.taught_lengths(tmp_path) == {
        "short": {"short": 1},
        "long": {"long": 1},
        "unstated": {"medium": 1, "short": 1, "none": 1},
    }


def test_hidden_readings_count_answers_to_vague_questions_of_ambiguous_tasks(tmp_path):
    from gtalign_sim.users import encode_action

    def row(family, qtype, readings, mode, turn=0):
        task = {
            "interpretations": [{"id": f"r{i}", "prior": 1 / readings} for i in range(readings)]
        }
        return {
            "family": family,
            "turn": turn,
            "question_type": qtype,
            "task": json.dumps(task),
            "action": encode_action(mode, 1),
        }

    rows = [
        row("math", "VQ", 2, "DA"),  # counted
        row("math", "VQ", 3, "AQ"),  # counted
        row("writing", "VQ", 2, "DA"),  # counted
        row("math", "VQ", 2, "CQ"),  # asks: commits to no reading
        row("math", "DQ", 2, "DA"),  # the question states the reading
        row("math", "VQ", 1, "DA"),  # one reading: nothing hidden
        row("math", "VQ", 2, "DA", turn=1),  # a later turn: not counted at all
    ]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "examples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert fp.hidden_readings(tmp_path) == {
        "first_turns": 6,
        "by_family": {"math": 2, "writing": 1},
        "total": 3,
    }


def test_the_sft_step_time_benchmark_runs_on_a_run_directory(tmp_path):
    """``benchmarks/sft_step_time.py`` on a tiny run's data: both kinds train, a ratio."""
    require("trl", "pip install -e '.[train]'")
    require("peft", "pip install -e '.[train]'")
    from gtalign_sim.train.llm.data import SynthesisConfig, synthesize

    rows = synthesize(SynthesisConfig(n_episodes=2, n_candidates=1, seed=0))
    (tmp_path / "data").mkdir()
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "data" / "examples.jsonl").write_text(text)
    sft = "  sft: {batch_size: 1, max_length: 1200, learning_rate: 1.0e-3}\n"
    (tmp_path / "config.yaml").write_text(f"seed: 0\nalign:\n  model: tiny\n{sft}")
    script = _PATH.parent / "sft_step_time.py"
    cmd = [sys.executable, str(script), str(tmp_path), "--steps", "1", "--lora-r", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert [x.split(":")[0] for x in lines if x.startswith(("full:", "lora:"))] == ["full", "lora"]
    assert lines[-1].startswith("lora (r=2) / full: ")


def test_unparsed_turns_are_listed_with_their_errors(tmp_path):
    (tmp_path / "eval" / "sft").mkdir(parents=True)
    model = {"estimates": {"decided_by": "model"}}
    cut = {"estimates": {"decided_by": "fallback", "parse_error": "protocol: no </response>"}}
    recs = [
        {"task_id": "math-0001", "episode": 0, "pricing": "subscription", "decisions": [model]},
        {
            "task_id": "writing-0087",
            "episode": 3,
            "pricing": "per_token_api",
            "decisions": [cut, model],
        },
    ]
    (tmp_path / "eval" / "sft" / "episodes.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in recs)
    )
    assert fp.unparsed_turns(tmp_path, "sft") == [
        {
            "task": "writing-0087",
            "episode": 3,
            "pricing": "per_token_api",
            "turn": 0,
            "error": "protocol: no </response>",
        }
    ]
