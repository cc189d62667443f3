"""``experiment=clarification_game``: every assistant against the same users and tasks.

Each assistant in ``assistants.names`` plays ``episodes_per_family × len(families)``
episodes; episode ``i`` uses the same task, hidden user and random draws for every
assistant (common random numbers), while each assistant faces its own population of
users whose beliefs about it evolve over the run. Writes into the run directory:
``config.yaml`` (resolved), ``episodes.jsonl``, ``metrics.json``, ``summary.md`` and PNG
plots, and prints a table.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

__all__ = ["Settings", "run", "validate"]

from ..core.vocab import FAMILIES


@dataclass
class Settings:
    """The validated settings of a run (everything is checked before any work starts)."""

    seed: int
    families: tuple[str, ...]
    episodes_per_family: int
    assistants: tuple[str, ...]
    n_particles: int
    oracle_particles: int
    gtalign_rule: str
    world: Any
    population: Any
    user_spec: dict[str, Any]
    aggregator: str
    assistant_reward: str
    tasks_per_family: int
    task_seed: int
    output_dir: Path
    backend: dict[str, Any]
    user_backend: dict[str, Any] | None
    assistant_backend: dict[str, Any] | None
    llm: dict[str, Any]
    judge: str
    judge_backend: dict[str, Any] | None
    parallel: int
    progress: bool
    plots: bool
    print_table: bool
    resume: bool = False
    fsync_lines: int = 64
    fsync_seconds: float = 2.0


def _container(node: Any) -> Any:
    if isinstance(node, DictConfig) or OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _fraction(cfg: Any, key: str, default: float) -> float:
    value = cfg.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{key} must be a number in [0, 1], got {value!r}")
    return float(value)


def _int(cfg: Any, key: str, minimum: int) -> int:
    value = cfg.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def _bool(cfg: Any, key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def _seconds(cfg: Any, key: str, default: float) -> float:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def validate(cfg: Any) -> Settings:
    """Check the config and build the run's parts; errors list the valid choices."""
    from ..agents import ASSISTANTS
    from ..game import SELECTION_RULES
    from ..users import PRICING_PLANS, UserPopulation, WorldConfig, load_user_class
    from ..welfare import AGGREGATORS

    families = tuple(_container(cfg.get("families")) or ())
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        raise ValueError(f"families {list(families)} invalid; valid choices: {list(FAMILIES)}")
    acfg = cfg.get("assistants") or {}
    names = tuple(_container(acfg.get("names")) or ())
    unknown = [n for n in names if n not in ASSISTANTS]
    if unknown or not names:
        raise ValueError(
            f"assistants.names {list(names)} invalid; valid choices: {sorted(ASSISTANTS)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"assistants.names has duplicates: {list(names)}")
    rule = str(acfg.get("gtalign_rule", "gtalign"))
    if rule not in SELECTION_RULES:
        raise ValueError(
            f"assistants.gtalign_rule {rule!r} invalid; valid choices: {list(SELECTION_RULES)}"
        )
    plans = _container((cfg.get("pricing") or {}).get("plans")) or {}
    bad_plans = [p for p in plans if p not in PRICING_PLANS]
    if bad_plans or not plans:
        raise ValueError(f"pricing.plans {plans} invalid; valid plan names: {list(PRICING_PLANS)}")
    aggregator = str((cfg.get("welfare") or {}).get("aggregator", "cobb_douglas"))
    if aggregator not in AGGREGATORS:
        raise ValueError(
            f"welfare.aggregator {aggregator!r} invalid; valid choices: {sorted(AGGREGATORS)}"
        )
    env_cfg = cfg.get("env") or {}
    world = WorldConfig.from_config(_container(env_cfg.get("world")) or {})
    pop_cfg = dict(_container(cfg.get("population")) or {})
    pop_cfg["pricing"] = plans
    population = UserPopulation.from_config(pop_cfg)
    user_spec = dict(_container(cfg.get("user")) or {})
    load_user_class(user_spec.get("_target_", "gtalign_sim.users.ParametricUser"))
    reward = str(env_cfg.get("assistant_reward", "aggregate"))
    if reward not in ("aggregate", "llm"):
        raise ValueError(
            f"env.assistant_reward {reward!r} invalid; valid choices: ['aggregate', 'llm']"
        )
    from ..agents.llm import BACKEND_ERROR_POLICIES, FALLBACKS, STEERING
    from ..backends import BACKENDS, check_backend_spec

    def backend_spec(node: Any, key: str) -> dict[str, Any] | None:
        if node is None:
            return None
        spec = dict(_container(node))
        if spec.get("name") not in BACKENDS:
            raise ValueError(
                f"{key}.name {spec.get('name')!r} invalid; valid choices: {list(BACKENDS)}"
            )
        check_backend_spec(spec, key)
        return spec

    backend = backend_spec(cfg.get("backend") or {"name": "template"}, "backend")
    assert backend is not None
    user_backend = backend_spec(cfg.get("user_backend"), "user_backend")
    assistant_backend = backend_spec(cfg.get("assistant_backend"), "assistant_backend")
    llm = dict(_container(cfg.get("llm")) or {})
    if llm.get("steering", "none") not in STEERING:
        raise ValueError(
            f"llm.steering {llm.get('steering')!r} invalid; valid choices: {list(STEERING)}"
        )
    if llm.get("on_backend_error", "fail") not in BACKEND_ERROR_POLICIES:
        raise ValueError(
            f"llm.on_backend_error {llm.get('on_backend_error')!r} invalid; valid choices: "
            f"{list(BACKEND_ERROR_POLICIES)}"
        )
    if llm.get("fallback", "template") not in FALLBACKS:
        raise ValueError(
            f"llm.fallback {llm.get('fallback')!r} invalid; valid choices: {list(FALLBACKS)}"
        )
    judge = str(cfg.get("judge", "rules"))
    if judge not in ("rules", "llm"):
        raise ValueError(f"judge {judge!r} invalid; valid choices: ['llm', 'rules']")
    judge_backend = backend_spec(cfg.get("judge_backend"), "judge_backend")
    mode = str(cfg.get("llm_agents", "auto"))
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"llm_agents {mode!r} invalid; valid choices: ['auto', 'off', 'on']")
    use_llm = mode == "on" or (mode == "auto" and backend["name"] != "template")
    if use_llm:
        default_user = user_spec.get("_target_", "gtalign_sim.users.ParametricUser")
        if default_user == "gtalign_sim.users.ParametricUser":
            user_spec = {**user_spec, "_target_": "gtalign_sim.users.LLMUser"}
        if "llm_gtalign" not in names:
            names = ("llm_gtalign", *names)
    out = cfg.get("output_dir") or "outputs/clarification_game"
    return Settings(
        seed=_int(cfg, "seed", 0),
        families=families,
        episodes_per_family=_int(cfg, "episodes_per_family", 1),
        assistants=names,
        n_particles=_int(acfg, "n_particles", 1),
        oracle_particles=_int(acfg, "oracle_particles", 1),
        gtalign_rule=rule,
        world=world,
        population=population,
        user_spec=user_spec,
        aggregator=aggregator,
        assistant_reward=reward,
        tasks_per_family=_int(env_cfg, "tasks_per_family", 1),
        task_seed=_int(env_cfg, "task_seed", 0),
        output_dir=Path(str(out)),
        backend=backend,
        user_backend=user_backend,
        assistant_backend=assistant_backend,
        llm=llm,
        judge=judge,
        judge_backend=judge_backend,
        parallel=_int(cfg, "parallel", 1),
        progress=_bool(cfg, "progress", True),
        plots=_bool(cfg, "plots", True),
        print_table=_bool(cfg, "print_table", True),
        resume=_bool(cfg, "resume", False),
        fsync_lines=_int(cfg, "fsync_lines", 1) if cfg.get("fsync_lines") is not None else 64,
        fsync_seconds=_seconds(cfg, "fsync_seconds", 2.0),
    )


