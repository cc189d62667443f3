"""``experiment=align_llm``: the paper's pipeline on a real LLM, measured in the simulator.

Stages, each kept in the run directory and skipped when a rerun finds it finished (its
``stage.json``, written last, holds a digest of its config chained to the stages it
used; a training stage in progress when a run stops resumes from its last checkpoint,
``align.sft.save_steps`` / ``align.grpo.save_steps``, or else is redone from its start):

1. ``data/`` — :func:`gtalign_sim.train.llm.synthesize`: the planner plays the run's
   simulator (world, population, user, task bank) and writes four-block traces with
   best-of-N (``align.data``). Its episode seeds derive from the run seed on a stream
   apart from the evaluation's, so no evaluation episode is trained on (tasks recur: the
   bank is shared).
2. ``sft/`` — :func:`~gtalign_sim.train.llm.train_sft` from ``align.model``.
3. ``grpo/`` — :func:`~gtalign_sim.train.llm.train_grpo` from the SFT folder on the
   mutual-welfare reward (``align.grpo``: every :class:`GRPORunConfig` field but the
   managed ``model``, ``output_dir``, ``seed``, ``device``; ``mode`` is passed through
   where the installed ``GRPORunConfig`` has it).
4. ``eval/<model>/`` for ``base``, ``sft``, ``grpo`` — each model is the LLM assistant
   (``llm_gtalign`` through ``align.eval.backend``) on the *same* episode plan
   (:func:`~gtalign_sim.experiments.runner.episode_plan`, ``align.eval.episodes``) played
   twice, under a subscription and per token at list price (common random numbers across
   models and plans), against the run's simulated user with the run's judge. Each is a
   runner run directory (``run.json``, ``episodes.jsonl``), resumed where it stopped.

The report (:mod:`~gtalign_sim.experiments.align_llm_report`) writes ``summary.md``,
``metrics.json``, ``metrics.csv`` and figures from the three ``episodes.jsonl``; a
finished run re-renders with ``gtalign-sim report <run dir>``. A config that differs from
the one a finished stage was made with is refused (one line) before any work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .align_llm_eval import (
    MODELS,
    PLANS,
    check_eval_dirs,
    check_reply_caps,
    eval_config,
    evaluate,
)
from .align_llm_options import STAGES, Options, check_compatible, data_seed, options
from .settings import Settings, container, validate, with_output_dir

__all__ = [
    "MODELS",
    "PLANS",
    "RUN_DATA",
    "STAGES",
    "Options",
    "data_seed",
    "eval_config",
    "options",
    "report_run",
    "run",
    "stage_digests",
]

RUN_DATA = "eval"
"""What ``gtalign-sim report`` looks for in a run directory."""


# ------------------------------------------------------------------------------ stages


def _digest(obj: Any) -> str:
    from .rundir import config_hash

    return config_hash(json.loads(json.dumps(obj, default=str)))


def _plain(config: Any) -> dict[str, Any]:
    d = asdict(config)
    if "env" in d:
        d["env"] = {k: v for k, v in d["env"].items() if k != "tasks"}
    return d


def _trained_by(config: Any, root: str | Path) -> dict[str, Any]:
    """A training config without the fields that do not change the weights, its paths
    inside the run directory ``root`` relative to it."""
    from ..core.paths import relocatable
    from ..train.llm.common import CHECKPOINT_FIELDS

    d = {k: v for k, v in _plain(config).items() if k not in CHECKPOINT_FIELDS}
    return relocatable(d, root)


def stage_digests(o: Options, cfg: Any, root: str | Path) -> dict[str, str]:
    """Each stage's digest: its own config chained with the digests of what it used
    (``data`` ← task spec; ``sft`` ← data; ``grpo`` ← sft). The base model's is its name.
    ``save_steps`` is left out: a resumed run ends with the weights of an uninterrupted one;
    paths inside the run directory ``root`` count relative to it: a moved or copied run
    directory keeps its digests."""
    tasks = container(cfg.get("tasks")) or {}
    data = _digest({"synthesis": _plain(o.synthesis), "tasks": tasks})
    sft = _digest({"sft": _trained_by(o.sft, root), "data": data})
    grpo = _digest({"grpo": _trained_by(o.grpo, root), "sft": sft})
    return {"data": data, "sft": sft, "grpo": grpo, "base": _digest({"model": o.model})}


def _stage_file(out: Path, stage: str) -> Path:
    return out / stage / "stage.json"


def _finished(out: Path, stage: str, digest: str) -> bool:
    """Whether ``stage`` is finished with ``digest``; another digest is refused."""
    f = _stage_file(out, stage)
    if not f.is_file():
        return False
    stored = json.loads(f.read_text(encoding="utf-8"))
    if stored.get("digest") != digest:
        raise ValueError(
            f"{out / stage} was made with another config (digest {stored.get('digest', '?')[:12]} "
            f"!= {digest[:12]}); choose another hydra.run.dir / output_dir"
        )
    return True


def _finish(out: Path, stage: str, digest: str, config: Any, t0: float, **extra: Any) -> None:
    from .rundir import write_text_atomic

    body = {"stage": stage, "digest": digest, "config": _plain(config)}
    body |= {"wall_seconds": round(time.perf_counter() - t0, 1), **extra}
    write_text_atomic(_stage_file(out, stage), json.dumps(body, indent=2, default=str) + "\n")


def _examples(out: Path) -> list[dict[str, Any]]:
    path = out / "data" / "examples.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


def _train_grpo(o: Options, examples: Any) -> Any:
    """GRPO from the SFT folder: single-turn on the synthesized prompts, or multi-turn on
    the openings of the synthesis episodes, played out against the run's own simulator."""
    from ..train.llm.grpo import train_grpo

    if getattr(o.grpo, "mode", "single_turn") != "multi_turn":
        return train_grpo(o.grpo, examples)
    from ..train.llm.multiturn import EpisodeRollout, openings_dataset

    env, prompt = o.synthesis.env, o.synthesis.prompt
    dataset = openings_dataset(o.synthesis.n_episodes, o.synthesis.seed, env=env, prompt=prompt)
    rollout = EpisodeRollout.from_dataset(
        dataset,
        env=env,
        prompt=prompt,
        max_new_tokens=o.grpo.max_completion_length,
        seed=o.grpo.seed,
    )
    return train_grpo(o.grpo, dataset, rollout=rollout)


