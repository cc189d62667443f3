"""The runner every experiment shares: arms played on paired episodes, streamed to disk.

An experiment is a list of :class:`Arm` — an assistant, the reset options it forces (a
user strategy, a pricing plan), optionally its own :class:`~gtalign_sim.core.WorldConfig`
— and a report. :func:`run_experiment` validates the config, plays every arm on the same
episode plan (episode ``i`` is the same task, hidden user and random draws in every arm:
common random numbers), appends each finished record to ``episodes.jsonl``
(:func:`~gtalign_sim.experiments.execution.execute`: resume, signals, atomic outputs,
failure accounting) and calls the experiment's report, which reads the file back.
:func:`report_experiment` re-renders a finished run without playing anything.

A new experiment is a YAML file in ``conf/experiment/`` plus a module with
``arms(s, cfg)`` and ``report(s, cfg, rundir, wall)``; see
:mod:`~gtalign_sim.experiments.clarification_game` for the smallest one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import Settings, validate, with_output_dir

__all__ = [
    "Arm",
    "Plan",
    "build_assistant",
    "env_factory",
    "episode_plan",
    "play_arms",
    "replays",
    "report_experiment",
    "run_experiment",
]

Plan = list[tuple[int, int, dict[str, Any]]]
"""``(episode index, episode seed, reset options)`` of every episode an arm plays."""


@dataclass(frozen=True)
class Arm:
    """One arm: ``assistant`` played on the plan with ``options`` forced at every reset.

    ``key`` names the arm in every record it writes (e.g. ``{"assistant": "oracle",
    "strategy": "DQ"}``; ``assistant`` is always part of it). ``world`` and
    ``population`` replace the run's for this arm (environment and assistant alike: the
    assistant plans with them); ``label`` is for progress bars.
    """

    assistant: str
    key: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    world: Any = None
    population: Any = None
    assistant_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, Any]:
        """The record fields naming this arm (``assistant`` first)."""
        return {"assistant": self.assistant, **self.key}

    @property
    def label(self) -> str:
        return " ".join(str(v) for v in self.fields.values())


def episode_plan(s: Settings, n: int | None = None) -> Plan:
    """The episodes every arm plays: ``n`` (default ``episodes_per_family × families``)
    seeds from the run seed, families in turn."""
    from ..envs.rollout import episode_seeds

    n = s.episodes_per_family * len(s.families) if n is None else n
    seeds = episode_seeds(s.seed, n)
    return [(i, seeds[i], {"family": s.families[i % len(s.families)]}) for i in range(n)]


def build_assistant(
    name: str,
    s: Settings,
    backends: Mapping[str, Any],
    world: Any = None,
    population: Any = None,
    **extra: Any,
) -> Any:
    """The assistant ``name`` configured from the settings (``world`` and ``population``
    default to the run's); ``extra`` keyword arguments go to its constructor."""
    from ..agents import EXACT_BEST_RESPONSES
    from ..agents import build_assistant as build

    kwargs: dict[str, Any] = {
        "world": s.world if world is None else world,
        "population": s.population if population is None else population,
        "seed": s.seed,
        **extra,
    }
    spec = (s.custom_assistants or {}).get(name)
    if spec is not None:  # a plug-in: built with the defaults its constructor accepts
        from ..core.plugin import instantiate, load_class

        params = dict(spec)
        field = f"assistants.custom.{name}._target_"
        cls = load_class(params.pop("_target_"), field, ("reset", "act"), "Assistant")
        return instantiate(cls, params, field, backend=backends["assistant"], **kwargs)
    if name == "llm_gtalign":
        from ..protocol import PromptConfig

        return build(
            name,
            backend=backends["assistant"],
            prompt=PromptConfig(instructions=s.llm.get("instructions", "full")),
            steering=s.llm.get("steering", "none"),
            max_tokens=int(s.llm.get("max_tokens", 1024)),
            temperature=float(s.llm.get("temperature", 0.0)),
            fallback=s.llm.get("fallback", "template"),
            on_backend_error=s.llm.get("on_backend_error", "fail"),
            rule=s.gtalign_rule,
            n_particles=s.n_particles,
            **kwargs,
        )
    if name in EXACT_BEST_RESPONSES:
        kwargs["n_particles"] = s.oracle_particles
    elif name != "random":
        kwargs["n_particles"] = s.n_particles
    if name == "gtalign":
        kwargs["rule"] = s.gtalign_rule
    return build(name, **kwargs)


def env_factory(
    s: Settings,
    bank: Any,
    user_spec: Mapping[str, Any],
    backends: Mapping[str, Any],
    world: Any = None,
    population: Any = None,
) -> Callable[[], Any]:
    """A function building the run's environment (a fresh user simulator each call);
    ``world`` and ``population`` default to the run's."""
    from ..core.plugin import load_class

    env_cls = load_class(s.env_target, "env._target_")

    world = s.world if world is None else world
    population = s.population if population is None else population

    spec = dict(user_spec)
    if spec.get("_target_") == "gtalign_sim.users.LLMUser":
        spec.setdefault("backend", backends["user"])

    def factory() -> Any:  # the env builds the user with its own world
        return env_cls(
            world=world,
            population=population,
            tasks=bank,
            families=s.families,
            user=dict(spec),
            aggregator=s.aggregator,
            assistant_reward=s.assistant_reward,
        )

    return factory


def replays(s: Settings) -> bool:
    """Whether a resume replays an arm's finished episodes (template backends: cheap and
    deterministic) rather than skipping them. Replaying restores what carries over from
    episode to episode — the ``random`` assistant's generator, learning users' beliefs —
    and checks each replayed record against the stored line."""
    return s.backend["name"] == "template"


def _arm_id(arm: Arm) -> str:
    return json.dumps(arm.fields, sort_keys=True, default=str)


def play_arms(
    s: Settings,
    arms: Sequence[Arm],
    plan: Plan,
    sink: Callable[[dict[str, Any]], None],
    done: Mapping[tuple[Any, ...], bytes] | None = None,
    stop: Any = None,
    keep: Sequence[str] | None = None,
) -> None:
    """Play every arm on ``plan``, handing each finished record to ``sink``.

    Each arm gets a fresh environment (its own user population, whose beliefs evolve
    over the arm when users learn) and its assistant reset once. A record is
    ``{episode, seed, **env record, decisions, **arm.fields}``, reduced to ``keep`` when
    given. ``done`` maps the stored records' keys (``arm.fields`` values then
    ``episode``) to their line digests: an arm with all of them stored is skipped, one
    with some is replayed from its start when :func:`replays` (each replayed record
    must reproduce its stored line) and otherwise plays only the missing episodes.
    ``stop.check()`` runs after every episode (it raises to stop).
    """
    from ..tasks.sources import load_task_bank
    from .backends import build_backends, close_backends, llm_judge
    from .progress import progress as make_progress
    from .rundir import line_digest

    done = done or {}
    bank = s.bank
    if bank is None:
        bank = load_task_bank(s.tasks or {}, s.families, s.tasks_per_family, s.task_seed)
    n = len(plan)
    backends = build_backends(s)
    user_spec = dict(s.user_spec)
    if user_spec.get("_target_") == "gtalign_sim.users.LLMUser":
        user_spec.setdefault("max_tokens", int(s.llm.get("user_max_tokens", 96)))
    assistants: dict[tuple[str, int, int, str], Any] = {}
    bar = make_progress(s.progress, total=n * len(arms), desc="episodes")
    try:
        with llm_judge(s, backends):
            for arm in arms:
                values = tuple(arm.fields.values())
                width = len(values)
                stored = {int(k[width]): d for k, d in done.items() if tuple(k[:width]) == values}
                bar.describe(arm.label)
                if len(stored) >= n:
                    bar.skip(n)
                    continue
                ident = (
                    arm.assistant,
                    id(arm.world),
                    id(arm.population),
                    json.dumps(dict(arm.assistant_kwargs), sort_keys=True, default=str),
                )
                if ident not in assistants:
                    assistants[ident] = build_assistant(
                        arm.assistant,
                        s,
                        backends,
                        arm.world,
                        arm.population,
                        **dict(arm.assistant_kwargs),
                    )
                assistant = assistants[ident]
                replay = bool(stored) and replays(s)
                todo = [
                    (i, seed, {**opts, **arm.options})
                    for i, seed, opts in plan
                    if replay or i not in stored
                ]
                if not replay:
                    bar.skip(n - len(todo))

                def on_episode(
                    rec: dict[str, Any], stored: Mapping[int, bytes] = stored, arm: Arm = arm
                ) -> None:
                    full = {**rec, **arm.fields}
                    if keep is not None:
                        full = {k: full[k] for k in keep if k in full}
                    digest = stored.get(int(full["episode"]))
                    if digest is None:
                        sink(full)
                    elif line_digest(json.dumps(full, sort_keys=True)) != digest:
                        raise RuntimeError(
                            f"resume: replaying episode {full['episode']} of arm "
                            f"{_arm_id(arm)} did not reproduce the stored record; the run "
                            "is not deterministic and cannot be resumed exactly"
                        )
                    bar.update()
                    if stop is not None:
                        stop.check()

                factory = env_factory(s, bank, user_spec, backends, arm.world, arm.population)
                _play(s, factory, assistant, todo, backends, on_episode)
    finally:
        bar.close()
        close_backends(backends)


def _play(
    s: Settings,
    factory: Callable[[], Any],
    assistant: Any,
    todo: Plan,
    backends: Mapping[str, Any],
    on_episode: Callable[[dict[str, Any]], None],
) -> None:
    """One arm's episodes: lockstep with batched LLM calls when there is a batcher,
    otherwise one environment played episode by episode."""
    batcher = backends.get("batcher")
    if batcher is not None and s.parallel > 1:
        from ..envs.lockstep import run_lockstep

        run_lockstep(
            factory,
            assistant,
            todo,
            n_parallel=s.parallel,
            batcher=batcher,
            on_episode=on_episode,
            keep_records=False,
        )
        return
    from ..envs.rollout import run_episode

    env = factory()
    assistant.reset()
    for index, seed, options in todo:
        rec = run_episode(env, assistant, seed, options)
        on_episode({"assistant": assistant.name, "episode": int(index), "seed": int(seed), **rec})


def run_experiment(
    cfg: Any,
    arms: Callable[[Settings, Any], Sequence[Arm]],
    report: Callable[[Settings, Any, Any, float | None], dict[str, Any]],
    plan: Callable[[Settings, Any], Plan] | None = None,
    keep: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Validate ``cfg``, play ``arms(s, cfg)`` on ``plan(s, cfg)`` (default
    :func:`episode_plan`), streaming to the run directory, then ``report(s, cfg, rundir,
    wall_seconds)``; returns the metrics. Exits 3 (:class:`TooManyFailures`) when more
    than ``max_failed_fraction`` of the episodes failed. Every check of the config runs
    before any episode is played."""
    from .execution import check_failures, execute

    s = validate(cfg)
    arm_list = list(arms(s, cfg))
    ids = [_arm_id(a) for a in arm_list]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{s.experiment}: two arms have the same key: {ids}")
    episodes = plan(s, cfg) if plan is not None else episode_plan(s)
    width = len(arm_list[0].fields) if arm_list else 1
    if any(len(a.fields) != width for a in arm_list):
        raise ValueError(f"{s.experiment}: every arm needs the same key fields")
    key_fields = (*arm_list[0].fields, "episode") if arm_list else ("assistant", "episode")
    metrics = execute(
        s,
        cfg,
        total=len(episodes) * len(arm_list),
        key_fields=key_fields,
        play=lambda sink, done, stop: play_arms(s, arm_list, episodes, sink, done, stop, keep),
        report=lambda rd, wall: report(s, cfg, rd, wall),
        may_skip_state=replays(s),
    )
    check_failures(metrics.get("failures") or {}, s.max_failed_fraction)
    return metrics


def report_experiment(
    cfg: Any,
    path: str | Path,
    report: Callable[[Settings, Any, Any, float | None], dict[str, Any]],
) -> dict[str, Any]:
    """Re-render a finished run in ``path`` (metrics, summary, plots) from its
    ``episodes.jsonl`` without playing anything."""

    from .rundir import RunDir

    rd = RunDir(path)
    if not rd.episodes.exists():
        raise ValueError(f"{rd.path}: no episodes.jsonl to report on")
    s = validate(with_output_dir(cfg, rd.path))
    return report(s, cfg, rd, None)