def _assistant(name: str, s: Settings, backends: dict[str, Any]) -> Any:
    from ..agents import EXACT_BEST_RESPONSES, build_assistant

    kwargs: dict[str, Any] = {"world": s.world, "population": s.population, "seed": s.seed}
    if name == "llm_gtalign":
        return build_assistant(
            name,
            backend=backends["assistant"],
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
    return build_assistant(name, **kwargs)


_KEY = ("assistant", "episode")


def episode_plan(s: Settings) -> list[tuple[int, int, dict[str, Any]]]:
    """``(index, seed, options)`` of every episode each assistant plays (the same for all)."""
    from ..envs.rollout import episode_seeds

    n = s.episodes_per_family * len(s.families)
    seeds = episode_seeds(s.seed, n)
    return [(i, seeds[i], {"family": s.families[i % len(s.families)]}) for i in range(n)]


def _play_plan(
    factory: Callable[[], Any],
    assistant: Any,
    plan: list[tuple[int, int, dict[str, Any]]],
    on_episode: Callable[[dict[str, Any]], None],
) -> None:
    """:func:`~gtalign_sim.envs.rollout.run_episodes` without keeping the records: one
    environment (one user simulator) for the plan, the assistant reset once."""
    from ..envs.rollout import run_episode

    env = factory()
    assistant.reset()
    for index, seed, options in plan:
        rec = run_episode(env, assistant, seed, options)
        on_episode({"assistant": assistant.name, "episode": int(index), "seed": int(seed), **rec})


def _replays(s: Settings) -> bool:
    """Whether a resume replays an assistant's finished episodes (template backends: cheap
    and deterministic) rather than skipping them. Replaying restores what carries over
    from episode to episode — the ``random`` assistant's generator, learning users'
    beliefs — and checks each replayed record against the stored line."""
    return s.backend["name"] == "template"


def play(
    s: Settings,
    sink: Callable[[dict[str, Any]], None],
    done: Mapping[tuple[str, int], bytes] | None = None,
    stop: Any = None,
) -> None:
    """Play every assistant on the episode plan, handing each finished record to ``sink``.

    ``done`` maps the ``(assistant, episode)`` pairs already stored to their line digests
    (:func:`line_digest`): those are not handed to ``sink`` again. An assistant with all
    its episodes done is skipped; one with some done replays them first when
    :func:`_replays` (each must reproduce its stored line) and otherwise plays only the
    missing ones. ``stop.check()`` runs after every episode (it raises to stop).
    """
    from ..tasks import TaskBank
    from .rundir import line_digest

    done = done or {}
    bank = TaskBank.build(families=s.families, per_family=s.tasks_per_family, seed=s.task_seed)
    plan = episode_plan(s)
    n = len(plan)

    backends = _backends(s)
    user_spec = dict(s.user_spec)
    if user_spec.get("_target_") == "gtalign_sim.users.LLMUser":
        user_spec.setdefault("max_tokens", int(s.llm.get("user_max_tokens", 96)))

    factory = env_factory(s, bank, user_spec, backends)

    restore: dict[str, Any] = {}
    if s.judge == "llm":
        from ..agents.llm_judge import LLMJudge
        from ..tasks.judges import register_judge

        judge_backend = _make_backend(s.judge_backend) if s.judge_backend else backends["main"]
        backends["judge"] = judge_backend
        llm_judge = LLMJudge(backend=judge_backend)
        restore = {f: register_judge(f, llm_judge) for f in s.families}
    progress, task_id = _progress(s.progress, total=n * len(s.assistants))
    try:
        for name in s.assistants:
            stored = {ep: d for (a, ep), d in done.items() if a == name}
            if progress is not None:
                progress.update(task_id, description=f"{name:>15}")
            if len(stored) >= n:
                if progress is not None:
                    progress.advance(task_id, n)
                continue
            assistant = _assistant(name, s, backends)
            replay = bool(stored) and _replays(s)
            todo = plan if replay else [p for p in plan if p[0] not in stored]
            if progress is not None and not replay:
                progress.advance(task_id, n - len(todo))

            def on_episode(rec: dict[str, Any], stored: Mapping[int, bytes] = stored) -> None:
                digest = stored.get(rec["episode"])
                if digest is None:
                    sink(rec)
                elif line_digest(json.dumps(rec, sort_keys=True)) != digest:
                    raise RuntimeError(
                        f"resume: replaying episode {rec['episode']} of {rec['assistant']!r} "
                        "did not reproduce the stored record; the run is not deterministic "
                        "and cannot be resumed exactly"
                    )
                if progress is not None:
                    progress.advance(task_id)
                if stop is not None:
                    stop.check()

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
                )
            else:
                _play_plan(factory, assistant, todo, on_episode)
    finally:
        if progress is not None:
            progress.stop()
        if restore:
            from ..tasks.judges import register_judge

            for f, j in restore.items():
                register_judge(f, j)
        closed = {id(backends[k]) for k in ("batcher",) if k in backends}
        for b in {id(v): v for v in backends.values() if v is not None}.values():
            if id(b) not in closed:
                b.close()


