"""experiment=pricing_shift: paired pricing arms, the action-mix statistics, steering
(played steered arms and the counterfactual first move)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.core import WorldConfig
from gtalign_sim.eval.pricing_stats import Panel, analyse, claim_iv, tv_permutation_p
from gtalign_sim.experiments import pricing_shift
from gtalign_sim.experiments.settings import validate
from gtalign_sim.game import PayoffMatrix

ARMS = ["subscription", "per_token_api@0.5", "per_token_api@1", "per_token_api@4"]
PLAYED = ARMS  # steering_scales defaults to every scale
KINDS = ("reference", "token_cost")


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=pricing_shift",
                f"output_dir={out}",
                "assistants.names=[gtalign,selfish_llm]",
                "assistants.n_particles=4",
                "assistants.oracle_particles=4",
                "env.tasks_per_family=8",
                "pricing_shift.episodes=8",
                "pricing_shift.scales=[0.5,1,4]",
                "pricing_shift.bootstrap=20",
                "progress=false",
                "print_table=false",
                *extra,
            ],
        )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pricing_shift")
    metrics = pricing_shift.run(_cfg(out))
    lines = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    return out, metrics, lines


def _arm(r):
    return (
        "subscription" if r["pricing"] == "subscription" else f"per_token_api@{r['price_scale']:g}"
    )


def _recs(lines, name, arm, steering="none"):
    """The arm's records in episode order."""
    rs = [r for r in lines if r["assistant"] == name and _arm(r) == arm]
    return sorted((r for r in rs if r["steering"] == steering), key=lambda r: r["episode"])


def test_every_arm_plays_the_same_episodes(run):
    _, _, lines = run
    # unsteered: every assistant at every arm; steered: the payoff-matrix one (gtalign)
    # at every arm, once per steering
    assert len(lines) == (2 * 4 + 2 * 4) * 8
    expected = {(a, arm, "none"): 8 for a in ("gtalign", "selfish_llm") for arm in ARMS}
    expected |= {("gtalign", arm, k): 8 for arm in PLAYED for k in KINDS}
    assert Counter((r["assistant"], _arm(r), r["steering"]) for r in lines) == expected
    for i in range(8):  # common random numbers: episode i is one task and seed everywhere
        same = [r for r in lines if r["episode"] == i]
        assert len(same) == 16
        assert len({(r["task_id"], r["seed"], r["strategy"]) for r in same}) == 1
    assert all(r["price_scale"] is None for r in lines if r["pricing"] == "subscription")


def test_mixes_and_means_are_those_of_the_episodes(run):
    _, m, lines = run
    assert m["arms"] == ARMS
    assert m["prices_per_million"]["per_token_api@4"] == {"input": 10.0, "output": 40.0}
    assert m["prices_per_million"]["subscription"] == {"input": 0.0, "output": 0.0}
    for name in ("gtalign", "selfish_llm"):
        a = m["assistants"][name]
        assert a["n_paired"] == 8 and a["dropped"] == 0
        by_arm = {arm: _recs(lines, name, arm) for arm in ARMS}
        first = {arm: [r["modes"][0] for r in rs] for arm, rs in by_arm.items()}
        for arm, rs in by_arm.items():
            block = a["arms"][arm]
            for mode in ("DA", "CQ", "AQ"):
                assert block["share"][mode]["mean"] == pytest.approx(first[arm].count(mode) / 8)
            assert block["user_welfare"]["mean"] == pytest.approx(
                np.mean([r["user_welfare"] for r in rs]), abs=1e-6
            )
            tokens = [r["tokens"]["billed_prompt"] + r["tokens"]["billed_completion"] for r in rs]
            assert block["tokens"]["mean"] == pytest.approx(np.mean(tokens), abs=1e-6)
            vq = [r for r in rs if r["strategy"] == "VQ"]
            if vq:
                da = sum(r["modes"][0] == "DA" for r in vq) / len(vq)
                assert block["by_type"]["VQ"]["DA"]["mean"] == pytest.approx(da)
        for k, arm in (("0.5", ARMS[1]), ("1", ARMS[2]), ("4", ARMS[3])):
            s = a["shift"][k]
            deltas = {
                x: (first[arm].count(x) - first["subscription"].count(x)) / 8
                for x in ("DA", "CQ", "AQ")
            }
            for x, d in deltas.items():
                assert s["delta"][x]["mean"] == pytest.approx(d)
                assert s["delta"][x]["lo"] <= d + 1e-9 <= s["delta"][x]["hi"] + 2e-9
            assert s["tv"]["mean"] == pytest.approx(0.5 * sum(abs(d) for d in deltas.values()))
            assert 0.0 < s["tv"]["p_value"] <= 1.0
            assert s["claim_iv"] == claim_iv(s["delta"])
    assert m["claim_iv"] == {
        n: m["assistants"][n]["shift"]["1"]["claim_iv"]["verdict"] for n in m["assistants"]
    }


