"""``experiment=compare``: several finished runs in one table, one metrics.csv, one figure.

``compare.runs`` lists run directories and/or multirun directories (a directory holding
numbered job directories ``0/``, ``1/``, …, as ``-m`` sweeps write them; they are expanded
in numeric order). Every run must be complete (``run.json``) and hold ``episodes.jsonl``
and ``config.yaml``; anything else is refused, one line naming the path, before any work.
Nothing is played: each run's episodes are read back and summarised per assistant
(:class:`~gtalign_sim.eval.metrics.MetricsAccumulator`, episodes sorted, so the numbers
are those of the run's own ``metrics.json``).

A run's label is the settings in which its ``config.yaml`` differs from the other runs'
(output-only keys left out): a config group whose subtree equals one of its options in
``gtalign_sim/conf`` is named as on the command line (``pricing=per_token_api``),
``experiment_name``/``scenario_name`` as ``experiment=``/``scenario=``, any other key
as ``dotted.key=value``. Runs that differ only in ``seed`` are also pooled: the mean over
seeds of each run's mean, with a t interval over seeds (n = number of seeds).

Writes into the output directory: ``metrics.json``, ``summary.md``, ``metrics.csv``
(long form, columns :data:`gtalign_sim.eval.tidy.COLUMNS`: every run's per-assistant
rows of :func:`~gtalign_sim.eval.tidy.metrics_rows` labelled with the run's label, plus
the across-seed rows, group ``across_seeds``) and ``compare.png``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .settings import bool_field, container

__all__ = ["METRICS", "aggregate", "expand_runs", "report_run", "run", "run_labels"]

METRICS: tuple[str, ...] = ("mutual_welfare", "user_welfare", "llm_welfare")
"""The metrics tabulated per run and assistant (means with 95% t intervals)."""
_NAMED = {"experiment_name": "experiment", "scenario_name": "scenario"}
_ABSENT = "<absent>"


# --------------------------------------------------------------------------- the runs


def _load_run(path: Path) -> dict[str, Any]:
    """A complete run's resolved config (plain dict); one-line ``ValueError`` otherwise."""
    from omegaconf import DictConfig, OmegaConf

    if not (path / "episodes.jsonl").is_file():
        raise ValueError(f"compare.runs: {path} is not a run directory (no episodes.jsonl)")
    if not (path / "config.yaml").is_file():
        raise ValueError(f"compare.runs: {path} has no config.yaml (not a finished run)")
    state_file = path / "run.json"
    if state_file.is_file():
        try:
            status = json.loads(state_file.read_text(encoding="utf-8")).get("status")
        except ValueError as exc:
            raise ValueError(f"compare.runs: {state_file} is not JSON ({exc})") from exc
        if status != "complete":
            raise ValueError(f"compare.runs: {path} is not complete (status {status})")
    try:
        cfg = OmegaConf.load(path / "config.yaml")
    except Exception as exc:  # yaml errors have no common base class worth naming
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"compare.runs: {path / 'config.yaml'} cannot be read: {first}") from exc
    if not isinstance(cfg, DictConfig):
        raise ValueError(f"compare.runs: {path / 'config.yaml'} is not a mapping")
    return dict(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]


