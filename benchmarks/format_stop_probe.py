"""Why does a trained model's reply not close? Next-token probabilities at line ends.

    python benchmarks/format_stop_probe.py RUN_DIR --task writing-0087 [--model sft]
        [--samples 4] [--temperature 0.7] [--seed 0] [--max-tokens N]
    python benchmarks/format_stop_probe.py RUN_DIR --list [--model sft]  # what to probe
    python benchmarks/format_stop_probe.py RUN_DIR --data-only   # the data stage suffices

Takes an ``experiment=align_llm`` run directory, rebuilds the evaluation's first-turn
prompt of ``--task`` exactly as the evaluated model saw it (the first user question of that
task in ``eval/<model>/episodes.jsonl``, the run's ``align.instructions``), and loads the
model's folder (``RUN_DIR/<model>``; ``base`` loads ``align.model``) through the
transformers backend the evaluation used. Then:

* **greedy**: the reply (as evaluated), whether it closes ``</response>``, and, at every
  line end inside ``<response>``, the probability that the next token begins the closing
  tag (:func:`closes`) and that it starts another bullet (``-``, ``*`` or ``•``);
* **sampled**: ``--samples`` replies at ``--temperature``, each with its own seed
  (``seed + i``), how many close, their lengths and how many are distinct;
* **training data** (``RUN/data/examples.jsonl``): the bullets per list the model learnt,
  what follows a list's last bullet, the longest completion in tokens, the taught length
  of first-turn writing answers by the length their question states, and the first turns
  that answer a vague question of an ambiguous task (:func:`hidden_readings`).

Where the data never closes ``</response>`` right after a bullet (it ends lists with a
sign-off line), P(``</``) at a bullet's line end is near 0 by construction: the figure that
tells whether greedy decoding leaves a list is P(bullet).

Prints one line per figure and a JSON summary last (``--json PATH`` also writes it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

CLOSE = "</response>"
BULLETS = ("-", "*", "•")


def first_question(run: Path, model: str, task: str) -> str:
    """The user's first message of ``task`` in the model's evaluation episodes."""
    path = run / "eval" / model / "episodes.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("task_id") == task and rec.get("transcript"):
            turn = rec["transcript"][0]
            if turn.get("role") == "user":
                return str(turn["text"])
    raise SystemExit(f"--task {task!r}: no episode of it in {path}")


def unparsed_turns(run: Path, model: str) -> list[dict[str, Any]]:
    """The model's evaluation turns whose reply did not parse (not ``decided_by`` the
    model): task, episode, plan, turn and the parse error, in file order."""
    out = []
    path = run / "eval" / model / "episodes.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        for turn, d in enumerate(rec.get("decisions") or []):
            est = d.get("estimates") or {}
            if est.get("decided_by") != "model":
                out.append(
                    {
                        "task": rec.get("task_id"),
                        "episode": rec.get("episode"),
                        "pricing": rec.get("pricing"),
                        "turn": turn,
                        "error": str(est.get("parse_error", ""))[:200],
                    }
                )
    return out


def closes(token: str) -> bool:
    """Whether a token's text begins the closing tag: starts with ``</`` or is a start of
    ``</response>`` (``<`` where a tokenizer splits it), leading whitespace aside."""
    text = token.lstrip()
    return bool(text) and (text.startswith("</") or CLOSE.startswith(text))


def line_end_probabilities(backend: Any, messages: list[dict], reply: str) -> list[dict]:
    """For each line end of ``reply`` after ``<response>``: P(next token starts ``</``)
    and P(next token starts a bullet), from one forward pass over prompt + reply."""
    import torch

    from gtalign_sim.backends import ChatRequest

    tok, model = backend.tokenizer, backend.model
    prompt = backend.prompt_text(ChatRequest(messages=tuple(messages)))
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    enc = tok(reply, add_special_tokens=False, return_offsets_mapping=True)
    r_ids, offsets = enc["input_ids"], enc["offset_mapping"]
    vocab = [tok.decode([i]) for i in range(len(tok))]
    closing = torch.tensor([closes(v) for v in vocab])
    bullet = torch.tensor([v.lstrip(" ").startswith(BULLETS) for v in vocab])
    ids = torch.tensor([p_ids + r_ids], device=backend.device)
    with torch.no_grad():
        probs = torch.softmax(model(ids).logits[0].float(), dim=-1).cpu()
    n = min(len(vocab), probs.shape[-1])  # tokenizer and output layer may differ in size
    closing, bullet = closing[:n], bullet[:n]
    start = reply.find("<response>")
    out = []
    for k in range(len(r_ids)):  # the distribution of token k + 1 given tokens ≤ k
        end = offsets[k][1]
        if start < 0 or end <= start or not reply[:end].endswith("\n"):
            continue
        row = probs[len(p_ids) + k, :n]
        out.append(
            {
                "char": end,
                "p_close": float(row[closing].sum()),
                "p_bullet": float(row[bullet].sum()),
            }
        )
    return out


def response_lines(completion: str) -> list[str]:
    """The lines of a four-block reply's ``<response>`` (``[]`` without one)."""
    if "<response>" not in completion:
        return []
    body = completion.split("<response>", 1)[1].split(CLOSE, 1)[0]
    return body.strip("\n").split("\n")


