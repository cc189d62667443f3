"""experiment=evolution: replicator dynamics and the repeated-game tournament on the
empirical game (content of the outputs, the dynamics on known games, the learners)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.envs.learners import QLearner, RegretMatcher
from gtalign_sim.envs.matrix_game import AlwaysCooperate, MatrixGameEnv, play_repeated
from gtalign_sim.eval import evolution as evo
from gtalign_sim.eval import tournament as tour
from gtalign_sim.experiments import evolution

ROUNDS = 20


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=evolution",
                f"output_dir={out}",
                "pd.episodes_per_cell=6",
                "pd.bootstrap=20",
                "evolution.grid=2",
                "evolution.bootstrap=10",
                "evolution.seeds=2",
                f"evolution.rounds={ROUNDS}",
                "assistants.oracle_particles=4",
                "env.tasks_per_family=8",
                "progress=false",
                "print_table=false",
                *extra,
            ],
        )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evolution")
    evolution.run(_cfg(out, "plots=true"))
    return out


def _pair(game: dict, user: str, assistant: str) -> dict:
    return next(
        p for p in game["tournament"]["pairs"] if (p["user"], p["assistant"]) == (user, assistant)
    )


def test_the_measured_game_is_the_paired_cell_means(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    lines = [json.loads(x) for x in (run_dir / "episodes.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 2 * 6
    assert {(r["strategy"], r["assistant"]) for r in lines} == {
        (s, p) for s in ("DQ", "VQ") for p in ("oracle", "selfish_llm")
    }
    g = m["games"]["measured"]
    assert g["rows"] == ["DQ", "VQ"] and g["cols"] == ["oracle", "selfish_llm"]
    for si, s in enumerate(("DQ", "VQ")):
        for pi, p in enumerate(("oracle", "selfish_llm")):
            rs = [r for r in lines if r["strategy"] == s and r["assistant"] == p]
            assert g["user"][si][pi] == pytest.approx(np.mean([r["user_welfare"] for r in rs]))
            assert g["llm"][si][pi] == pytest.approx(np.mean([r["llm_welfare"] for r in rs]))
    assert g["user"] == m["stage_game"]["user"] and g["equilibria"] == m["stage_game"]["equilibria"]
    assert g["source"] == "simulation: scenario=paper, 6 paired episodes per cell"


def test_the_replicator_section_is_consistent(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    rep = m["games"]["measured"]["replicator"]
    assert rep["starts"] == [[0.25, 0.25], [0.25, 0.75], [0.75, 0.25], [0.75, 0.75]]
    for end, label in zip(rep["ends"], rep["end_labels"], strict=True):
        assert label == evo.end_label(end, ["DQ", "VQ"], ["oracle", "selfish_llm"])
    assert sum(rep["basins"].values()) == pytest.approx(1.0)
    b = rep["bootstrap"]
    assert b["n"] == 10 and len(b["same_end_fraction_by_start"]) == 4
    assert b["same_end_fraction"] == pytest.approx(np.mean(b["same_end_fraction_by_start"]))
    ref = m["games"]["prisoners_dilemma"]
    assert "not a simulation result" in ref["source"]
    assert ref["replicator"]["basins"] == {"D/D": 1.0} and "bootstrap" not in ref["replicator"]


def test_tournament_payoffs_follow_the_stage_game(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    g = m["games"]["measured"]
    u, l = np.array(g["user"]), np.array(g["llm"])
    # deterministic pairs: exact cells; tit-for-tat against always-defect: one (DQ, selfish)
    # round, then (VQ, selfish) for the rest
    p = _pair(g, "always_cooperate", "always_cooperate")
    assert p["U"]["mean"] == pytest.approx(u[0, 0], abs=1e-6) and p["U"]["lo"] == p["U"]["hi"]
    p = _pair(g, "always_defect", "always_cooperate")
    assert p["L"]["mean"] == pytest.approx(l[1, 0], abs=1e-6)
    p = _pair(g, "tit_for_tat", "always_defect")
    assert p["U"]["mean"] == pytest.approx((u[0, 1] + (ROUNDS - 1) * u[1, 1]) / ROUNDS, abs=1e-6)
    assert p["cells"] == [0.0, 1 / ROUNDS, 0.0, 1 - 1 / ROUNDS]
    assert p["mutual_cooperation"]["mean"] == 0.0
    assert _pair(g, "grim_trigger", "tit_for_tat")["mutual_cooperation"]["mean"] == 1.0
    # the textbook prisoner's dilemma: reciprocity sustains cooperation, unconditional
    # cooperation is exploited, mutual defection is an equilibrium
    t = m["games"]["prisoners_dilemma"]["tournament"]
    assert ["tit_for_tat", "tit_for_tat"] in t["sustained"]
    assert ["always_cooperate", "always_cooperate"] in t["cooperative"]
    assert ["always_cooperate", "always_cooperate"] not in t["sustained"]
    assert ["always_defect", "always_defect"] in t["equilibria"]
    ac = _pair(m["games"]["prisoners_dilemma"], "always_cooperate", "always_cooperate")
    assert ac["user_switch"]["best"] == {"to": "always_defect", "mean": 2.0, "lo": 2.0, "hi": 2.0}
    assert len(t["learners"]) == 4


def test_outputs_and_rerender(run_dir):
    for name in ("replicator.png", "tournament.png"):
        assert (run_dir / name).stat().st_size > 0
    text = (run_dir / "summary.md").read_text()
    assert "](replicator.png)" in text and "](tournament.png)" in text
    assert "textbook reference" in text and "not a simulation result" in text
    assert "6 paired episodes per cell" in text
    before = (run_dir / "metrics.json").read_bytes()
    evolution.report_run(_cfg(run_dir, "plots=false"), run_dir)
    assert (run_dir / "metrics.json").read_bytes() == before  # deterministic from the episodes


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("pd.policies=[oracle,selfish_llm,random]", r"pd\.policies"),
        ("evolution.grid=0", r"evolution\.grid"),
        ("evolution.horizon=-1", r"evolution\.horizon"),
        ("evolution.strategies=[tit_for_tat,nope]", r"evolution\.strategies"),
        ("evolution.references=[gtalign_example]", r"evolution\.references"),
        ("evolution.learning_rate=2", r"evolution\.learning_rate"),
        ("+evolution.typo=1", r"evolution\.typo"),
    ],
)
def test_bad_settings_are_refused_before_any_work(tmp_path, override, field):
    with pytest.raises(ValueError, match=field):
        evolution.run(_cfg(tmp_path, override))
    assert not (tmp_path / "episodes.jsonl").exists()


# ------------------------------------------------------------- the dynamics on known games
def _basins(name: str) -> dict[str, float]:
    from gtalign_sim.game import get_preset

    g = get_preset(name)
    rep = evo.replicator_analysis(g.user, g.llm, g.user_strategies, g.assistant_actions, 5, 1e4)
    return rep["basins"]


def test_replicator_ends_on_textbook_games():
    assert _basins("prisoners_dilemma") == {"D/D": 1.0}
    assert _basins("harmony") == {"C/C": 1.0}
    # stag hunt: bistable, the stag basin is the corner beyond the mixed rest point (3/4, 3/4)
    assert _basins("stag_hunt") == {"Hare/Hare": 0.88, "Stag/Stag": 0.12}
    # matching pennies: closed orbits around (1/2, 1/2), period 2π for small ones
    assert _basins("matching_pennies") == {"cycle": 1.0}
    from gtalign_sim.game import get_preset

    mp = get_preset("matching_pennies")
    assert evo.cycle_period(mp.user, mp.llm) == pytest.approx(2 * np.pi)
    assert evo.cycle_period(get_preset("stag_hunt").user, get_preset("stag_hunt").llm) is None


def test_end_labels():
    rows, cols = ("DQ", "VQ"), ("oracle", "selfish")
    assert evo.end_label((0.995, 0.004), rows, cols) == "DQ/selfish"
    assert evo.end_label((0.0, 1.0), rows, cols) == "VQ/oracle"
    assert evo.end_label((1.0, 0.5), rows, cols) == "DQ/mixed"
    assert evo.end_label((0.5, 0.0), rows, cols) == "mixed/selfish"
    assert evo.end_label((0.5, 0.5), rows, cols) == "mixed"


def test_near_neutral_direction_is_flagged_as_drifting():
    # the assistant prefers column 0 by 1e-4 after row 0: y still creeps up (~0.1-0.25
    # per further horizon) on the edge where every user plays A
    u = np.array([[1.0, 1.0], [0.0, 0.0]])
    l = np.array([[1.0 + 1e-4, 1.0], [0.0, 1.0]])
    rep = evo.replicator_analysis(u, l, ("A", "B"), ("a", "b"), 2, 1e4)
    assert set(rep["end_labels"]) == {"A/mixed"}
    assert all(rep["drifting"])


# ------------------------------------------------------------------------ learners
def test_q_learner_values_are_sample_averages():
    q = QLearner([[3.0, 0.0], [5.0, 1.0]], epsilon=0.0, rng=0)
    q.reset(2)
    q.act([(0, 0), (1, 0), (0, 1)])
    assert q.q.tolist() == [1.5, 5.0] and q.n.tolist() == [2, 1]
    assert q.act([(0, 0), (1, 0), (0, 1)]) == 1  # greedy; nothing new learned
    c = QLearner([[3.0, 0.0], [5.0, 1.0]], epsilon=0.0, learning_rate=0.5, rng=0)
    c.reset(2)
    c.act([(0, 0), (0, 0)])
    assert c.q.tolist() == [2.25, 0.0]


def test_regret_matching_learns_the_dominant_action():
    env = MatrixGameEnv("prisoners_dilemma", rounds=30, memory=1)
    firsts = set()
    for seed in range(6):
        rm = RegretMatcher(np.array([[3.0, 0.0], [5.0, 1.0]]), rng=np.random.default_rng(seed))
        out = play_repeated(env, rm, AlwaysCooperate(), seed=0)
        firsts.add(out["user_actions"][0])
        # after C, D has regret 5 − 3 > 0; after D nothing has positive regret and D is
        # repeated: D forever either way
        assert out["user_actions"][1:] == [1] * 29
    assert firsts == {0, 1}  # both openings were checked


def test_random_entrants_share_their_stream_across_opponents():
    from gtalign_sim.game import get_preset

    names = ["always_cooperate", "always_defect", "random"]
    r = tour.tournament(get_preset("prisoners_dilemma"), names, rounds=40, seeds=3, seed=7)
    # the random user plays the same actions against both constant assistants
    assert np.array_equal(r["user_coop"][2, 0], r["user_coop"][2, 1])
    assert np.array_equal(r["freq"][2, 0][:, [0, 2]], r["freq"][2, 1][:, [1, 3]])
    again = tour.tournament(get_preset("prisoners_dilemma"), names, rounds=40, seeds=3, seed=7)
    assert all(np.array_equal(r[k], again[k]) for k in r)
    assert not np.array_equal(
        r["freq"], tour.tournament(get_preset("prisoners_dilemma"), names, 40, 3, seed=8)["freq"]
    )


def test_metrics_csv_holds_the_headline_numbers(run_dir: Path) -> None:
    import csv

    from gtalign_sim.eval.tidy import COLUMNS

    m = json.loads((run_dir / "metrics.json").read_text())
    with (run_dir / "metrics.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = {(r["assistant"], r["metric"], r["group"]): r for r in reader}
    st = m["stage_game"]
    r = rows[("selfish_llm", "llm_welfare", "game=measured,strategy=VQ")]
    assert (float(r["mean"]), float(r["lo"]), float(r["hi"]), r["n"]) == (
        st["llm"][1][1],
        st["llm_ci95"][0][1][1],
        st["llm_ci95"][1][1][1],
        "6",
    )
    r = rows[("", "price_of_anarchy", "game=measured")]
    assert float(r["mean"]) == st["price_of_anarchy"]
    pair = _pair(m["games"]["measured"], "tit_for_tat", "always_defect")
    r = rows[("always_defect", "U", "game=measured,user=tit_for_tat")]
    assert (float(r["mean"]), float(r["lo"]), float(r["hi"])) == (
        pair["U"]["mean"],
        pair["U"]["lo"],
        pair["U"]["hi"],
    )
