"""Tests of gtalign_sim.eval: metrics, paired comparisons, Pareto analysis, plots and reports.

The statistics are tested in test_eval_stats.py, the exact Pareto quantities in
test_eval_pareto.py and metrics.csv in test_eval_tidy.py.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from collections import Counter
from typing import Any

import numpy as np
import pytest

from gtalign_sim.eval import (
    assistant_metrics,
    compare,
    compute_metrics,
    console_table,
    findings,
    holm,
    load_records,
    paired_difference,
    pareto_analysis,
    plot_action_mix,
    plot_pricing_shift,
    plot_welfare_bars,
    plot_welfare_plane,
    print_summary,
    summary_markdown,
    write_metrics,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAMILIES = ("math", "ambiguous_qa", "writing", "safety")
PLANS = ("subscription", "per_token_api", "free")

# Effects on (U, L) relative to a shared per-episode baseline (common random numbers).
# always_cq is below gtalign in both coordinates: dominated on average.
EFFECTS = {
    "oracle": (0.15, 0.12),
    "gtalign": (0.10, 0.10),
    "always_cq": (-0.05, 0.02),
    "selfish_llm": (-0.10, 0.18),
}


def _first_mode(assistant: str, strategy: str, rng: np.random.Generator) -> str:
    if assistant == "always_cq":
        return "CQ"
    if assistant == "oracle":
        return "DA" if strategy == "DQ" else "CQ"
    if assistant == "gtalign":
        if strategy == "DQ":
            return "AQ" if rng.random() < 0.1 else "DA"
        return "CQ" if rng.random() < 0.6 else "AQ"
    return "CQ" if rng.random() < 0.5 else "DA"  # selfish_llm clarifies often


def make_records(
    n_episodes: int = 60,
    seed: int = 0,
    assistants: tuple[str, ...] = tuple(EFFECTS),
    pricing: bool = True,
) -> list[dict[str, Any]]:
    """Synthetic episode records with known assistant effects, matched on ``episode``."""
    rng = np.random.default_rng(seed)
    records = []
    for ep in range(n_episodes):
        base_u, base_l = rng.uniform(0.35, 0.6, size=2)
        strategy = "VQ" if rng.random() < 0.4 else "DQ"
        family = FAMILIES[ep % len(FAMILIES)]
        profile: dict[str, Any] = {"persona": "student"}
        if pricing:
            profile["pricing"] = PLANS[ep % len(PLANS)]
        for a in assistants:
            du, dl = EFFECTS[a]
            u = float(np.clip(base_u + du + rng.normal(0, 0.02), 0, 1))
            l = float(np.clip(base_l + dl + rng.normal(0, 0.02), 0, 1))
            first = _first_mode(a, strategy, rng)
            modes = [first] if first == "DA" else [first, "DA"]
            transcript = [{"role": "user", "text": "q" * 40, "mode": None, "tokens": 10}]
            for m in modes:
                transcript.append({"role": "assistant", "text": "a" * 200, "mode": m, "tokens": 50})
            records.append(
                {
                    "assistant": a,
                    "episode": ep,
                    "seed": seed,
                    "task_id": f"{family}-{ep:04d}",
                    "family": family,
                    "difficulty": "medium",
                    "ambiguous": strategy == "VQ",
                    "profile": profile,
                    "strategy": strategy,
                    "actions": [0] * len(modes),
                    "modes": modes,
                    "verbosities": ["standard"] * len(modes),
                    "transcript": transcript,
                    "turns": len(modes),
                    "tokens": {"assistant": 50 * len(modes), "user": 10},
                    "answer_quality": float(np.clip(0.7 + du, 0, 1)),
                    "user_welfare": u,
                    "llm_welfare": l,
                    "mutual_welfare": math.sqrt(u * l),
                    "aggregate": math.sqrt(u * l),
                    "aggregator": "cobb_douglas",
                    "stop_reason": "satisfied",
                }
            )
    return records


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return make_records()


@pytest.fixture(scope="module")
def metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    return compute_metrics(records)


# --------------------------------------------------------------------------- metrics


def test_paired_difference_is_mean_of_matched_differences(records) -> None:
    by = {(r["assistant"], r["episode"]): r["mutual_welfare"] for r in records}
    diffs = [by[("gtalign", e)] - by[("always_cq", e)] for e in range(60)]
    # shuffled record order must not change the matching
    shuffled = [records[i] for i in np.random.default_rng(3).permutation(len(records))]
    d = paired_difference(shuffled, "gtalign", "always_cq")
    assert d["n"] == 60
    assert d["mean"] == pytest.approx(float(np.mean(diffs)))
    assert d["lo"] < d["mean"] < d["hi"]
    assert d["lo"] > 0  # gtalign is better by construction
    assert d["p_better"] == pytest.approx(np.mean(np.array(diffs) > 0))
    assert d["p_value"] < 1e-6
    with pytest.raises(ValueError):
        paired_difference(records, "gtalign", "nobody")


def test_paired_difference_matches_on_seed_when_episodes_repeat() -> None:
    recs = make_records(10, seed=1, assistants=("gtalign", "always_cq"))
    recs += make_records(10, seed=2, assistants=("gtalign", "always_cq"))
    by = {(r["assistant"], r["seed"], r["episode"]): r["user_welfare"] for r in recs}
    keys = [(s, e) for s in (1, 2) for e in range(10)]
    expected = np.mean([by[("gtalign", *k)] - by[("always_cq", *k)] for k in keys])
    d = paired_difference(recs, "gtalign", "always_cq", metric="user_welfare")
    assert d["n"] == 20
    assert d["mean"] == pytest.approx(expected)


def test_compare_is_other_minus_reference(records) -> None:
    comp = compare(records, reference="gtalign")
    assert set(comp) == {"oracle", "always_cq", "selfish_llm"}
    assert comp["oracle"]["mean"] > 0 > comp["always_cq"]["mean"]
    assert comp["always_cq"]["a"] == "always_cq" and comp["always_cq"]["b"] == "gtalign"
    with pytest.raises(ValueError):
        compare(records, reference="missing")


def _diff_records(diffs: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Records whose mutual welfare is ``diffs[a][e]`` above the reference's 0.5."""
    n = len(next(iter(diffs.values())))
    recs = [{"assistant": "gtalign", "episode": e, "mutual_welfare": 0.5} for e in range(n)]
    for a, ds in diffs.items():
        recs += [
            {"assistant": a, "episode": e, "mutual_welfare": 0.5 + d} for e, d in enumerate(ds)
        ]
    return recs