def training_lists(run: Path, tokenizer: Any) -> dict[str, Any]:
    """What the SFT data taught about lists (``RUN/data/examples.jsonl``): the bullets per
    list, what follows a list's last bullet (``</response>`` or another line), and the
    longest completion in tokens (to compare with the evaluation's ``max_tokens``)."""
    bullets, after, longest = [], {"</response>": 0, "a line": 0}, 0
    path = run / "data" / "examples.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["completion"][0]["content"]
        longest = max(longest, len(tokenizer(text, add_special_tokens=False)["input_ids"]))
        lines = response_lines(text)
        marks = [i for i, x in enumerate(lines) if x.lstrip(" ").startswith(BULLETS)]
        if marks:
            bullets.append(len(marks))
            after["a line" if marks[-1] + 1 < len(lines) else "</response>"] += 1
    return {
        "lists": len(bullets),
        "bullets_per_list": sorted(set(bullets)),
        "after_last_bullet": after,
        "longest_completion_tokens": longest,
    }


def taught_lengths(run: Path) -> dict[str, dict[str, int]]:
    """First-turn writing examples of ``RUN/data/examples.jsonl``: the length band the
    question states (``unstated`` when none) -> the band of the taught response (the
    judge's :func:`~gtalign_sim.tasks.lexicon.detect_length`; ``none``: between bands)
    -> count. Where the question states no length, the teacher's choice follows what the
    question does not show, and the student can only learn a spread of lengths."""
    from gtalign_sim.tasks.banks.writing import describe_profile
    from gtalign_sim.tasks.lexicon import LENGTH_BANDS, detect_length

    phrases = {b: describe_profile({"length": b}, ("length",)) for b in LENGTH_BANDS}
    out: dict[str, dict[str, int]] = {}
    path = run / "data" / "examples.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("family") != "writing" or row.get("turn") != 0:
            continue
        question = str(row["prompt"][-1]["content"]).split("Question:", 1)[-1]
        stated = next((b for b, x in phrases.items() if x in question), "unstated")
        taught = detect_length("\n".join(response_lines(row["completion"][0]["content"])))
        cell = out.setdefault(stated, {})
        cell[taught] = cell.get(taught, 0) + 1
    return out