def env_factory(
    s: Settings, bank: Any, user_spec: dict[str, Any], backends: dict[str, Any]
) -> Callable[[], Any]:
    """A function building the run's environment (a fresh user simulator each call)."""
    from ..envs.clarification import ClarificationGameEnv

    def factory() -> ClarificationGameEnv:
        return ClarificationGameEnv(
            world=s.world,
            population=s.population,
            tasks=bank,
            families=s.families,
            user=_build_user(user_spec, s, backends),
            aggregator=s.aggregator,
            assistant_reward=s.assistant_reward,
        )

    return factory


def _make_backend(spec: dict[str, Any]) -> Any:
    from ..backends import build_backend

    params = dict(spec)
    return build_backend(str(params.pop("name")), **params)


def _backends(s: Settings) -> dict[str, Any]:
    """The backends of a run, built once and shared (a model is loaded once)."""
    make = _make_backend
    main = make(s.backend)
    out: dict[str, Any] = {
        "main": main,
        "user": make(s.user_backend) if s.user_backend else main,
        "assistant": make(s.assistant_backend) if s.assistant_backend else main,
    }
    if s.backend["name"] != "template" and s.parallel > 1 and not s.user_backend:
        # lockstep: users' and the LLM assistant's calls of one round go out as one batch
        from ..envs.lockstep import BatchingBackend

        batcher = BatchingBackend(main)
        out["batcher"] = batcher
        out["user"] = batcher
        if not s.assistant_backend:
            out["assistant"] = batcher
    return out