def test_compare_adjusts_p_values_with_holm_and_calls_ties() -> None:
    pattern = [1.0, -1.0] * 5
    diffs = {
        "strong": [0.05 + 0.01 * z for z in pattern],  # far from 0
        "weak": [0.02 + 0.021 * z for z in pattern],  # raw p = 0.019, Holm 3 × 0.019
        "worse": [-0.05 + 0.01 * z for z in pattern],
        "noise": [0.001 + 0.03 * z for z in pattern],  # CI contains 0
        "same": [0.0] * 10,  # identical: p = 1
    }
    comp = compare(_diff_records(diffs), reference="gtalign")
    assert list(comp) == list(diffs)
    raw = [comp[o]["p_value"] for o in diffs]
    assert [comp[o]["p_holm"] for o in diffs] == holm(raw)
    weak = comp["weak"]
    assert weak["lo"] > 0 and weak["p_value"] < 0.05 <= weak["p_holm"]  # the premise
    assert weak["p_holm"] == pytest.approx(weak["p_value"] * 3)  # third smallest of five
    verdicts = {o: d["verdict"] for o, d in comp.items()}
    assert verdicts == {
        "strong": "higher",
        "weak": "tie",
        "worse": "lower",
        "noise": "tie",
        "same": "tie",
    }
    assert comp["noise"]["lo"] < 0 < comp["noise"]["hi"]
    # a single pair is a family of one: p_holm is the raw p-value
    single = paired_difference(_diff_records(diffs), "weak", "gtalign")
    assert single["p_holm"] == single["p_value"] == weak["p_value"]
    assert single["verdict"] == "higher"


