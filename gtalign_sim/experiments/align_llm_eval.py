"""The evaluation of ``experiment=align_llm``: each model (``base``, ``sft``, ``grpo``) is
the LLM assistant of its own standard run directory ``eval/<model>/`` (the shared runner:
streamed episodes, resume, failure accounting), every episode played under each of
:data:`PLANS`, on the same episode plan for every model (common random numbers)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runner import Arm, episode_plan, run_experiment
from .settings import Settings

if TYPE_CHECKING:
    from .align_llm_options import Options

__all__ = [
    "ASSISTANT",
    "MODELS",
    "PLANS",
    "arms",
    "check_eval_dirs",
    "check_reply_caps",
    "eval_config",
    "evaluate",
    "model_path",
    "plan",
]

MODELS: tuple[str, ...] = ("base", "sft", "grpo")
"""The evaluated models (``eval/<model>/``)."""
PLANS: tuple[str, ...] = ("subscription", "per_token_api")
"""The pricing plans every model plays each evaluation episode under."""
ASSISTANT = "llm_gtalign"


def check_reply_caps(o: Options, examples: Sequence[Mapping[str, Any]]) -> int:
    """The longest taught completion in tokens (the base model's tokenizer); warns for each
    cap below it (``align.eval.max_tokens``; ``align.grpo.max_completion_length``): a
    reply as long as one the model learnt would be cut before its closing tag and count
    as a format failure, in the evaluation's metrics or in GRPO's reward."""
    from transformers import AutoTokenizer

    from ..backends.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model(o.model))
    texts = [m["content"] for e in examples for m in e["completion"]]
    longest = max((len(tok(x, add_special_tokens=False)["input_ids"]) for x in texts), default=0)
    caps = {
        "align.eval.max_tokens": int(o.eval["max_tokens"]),
        "align.grpo.max_completion_length": int(o.grpo.max_completion_length),
    }
    for name, cap in caps.items():
        if longest > cap:
            warnings.warn(
                f"{name} {cap} is below the longest taught completion ({longest} tokens): "
                f"replies as long as those the model learnt are cut before their closing "
                f"tag; raise {name}",
                stacklevel=2,
            )
    return longest


def model_path(o: Options, s: Settings, model: str) -> str:
    """What the backend loads for ``model`` (the base name, or the stage's folder)."""
    return o.model if model == "base" else str(Path(s.output_dir) / model)


def eval_config(cfg: Any, o: Options, s: Settings, model: str, digest: str) -> Any:
    """The runner config of ``eval/<model>/``: the run's config with the model as the
    only assistant (``llm_gtalign`` on ``align.eval.backend``), the stage's digest
    (``align_eval``) in place of the ``align`` node."""
    from omegaconf import OmegaConf

    base = OmegaConf.to_container(cfg, resolve=False) if OmegaConf.is_config(cfg) else dict(cfg)
    for key in ("align", "hydra", "output_dir"):
        base.pop(key, None)
    e = o.eval
    sub = OmegaConf.create(base)
    OmegaConf.set_struct(sub, False)
    sub.output_dir = str(Path(s.output_dir) / "eval" / model)
    sub.run_root = str(Path(s.output_dir).absolute())  # the models' folders: relocatable
    sub.backend = {**e["backend"], "model": model_path(o, s, model)}
    sub.user_backend = None
    sub.assistant_backend = None
    sub.llm_agents = "off"
    sub.assistants.names = [ASSISTANT]
    sub.llm.max_tokens = e["max_tokens"]
    sub.llm.temperature = float(e["temperature"])
    sub.llm.fallback = e["fallback"]
    sub.llm.instructions = o.synthesis.prompt.instructions  # what the model was trained on
    sub.align_eval = {"model": model, "digest": digest, "episodes": e["episodes"]}
    sub.resume = (Path(sub.output_dir) / "run.json").is_file()
    return sub


def arms(s: Settings, cfg: Any) -> list[Arm]:
    return [Arm(ASSISTANT, {"pricing": p}, {"pricing": p}) for p in PLANS]


def plan(s: Settings, cfg: Any) -> list[Any]:
    return episode_plan(s, int(cfg.align_eval.episodes))


def _eval_report(s: Settings, cfg: Any, rd: Any, wall: float | None) -> dict[str, Any]:
    """The sub-run's own accounting (failures per plan); the run's report reads it all."""
    from .rundir import iter_jsonl

    failures: dict[str, dict[str, Any]] = {}
    for _, rec in iter_jsonl(rd.episodes):
        f = failures.setdefault(rec["pricing"], {"failed": 0, "attempted": 0, "reasons": {}})
        f["attempted"] += 1
        if rec.get("failure"):
            f["failed"] += 1
            why = f"{rec['failure'].get('stage', '?')}: {rec['failure'].get('reason', '?')}"
            f["reasons"][why] = f["reasons"].get(why, 0) + 1
    return {"failures": failures}


def check_eval_dirs(subs: Mapping[str, Any]) -> None:
    """An evaluation directory made with another config is refused before any work."""
    from .rundir import RunDir, hashed_config

    for sub in subs.values():
        rd = RunDir(sub.output_dir)
        if rd.read_state() is not None:
            rd.check_resumable(hashed_config(sub))


def evaluate(subs: Mapping[str, Any], print_table: bool) -> dict[str, str]:
    from .rundir import RunDir

    done = {}
    for model, sub in subs.items():
        state = RunDir(sub.output_dir).read_state() or {}
        if state.get("status") == "complete":
            done[model] = "reused"
            continue
        if print_table:
            print(f"align_llm: eval {model} ...", flush=True)
        run_experiment(sub, arms, _eval_report, plan=plan)
        done[model] = "resumed" if sub.resume else "played"
    return done