def expand_runs(paths: Sequence[str | Path]) -> list[Path]:
    """The run directories of ``paths``: a run directory itself, a multirun directory its
    numbered job directories in numeric order. Raises a one-line ``ValueError`` naming
    the first path that is neither (or a job that is not a complete run)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if (p / "episodes.jsonl").is_file():
            out.append(p)
            continue
        jobs = (
            sorted(
                (c for c in p.iterdir() if c.is_dir() and c.name.isdigit()),
                key=lambda c: int(c.name),
            )
            if p.is_dir()
            else []
        )
        if not jobs:
            raise ValueError(
                f"compare.runs: {p} is not a run directory (no episodes.jsonl) nor a multirun "
                "directory of numbered runs"
            )
        out += jobs
    seen: set[Path] = set()
    for p in out:
        if p.resolve() in seen:
            raise ValueError(f"compare.runs: {p} is listed twice")
        seen.add(p.resolve())
    return out


# --------------------------------------------------------------------------- labels


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, Mapping) and node:
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: node}


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def _group_options(group: str) -> dict[str, dict[str, Any]]:
    """Flattened contents of the options of config group ``group`` (package = the group)."""
    from omegaconf import OmegaConf

    folder = Path(__file__).resolve().parent.parent / "conf" / group
    out: dict[str, dict[str, Any]] = {}
    for f in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        text = f.read_text(encoding="utf-8")
        if "@package" in text.split("\n", 1)[0]:
            continue
        data = OmegaConf.to_container(OmegaConf.create(text), resolve=False)
        if isinstance(data, dict):
            data.pop("defaults", None)
            out[f.stem] = _flatten(data)
    return out


def run_labels(configs: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """``(labels, differing keys)``: each config's label from the keys in which the configs
    differ (output-only keys, :data:`~gtalign_sim.experiments.rundir.UNHASHED_KEYS`, left
    out); parts sorted by key, ``seed=...`` included. Empty labels when nothing differs."""
    from .rundir import UNHASHED_KEYS

    flat = [_flatten({k: v for k, v in c.items() if k not in UNHASHED_KEYS}) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    differ = [k for k in keys if len({_text(f.get(k, _ABSENT)) for f in flat}) > 1]
    parts: list[dict[str, str]] = [{} for _ in configs]
    done: set[str] = set()
    for key in differ:
        group = key.split(".", 1)[0]
        if key in done:
            continue
        if key in _NAMED:
            for p, f in zip(parts, flat, strict=True):
                p[key] = f"{_NAMED[key]}={_text(f.get(key, _ABSENT))}"
            continue
        if "." in key:
            options = _group_options(group)
            names = []
            for f in flat:
                sub = {k[len(group) + 1 :]: v for k, v in f.items() if k.startswith(group + ".")}
                names.append(next((o for o, flat_o in options.items() if flat_o == sub), None))
            if options and all(n is not None for n in names):
                for p, n in zip(parts, names, strict=True):
                    p[group] = f"{group}={n}"
                done |= {k for k in differ if k.startswith(group + ".")}
                continue
        for p, f in zip(parts, flat, strict=True):
            p[key] = f"{key}={_text(f.get(key, _ABSENT))}"
    return [" ".join(p[k] for k in sorted(p)) for p in parts], differ


# --------------------------------------------------------------------------- aggregation


def _assistant_metrics(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..eval.metrics import MetricsAccumulator
    from .rundir import iter_jsonl

    acc = MetricsAccumulator()
    for _, rec in iter_jsonl(path / "episodes.jsonl"):
        acc.add(rec)
    return acc.assistant_metrics(canonical=True), acc.failures()


def aggregate(paths: Sequence[Path]) -> dict[str, Any]:
    """The comparison of the runs in ``paths`` (already expanded): ``runs`` (label, path,
    experiment, seed, assistants, failures), ``differing_keys``, ``table[label][assistant]``
    (``n`` and :data:`METRICS` as mean/lo/hi/std/n) and ``across_seeds[settings]`` (the
    seeds, the runs' labels and per assistant the t summary over the seeds' means) for
    every setting run with two or more distinct seeds. Also ``per_run`` (each run's full
    per-assistant metrics, for metrics.csv; not written to metrics.json)."""
    from ..eval.stats import mean_ci

    configs = [_load_run(p) for p in paths]
    labels, differ = run_labels(configs)
    labels = [lab or p.name for lab, p in zip(labels, paths, strict=True)]
    if len(set(labels)) != len(labels):  # identical configs: the directories tell them apart
        labels = [f"{lab} ({p})" for lab, p in zip(labels, paths, strict=True)]
    runs, table, per_run = [], {}, {}
    for p, c, label in zip(paths, configs, labels, strict=True):
        per, failures = _assistant_metrics(p)
        per_run[label] = per
        runs.append(
            {
                "label": label,
                "path": str(p),
                "experiment": c.get("experiment_name"),
                "seed": c.get("seed"),
                "assistants": list(per),
                "failures": {a: f for a, f in failures.items() if f["failed"]},
            }
        )
        table[label] = {
            a: {"n": m["n_episodes"], **{k: m[k] for k in METRICS}} for a, m in per.items()
        }
    across: dict[str, Any] = {}
    if "seed" in differ:
        groups: dict[str, list[int]] = {}
        for i, lab in enumerate(labels):
            base = " ".join(x for x in lab.split(" ") if not x.startswith("seed=")) or "all"
            groups.setdefault(base, []).append(i)
        for base, idx in groups.items():
            seeds = [configs[i].get("seed") for i in idx]
            if len(set(map(str, seeds))) < 2:
                continue
            names = [a for a in table[labels[idx[0]]] if all(a in table[labels[i]] for i in idx)]
            across[base] = {
                "seeds": seeds,
                "runs": [labels[i] for i in idx],
                "assistants": {
                    a: {k: mean_ci([table[labels[i]][a][k]["mean"] for i in idx]) for k in METRICS}
                    for a in names
                },
            }
    return {
        "experiment": "compare",
        "metrics": list(METRICS),
        "differing_keys": differ,
        "runs": runs,
        "table": table,
        "across_seeds": across,
        "per_run": per_run,
    }


def csv_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Long-form rows: :func:`~gtalign_sim.eval.tidy.metrics_rows` of every run (``run`` =
    its label), then the across-seed summaries (``run`` = the settings, ``group`` =
    ``across_seeds``, ``n`` = number of seeds)."""
    from ..eval.tidy import metrics_rows

    rows: list[dict[str, Any]] = []
    for label, per in result["per_run"].items():
        rows += metrics_rows({"assistants": list(per), "assistant_metrics": per}, label)
    for base, block in result["across_seeds"].items():
        for a, stats in block["assistants"].items():
            for k, s in stats.items():
                cell = {"run": base, "assistant": a, "metric": k, "group": "across_seeds"}
                rows.append({**cell, **{c: s[c] for c in ("mean", "lo", "hi", "n")}})
    return rows