def test_comparison_p_value_is_scipy_ttest_rel(records) -> None:
    import scipy.stats

    by = {(r["assistant"], r["episode"]): r["mutual_welfare"] for r in records}
    a = [by[("selfish_llm", e)] for e in range(60)]
    b = [by[("gtalign", e)] for e in range(60)]
    d = compare(records, reference="gtalign")["selfish_llm"]
    assert d["p_value"] == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue, rel=1e-12)


def test_action_frequencies_match_hand_counts(records) -> None:
    per = assistant_metrics(records)
    assert list(per) == ["oracle", "gtalign", "selfish_llm", "always_cq"]  # display order
    for a, m in per.items():
        recs = [r for r in records if r["assistant"] == a]
        for strat in ("DQ", "VQ", "all"):
            sub = [r for r in recs if strat == "all" or r["strategy"] == strat]
            counts = Counter(r["modes"][0] for r in sub)
            freqs = m["action_frequencies"][strat]
            assert sum(freqs.values()) == pytest.approx(1.0)
            for mode in ("DA", "CQ", "AQ"):
                assert freqs[mode] == pytest.approx(counts[mode] / len(sub))
                assert m["action_counts"][strat][mode] == counts[mode]
        n_vq = sum(r["strategy"] == "VQ" for r in recs)
        assert m["user_strategy_share"] == pytest.approx(n_vq / len(recs))
    assert per["always_cq"]["action_frequencies"]["DQ"]["CQ"] == 1.0
    assert per["oracle"]["action_frequencies"]["VQ"] == {"DA": 0.0, "CQ": 1.0, "AQ": 0.0}


def test_assistant_metrics_contents(records) -> None:
    m = assistant_metrics(records)["gtalign"]
    recs = [r for r in records if r["assistant"] == "gtalign"]
    for key in ("user_welfare", "llm_welfare", "mutual_welfare", "aggregate", "answer_quality"):
        assert m[key]["mean"] == pytest.approx(np.mean([r[key] for r in recs]))
        assert set(m[key]) >= {"mean", "lo", "hi", "std", "n"}
    tokens = np.mean([r["tokens"]["assistant"] for r in recs])
    assert m["tokens"]["mean"] == pytest.approx(tokens)
    assert m["turns"]["mean"] == pytest.approx(np.mean([r["turns"] for r in recs]))
    assert m["efficiency"] == pytest.approx(
        1000 * np.mean([r["answer_quality"] for r in recs]) / tokens
    )
    assert m["stop_reasons"] == {"satisfied": 60}
    assert m["verbosity_frequencies"] == {"standard": 1.0}
    assert set(m["by_family"]) == set(FAMILIES)
    assert sum(b["n"] for b in m["by_family"].values()) == 60
    assert set(m["by_pricing"]) == set(PLANS)
    for block in m["by_pricing"].values():
        assert sum(block["action_frequencies"]["all"].values()) == pytest.approx(1.0)
    assert 0 < m["response_length_ratio"] < 1


def test_metrics_json_round_trip_without_nan(tmp_path, records) -> None:
    recs = [dict(r) for r in records]
    recs[0]["answer_quality"] = float("nan")  # a bad value must not leak into the JSON
    out = write_metrics(recs, tmp_path / "m" / "metrics.json")
    text = (tmp_path / "m" / "metrics.json").read_text()
    assert json.loads(text) == out
    json.dumps(out, allow_nan=False)
    assert out["reference"] == "gtalign"
    assert out["assistant_metrics"]["oracle"]["answer_quality"]["n"] == 59


