"""experiment=reward_ablation: the four objectives and the inference variants on paired
episodes, the Table 5 analogue, paired differences with Holm, verdicts, Pareto analysis."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hydra import compose, initialize_config_module

from gtalign_sim.eval.columns import Columns
from gtalign_sim.eval.pareto import eps_dominates
from gtalign_sim.experiments import reward_ablation

NAMES = ["oracle", "linear_welfare", "user_only", "selfish_llm", "gtalign", "gtalign_cd"]
N = 12  # episodes per arm: 3 per family


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=reward_ablation",
                f"output_dir={out}",
                "episodes_per_family=3",
                "assistants.oracle_particles=4",
                "assistants.n_particles=4",
                "env.tasks_per_family=8",
                "progress=false",
                "print_table=false",
                *extra,
            ],
        )


def _holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment written out independently of eval.stats."""
    order = np.argsort(p)
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


@pytest.fixture(scope="module")
def ablation_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation")
    metrics = reward_ablation.run(_cfg(out, "plots=true"))
    recs = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    return out, metrics, recs


def _col(recs, name, metric):
    rows = sorted((r for r in recs if r["assistant"] == name), key=lambda r: r["episode"])
    if metric == "sum_welfare":
        return np.array([r["user_welfare"] + r["llm_welfare"] for r in rows])
    return np.array([r[metric] for r in rows], dtype=float)


def test_every_objective_plays_the_same_episodes(ablation_run):
    out, metrics, recs = ablation_run
    assert sorted({r["assistant"] for r in recs}) == sorted(NAMES)
    assert len(recs) == len(NAMES) * N
    for i in range(N):  # common random numbers: episode i is one task and one user
        same = [r for r in recs if r["episode"] == i]
        assert len(same) == len(NAMES)
        assert len({(r["task_id"], r["seed"]) for r in same}) == 1
    a = metrics["reward_ablation"]
    assert a["objectives"] == {
        "oracle": "Cobb–Douglas √(U·L)",
        "linear_welfare": "linear U+L",
        "user_only": "user-only U",
        "selfish_llm": "LLM-only L",
    }
    assert list(a["table"]) == NAMES
    assert json.loads((out / "metrics.json").read_text())["reward_ablation"] == a


def test_table_is_the_mean_and_t_interval_of_the_records(ablation_run):
    _, metrics, recs = ablation_run
    table = metrics["reward_ablation"]["table"]
    for name in NAMES:
        assert table[name]["n"] == N
        for metric in ("user_welfare", "llm_welfare", "user_level", "llm_level", "sum_welfare"):
            x = _col(recs, name, metric)
            s = table[name][metric]
            half = scipy.stats.t.ppf(0.975, N - 1) * x.std(ddof=1) / np.sqrt(N)
            assert s["n"] == N
            assert s["mean"] == pytest.approx(x.mean(), abs=1e-12)
            assert (s["lo"], s["hi"]) == pytest.approx((x.mean() - half, x.mean() + half))
        # levels are clip((gain + 1)/2, 0, 1) of the gains
        u = _col(recs, name, "user_welfare")
        assert table[name]["user_level"]["mean"] == pytest.approx(
            np.clip((u + 1) / 2, 0, 1).mean(), abs=1e-12
        )
        for metric in ("answer_quality", "tokens", "turns", "format_score"):
            assert table[name][metric]["n"] == N


def test_paired_differences_against_cobb_douglas_with_holm(ablation_run):
    _, metrics, recs = ablation_run
    comps = metrics["reward_ablation"]["comparisons"]
    pairs = [(c["other"], c["cd"], c["kind"]) for c in comps]
    assert pairs == [
        ("linear_welfare", "oracle", "objective"),
        ("user_only", "oracle", "objective"),
        ("selfish_llm", "oracle", "objective"),
        ("gtalign", "oracle", "inference_vs_oracle"),
        ("gtalign_cd", "oracle", "inference_vs_oracle"),
        ("gtalign", "gtalign_cd", "inference_rule"),
    ]
    for metric in ("mutual_welfare", "sum_welfare"):
        pvals = []
        for c in comps:
            a, b = _col(recs, c["other"], metric), _col(recs, c["cd"], metric)
            res = scipy.stats.ttest_rel(a, b)
            ci = res.confidence_interval(0.95)
            t = c[metric]
            assert t["n"] == N
            assert t["mean"] == pytest.approx((a - b).mean(), abs=1e-12)
            if np.std(a - b) > 0:
                assert (t["lo"], t["hi"]) == pytest.approx((ci.low, ci.high))
                assert t["p_value"] == pytest.approx(res.pvalue)
            pvals.append(t["p_value"])
        assert [c[metric]["p_holm"] for c in comps] == pytest.approx(_holm(pvals))
    claim = metrics["reward_ablation"]["claim_iii"]
    assert list(claim) == [
        "oracle vs linear_welfare",
        "oracle vs user_only",
        "oracle vs selfish_llm",
        "gtalign_cd vs gtalign",
    ]
    for c in comps:
        for metric in ("mutual_welfare", "sum_welfare"):
            t = c[metric]
            expect = "tie"
            if t["p_holm"] is not None and t["p_holm"] < 0.05:
                expect = "win" if t["hi"] < 0 else "loss" if t["lo"] > 0 else "tie"
            assert t["outcome"] == expect


