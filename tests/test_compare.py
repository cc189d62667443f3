"""experiment=compare: a real two-job multirun in one combined table, the across-seed
summaries, metrics.csv, and refused inputs."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hydra import compose, initialize_config_module

from gtalign_sim.eval.tidy import COLUMNS
from gtalign_sim.experiments import compare

QUICK = ["gtalign", "selfish_llm", "always_da", "always_cq", "always_aq"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "gtalign_sim.run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _cfg(out: Path, runs: list[str], *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=compare",
                f"output_dir={out}",
                f"compare.runs=[{','.join(runs)}]",
                "print_table=false",
                *extra,
            ],
        )


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def test_compare_over_a_two_job_multirun_writes_one_combined_table(tmp_path):
    sweep, out = tmp_path / "sweep", tmp_path / "cmp"
    done = _run(
        "-m",
        "experiment=clarification_game",
        "assistants=quick",
        "episodes_per_family=3",
        "pricing=subscription,per_token_api",
        "progress=false",
        "plots=false",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    done = _run(
        "experiment=compare", f"compare.runs=[{sweep}]", f"hydra.run.dir={out}", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    labels = ["pricing=subscription", "pricing=per_token_api"]
    assert [r["label"] for r in m["runs"]] == labels
    assert [r["path"] for r in m["runs"]] == [str(sweep / "0"), str(sweep / "1")]
    assert m["differing_keys"] == ["pricing.plans.per_token_api", "pricing.plans.subscription"]
    assert list(m["table"]) == labels
    assert m["across_seeds"] == {}
    rows = _csv(out / "metrics.csv")
    for job, label in enumerate(labels):
        own = json.loads((sweep / str(job) / "metrics.json").read_text())["assistant_metrics"]
        assert list(m["table"][label]) == QUICK
        for a in QUICK:
            assert m["table"][label][a]["n"] == 12
            for metric in compare.METRICS:
                assert m["table"][label][a][metric] == own[a][metric]  # the run's own numbers
                (row,) = [
                    r
                    for r in rows
                    if (r["run"], r["assistant"], r["metric"], r["group"])
                    == (label, a, metric, "all")
                ]
                assert float(row["mean"]) == own[a][metric]["mean"]
                assert (float(row["lo"]), float(row["hi"])) == (
                    own[a][metric]["lo"],
                    own[a][metric]["hi"],
                )
                assert row["n"] == "12"
    assert {r["run"] for r in rows} == set(labels)
    text = (out / "summary.md").read_text()
    g = m["table"]["pricing=per_token_api"]["gtalign"]
    hw = (g["mutual_welfare"]["hi"] - g["mutual_welfare"]["lo"]) / 2
    assert (
        f"| pricing=per_token_api | gtalign | {g['mutual_welfare']['mean']:.3f} ± {hw:.3f} |"
        in text
    )
    assert (out / "compare.png").stat().st_size > 10_000
    assert "![compare.png](compare.png)" in text


def _fake_run(path: Path, seed: int, plan: str, values: dict[str, list[float]]) -> None:
    """A complete run directory written by hand: config.yaml, run.json, episodes.jsonl."""
    path.mkdir(parents=True)
    cfg = {"experiment_name": "clarification_game", "seed": seed, "pricing": {"plans": {plan: 1.0}}}
    cfg["output_dir"] = str(path)  # an output-only key: never part of a label
    (path / "config.yaml").write_text(json.dumps(cfg))
    (path / "run.json").write_text(json.dumps({"status": "complete"}))
    lines = []
    for a, mutual in values.items():
        for i, w in enumerate(mutual):
            rec = {"assistant": a, "episode": i, "seed": seed * 100 + i}
            rec |= {"user_welfare": w + 0.1, "llm_welfare": w - 0.1, "mutual_welfare": w}
            lines.append(json.dumps(rec))
    (path / "episodes.jsonl").write_text("\n".join(lines) + "\n")


def test_seeds_are_pooled_with_a_t_interval_over_seeds(tmp_path):
    means = {0: 0.50, 1: 0.56, 2: 0.47}
    for seed, mu in means.items():
        vals = {"oracle": [mu - 0.01, mu, mu + 0.01], "gtalign": [mu - 0.1, mu - 0.1, mu - 0.1]}
        _fake_run(tmp_path / "sub" / str(seed), seed, "subscription", vals)
    _fake_run(tmp_path / "solo", 0, "per_token_api", {"oracle": [0.4, 0.6]})
    runs = [str(tmp_path / "sub"), str(tmp_path / "solo")]
    m = compare.run(_cfg(tmp_path / "out", runs, "plots=false"))
    assert [r["label"] for r in m["runs"]] == [
        "pricing=subscription seed=0",
        "pricing=subscription seed=1",
        "pricing=subscription seed=2",
        "pricing=per_token_api seed=0",
    ]
    assert list(m["across_seeds"]) == ["pricing=subscription"]  # one seed of per_token_api
    block = m["across_seeds"]["pricing=subscription"]
    assert block["seeds"] == [0, 1, 2]
    x = np.array(list(means.values()))
    ci = scipy.stats.t.interval(0.95, 2, loc=x.mean(), scale=scipy.stats.sem(x))
    s = block["assistants"]["oracle"]["mutual_welfare"]
    assert s["n"] == 3
    assert s["mean"] == pytest.approx(0.51, abs=1e-12)
    assert (s["lo"], s["hi"]) == pytest.approx(ci)
    assert block["assistants"]["gtalign"]["user_welfare"]["mean"] == pytest.approx(0.51)
    rows = [r for r in _csv(tmp_path / "out" / "metrics.csv") if r["group"] == "across_seeds"]
    assert len(rows) == 2 * 3  # two assistants × three metrics
    (row,) = [r for r in rows if (r["assistant"], r["metric"]) == ("oracle", "mutual_welfare")]
    assert row["run"] == "pricing=subscription"
    assert (float(row["mean"]), float(row["lo"]), float(row["hi"])) == (s["mean"], s["lo"], s["hi"])
    assert row["n"] == "3"
    text = (tmp_path / "out" / "summary.md").read_text()
    assert (
        f"| pricing=subscription | 0,1,2 | oracle | 0.510 ± {(s['hi'] - s['lo']) / 2:.3f} |" in text
    )


def test_non_run_directories_are_refused_naming_the_path(tmp_path):
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    with pytest.raises(
        ValueError, match=re.escape(f"compare.runs: {empty} is not a run directory")
    ) as err:
        compare.run(_cfg(tmp_path / "out", [str(empty)]))
    assert "\n" not in str(err.value)
    _fake_run(tmp_path / "r", 0, "subscription", {"oracle": [0.5, 0.6]})
    (tmp_path / "r" / "run.json").write_text(json.dumps({"status": "interrupted"}))
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'r'} is not complete")):
        compare.run(_cfg(tmp_path / "out", [str(tmp_path / "r")]))
    with pytest.raises(ValueError, match=r"compare\.runs must be a non-empty list"):
        compare.run(_cfg(tmp_path / "out", []))
    assert not (tmp_path / "out").exists()  # nothing written before the checks pass