def test_pareto_analysis_flags_dominated_assistant(records) -> None:
    p = pareto_analysis(records)
    assert p["on_frontier"]["always_cq"] is False
    assert p["on_frontier"]["oracle"] is True
    assert "always_cq" not in p["frontier"]
    assert p["reference_point"] == pytest.approx(
        [
            min(m["user_welfare"] for m in p["means"].values()),
            min(m["llm_welfare"] for m in p["means"].values()),
        ]
    )
    assert p["hypervolume"]["oracle"] > p["hypervolume"]["gtalign"] > p["hypervolume"]["always_cq"]
    assert p["joint_hypervolume"] >= max(p["hypervolume"].values())
    dom = p["eps_dominance"]
    assert dom["gtalign"]["always_cq"]["n"] == 60
    assert dom["gtalign"]["always_cq"]["fraction"] > 0.9
    assert dom["always_cq"]["gtalign"]["count"] == 0
    assert p["n_matched_all"] == 60
    assert p["mean_linf_regret"]["always_cq"] > p["mean_linf_regret"]["oracle"]
    assert p["frontier_share"]["always_cq"] < 0.1


# --------------------------------------------------------------------------- plots


def _assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 5_000


def test_plots_write_pngs(tmp_path, records, metrics) -> None:
    _assert_png(plot_welfare_bars(metrics, tmp_path / "bars.png"))
    _assert_png(plot_welfare_plane(records, metrics, tmp_path / "plane.png", max_points=20))
    _assert_png(plot_action_mix(metrics, tmp_path / "mix.png"))
    _assert_png(plot_pricing_shift(metrics, tmp_path / "sub" / "pricing.png"))
    # the per-assistant part alone is accepted too
    _assert_png(plot_welfare_bars(metrics["assistant_metrics"], tmp_path / "bars2.png"))


def test_pricing_shift_needs_two_plans(tmp_path) -> None:
    m = compute_metrics(make_records(12, pricing=False))
    assert plot_pricing_shift(m, tmp_path / "p.png") is None
    assert not (tmp_path / "p.png").exists()


# --------------------------------------------------------------------------- reports


def test_summary_markdown_has_assistants_and_computed_findings(metrics) -> None:
    text = summary_markdown(metrics, {"n_episodes": 60, "families": list(FAMILIES), "seed": 0})
    for a in metrics["assistants"]:
        assert a in text
    found = findings(metrics)
    assert 3 <= len(found) <= 5
    for line in found:
        assert line in text
    per = metrics["assistant_metrics"]
    top = max(per, key=lambda a: per[a]["mutual_welfare"]["mean"])
    assert found[0].startswith(top)
    # clarification findings are about adaptive assistants (always_* clarify by definition)
    adaptive = [a for a in per if not a.startswith("always_") and a != "random"]
    rates = {a: (per[a]["action_frequencies"]["VQ"] or {}).get("CQ") or 0.0 for a in adaptive}
    over = max(rates, key=rates.get)
    if rates[over] > 0:
        assert any(f.startswith(f"{over} asks a clarifying question first on") for f in found)
    assert not any(f.startswith("always_") and "clarif" in f for f in found)
    assert any(f.startswith("gtalign beats") for f in found)
    assert "![" in text and "welfare_plane.png" in text
    assert "- **seed**: 0" in text


def test_findings_change_with_the_numbers() -> None:
    m1 = compute_metrics(make_records(30, seed=4))
    recs = make_records(30, seed=4)
    for r in recs:  # make gtalign much worse for the user: it now loses to everyone
        if r["assistant"] == "gtalign":  # gains may fall below the disagreement point
            r["user_welfare"] = r["user_welfare"] - 0.5
            r["mutual_welfare"] = math.sqrt(max(r["user_welfare"], 0.0) * r["llm_welfare"])
    assert min(r["user_welfare"] for r in recs) < 0
    m2 = compute_metrics(recs)
    f1, f2 = findings(m1), findings(m2)
    assert f1 != f2
    ref_line = next(f for f in f2 if f.startswith("gtalign"))
    assert "does not significantly beat" in ref_line and "always_cq" in ref_line
    assert any(f.startswith("gtalign beats") for f in f1)


