"""experiment=prisoners_dilemma and the empirical-game module: content, pairing, analysis."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.eval.empirical import EmpiricalGame, bootstrap_analysis
from gtalign_sim.experiments import prisoners_dilemma


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=prisoners_dilemma",
                f"output_dir={out}",
                "pd.episodes_per_cell=6",
                "pd.bootstrap=20",
                "assistants.oracle_particles=4",
                "env.tasks_per_family=8",
                "progress=false",
                "print_table=false",
                *extra,
            ],
        )


def test_experiment_writes_the_paired_game(tmp_path):
    m = prisoners_dilemma.run(_cfg(tmp_path, "plots=true"))
    assert (tmp_path / "empirical_game.png").stat().st_size > 0
    assert "empirical_game.png" in (tmp_path / "summary.md").read_text()
    lines = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 2 * 6
    cells = {(r["strategy"], r["assistant"]) for r in lines}
    assert cells == {(s, p) for s in ("DQ", "VQ") for p in ("oracle", "selfish_llm")}
    # the same index is the same task and user in every cell (common random numbers)
    for i in range(6):
        same = [r for r in lines if r["episode"] == i]
        assert len({(r["task_id"], r["seed"]) for r in same}) == 1
        assert {r["strategy"] for r in same} == {"DQ", "VQ"}
    # the matrix is the cell means of the written episodes
    for si, s in enumerate(("DQ", "VQ")):
        for pi, p in enumerate(("oracle", "selfish_llm")):
            rs = [r for r in lines if r["strategy"] == s and r["assistant"] == p]
            assert m["user"][si][pi] == pytest.approx(np.mean([r["user_welfare"] for r in rs]))
            assert m["llm"][si][pi] == pytest.approx(np.mean([r["llm_welfare"] for r in rs]))
    assert m["disagreement_point"] == [0.0, 0.0]
    assert m["bootstrap"]["n"] == 20
    assert 0.0 <= m["bootstrap"]["dilemma_fraction"] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["game_type"] == m["game_type"]
    # metrics.csv: the same cells in long form
    import csv

    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    cell = {(r["assistant"], r["metric"], r["group"]): r for r in rows}
    row = cell[("selfish_llm", "llm_welfare", "strategy=VQ")]
    assert float(row["mean"]) == m["llm"][1][1] and int(row["n"]) == 6
    assert float(row["hi"]) - float(row["mean"]) == pytest.approx(1.96 * m["llm_se"][1][1])
    assert (
        float(cell[("", "dilemma_fraction", "all")]["mean"]) == m["bootstrap"]["dilemma_fraction"]
    )
    assert len(rows) == 2 * 2 * 2 + 3


def test_bad_policies_are_refused_naming_the_field(tmp_path):
    with pytest.raises(ValueError, match=r"pd\.policies"):
        prisoners_dilemma.run(_cfg(tmp_path, "pd.policies=[oracle,nope]"))


def _game(u, l):
    u, l = np.asarray(u, float), np.asarray(l, float)
    return EmpiricalGame(("DQ", "VQ"), ("coop", "selfish"), u, l)


def test_a_clear_prisoners_dilemma_is_found_and_stable():
    rng = np.random.default_rng(0)
    # user: VQ dominant (T=4 > R=3 > P=1 > S=0); assistant: selfish dominant; per-episode noise
    mu_u = np.array([[3.0, 0.0], [4.0, 1.0]])
    mu_l = np.array([[3.0, 4.0], [0.0, 1.0]])
    noise = rng.normal(0, 0.5, (2, 2, 400))
    g = _game(mu_u[..., None] + noise, mu_l[..., None] + noise)
    a = bootstrap_analysis(g, n_boot=200, seed=1)
    assert a["game_type"] == "prisoners_dilemma"
    assert a["is_dilemma"] is True
    assert a["equilibria"] == [{"user": [0.0, 1.0], "assistant": [0.0, 1.0]}]
    assert a["bootstrap"]["dilemma_fraction"] == 1.0
    assert a["bootstrap"]["same_type_fraction"] == 1.0
    assert a["price_of_anarchy"] == pytest.approx(6.0 / 2.0, rel=0.05)
    assert ["DQ", "coop"] in a["pareto_frontier"]


def test_a_tie_is_reported_as_unstable():
    rng = np.random.default_rng(0)
    mu = np.array([[1.0, 1.0], [1.0, 1.0]])
    g = _game(
        mu[..., None] + rng.normal(0, 1, (2, 2, 200)), mu[..., None] + rng.normal(0, 1, (2, 2, 200))
    )
    a = bootstrap_analysis(g, n_boot=200, seed=0)
    assert a["bootstrap"]["same_type_fraction"] < 0.9