def test_steering_is_played_by_the_payoff_matrix_assistant_only(run):
    _, m, _ = run
    # played at every scale: the counterfactual mixes are not analysed, only the check
    # that re-selecting the recorded matrix reproduces the recorded first mode
    assert m["steered"] == {"gtalign": {"n_paired": 8, "reproduced": 1.0}}
    assert set(m["played"]) == {"gtalign"}
    # the reference transform's bonuses: DA +1 to the LLM under per-token pricing
    ref = m["played"]["gtalign"]["reference"]["arms"]
    for arm in ARMS[1:]:
        assert (
            ref[arm]["share"]["DA"]["mean"]
            >= m["assistants"]["gtalign"]["arms"][arm]["share"]["DA"]["mean"]
        )
    assert m["steering"] == {
        "kinds": ["reference", "token_cost"],
        "money_to_payoff": 200.0,
        "played": True,
        "played_arms": PLAYED,
    }


def test_played_steered_arms_record_their_steering_at_every_decision(run):
    _, _, lines = run
    for r in lines:
        marks = [d.get("estimates", {}).get("steering") for d in r["decisions"]]
        if r["steering"] == "none":
            assert marks == [None] * len(r["decisions"])
            continue
        assert [m["mode"] for m in marks] == [r["steering"]] * len(r["decisions"])
        assert [m["after"] for m in marks] == r["modes"]  # the steered choice was played
        assert all(m["changed"] == (m["before"] != m["after"]) for m in marks)
    for arm in PLAYED:  # same state at the first move: "before" is the unsteered choice
        none = [r["modes"][0] for r in _recs(lines, "gtalign", arm)]
        for kind in KINDS:
            steered = _recs(lines, "gtalign", arm, kind)
            assert [r["decisions"][0]["estimates"]["steering"]["before"] for r in steered] == none


def test_played_steering_metrics_are_those_of_the_episodes(run):
    _, m, lines = run
    assert set(m["played"]) == {"gtalign"} and set(m["played"]["gtalign"]) == set(KINDS)
    for kind in KINDS:
        p = m["played"]["gtalign"][kind]
        assert p["n_paired"] == 8 and list(p["arms"]) == PLAYED
        assert list(p["shift"]) == ["0.5", "1", "4"]
        first = {arm: [r["modes"][0] for r in _recs(lines, "gtalign", arm, kind)] for arm in PLAYED}
        for arm in PLAYED:
            rs, base = _recs(lines, "gtalign", arm, kind), _recs(lines, "gtalign", arm)
            for mode in ("DA", "CQ", "AQ"):
                assert p["arms"][arm]["share"][mode]["mean"] == pytest.approx(
                    first[arm].count(mode) / 8
                )
            v = p["vs_unsteered"][arm]
            assert v["n_paired"] == 8
            da = [
                (a["modes"][0] == "DA") - (b["modes"][0] == "DA")
                for a, b in zip(rs, base, strict=True)
            ]
            assert v["delta"]["DA"]["mean"] == pytest.approx(np.mean(da))
            du = [a["mutual_welfare"] - b["mutual_welfare"] for a, b in zip(rs, base, strict=True)]
            assert v["delta_outcomes"]["mutual_welfare"]["mean"] == pytest.approx(
                np.mean(du), abs=1e-6
            )
            assert 0.0 < v["tv"]["p_value"] <= 1.0
        s = p["shift"]["1"]
        per_token, sub = (_recs(lines, "gtalign", a, kind) for a in ("per_token_api@1", ARMS[0]))
        dl = [a["llm_welfare"] - b["llm_welfare"] for a, b in zip(per_token, sub, strict=True)]
        assert s["delta_outcomes"]["llm_welfare"]["mean"] == pytest.approx(np.mean(dl), abs=1e-6)
        assert s["claim_iv"] == claim_iv(s["delta"])
    assert m["claim_iv_steered"] == {"gtalign": {"reference": "holds", "token_cost": "tie"}}
    assert m["steering"]["played_arms"] == PLAYED