def test_pareto_analysis_on_matched_episodes(ablation_run):
    _, metrics, recs = ablation_run
    pareto = metrics["pareto"]
    assert pareto["assistants"] == [n for n in metrics["assistants"]]
    assert sorted(pareto["assistants"]) == sorted(NAMES)
    for a in ("oracle", "selfish_llm"):
        for b in ("linear_welfare", "gtalign_cd"):
            pa = np.c_[_col(recs, a, "user_welfare"), _col(recs, a, "llm_welfare")]
            pb = np.c_[_col(recs, b, "user_welfare"), _col(recs, b, "llm_welfare")]
            cell = pareto["eps_dominance"][a][b]
            assert cell["n"] == N
            assert cell["count"] == int(eps_dominates(pa, pb, pareto["eps"]).sum())
    assert metrics["reference"] == "oracle"


def test_summary_states_the_claim_and_links_the_figure(ablation_run):
    out, metrics, _ = ablation_run
    text = (out / "summary.md").read_text()
    words = {"win": "Cobb–Douglas wins", "loss": "Cobb–Douglas loses", "tie": "tie"}
    for c in metrics["reward_ablation"]["comparisons"]:
        row = f"| {c['other']} − {c['cd']} | {c['mutual_welfare']['mean']:+.4f}"
        assert row in text
        if c["kind"] != "inference_vs_oracle":
            outcome = words[c["mutual_welfare"]["outcome"]]
            assert f"- {c['cd']} vs {c['other']} " in text
            assert f"√(U·L): **{outcome}**" in text
    assert "| oracle | Cobb–Douglas √(U·L) | 12 |" in text
    for png in ("reward_ablation.png", "welfare_plane.png", "action_mix.png"):
        assert (out / png).stat().st_size > 10_000
        assert f"({png})" in text


def test_report_run_re_renders_the_same_metrics(ablation_run, tmp_path):
    out, metrics, _ = ablation_run
    again = reward_ablation.report_run(_cfg(out, "plots=false"), out)
    assert again == metrics


def _columns(values: dict[str, list[tuple[float, float]]]) -> dict[str, Columns]:
    groups: dict[str, Columns] = {}
    strings: dict[str, str] = {}
    for name, points in values.items():
        c = groups[name] = Columns(reward_ablation.COLUMNS)
        for i, (u, l) in enumerate(points):
            rec = {"assistant": name, "episode": i, "seed": i, "user_welfare": u}
            rec |= {"llm_welfare": l, "mutual_welfare": float(np.sqrt(max(u, 0) * max(l, 0)))}
            c.append(rec, strings)
    return groups


def test_outcomes_win_loss_and_tie():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.7, size=(30, 2))
    jitter = rng.normal(0, 0.002, size=(30, 2))
    groups = _columns(
        {
            "oracle": [tuple(p) for p in base],
            "linear_welfare": [tuple(p) for p in base - 0.05 + jitter],  # clearly worse
            "user_only": [tuple(p) for p in base + 0.05 + jitter],  # clearly better
            "selfish_llm": [tuple(p) for p in base + jitter],  # noise only
        }
    )
    a = reward_ablation.analyse(
        groups, ["oracle", "linear_welfare", "user_only", "selfish_llm"], []
    )
    assert a["claim_iii"] == {
        "oracle vs linear_welfare": {"mutual_welfare": "win", "sum_welfare": "win"},
        "oracle vs user_only": {"mutual_welfare": "loss", "sum_welfare": "loss"},
        "oracle vs selfish_llm": {"mutual_welfare": "tie", "sum_welfare": "tie"},
    }
    assert a["comparisons"][0]["sum_welfare"]["mean"] == pytest.approx(
        float(np.mean(jitter.sum(axis=1) - 0.1)), abs=1e-12
    )


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("reward_ablation.objectives=[linear_welfare,user_only]", "reward_ablation.objectives"),
        ("reward_ablation.objectives=[oracle]", "reward_ablation.objectives"),
        ("reward_ablation.objectives=[oracle,oracle,user_only]", "reward_ablation.objectives"),
        ("reward_ablation.inference=[gtalign,nope]", "reward_ablation.inference"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path, override, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")) as err:
        reward_ablation.run(_cfg(tmp_path, override))
    assert "\n" not in str(err.value)
    assert "valid choices" in str(err.value) or "needs 'oracle'" in str(err.value)
    assert not (tmp_path / "episodes.jsonl").exists()


def test_metrics_csv_holds_the_metrics_in_long_form(ablation_run):
    import csv

    out, metrics, _ = ablation_run
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    cell = {(r["assistant"], r["metric"], r["group"]): r for r in rows}
    for name, block in metrics["assistant_metrics"].items():
        row = cell[(name, "mutual_welfare", "all")]
        assert float(row["mean"]) == block["mutual_welfare"]["mean"]
        assert int(row["n"]) == block["mutual_welfare"]["n"]
