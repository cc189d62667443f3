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


def _container(node: Any) -> Any:
    if isinstance(node, DictConfig) or OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _int(cfg: Any, key: str, minimum: int) -> int:
    value = cfg.get(key)
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}") from None
    if out < minimum or isinstance(value, bool):
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return out


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
    from ..agents.llm import FALLBACKS, STEERING
    from ..backends import BACKENDS

    def backend_spec(node: Any, key: str) -> dict[str, Any] | None:
        if node is None:
            return None
        spec = dict(_container(node))
        if spec.get("name") not in BACKENDS:
            raise ValueError(
                f"{key}.name {spec.get('name')!r} invalid; valid choices: {list(BACKENDS)}"
            )
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
        progress=bool(cfg.get("progress", True)),
        plots=bool(cfg.get("plots", True)),
        print_table=bool(cfg.get("print_table", True)),
    )


def _assistant(name: str, s: Settings, backends: dict[str, Any]) -> Any:
    from ..agents import build_assistant

    kwargs: dict[str, Any] = {"world": s.world, "population": s.population, "seed": s.seed}
    if name == "llm_gtalign":
        return build_assistant(
            name,
            backend=backends["assistant"],
            steering=s.llm.get("steering", "none"),
            max_tokens=int(s.llm.get("max_tokens", 1024)),
            temperature=float(s.llm.get("temperature", 0.0)),
            fallback=s.llm.get("fallback", "template"),
            rule=s.gtalign_rule,
            n_particles=s.n_particles,
            **kwargs,
        )
    if name in ("oracle", "selfish_llm", "user_only", "linear_welfare", "clairvoyant"):
        kwargs["n_particles"] = s.oracle_particles  # exact best responses
    elif name != "random":
        kwargs["n_particles"] = s.n_particles
    if name == "gtalign":
        kwargs["rule"] = s.gtalign_rule
    return build_assistant(name, **kwargs)


def play(s: Settings) -> list[dict[str, Any]]:
    """Play every assistant on the episode plan; returns all records (assistant order)."""
    from ..envs.rollout import episode_seeds, run_episodes
    from ..tasks import TaskBank

    bank = TaskBank.build(families=s.families, per_family=s.tasks_per_family, seed=s.task_seed)
    n = s.episodes_per_family * len(s.families)
    seeds = episode_seeds(s.seed, n)
    plan = [(i, seeds[i], {"family": s.families[i % len(s.families)]}) for i in range(n)]

    backends = _backends(s)
    user_spec = dict(s.user_spec)
    if user_spec.get("_target_") == "gtalign_sim.users.LLMUser":
        user_spec.setdefault("max_tokens", int(s.llm.get("user_max_tokens", 96)))

    factory = env_factory(s, bank, user_spec, backends)

    records: list[dict[str, Any]] = []
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
            assistant = _assistant(name, s, backends)
            if progress is not None:
                progress.update(task_id, description=f"{name:>15}")

            def tick(_rec: Mapping[str, Any]) -> None:
                if progress is not None:
                    progress.advance(task_id)

            batcher = backends.get("batcher")
            if batcher is not None and s.parallel > 1:
                from ..envs.lockstep import run_lockstep

                records += run_lockstep(
                    factory,
                    assistant,
                    plan,
                    n_parallel=s.parallel,
                    batcher=batcher,
                    on_episode=tick,
                )
            else:
                records += run_episodes(factory, assistant, plan, on_episode=tick)
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
    return records


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
    """Validate, play, and write the run's files; returns the metrics dict."""
    from ..eval import plots, print_summary, summary_markdown, write_metrics

    s = validate(cfg)
    start = time.perf_counter()
    out = s.output_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(
        OmegaConf.to_yaml(cfg, resolve=True)
        if OmegaConf.is_config(cfg)
        else json.dumps(cfg, indent=2)
    )
    records = play(s)
    with (out / "episodes.jsonl").open("w") as fh:
        for rec in records:
            fh.write(json.dumps(rec, sort_keys=True) + "\n")
    metrics = write_metrics(records, out / "metrics.json")
    images: list[str] = []
    if s.plots:
        images.append(Path(plots.plot_welfare_bars(metrics, out / "welfare_by_assistant.png")).name)
        images.append(
            Path(plots.plot_welfare_plane(records, metrics, out / "welfare_plane.png")).name
        )
        images.append(Path(plots.plot_action_mix(metrics, out / "action_mix.png")).name)
        pricing_png = plots.plot_pricing_shift(metrics, out / "pricing_shift.png")
        if pricing_png:
            images.append(Path(pricing_png).name)
    summary = {
        "experiment": "clarification_game",
        "seed": s.seed,
        "families": list(s.families),
        "episodes_per_assistant": s.episodes_per_family * len(s.families),
        "assistants": list(s.assistants),
        "pricing": dict(s.population.pricing),
        "aggregator": s.aggregator,
        "backend": {k: v for k, v in s.backend.items() if k != "api_key"},
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    (out / "summary.md").write_text(
        summary_markdown(metrics, summary, title="Clarification game: assistants compared")
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