def _build_user(spec: dict[str, Any], s: Settings, backends: dict[str, Any]) -> Any:
    from ..users import build_user

    defaults: dict[str, Any] = {"world": s.world}
    if spec.get("_target_") == "gtalign_sim.users.LLMUser":
        defaults["backend"] = backends["user"]
    return build_user(spec, **defaults)


def _progress(enabled: bool, total: int) -> tuple[Any, Any]:
    if not enabled:
        return None, None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
    progress.start()
    return progress, progress.add_task("episodes", total=total)


def run(cfg: Any) -> dict[str, Any]:
    """Validate, play (streaming each episode to ``episodes.jsonl``), and write the run's
    files; returns the metrics dict. ``resume=true`` continues the run in the directory;
    SIGINT/SIGTERM stop it after the current episode (``SystemExit`` 130/143)."""
    max_failed = _fraction(cfg, "max_failed_fraction", 0.05)
    s = validate(cfg)
    n = s.episodes_per_family * len(s.families)
    metrics = execute(
        s,
        cfg,
        total=n * len(s.assistants),
        key_fields=_KEY,
        play=lambda sink, done, stop: play(s, sink, _pairs(done), stop),
        report=lambda rd, wall: _report(s, rd, wall),
        may_skip_state=_replays(s),
    )
    check_failures(metrics.get("failures") or {}, max_failed)
    return metrics


def _pairs(done: Mapping[tuple[Any, ...], bytes]) -> dict[tuple[str, int], bytes]:
    return {(str(a), int(e)): d for (a, e), d in done.items()}


