"""``experiment=learning_dilemma``: does play under learning end in the dilemma?

The users learn too (:class:`gtalign_sim.train.UserLearner`: one policy shared by the
population, deciding from each user's own view — question type DQ/VQ, reply or stop —
rewarded with its own ``U``), against an assistant whose reward is each of
``learning_dilemma.rewards`` (default the L-only and the Cobb–Douglas √(U·L) variants),
in each of ``learning_dilemma.modes``:

* ``frozen`` — the assistant is trained first with PPO against the simulated users
  (``pretrain_steps``), then fixed (greedy) while the users learn;
* ``joint`` — both sides learn from scratch at once (independent learners).

Every (reward, mode) runs ``seeds`` times; run ``k`` uses the ``k``-th seed spawned from
the run seed for everything (the assistant's pre-training and PPO, the users' weights
and draws, the episodes), so run ``k`` of every condition shares its episodes' supply
and the conditions are compared paired by run. After ``updates`` rounds each run is
measured with learning off (``eval_envs`` × ``eval_steps`` turns on a held-out seed);
the ``reference`` row is the simulated users (their own choice model, not learning)
against each pre-trained assistant, the starting point of ``frozen``.

Each finished run is written to ``runs/<reward>_<mode>/seed<k>.json`` at once; an
interrupted run directory is continued by the same command (finished runs are kept).
The report (:mod:`.learning_dilemma_report`): per condition the final DQ share, U, L,
√(U·L), give-up share and the assistant's mode mix with t intervals over runs; paired
differences across runs; where play ends up; learning curves.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .options import (
    batched_env_kwargs,
    experiment_node,
    int_fields,
    mapping_field,
    name_list,
    require_batched_world,
    tunable_fields,
)
from .settings import Settings, validate, with_output_dir

__all__ = ["MODES", "RUN_DATA", "Options", "options", "report_run", "run", "run_seeds"]

MODES: tuple[str, ...] = ("frozen", "joint")
RUN_DATA = "runs"
"""What a run directory of this experiment holds its results in (``gtalign-sim report``)."""
_INTS: dict[str, tuple[int, int]] = {  # key: (minimum, default)
    "seeds": (2, 5),
    "pretrain_steps": (1, 40960),
    "updates": (1, 40),
    "n_envs": (1, 256),
    "rollout_steps": (1, 8),
    "eval_envs": (1, 1000),
    "eval_steps": (1, 8),
}
_PPO_MANAGED = {"seed", "reward", "env", "num_envs", "rollout_steps", "total_steps"}


@dataclass(frozen=True)
class Options:
    """``cfg.learning_dilemma``, checked (see :func:`options`)."""

    rewards: tuple[str, ...]
    modes: tuple[str, ...]
    seeds: int
    pretrain_steps: int
    updates: int
    n_envs: int
    rollout_steps: int
    eval_envs: int
    eval_steps: int
    users: dict[str, Any]
    ppo: dict[str, Any]


def options(cfg: Any) -> Options:
    """``cfg.learning_dilemma`` checked (one-line ``ValueError`` naming the field)."""
    from ..train import REWARDS, PPOConfig
    from ..train.users import UserLearnerConfig

    section = "learning_dilemma"
    node = experiment_node(cfg, section, ["rewards", "modes", *_INTS, "users", "ppo"])
    rewards = name_list(node, "rewards", list(REWARDS), ["llm_only", "cobb_douglas"], section)
    modes = name_list(node, "modes", list(MODES), list(MODES), section)
    ints = int_fields(node, _INTS, section)
    users, ppo = mapping_field(node, "users", section), mapping_field(node, "ppo", section)
    try:
        UserLearnerConfig.from_dict(users)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{section}.{exc}") from None
    tunable_fields(ppo, PPOConfig, _PPO_MANAGED, f"{section}.ppo")
    return Options(tuple(rewards), tuple(modes), users=dict(users), ppo=dict(ppo), **ints)


def run_seeds(seed: int, n: int) -> list[int]:
    """The seeds of the ``n`` runs of every condition, spawned from the run seed."""
    return [int(k.generate_state(1)[0]) for k in np.random.SeedSequence(seed).spawn(n)]


class _Runner:
    """One run: a condition (reward, mode) on one seed."""

    def __init__(self, s: Settings, cfg: Any, o: Options, bank: Any) -> None:
        self.s, self.o, self.bank = s, o, bank
        self.env = batched_env_kwargs(s, cfg)
        self._pretrained: dict[tuple[str, int], Any] = {}

    def ppo(self, reward: str, seed: int, steps: int) -> Any:
        from ..train import PPOConfig

        return PPOConfig(
            seed=seed,
            reward=reward,
            num_envs=self.o.n_envs,
            rollout_steps=self.o.rollout_steps,
            total_steps=steps,
            **{"eval_episodes": 0, **self.o.ppo},
            env=self.env,
        )

    def engine(self, n: int, reward: str, users: Any) -> Any:
        from ..envs.batched import BatchedClarificationEngine
        from ..train.dilemma import ObservedEngine

        eng = BatchedClarificationEngine(
            n, tasks=self.bank, aggregator=reward, user_agent=users, **self.env
        )
        return ObservedEngine(eng, users)

    def pretrained(self, reward: str, seed: int) -> Any:
        """The assistant trained on ``reward`` against the simulated users (cached)."""
        from ..train import PPOTrainer

        key = (reward, seed)
        if key not in self._pretrained:
            trainer = PPOTrainer(self.ppo(reward, seed, self.o.pretrain_steps), tasks=self.bank)
            trainer.train()
            self._pretrained[key] = trainer
        return self._pretrained[key]

    def evaluate(self, policy: Any, reward: str, users: Any, seed: int) -> dict[str, float]:
        from ..train.dilemma import evaluate_play

        env = self.engine(self.o.eval_envs, reward, users)
        return evaluate_play(env, policy, self.o.eval_steps, seed + 1)

    def reference(self, reward: str, seed: int) -> dict[str, Any]:
        """The simulated users against the pre-trained assistant."""
        t = time.perf_counter()
        trainer = self.pretrained(reward, seed)
        final = self.evaluate(trainer.act, reward, None, seed)
        return {"final": final, "curve": [], "wall_s": time.perf_counter() - t}

    def learn(self, reward: str, mode: str, seed: int) -> dict[str, Any]:
        """Users learning against the frozen pre-trained assistant, or both learning."""
        from ..train import PPOTrainer
        from ..train.dilemma import learn_together
        from ..train.users import UserLearner, UserLearnerConfig

        t = time.perf_counter()
        users = UserLearner(UserLearnerConfig.from_dict({**self.o.users, "seed": seed}))
        env = self.engine(self.o.n_envs, reward, users)
        steps = self.o.updates * self.o.n_envs * self.o.rollout_steps
        if mode == "frozen":
            policy = self.pretrained(reward, seed).act
            assistant: Any = policy
        else:
            assistant = PPOTrainer(self.ppo(reward, seed, steps), env=env, tasks=self.bank)
            policy = assistant.act
        curve = learn_together(
            env, assistant, self.o.updates, self.o.rollout_steps, seed=seed, users_learn=True
        )
        users.greedy = False
        final = self.evaluate(policy, reward, users, seed)
        return {"final": final, "curve": curve, "wall_s": time.perf_counter() - t}


def conditions(o: Options) -> list[tuple[str, str]]:
    """``(reward, mode)`` of every condition, ``reference`` first for each reward."""
    return [(r, m) for r in o.rewards for m in ("reference", *o.modes)]


def run_path(out: Path, reward: str, mode: str, k: int) -> Path:
    """Where run ``k`` of a condition is kept in the run directory ``out``."""
    return Path(out) / "runs" / f"{reward}_{mode}" / f"seed{k}.json"


def run(cfg: Any) -> dict[str, Any]:
    """Check everything, run every condition's missing runs (each written as it ends),
    then write the report; returns the metrics."""
    from .rundir import RunDir, hashed_config, write_config, write_text_atomic

    o = options(cfg)
    s = validate(cfg)
    require_batched_world(s, "learning_dilemma", "the batched engine the policies learn on")
    try:
        import torch  # noqa: F401
        import torchrl  # noqa: F401
    except ImportError as exc:
        raise ValueError(
            f"learning_dilemma needs torch and torchrl (pip install -e '.[train]'): {exc}"
        ) from None
    rd = RunDir(s.output_dir)
    config = hashed_config(cfg)
    stored = rd.read_state()
    if stored is not None and stored.get("status") != "running" and not s.resume:
        raise ValueError(
            f"{rd.path} already holds a run: continue it with resume=true, or choose another "
            "hydra.run.dir / output_dir"
        )
    if stored is not None:
        rd.check_resumable(config)
    seeds = run_seeds(s.seed, o.seeds)
    todo = [(r, m, k) for r, m in conditions(o) for k in range(o.seeds)]
    done = sum(run_path(s.output_dir, r, m, k).is_file() for r, m, k in todo)
    rd.start(config, total=len(todo), done=done, resume=stored is not None)
    if not (rd.path / "config.yaml").exists():
        write_config(rd.path, cfg)
    bank = s.bank
    if bank is None:
        from ..tasks.sources import load_task_bank

        bank = load_task_bank(s.tasks or {}, s.families, s.tasks_per_family, s.task_seed)
    runner = _Runner(s, cfg, o, bank)
    t0 = time.perf_counter()
    for reward, mode, k in todo:
        path = run_path(s.output_dir, reward, mode, k)
        if path.is_file():
            continue
        if mode == "reference":
            result = runner.reference(reward, seeds[k])
        else:
            result = runner.learn(reward, mode, seeds[k])
        result.update(reward=reward, mode=mode, run=k, seed=seeds[k])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(result, indent=1, allow_nan=True) + "\n")
        done += 1
        rd.save(done=done)
        if s.print_table:
            f = result["final"]
            print(
                f"learning_dilemma: {reward}/{mode} run {k} ({result['wall_s']:.1f}s): "
                f"DQ {f['dq_share']:.3f}  U {f['user_welfare']:.3f}  "
                f"L {f['llm_welfare']:.3f}  √(U·L) {f['mutual_welfare']:.3f}"
            )
    metrics = report_run(cfg, s.output_dir, wall=time.perf_counter() - t0)
    rd.finish("complete", done=done)
    return metrics


def report_run(cfg: Any, path: str | Path, wall: float | None = None) -> dict[str, Any]:
    """Write (or re-render) the report of the runs in ``path``."""
    from .learning_dilemma_report import report

    o = options(cfg)
    runs = []
    for reward, mode in conditions(o):
        for k in range(o.seeds):
            p = run_path(Path(path), reward, mode, k)
            if not p.is_file():
                raise ValueError(f"{path}: run {p.relative_to(Path(path))} is missing")
            runs.append(json.loads(p.read_text(encoding="utf-8")))
    return report(validate(with_output_dir(cfg, path)), o, runs, Path(path), wall)