# --------------------------------------------------------------------------- entry points


def _runs_option(cfg: Any) -> list[str]:
    node = (cfg.get("compare") or {}).get("runs")
    runs = container(node) if node is not None else None
    if not isinstance(runs, list) or not runs or any(not isinstance(r, str) for r in runs):
        raise ValueError(
            f"compare.runs must be a non-empty list of run or multirun directories, got "
            f"{runs!r} (e.g. compare.runs=[multirun/clarification_game/<date>])"
        )
    return runs


def run(cfg: Any) -> dict[str, Any]:
    """Check ``compare.runs`` (every run, before any work), aggregate and write the
    comparison into ``output_dir``; returns the metrics (as written to metrics.json)."""
    return report_run(cfg, str(cfg.get("output_dir") or "outputs/compare"))


def report_run(cfg: Any, path: str | Path) -> dict[str, Any]:
    """Aggregate the runs of ``cfg.compare.runs`` into ``path`` (nothing is played)."""
    from omegaconf import OmegaConf

    from ..eval.metrics import write_json_atomic
    from ..eval.tidy import COLUMNS
    from .rundir import atomic_path, write_text_atomic

    plots = bool_field(cfg, "plots", True)
    print_table = bool_field(cfg, "print_table", True)
    paths = expand_runs(_runs_option(cfg))
    for p in paths:
        _load_run(p)  # every run checked before anything is read or written
    out = Path(path)
    if any(out.resolve() == p.resolve() for p in paths):
        raise ValueError(f"output_dir {out} is one of compare.runs; choose another directory")
    result = aggregate(paths)
    per_run = result.pop("per_run")
    out.mkdir(parents=True, exist_ok=True)
    if OmegaConf.is_config(cfg):
        write_text_atomic(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_json_atomic(result, out / "metrics.json")
    with atomic_path(out / "metrics.csv") as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_rows({**result, "per_run": per_run}))
    images = []
    if plots:
        with atomic_path(out / "compare.png") as tmp:
            plot_compare(result, tmp)
        images.append("compare.png")
    text = summary(result, images)
    write_text_atomic(out / "summary.md", text)
    if print_table:
        print(text)
        print(f"wrote {out}/: " + ", ".join(["metrics.json", "metrics.csv", "summary.md", *images]))
    return result