def test_played_reference_steering_opens_per_token_with_da(run):
    _, m, lines = run
    # 8 episodes at list price per token: unsteered gtalign opens with DA in 4 (DQ: DA,
    # VQ: mostly AQ); the reference's +1 to the LLM for DA turns every opening into DA,
    # played as in the counterfactual re-selection of the unsteered matrices
    unsteered = [r["modes"][0] for r in _recs(lines, "gtalign", "per_token_api@1")]
    assert unsteered.count("DA") == 4
    cf = m["played"]["gtalign"]["reference"]["vs_counterfactual"]
    assert cf["per_token_api@1"] == {
        "n": 8,
        "agree": 8,
        "played": {"DA": 8, "CQ": 0, "AQ": 0},
        "counterfactual": {"DA": 8, "CQ": 0, "AQ": 0},
    }
    assert cf["subscription"]["played"] == {"DA": 0, "CQ": 0, "AQ": 8}  # user bonus: AQ
    played = m["played"]["gtalign"]["reference"]["arms"]["per_token_api@1"]["share"]["DA"]
    assert played == {"mean": 1.0, "lo": 1.0, "hi": 1.0}


def test_steering_played_at_list_price_keeps_the_counterfactual_sweep(tmp_path):
    out = tmp_path / "list"
    m = pricing_shift.run(
        _cfg(out, "assistants.names=[gtalign]", "pricing_shift.steering_scales=[1]")
    )
    lines = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert Counter(r["steering"] for r in lines) == {"none": 32, "reference": 16, "token_cost": 16}
    assert m["steering"]["played_arms"] == ["subscription", "per_token_api@1"]
    cf, played = m["steered"]["gtalign"], m["played"]["gtalign"]
    assert list(cf["reference"]["arms"]) == ARMS  # the counterfactual covers the sweep
    for kind in KINDS:  # the same first moves as the fixture's played arms (same episodes)
        assert list(played[kind]["arms"]) == ["subscription", "per_token_api@1"]
        for lab, arm in played[kind]["arms"].items():
            assert arm["share"]["DA"]["mean"] >= cf[kind]["arms"][lab]["share"]["DA"]["mean"]
    ref = played["reference"]["vs_counterfactual"]["per_token_api@1"]
    assert (ref["played"]["DA"], ref["counterfactual"]["DA"], ref["agree"]) == (8, 8, 8)
    text = (out / "summary.md").read_text()
    assert "## Steering over the sweep: the counterfactual first move" in text
    assert "| gtalign | reference | per_token_api@4 | 100.0% [100.0, 100.0] |" in text
    assert "in 32 of 32 paired episodes" in text


def test_steering_not_played_reports_the_counterfactual_only(tmp_path):
    out = tmp_path / "off"
    cfg = _cfg(out, "assistants.names=[gtalign]", "pricing_shift.steering_played=false")
    m = pricing_shift.run(cfg)
    steering = [json.loads(x)["steering"] for x in (out / "episodes.jsonl").open()]
    assert steering == ["none"] * 32 and m["played"] == m["claim_iv_steered"] == {}
    assert m["steered"]["gtalign"]["reference"]["shift"]["1"]["claim_iv"]["verdict"] == "holds"
    text = (out / "summary.md").read_text()
    assert "; reference steering (counterfactual): gtalign;" in text
    assert "## Steering, played" not in text


def test_arms_give_every_arm_the_same_key_fields(tmp_path):
    def arms(*extra):
        cfg = _cfg(tmp_path / "x", *extra)
        return pricing_shift.arms(validate(cfg), cfg)

    default = arms()
    assert {tuple(a.fields) for a in default} == {
        ("assistant", "pricing", "price_scale", "steering")
    }
    steered = [(a.assistant, a.key["steering"], a.key["price_scale"]) for a in default]
    assert [x for x in steered if x[1] != "none"] == [
        ("gtalign", k, sc) for k in KINDS for sc in (None, 0.5, 1.0, 4.0)
    ]
    kw = {a.key["steering"]: dict(a.assistant_kwargs) for a in default}
    assert kw == {"none": {}, **{k: {"steering": k} for k in KINDS}}
    rated = arms("pricing_shift.money_to_payoff=50", "pricing_shift.steering_scales=[0.5,4]")
    assert [dict(a.assistant_kwargs) for a in rated if a.key["steering"] == "token_cost"] == [
        {"steering": "token_cost", "money_to_payoff": 50.0}
    ] * 3  # the subscription and two scales
    scales = [a.key["price_scale"] for a in rated if a.key["steering"] == "reference"]
    assert scales == [None, 0.5, 4.0]