def hidden_readings(run: Path) -> dict[str, Any]:
    """First turns of ``RUN/data/examples.jsonl`` whose taught reply answers (DA or AQ) a
    vague question (VQ) of an ambiguous task (several readings): the answer follows the
    task's most likely reading, from priors the prompt does not show. Counted by family,
    with the first turns in all."""
    from gtalign_sim.users import decode_action

    by_family: dict[str, int] = {}
    first = 0
    path = run / "data" / "examples.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("turn") != 0:
            continue
        first += 1
        readings = json.loads(row["task"])["interpretations"]
        mode, _ = decode_action(int(row["action"]))
        if row["question_type"] == "VQ" and len(readings) > 1 and mode in ("DA", "AQ"):
            by_family[row["family"]] = by_family.get(row["family"], 0) + 1
    return {"first_turns": first, "by_family": by_family, "total": sum(by_family.values())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="an experiment=align_llm run directory")
    p.add_argument("--task", help="a task id of the evaluation, e.g. writing-0087")
    p.add_argument(
        "--data-only", action="store_true", help="only the training data's lists (no model)"
    )
    p.add_argument("--list", action="store_true", help="only the model's unparsed turns")
    p.add_argument("--model", default="sft", choices=("base", "sft", "grpo"))
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-tokens", type=int, default=None, help="default: align.eval.max_tokens")
    p.add_argument("--json", type=Path, default=None, help="also write the summary here")
    args = p.parse_args()
    from omegaconf import OmegaConf

    from gtalign_sim.agents.llm import LLMAssistant
    from gtalign_sim.backends import ChatRequest, SamplingParams, build_backend
    from gtalign_sim.protocol.prompt import PromptConfig

    cfg = OmegaConf.load(args.run / "config.yaml")
    if args.data_only:
        from transformers import AutoTokenizer

        from gtalign_sim.backends.models import resolve_model

        tok = AutoTokenizer.from_pretrained(resolve_model(str(cfg.align.model)))
        data = {**training_lists(args.run, tok), "lengths": taught_lengths(args.run)}
        data["answers_on_hidden_readings"] = hidden_readings(args.run)
        print(json.dumps(data, indent=2))
        return
    if args.list:
        print(json.dumps(unparsed_turns(args.run, args.model), indent=2))
        return
    if not args.task:
        p.error("--task is required (or --data-only, or --list: the tasks to probe)")
    if args.max_tokens is None:
        args.max_tokens = int(cfg.align.eval.max_tokens)
    question = first_question(args.run, args.model, args.task)
    writer = LLMAssistant(
        backend="template", prompt=PromptConfig(instructions=str(cfg.align.instructions))
    )
    messages = writer.messages({"history": [SimpleNamespace(role="user", text=question)]})
    folder = str(cfg.align.model) if args.model == "base" else str(args.run / args.model)
    backend = build_backend("transformers", model=folder, batch_size=1)
    t0 = time.perf_counter()

    def reply(temperature: float, seed: int) -> Any:
        sampling = SamplingParams(max_tokens=args.max_tokens, temperature=temperature, seed=seed)
        return backend.generate([ChatRequest(messages=tuple(messages), sampling=sampling)])[0]

    greedy = reply(0.0, args.seed)
    ends = line_end_probabilities(backend, messages, greedy.text)
    samples = [reply(args.temperature, args.seed + i) for i in range(args.samples)]
    summary = {
        "run": str(args.run),
        "model": args.model,
        "task": args.task,
        "greedy": {
            "tokens": greedy.completion_tokens,
            "closes": CLOSE in greedy.text,
            "line_ends": len(ends),
            "max_p_close": max((e["p_close"] for e in ends), default=None),
            "p_bullet_range": [
                min((e["p_bullet"] for e in ends), default=None),
                max((e["p_bullet"] for e in ends), default=None),
            ],
        },
        "sampled": {
            "temperature": args.temperature,
            "seeds": [args.seed + i for i in range(args.samples)],
            "closes": sum(CLOSE in s.text for s in samples),
            "tokens": [s.completion_tokens for s in samples],
            "distinct": len({s.text for s in samples}),
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if (args.run / "data" / "examples.jsonl").is_file():
        summary["training_lists"] = training_lists(args.run, backend.tokenizer)
        summary["taught_lengths"] = taught_lengths(args.run)
        summary["answers_on_hidden_readings"] = hidden_readings(args.run)
    g, s = summary["greedy"], summary["sampled"]
    print(f"{args.model} on {args.task}: greedy {g['tokens']} tokens, closes: {g['closes']}")
    if ends:
        lo, hi = g["p_bullet_range"]
        print(
            f"  {len(ends)} line ends in <response>: P(</) <= {g['max_p_close']:.4f}, "
            f"P(bullet) {lo:.2f}-{hi:.2f}"
        )
    print(
        f"  sampled at T={args.temperature}: {s['closes']}/{args.samples} close, "
        f"{s['distinct']} distinct, tokens {s['tokens']}"
    )
    if "training_lists" in summary:
        d = summary["training_lists"]
        print(
            f"  training data: {d['lists']} lists of {d['bullets_per_list']} bullets; after "
            f"the last bullet {d['after_last_bullet']}; longest completion "
            f"{d['longest_completion_tokens']} tokens (max_tokens {args.max_tokens})"
        )
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