def execute(
    s: Settings,
    cfg: Any,
    total: int,
    key_fields: tuple[str, ...],
    play: Callable[[Callable[[dict[str, Any]], None], Any, Any], None],
    report: Callable[[Any, float], dict[str, Any]],
    may_skip_state: bool,
) -> dict[str, Any]:
    """The run-directory protocol shared by the experiments: state in ``run.json``,
    episodes appended and flushed as they finish, resume, signals, atomic outputs.

    ``play(sink, done, stop)`` plays what is missing from ``done`` (stored keys to line
    digests), handing each new record to ``sink`` and calling ``stop.check()`` between
    episodes; ``report(rundir, wall_seconds)`` writes the derived files from
    ``episodes.jsonl`` and returns the metrics. ``may_skip_state``: whether the runner
    replays stored episodes (so state carried between episodes, as of learning users, is
    rebuilt); when it does not, resuming a run with learning users is refused.
    """
    from .rundir import (
        Interrupted,
        JsonlWriter,
        RunDir,
        hashed_config,
        scan_episodes,
        stop_on_signals,
        write_text_atomic,
    )

    start = time.perf_counter()
    rd = RunDir(s.output_dir)
    config = hashed_config(cfg)
    done: dict[tuple[Any, ...], bytes] = {}
    if s.resume:
        state = rd.check_resumable(config)
        if s.user_spec.get("learn") and not may_skip_state:
            raise ValueError(
                "resume refused: users learn across episodes (user.learn=true) and this "
                "backend's episodes are not replayed, so their beliefs cannot be restored"
            )
        done = scan_episodes(rd.episodes, key_fields, repair=True)
        if len(done) > total:
            raise ValueError(f"resume refused: {rd.episodes} holds {len(done)} > {total} episodes")
        if state.get("status") == "complete" and len(done) < total:
            raise ValueError(f"{rd.path}: run.json says complete but episodes are missing")
    elif rd.holds_a_run():
        old = rd.read_state() or {}
        raise ValueError(
            f"{rd.path} already holds a run (status {old.get('status', 'unknown')}, "
            f"{old.get('done', '?')}/{old.get('total', '?')} episodes): continue it with "
            "resume=true, or choose another hydra.run.dir / output_dir"
        )
    rd.start(config, total=total, done=len(done), resume=s.resume)
    if not (s.resume and (rd.path / "config.yaml").exists()):
        write_text_atomic(
            rd.path / "config.yaml",
            OmegaConf.to_yaml(cfg, resolve=True)
            if OmegaConf.is_config(cfg)
            else json.dumps(cfg, indent=2),
        )
    writer = JsonlWriter(rd.episodes, s.fsync_lines, s.fsync_seconds)
    count = len(done)

    def sink(rec: dict[str, Any]) -> None:
        nonlocal count
        syncs = writer.syncs
        writer.write(rec)
        count += 1
        if writer.syncs != syncs:  # run.json's count follows what is on disk
            rd.save(done=count)

    try:
        try:
            with stop_on_signals() as stop:
                play(sink, done, stop)
        finally:
            writer.close()
        if count != total:
            raise RuntimeError(f"played {count} of {total} episodes")
        metrics = report(rd, time.perf_counter() - start)
    except (Interrupted, KeyboardInterrupt) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        reason = str(exc) if isinstance(exc, Interrupted) else "KeyboardInterrupt"
        rd.finish("interrupted", count, reason=reason)
        print(
            f"gtalign-sim: {reason}; kept {count}/{total} episodes in {rd.episodes} "
            "(continue with resume=true)",
            file=sys.stderr,
        )
        raise SystemExit(code) from None
    except BaseException as exc:
        rd.finish("failed", count, reason=f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise
    rd.finish("complete", count, wall_seconds=round(time.perf_counter() - start, 1))
    return metrics


def failures_markdown(failures: Mapping[str, Mapping[str, Any]]) -> str:
    """A ``## Failed episodes`` section (empty when nothing failed)."""
    rows = [
        f"| {name} | {f['failed']}/{f['attempted']} | "
        + "; ".join(f"{r} ×{n}" for r, n in f["reasons"].items())
        + " |"
        for name, f in failures.items()
        if f["failed"]
    ]
    if not rows:
        return ""
    head = [
        "",
        "## Failed episodes (kept out of every metric above)",
        "",
        "| assistant | failed | causes |",
        "|---|---|---|",
    ]
    return "\n".join([*head, *rows, ""])


class TooManyFailures(SystemExit):
    """The run finished but too many episodes failed (exit status 3)."""


def check_failures(failures: Mapping[str, Mapping[str, Any]], max_fraction: float) -> None:
    """Raise :class:`TooManyFailures` (after printing one line per cause) when every
    episode failed or the failed share exceeds ``max_fraction``."""
    failed = sum(int(f["failed"]) for f in failures.values())
    total = sum(int(f["attempted"]) for f in failures.values())
    if not total or (failed < total and failed <= max_fraction * total):
        if failed:
            print(f"gtalign-sim: {failed}/{total} episodes failed (kept out of the metrics)")
        return
    what = "all" if failed == total else f"{failed}/{total} ({failed / total:.0%})"
    print(f"gtalign-sim: error: {what} episodes failed", file=sys.stderr)
    for name, f in failures.items():
        for reason, n in f["reasons"].items():
            print(
                f"gtalign-sim:   {name}: {reason} on {n / f['attempted']:.0%} of episodes",
                file=sys.stderr,
            )
    raise TooManyFailures(3)


def _report(s: Settings, rd: Any, wall: float) -> dict[str, Any]:
    """metrics.json, plots and summary.md from episodes.jsonl, streamed (atomic writes)."""
    from ..eval import plots, print_summary, summary_markdown, write_metrics
    from ..eval.metrics import MetricsAccumulator
    from .rundir import atomic_path, iter_jsonl, write_text_atomic

    out = rd.path
    acc = MetricsAccumulator()
    for _, rec in iter_jsonl(rd.episodes):
        acc.add(rec)
    metrics = write_metrics(acc, out / "metrics.json", canonical=True)
    del acc
    images: list[str] = []
    if s.plots:

        def plot(name: str, draw: Callable[[Path], Any]) -> None:
            with atomic_path(out / name) as tmp:
                if draw(tmp) is None:
                    return
            images.append(name)

        plot("welfare_by_assistant.png", lambda p: plots.plot_welfare_bars(metrics, p))
        plot(
            "welfare_plane.png",
            lambda p: plots.plot_welfare_plane(
                (rec for _, rec in iter_jsonl(rd.episodes)), metrics, p
            ),
        )
        plot("action_mix.png", lambda p: plots.plot_action_mix(metrics, p))
        plot("pricing_shift.png", lambda p: plots.plot_pricing_shift(metrics, p))
    summary = {
        "experiment": "clarification_game",
        "seed": s.seed,
        "families": list(s.families),
        "episodes_per_assistant": s.episodes_per_family * len(s.families),
        "assistants": list(s.assistants),
        "pricing": dict(s.population.pricing),
        "aggregator": s.aggregator,
        "backend": {k: v for k, v in s.backend.items() if k != "api_key"},
        "wall_seconds": round(wall, 1),
    }
    write_text_atomic(
        out / "summary.md",
        summary_markdown(metrics, summary, title="Clarification game: assistants compared")
        + failures_markdown(metrics.get("failures") or {}),
    )
    if s.print_table:
        print_summary(metrics)
        fmt = {
            name: block["format_score"]["mean"]
            for name, block in metrics.get("assistant_metrics", {}).items()
            if isinstance(block.get("format_score"), dict)
            and block["format_score"].get("mean") is not None
            and block["format_score"]["mean"] < 1.0
        }
        if fmt:
            print(
                "four-block format validity: " + ", ".join(f"{k} {v:.2f}" for k, v in fmt.items())
            )
        print(f"wrote {out}/: episodes.jsonl, metrics.json, summary.md, {', '.join(images)}")
    return metrics