def test_outputs_say_what_they_show(run):
    out, m, _ = run
    text = (out / "summary.md").read_text()
    assert "| gtalign | 8 |" in text and "| selfish_llm | 8 |" in text
    verdicts = [m["claim_iv"][n] for n in ("gtalign", "selfish_llm")]
    assert f"- **gtalign**: {verdicts[0]} —" in text
    assert (
        "**Claim (iv) holds at list price for — no steering: none; reference steering "
        "(played): gtalign; token_cost steering (played): none.**" in text
    )
    assert "## Steering, played" in text and "in 64 of 64 paired episodes" in text
    assert "counterfactual first move" not in text  # played at every scale
    assert (
        "| gtalign | reference | 1× | 8 | " in text and "| gtalign | token_cost | 4× | 8 | " in text
    )
    assert "| gtalign | token_cost | per_token_api@1 | 8 | " in text
    assert "- **gtalign, reference steering (played)**: holds —" in text
    pngs = ["pricing_shift.png", "pricing_steering.png", "pricing_welfare.png"]
    assert sorted(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)) == pngs
    assert sorted(p.name for p in out.glob("*.png")) == pngs
    assert all((out / png).stat().st_size > 10_000 for png in pngs)
    assert json.loads((out / "metrics.json").read_text())["claim_iv"] == m["claim_iv"]


def test_report_run_reproduces_the_metrics(run, tmp_path):
    out, m, _ = run
    again = pricing_shift.report_run(_cfg(out, "plots=false"), out)
    assert json.dumps(again, sort_keys=True) == json.dumps(m, sort_keys=True)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("pricing_shift.scales=[0.5,2]", r"pricing_shift\.scales"),
        ("pricing_shift.scales=[1,1]", r"pricing_shift\.scales"),
        ("pricing_shift.scales=[0,1]", r"pricing_shift\.scales"),
        ("pricing_shift.episodes=1", r"pricing_shift\.episodes"),
        ("pricing_shift.bootstrap=5", r"pricing_shift\.bootstrap"),
        ("pricing_shift.steering=[nudge]", r"pricing_shift\.steering"),
        ("pricing_shift.money_to_payoff=-1", r"pricing_shift\.money_to_payoff"),
        ("pricing_shift.steering_played=maybe", r"pricing_shift\.steering_played"),
        ("pricing_shift.steering_scales=[3]", r"pricing_shift\.steering_scales"),
        ("pricing_shift.steering_scales=[1,1]", r"pricing_shift\.steering_scales"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path, override, field):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=field):
        pricing_shift.run(_cfg(out, override))
    assert not out.exists()


def test_scaled_world_scales_only_the_per_token_price():
    w = WorldConfig()
    w4 = pricing_shift.scaled_world(w, 4.0)
    base, four = w.rates("per_token_api"), w4.rates("per_token_api")
    assert four.user_in == pytest.approx(4 * base.user_in)
    assert four.user_out == pytest.approx(4 * base.user_out)
    assert (four.compute_in, four.compute_out) == (base.compute_in, base.compute_out)
    assert w4.rates("subscription") == w.rates("subscription")
    assert pricing_shift.scaled_world(w, 1.0) is w


def test_steered_modes_apply_each_transform_and_reselect():
    # DA and AQ tie for U + L on the vague row; CQ is worse
    m = PayoffMatrix(
        user=[[3.0, 1.0, 2.5], [3.0, 1.0, 2.5]], llm=[[2.0, 1.0, 2.5], [2.0, 1.0, 2.5]]
    )
    decision = {"payoff": m.to_gtalign(), "belief": [0.0, 1.0]}

    def select(mat, belief):
        return mat.select("gtalign", user_strategy=belief).action

    w = WorldConfig()
    sub = pricing_shift.steered_modes(decision, "subscription", w, select, ("reference",), None)
    api = pricing_shift.steered_modes(decision, "per_token_api", w, select, ("reference",), None)
    # unsteered: DA and AQ tie on U + L (5.0), the higher user payoff breaks it: DA
    assert sub["none"] == api["none"] == "DA"
    assert sub["reference"] == "AQ"  # subscription: user bonus AQ +1
    assert api["reference"] == "DA"  # per-token: LLM bonus DA +1
    tc = pricing_shift.steered_modes(decision, "per_token_api", w, select, ("token_cost",), None)
    assert tc["token_cost"] == "DA"  # AQ's expected tokens cost the most compute
    assert pricing_shift.steered_modes({"action": 0}, "free", w, select, ("reference",), 1) is None