def _train(s: Settings, o: Options, digests: Mapping[str, str]) -> dict[str, str]:
    """Run the training stages not finished yet; returns what happened to each."""
    from ..train.llm.data import synthesize, to_dataset
    from ..train.llm.sft import train_sft
    from .rundir import write_text_atomic

    out, done = Path(s.output_dir), {}
    stages = STAGES[: STAGES.index(o.until) + 1] if o.until else STAGES
    examples: list[dict[str, Any]] | None = None
    for stage in stages:
        if stage != "data" and examples is None:  # read once the data stage is done
            examples = _examples(out)
            check_reply_caps(o, examples)  # its replies must fit GRPO's and eval's caps
        if _finished(out, stage, digests[stage]):
            done[stage] = "reused"
            continue
        t0 = time.perf_counter()
        if s.print_table:
            print(f"align_llm: {stage} ...", flush=True)
        if stage == "data":
            rows = synthesize(o.synthesis)
            lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
            write_text_atomic(out / "data" / "examples.jsonl", lines)
            episodes = len({r["episode"] for r in rows})
            _finish(
                out, stage, digests[stage], o.synthesis, t0, examples=len(rows), episodes=episodes
            )
        elif stage == "sft":
            result = train_sft(o.sft, to_dataset(examples))
        else:
            result = _train_grpo(o, to_dataset(examples))
        if stage != "data":
            config = o.sft if stage == "sft" else o.grpo
            losses = [h for h in result.log_history if "loss" in h or "reward" in h]
            resumed = {"resumed_from": result.resumed_from} if result.resumed_from else {}
            _finish(
                out,
                stage,
                digests[stage],
                config,
                t0,
                logged_steps=len(losses),
                train_seconds=result.train_seconds,
                **resumed,
            )
        done[stage] = "trained"
        if s.print_table:
            print(f"align_llm: {stage} done ({time.perf_counter() - t0:.1f}s)", flush=True)
    return done


# ------------------------------------------------------------------------------ entry points


def run(cfg: Any) -> dict[str, Any]:
    """Check everything, run the stages not finished in the run directory, evaluate the
    three models on the same episodes and write the report; returns the metrics."""
    from .rundir import write_config

    s = validate(cfg)
    check_compatible(s, cfg)
    o = options(cfg, s)
    for module in ("torch", "transformers", "trl", "datasets"):
        try:
            __import__(module)
        except ImportError as exc:
            raise ValueError(
                f"align_llm needs {module} (pip install -e '.[llm,train]'): {exc}"
            ) from None
    out = Path(s.output_dir)
    digests = stage_digests(o, cfg, out)
    for stage in STAGES:
        _finished(out, stage, digests[stage])
    subs = {m: eval_config(cfg, o, s, m, digests[m]) for m in MODELS}
    for sub in subs.values():
        validate(sub)
    check_eval_dirs(subs)
    if not (out / "config.yaml").is_file():
        write_config(out, cfg)
    stages = _train(s, o, digests)
    if o.until is not None:  # the next run (without align.until) goes on from here
        print(
            f"align_llm: stopped after {o.until} (align.until); rerun without it to continue",
            flush=True,
        )
        return {"experiment": "align_llm", "stopped_after": o.until, "stages": stages}
    stages |= {f"eval_{m}": v for m, v in evaluate(subs, s.print_table).items()}
    return _report(s, cfg, o, digests, stages)


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Re-render the finished run in ``path`` from its stages and evaluation episodes."""
    cfg = with_output_dir(cfg, path)
    s = validate(cfg)
    o = options(cfg, s)
    return _report(s, cfg, o, stage_digests(o, cfg, s.output_dir), {})


def _report(
    s: Settings, cfg: Any, o: Options, digests: Mapping[str, str], stages: Mapping[str, str]
) -> dict[str, Any]:
    from .align_llm_report import report

    out = Path(s.output_dir)
    info: dict[str, Any] = {}
    for stage in STAGES:
        f = _stage_file(out, stage)
        if f.is_file():
            stored = json.loads(f.read_text(encoding="utf-8"))
            info[stage] = {k: v for k, v in stored.items() if k != "config"}
    for m in MODELS:
        state = json.loads((out / "eval" / m / "run.json").read_text(encoding="utf-8"))
        info[f"eval_{m}"] = {
            "status": state.get("status"),
            "wall_seconds": state.get("wall_seconds"),
        }
    for k, v in stages.items():
        info.setdefault(k, {})["this_run"] = v
    sub = eval_config(cfg, o, s, "base", digests["base"])
    return report(s, validate(sub), o, out, info)