def test_console_table_and_print_summary(metrics) -> None:
    from rich.console import Console

    table = console_table(metrics)
    assert table.row_count == len(metrics["assistants"])
    buf = io.StringIO()
    print_summary(metrics, console=Console(file=buf, width=160))
    out = buf.getvalue()
    for a in metrics["assistants"]:
        assert a in out
    # sorted by mutual welfare, descending
    per = metrics["assistant_metrics"]
    order = sorted(per, key=lambda a: -per[a]["mutual_welfare"]["mean"])
    positions = [out.index(a) for a in order]
    assert positions == sorted(positions)


def test_summary_links_the_plots(metrics) -> None:
    text = summary_markdown(metrics, {"n_episodes": 60, "seed": 0})
    for name in ("welfare_plane.png", "action_mix.png", "pricing_shift.png"):
        assert name in text  # pricing_shift: the records have three plans
    one_plan = compute_metrics(make_records(12, pricing=False))
    assert "pricing_shift.png" not in summary_markdown(one_plan, {})


def _bundle(recs: list[dict[str, Any]], out) -> None:
    """metrics.json, the plots and summary.md, as an experiment writes them."""
    m = write_metrics(recs, out / "metrics.json")
    plot_welfare_bars(m, out / "bars.png")
    plot_welfare_plane(recs, m, out / "plane.png")
    plot_action_mix(m, out / "mix.png")
    plot_pricing_shift(m, out / "pricing.png")
    (out / "summary.md").write_text(summary_markdown(m, {}))


# --------------------------------------------------------------------------- robustness


def test_single_episode_assistant_does_not_crash(tmp_path, records) -> None:
    extra = dict(records[0], assistant="newcomer")
    recs = [*records, extra]
    m = compute_metrics(recs)
    ci = m["assistant_metrics"]["newcomer"]["mutual_welfare"]
    assert ci["n"] == 1 and ci["lo"] == ci["hi"] == ci["mean"]
    assert m["comparison"]["newcomer"]["n"] == 1
    assert m["comparison"]["newcomer"]["p_value"] is None
    # per-episode frontier statistics use whoever ran the episode
    assert m["pareto"]["frontier_episodes"]["newcomer"] == 1
    assert m["pareto"]["frontier_episodes"]["gtalign"] == 60
    assert m["pareto"]["n_matched_all"] == 1
    # an n=1 assistant is never reported as significantly better or worse
    assert not any("newcomer" in f for f in findings(m) if "beat" in f)
    json.dumps(m, allow_nan=False)
    _bundle(recs, tmp_path)
    assert (tmp_path / "summary.md").exists()


def test_missing_optional_keys_do_not_crash(tmp_path) -> None:
    rng = np.random.default_rng(0)
    recs = []
    for ep in range(8):
        for a in ("gtalign", "always_da"):
            u, l = rng.uniform(0.2, 0.9, size=2)
            recs.append({"assistant": a, "episode": ep, "user_welfare": u, "llm_welfare": l})
    recs.append({"assistant": "always_da", "episode": 99})  # no welfare at all
    m = compute_metrics(recs)
    json.dumps(m, allow_nan=False)
    per = m["assistant_metrics"]["gtalign"]
    assert per["mutual_welfare"]["mean"] is None and per["tokens"]["n"] == 0
    assert per["by_pricing"].keys() == {"unknown"}
    assert per["action_frequencies"]["DQ"] == {"DA": None, "CQ": None, "AQ": None}
    assert per["user_strategy_share"] is None
    assert m["pareto"]["n_matched_all"] == 8
    assert findings(m)
    summary_markdown(m, None)
    _bundle(recs, tmp_path)
    empty = compute_metrics([])
    assert empty["assistants"] == [] and empty["reference"] is None
    assert findings(empty) == ["No episodes were recorded."]


def test_load_records_round_trip(tmp_path, records) -> None:
    path = tmp_path / "episodes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records[:5]) + "\n\n")
    assert load_records(path) == records[:5]
    path.write_text("{not json}\n")
    with pytest.raises(ValueError, match=r"episodes\.jsonl:1"):
        load_records(path)


def test_import_is_light() -> None:
    code = (
        "import sys, gtalign_sim.eval; "
        "print(any(m.split('.')[0] in ('matplotlib', 'rich', 'scipy') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