# --------------------------------------------------------------------------- outputs


def _pm(s: Mapping[str, Any]) -> str:
    if s.get("mean") is None:
        return "–"
    if s.get("lo") is None or (s.get("n") or 0) < 2:
        return f"{s['mean']:.3f} (n={s.get('n')})"
    return f"{s['mean']:.3f} ± {(s['hi'] - s['lo']) / 2:.3f}"


def summary(result: Mapping[str, Any], images: Sequence[str] = ()) -> str:
    """``summary.md``: the runs, the per-run table and the across-seed table."""
    lines = [
        "# Runs compared",
        "",
        f"Keys that differ: {', '.join(result['differing_keys']) or 'none'}.",
        "",
    ]
    lines += [f"- `{r['label']}`: {r['path']} ({r['experiment']})" for r in result["runs"]]
    lines += [
        "",
        "## Per run and assistant (means ± 95% t half-widths over episodes)",
        "",
        "| run | assistant | √(U·L) | U | L | n |",
        "|---|---|---|---|---|---|",
    ]
    for label, per in result["table"].items():
        for a, m in per.items():
            cells = " | ".join(_pm(m[k]) for k in METRICS)
            lines.append(f"| {label} | {a} | {cells} | {m['n']} |")
    if result["across_seeds"]:
        lines += [
            "",
            "## Across seeds (mean of the runs' means ± 95% t half-width over seeds)",
            "",
            "| settings | seeds | assistant | √(U·L) | U | L |",
            "|---|---|---|---|---|---|",
        ]
        for base, block in result["across_seeds"].items():
            seeds = ",".join(map(str, block["seeds"]))
            for a, stats in block["assistants"].items():
                lines.append(
                    f"| {base} | {seeds} | {a} | "
                    + " | ".join(_pm(stats[k]) for k in METRICS)
                    + " |"
                )
    lines += [f"\n![{i}]({i})" for i in images]
    return "\n".join(lines) + "\n"


def plot_compare(result: Mapping[str, Any], path: str | Path) -> Path:
    """``compare.png``: a forest per metric (√(U·L), U, L): one row per assistant and run
    (then per assistant and across-seed setting), mean with its 95% interval, one colour
    per run label."""
    from ..eval.forest import Panel, estimate, plot_forest

    palette = [f"C{i % 10}" for i in range(len(result["table"]) + len(result["across_seeds"]))]
    colors = dict(zip([*result["table"], *result["across_seeds"]], palette, strict=True))
    names: list[str] = []
    for per in result["table"].values():
        names += [a for a in per if a not in names]
    rows: dict[str, list[Any]] = {k: [] for k in METRICS}
    for a in names:
        for label, per in result["table"].items():
            if a in per:
                for k in METRICS:
                    rows[k].append(estimate(f"{a} · {label}", per[a][k], colors[label]))
        for base, block in result["across_seeds"].items():
            if a in block["assistants"]:
                n = len(block["seeds"])
                for k in METRICS:
                    rows[k].append(
                        estimate(
                            f"{a} · {base} ({n} seeds)", block["assistants"][a][k], colors[base]
                        )
                    )
    titles = {
        "mutual_welfare": "√(U·L) on gains",
        "user_welfare": "U (user gain)",
        "llm_welfare": "L (LLM gain)",
    }
    panels = [Panel(titles[k], "mean, 95% CI", rows[k], reference=None) for k in METRICS]
    return plot_forest(panels, path, title="Runs compared")