def test_claim_iv_verdicts():
    ci = lambda lo, hi: {"mean": (lo + hi) / 2, "lo": lo, "hi": hi}  # noqa: E731
    assert claim_iv({"DA": ci(0.01, 0.2), "CQ": ci(-0.1, 0.05)}) == {
        "DA": "as predicted",
        "CQ": "tie",
        "verdict": "holds",
    }
    assert claim_iv({"DA": ci(-0.3, -0.1), "CQ": ci(0.0, 0.1)})["verdict"] == "contradicted"
    assert claim_iv({"DA": ci(-0.3, -0.1), "CQ": ci(-0.2, -0.1)})["verdict"] == "mixed"
    assert claim_iv({"DA": ci(0.0, 0.1), "CQ": ci(-0.1, 0.0)})["verdict"] == "tie"


def test_tv_permutation_is_exact_for_small_paired_samples():
    rng = np.random.default_rng(0)
    x, y = np.zeros(10, int), np.full(10, 2)
    # 2^10 = 1024 within-pair swaps, enumerated: only "none" and "all" reach TV 1
    assert tv_permutation_p(x, y, 3, 2000, rng) == pytest.approx(2 / 1024)
    assert tv_permutation_p(x, x, 3, 2000, rng) == 1.0


def test_identical_arms_give_zero_shifts_with_zero_width():
    p = Panel.empty(2, 12)
    rng = np.random.default_rng(1)
    for i in range(12):
        rec = {
            "modes": [("DA", "CQ", "AQ")[i % 3]],
            "verbosities": ["standard"],
            "strategy": "VQ" if i % 2 else "DQ",
            "tokens": {"billed_prompt": 100 + i, "billed_completion": 50},
            "user_welfare": 0.1 * i,
            "llm_welfare": 0.2,
            "mutual_welfare": 0.1,
        }
        p.add(0, i, rec)
        p.add(1, i, rec)
    a = analyse(p, ["base", "priced@1"], [1.0], 50, rng)
    s = a["shift"]["1"]
    assert s["tv"]["mean"] == s["tv"]["lo"] == s["tv"]["hi"] == 0.0
    assert s["delta"]["DA"] == {"mean": 0.0, "lo": 0.0, "hi": 0.0}
    assert s["delta_outcomes"]["tokens"] == {"mean": 0.0, "lo": 0.0, "hi": 0.0}
    assert s["claim_iv"]["verdict"] == "tie" and s["tv"]["p_value"] == 1.0
    assert a["arms"]["base"]["share"]["DA"]["mean"] == pytest.approx(1 / 3)
    assert a["arms"]["base"]["total_welfare"]["mean"] == pytest.approx(0.2 + 0.55)


def test_metrics_csv_holds_the_headline_numbers(run):
    import csv

    from gtalign_sim.eval.tidy import COLUMNS

    out, m, _ = run
    with (out / "metrics.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = {(r["assistant"], r["metric"], r["group"]): r for r in reader}
    s = m["assistants"]["gtalign"]["shift"]["1"]
    r = rows[("gtalign", "delta_mutual_welfare", "arm=per_token_api@1,vs=subscription")]
    c = s["delta_outcomes"]["mutual_welfare"]
    assert (float(r["mean"]), float(r["lo"]), float(r["hi"]), r["n"]) == (
        c["mean"],
        c["lo"],
        c["hi"],
        "8",
    )
    r = rows[("selfish_llm", "share_DA", "arm=subscription")]
    assert (
        float(r["mean"])
        == m["assistants"]["selfish_llm"]["arms"]["subscription"]["share"]["DA"]["mean"]
    )
    p = m["played"]["gtalign"]["reference"]["shift"]["4"]["tv"]
    r = rows[("gtalign, reference steering", "tv_p_value", "arm=per_token_api@4,vs=subscription")]
    assert float(r["mean"]) == p["p_value"]
