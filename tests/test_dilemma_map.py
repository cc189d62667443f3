"""experiment=dilemma_map: the grid's worlds, the per-point games and their outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.core import WorldConfig
from gtalign_sim.eval.phase_plots import incentives, structure
from gtalign_sim.experiments import dilemma_map
from gtalign_sim.game import GAME_TYPES, PayoffMatrix, analyze_dilemma
from gtalign_sim.users import UserPopulation


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=dilemma_map",
                f"output_dir={out}",
                "dilemma_map.x.values=[1.0,4.0]",
                "dilemma_map.y.values=[1.0]",
                "dilemma_map.episodes_per_cell=5",
                "dilemma_map.bootstrap=20",
                "assistants.oracle_particles=4",
                "env.tasks_per_family=8",
                "progress=false",
                "print_table=false",
                *extra,
            ],
        )


def test_point_world_scales_the_named_quantity_only():
    world, pop = WorldConfig(), UserPopulation()
    w, p = dilemma_map.point_world(world, pop, "price_scale", 4.0)
    assert p is pop
    assert w.pricing["per_token_api"]["price_per_input_token"] == pytest.approx(4 * 2.5e-6)
    assert w.pricing["per_token_api"]["price_per_output_token"] == pytest.approx(4 * 10e-6)
    for plan in ("per_token_api", "subscription", "free"):  # compute is not a price
        assert w.rates(plan).compute_out == world.rates(plan).compute_out
    w, p = dilemma_map.point_world(world, pop, "effort_detail_scale", 2.0)
    assert w is world
    assert [q.effort_detail for q in p.personas] == [
        (2 * q.effort_detail[0], 2 * q.effort_detail[1]) for q in pop.personas
    ]
    assert [q.effort_answer for q in p.personas] == [q.effort_answer for q in pop.personas]
    w, _ = dilemma_map.point_world(world, pop, "reasoning_tokens", 600.0)
    assert w.reasoning_tokens == 600 and isinstance(w.reasoning_tokens, int)


def test_the_grid_writes_one_paired_game_per_point(tmp_path):
    m = dilemma_map.run(_cfg(tmp_path, "dilemma_map.pricing=per_token_api"))
    lines = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 2 * 2 * 5
    assert {(r["x"], r["y"], r["strategy"], r["assistant"]) for r in lines} == {
        (x, 1.0, s, p) for x in (1.0, 4.0) for s in ("DQ", "VQ") for p in ("oracle", "selfish_llm")
    }
    for i in range(5):  # episode i: the same task and seed in every cell of every point
        assert len({(r["task_id"], r["seed"]) for r in lines if r["episode"] == i}) == 1
    assert m["x"] == {
        "param": "price_scale",
        "values": [1.0, 4.0],
        "meaning": dilemma_map.SCALES["price_scale"],
    }
    assert m["y"]["param"] == "effort_detail_scale" and m["y"]["values"] == [1.0]
    assert m["pricing"] == {"per_token_api": 1.0}
    assert [len(row) for row in m["grid"]["label"]] == [2]  # [y][x]
    assert [(p["x"], p["y"]) for p in m["points"]] == [(1.0, 1.0), (4.0, 1.0)]
    for k, p in enumerate(m["points"]):
        assert m["grid"]["game_type"][0][k] == p["game_type"] in GAME_TYPES
        stable = p["bootstrap"]["same_type_fraction"] >= m["stable"]
        assert p["label"] == (p["game_type"] if stable else "uncertain")
        assert p["bootstrap"]["n"] == 20
        assert np.shape(p["user"]) == np.shape(p["llm"]) == np.shape(p["user_se"]) == (2, 2)
        for si, s in enumerate(("DQ", "VQ")):
            for pi, a in enumerate(("oracle", "selfish_llm")):
                rs = [r for r in lines if (r["x"], r["strategy"], r["assistant"]) == (p["x"], s, a)]
                assert p["user"][si][pi] == pytest.approx(
                    np.mean([r["user_welfare"] for r in rs]), abs=1e-6
                )
                assert p["llm"][si][pi] == pytest.approx(
                    np.mean([r["llm_welfare"] for r in rs]), abs=1e-6
                )
        # the type and PoA are those of the reported matrix (gains, disagreement at 0)
        rep = analyze_dilemma(
            PayoffMatrix(user=p["user"], llm=p["llm"]), "utilitarian", disagreement=(0.0, 0.0)
        )
        assert rep.game_type == p["game_type"]
        assert rep.price_of_anarchy == pytest.approx(p["price_of_anarchy"], rel=1e-4)
        diff = np.subtract(p["user"][1], p["user"][0])
        assert [
            p["incentives"]["user_vq_minus_dq"][a]["mean"] for a in ("oracle", "selfish_llm")
        ] == (pytest.approx(diff.tolist(), abs=1e-5))
    # quadrupled per-token prices are a different game
    assert not np.allclose(m["points"][0]["llm"], m["points"][1]["llm"])
    assert json.loads((tmp_path / "metrics.json").read_text()) == m
    assert (tmp_path / "dilemma_map.png").stat().st_size > 0
    summary = (tmp_path / "summary.md").read_text()
    assert "dilemma_map.png" in summary and "| **1** |" in summary
    # re-rendering the finished run gives the same metrics
    assert (
        dilemma_map.report_run(_cfg(tmp_path, "dilemma_map.pricing=per_token_api"), tmp_path) == m
    )


def test_the_price_axis_does_not_touch_subscribers(tmp_path):
    m = dilemma_map.run(
        _cfg(tmp_path, "dilemma_map.pricing=subscription", "dilemma_map.episodes_per_cell=3")
    )
    a, b = m["points"]
    assert a["user"] == b["user"] and a["llm"] == b["llm"]


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("dilemma_map.x.param=nope", r"dilemma_map\.x\.param 'nope' invalid; valid choices: .*"),
        ("dilemma_map.y.param=price_scale", r"both 'price_scale'"),
        ("dilemma_map.x={param: reasoning_tokens, values: [150, 1.5]}", r"dilemma_map\.x\.values"),
        ("dilemma_map.x.values=[1.0,1.0]", r"dilemma_map\.x\.values must be a list of distinct"),
        ("dilemma_map.y.values=[-1.0]", r"dilemma_map\.y\.values of effort_detail_scale"),
        ("dilemma_map.policies=[oracle]", r"dilemma_map\.policies"),
        ("dilemma_map.pricing=cheap", r"dilemma_map\.pricing 'cheap' invalid"),
    ],
)
def test_bad_axes_are_refused_before_any_work(tmp_path, override, match):
    with pytest.raises(ValueError, match=match):
        dilemma_map.run(_cfg(tmp_path, override))
    assert not (tmp_path / "episodes.jsonl").exists()


def test_allowed_params_list_the_scales_and_numeric_world_fields():
    allowed = dilemma_map.allowed_params()
    assert allowed[:2] == ("price_scale", "effort_detail_scale")
    assert {"provider_success", "retention_value", "reasoning_tokens", "max_turns"} <= set(allowed)
    assert not {"skill", "pricing", "verbosity_skill"} & set(allowed)


def test_structure_reads_a_prisoners_dilemma():
    rng = np.random.default_rng(0)
    # user: VQ dominant; provider: selfish dominant; (DQ, oracle) better for both than (VQ, selfish)
    mu_u = np.array([[3.0, 0.0], [4.0, 1.0]])
    mu_l = np.array([[3.0, 4.0], [0.0, 1.0]])
    noise = rng.normal(0, 0.1, (2, 2, 50))
    u, l = mu_u[..., None] + noise, mu_l[..., None] + noise
    inc = incentives(u, l, ("DQ", "VQ"), ("oracle", "selfish_llm"))
    st = structure(u.mean(-1), l.mean(-1), inc, ("DQ", "VQ"), ("oracle", "selfish_llm"))
    assert st == {
        "user": "VQ dominant",
        "llm": "selfish_llm dominant",
        "pure_equilibria": [{"cell": ["VQ", "selfish_llm"], "efficient": False}],
    }
    # identical policies on one row: the provider is indifferent there
    l[0, 1] = l[0, 0]
    inc = incentives(u, l, ("DQ", "VQ"), ("oracle", "selfish_llm"))
    assert inc["llm_selfish_llm_minus_oracle"]["DQ"] == {"mean": 0.0, "se": 0.0, "ci95": [0.0, 0.0]}
    st = structure(u.mean(-1), l.mean(-1), inc, ("DQ", "VQ"), ("oracle", "selfish_llm"))
    assert st["llm"] == "weakly selfish_llm"


def test_metrics_csv_holds_the_headline_numbers(tmp_path):
    import csv

    from gtalign_sim.eval.tidy import COLUMNS

    m = dilemma_map.run(_cfg(tmp_path, "plots=false"))
    with (tmp_path / "metrics.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = {(r["assistant"], r["metric"], r["group"]): r for r in reader}
    p = m["points"][1]  # price_scale=4
    g = "price_scale=4,effort_detail_scale=1"
    r = rows[("oracle", "user_welfare", f"{g},strategy=VQ")]
    assert (float(r["mean"]), float(r["lo"]), float(r["hi"]), r["n"]) == (
        p["user"][1][0],
        p["user_ci95"][0][1][0],
        p["user_ci95"][1][1][0],
        "5",
    )
    r = rows[("", "price_of_anarchy", g)]
    assert (float(r["mean"]), float(r["lo"]), float(r["hi"])) == (
        p["price_of_anarchy"],
        *p["bootstrap"]["price_of_anarchy_ci95"],
    )
    assert float(rows[("", "same_type_fraction", g)]["mean"]) == p["stability"]
