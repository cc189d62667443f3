"""experiment=payoff_calibration and gtalign_sim.eval.calibration: the truth by hand, the
replay of a decision's state, exact estimates scoring zero, and the run's outputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.agents import (
    ClairvoyantAssistant,
    Decision,
    GTAlignAssistant,
    OracleAssistant,
    past_actions,
)
from gtalign_sim.core import WorldConfig, encode_action, rules
from gtalign_sim.envs.clarification import ClarificationGameEnv
from gtalign_sim.envs.ground_truth import exact_cell_payoffs
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.eval.calibration import PAYOFF_PER_GAIN, calibrate_record
from gtalign_sim.eval.calibration_report import cluster_mean, summarize
from gtalign_sim.experiments import payoff_calibration
from gtalign_sim.game import PayoffMatrix
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import Persona, TaskTables, UserPopulation, UserProfile

DA, CQ, AQ = (encode_action(m, 1) for m in ("DA", "CQ", "AQ"))
FAMILIES = ("math", "ambiguous_qa", "writing", "safety")
MODES = ("DA", "CQ", "AQ")


@pytest.fixture(scope="module")
def bank() -> TaskBank:
    return TaskBank.build(families=FAMILIES, per_family=8, seed=0)


def _hand_user(task) -> UserProfile:
    return UserProfile(
        persona="hand",
        intent=task.interpretations[0].id,
        patience=1,  # the episode ends after the first assistant turn
        effort_detail=0.1,
        effort_answer=0.05,
        time_cost=0.05,
        reading_cost=0.02,
        length_band=(20.0, 150.0),
        misfit_cost=0.08,
        pricing="per_token_api",
    )


def _by_hand(task, p: UserProfile, w: WorldConfig, mode: str) -> tuple[float, float]:
    """E[U], E[L] of one DQ turn of ``mode`` (standard) for a patience-1 user, written
    out from docs/model.md (not with the planner)."""
    t, r = TaskTables.cached(task), w.rates(p.pricing)
    prompt = w.system_tokens + t.question_tokens[0, 0]

    def outcome(visible, words, q_u, q_l, answered):
        completion = visible + w.reasoning_tokens
        money = p.money_value * (r.user_in * prompt + r.user_out * completion)
        misfit = 0.0
        if answered:
            lo, hi = p.length_band
            rel = (lo - words) / lo if words < lo else ((words - hi) / hi if words > hi else 0.0)
            misfit = p.misfit_cost * min(rel, 1.0)
        wrong = answered and q_u < 0.5
        u = q_u - p.effort_detail - p.reading_cost * visible / 100 - money - misfit
        u -= w.wrong_answer_cost * wrong
        margin = (r.revenue_in - r.compute_in) * prompt + (
            r.revenue_out - r.compute_out
        ) * completion
        ret = np.clip(w.retention_base + w.retention_slope * u, 0, 1) - w.retention_base
        l_val = w.provider_success * q_l - w.provider_error_cost * (answered and q_l < 0.5)
        l_val += w.provider_money_value * margin + w.retention_value * ret
        return u, l_val

    if mode == "CQ":
        return outcome(t.cq_tokens[1], 0.0, 0.0, 0.0, False)
    p_ok = w.p_correct(task.difficulty, 1)
    ok = outcome(
        t.answer_tokens[0, 1, 1],
        t.answer_words[0, 1, 1],
        t.q_user[0, 1, 1, 0],
        t.q_llm[0, 1, 1, 0],
        True,
    )
    ko = outcome(
        t.answer_tokens[0, 1, 0],
        t.answer_words[0, 1, 0],
        t.q_user[0, 1, 0, 0],
        t.q_llm[0, 1, 0, 0],
        True,
    )
    return p_ok * ok[0] + (1 - p_ok) * ko[0], p_ok * ok[1] + (1 - p_ok) * ko[1]


def test_truth_of_a_decision_by_hand(bank):
    task = bank.get("math-0001")  # one reading
    world, user = WorldConfig(), _hand_user(bank.get("math-0001"))
    truth = exact_cell_payoffs(task, user, world, verbosity=1)
    da, cq = _by_hand(task, user, world, "DA"), _by_hand(task, user, world, "CQ")
    assert (truth.user[0, 0], truth.llm[0, 0]) == pytest.approx(da, abs=1e-12)
    assert (truth.user[0, 1], truth.llm[0, 1]) == pytest.approx(cq, abs=1e-12)
    # a hand-built record: DA chosen, the matrix says U 0.5 / L 0.2 for it and 0 elsewhere
    est = PayoffMatrix(user=[[2.5, 0, 0], [0, 0, 0]], llm=[[1.0, 0, 0], [0, 0, 0]])
    record = {
        "episode": 3,
        "seed": 1,
        "family": "math",
        "task_id": task.id,
        "profile": user.to_dict(),
        "strategy": "DQ",
        "actions": [DA],
        "transcript": [],
        "decisions": [{"action": DA, "payoff": est.to_gtalign()}],
        "user_welfare": 0.0,
        "llm_welfare": 0.0,
        "failure": None,
    }
    (row,) = calibrate_record(record, task, world)
    assert row["state"] == "record" and row["turn"] == 1 and row["kind"] == "matrix"
    cells = {(c["row"], c["col"]): c for c in row["cells"]}
    assert cells["actual", "DA"]["chosen"] and cells["actual", "DA"]["v_source"] == "chosen"
    assert cells["actual", "CQ"]["v_source"] == "assumed"  # no assistant to recover it from
    assert cells["actual", "DA"]["est_u"] == 2.5 / PAYOFF_PER_GAIN == 0.5
    assert (cells["actual", "DA"]["true_u"], cells["actual", "DA"]["true_l"]) == pytest.approx(
        da, abs=1e-12
    )
    assert (cells["actual", "CQ"]["true_u"], cells["actual", "CQ"]["true_l"]) == pytest.approx(
        cq, abs=1e-12
    )
    assert row["chosen"]["est_l"] == pytest.approx(0.2) and row["chosen"][
        "true_u"
    ] == pytest.approx(da[0])
    # the other row: the same user had asked vaguely (exact as an information state)
    assert cells["other", "AQ"]["true_u"] == pytest.approx(truth.user[1, 2], abs=1e-12)
    mutual = rules.mutual(truth.user[0], truth.llm[0])
    assert row["regret"]["mutual"] == pytest.approx(mutual.max() - mutual[0], abs=1e-12)
    assert row["regret"]["best_sum"] == bool(np.argmax(truth.user[0] + truth.llm[0]) == 0)


def _play(env, assistant, n: int, seed: int = 0, options=None) -> list[dict]:
    out = []
    for i, sd in enumerate(episode_seeds(seed, n)):
        opts = {"family": FAMILIES[i % 4], **(options or {})}
        rec = run_episode(env, assistant, sd, opts)
        out.append(
            json.loads(json.dumps({"assistant": assistant.name, "episode": i, "seed": sd, **rec}))
        )
    return out


def test_replay_rebuilds_the_state_and_detects_a_record_it_cannot_reproduce(bank):
    world = WorldConfig()
    recs = _play(ClarificationGameEnv(tasks=bank), GTAlignAssistant(n_particles=4), 16)
    late = next(r for r in recs if len(r["actions"]) >= 2)
    env, asst = ClarificationGameEnv(tasks=bank), GTAlignAssistant(n_particles=4)
    rows = calibrate_record(late, bank.get(late["task_id"]), world, env, asst)
    assert [r["turn"] for r in rows] == list(range(1, len(late["actions"]) + 1))
    assert all(r["state"] == "replay" and r["assistant_ok"] for r in rows)
    first = rows[0]["cells"]  # turn 1: the realized and the information state coincide
    assert all(c["true_u"] == c["info_u"] and c["true_l"] == c["info_l"] for c in first)
    assert {c["v_source"] for c in first if c["row"] == "actual"} == {"chosen", "recovered"}
    tampered = {**late, "user_welfare": late["user_welfare"] + 0.01}
    assert {
        r["state"] for r in calibrate_record(tampered, bank.get(late["task_id"]), world, env, asst)
    } == {"record"}
    # a matrix the assistant would not have written is flagged (chosen or other column)
    for col in (rows[0]["action"] // 3, (rows[0]["action"] // 3 + 1) % 3):
        forged = json.loads(json.dumps(late))
        key = f"{late['strategy']}_{MODES[col]}"
        forged["decisions"][0]["payoff"][key]["user"] += 1
        (again, *_) = calibrate_record(forged, bank.get(late["task_id"]), world, env, asst)
        assert again["assistant_ok"] is False and again["state"] == "replay"


class _Writer:
    """Writes its own (long, wrong) first answer, then lets the environment render."""

    name, privileged = "writer", False

    def reset(self, seed=None) -> None:
        pass

    def act(self, observation, info) -> Decision:
        zero = PayoffMatrix(np.zeros((2, 3)), np.zeros((2, 3)))
        if not past_actions(info):
            text = "The answer is 0. " + "filler " * 300
            return Decision(DA, text=text, payoff=zero, estimates={"decided_by": "model"})
        return Decision(DA, payoff=zero)


def test_the_realized_state_is_the_replayed_one_not_the_templates(bank):
    """With every answer executed correctly the future is deterministic, so the truth of
    the last decision's chosen action at the replayed state is the episode's outcome."""
    world = WorldConfig(skill={"easy": 1.0, "medium": 1.0, "hard": 1.0}, verbosity_skill=(0, 0, 0))
    task = bank.get("math-0001")
    user = dataclasses.replace(_hand_user(task), patience=2, pricing="subscription")
    opts = {"task": task.id, "profile": user, "strategy": "DQ"}
    (rec,) = _play(ClarificationGameEnv(world=world, tasks=bank), _Writer(), 1, options=opts)
    assert rec["actions"] == [DA, DA] and rec["stop_reason"] == "satisfied"
    rows = calibrate_record(rec, task, world, ClarificationGameEnv(world=world, tasks=bank))
    assert [r["state"] for r in rows] == ["replay", "replay"]
    last = rows[1]["chosen"]
    assert (last["true_u"], last["true_l"]) == pytest.approx(
        (rec["user_welfare"], rec["llm_welfare"]), abs=1e-12
    )
    # the template's (correct) first answer would have satisfied the user: the record's
    # fields alone cannot reach this state, only the replay of the model's text does
    assert last["info_u"] is None and rows[0]["chosen"]["info_u"] == rows[0]["chosen"]["true_u"]


def test_an_llms_own_payoff_blocks_are_scored_on_the_replayed_state(bank):
    from gtalign_sim.agents.llm import LLMAssistant

    world = WorldConfig()
    recs = _play(ClarificationGameEnv(tasks=bank), LLMAssistant(n_particles=4), 8)
    env, asst = ClarificationGameEnv(tasks=bank), LLMAssistant(n_particles=4)
    rows = [
        r for rec in recs for r in calibrate_record(rec, bank.get(rec["task_id"]), world, env, asst)
    ]
    assert len(rows) == sum(len(r["actions"]) for r in recs)
    assert all(r["decided_by"] == "model" and r["state"] == "replay" for r in rows)
    actual = [c for r in rows for c in r["cells"] if c["row"] == "actual"]
    # the <payoff> block has one decimal on the [-5, 5] scale: multiples of 0.02 in gains
    assert all(abs(c["est_u"] * 50 - round(c["est_u"] * 50)) < 1e-9 for c in actual)
    assert {c["v_source"] for c in actual} == {"chosen", "assumed"}  # no per-verbosity estimates


@pytest.mark.parametrize("replay", [True, False])
def test_clairvoyant_estimates_have_zero_error_and_the_oracle_plan_is_rederived(bank, replay):
    world = WorldConfig()
    for cls in (ClairvoyantAssistant, OracleAssistant):
        recs = _play(ClarificationGameEnv(tasks=bank), cls(n_particles=4), 24)
        env, asst = ClarificationGameEnv(tasks=bank), cls(n_particles=4)
        rows = [
            r
            for rec in recs
            for r in calibrate_record(rec, bank.get(rec["task_id"]), world, env, asst, replay)
        ]
        assert (
            len(rows) == sum(len(r["actions"]) for r in recs) and max(r["turn"] for r in rows) >= 2
        )
        assert all(r["assistant_ok"] and r["kind"] == "estimate" for r in rows)
        assert {r["state"] for r in rows} == {"replay" if replay else "record"}
        err = np.array(
            [
                [
                    r["chosen"]["est_u"] - r["chosen"]["true_u"],
                    r["chosen"]["est_l"] - r["chosen"]["true_l"],
                ]
                for r in rows
            ]
        )
        if cls is ClairvoyantAssistant:  # it plans with the truth: only the records' rounding
            assert np.abs(err).max() <= 5e-7
        else:  # the oracle knows only the population: not exact
            assert np.abs(err).max() > 0.01


def test_a_matrix_built_with_exact_knowledge_of_the_user_has_zero_error(bank):
    """A GTAlign assistant whose population is the user itself (one persona, no spread)
    estimates every cell of both rows exactly on a one-reading task."""
    fixed = {
        f: (v, v)
        for f, v in [
            ("effort_detail", 0.1),
            ("effort_answer", 0.06),
            ("time_cost", 0.05),
            ("reading_cost", 0.02),
            ("length_lo", 30.0),
            ("length_hi", 120.0),
            ("misfit_cost", 0.08),
        ]
    }
    pop = UserPopulation(
        personas=(Persona("exact", patience=(2, 2), **fixed),), pricing={"per_token_api": 1.0}
    )
    task = bank.get("math-0001")
    recs = _play(
        ClarificationGameEnv(tasks=bank, population=pop),
        GTAlignAssistant(population=pop, n_particles=2),
        6,
        options={"task": task.id},
    )
    env, asst = (
        ClarificationGameEnv(tasks=bank, population=pop),
        GTAlignAssistant(population=pop, n_particles=2),
    )
    rows = [r for rec in recs for r in calibrate_record(rec, task, WorldConfig(), env, asst)]
    first = [c for r in rows if r["turn"] == 1 for c in r["cells"]]
    assert len(first) == 6 * 6 and all(r["assistant_ok"] for r in rows)
    err = np.array([[c["est_u"] - c["true_u"], c["est_l"] - c["true_l"]] for c in first])
    assert np.abs(err).max() <= 0.5e-3 / PAYOFF_PER_GAIN + 1e-12  # 3 decimals on the 5x scale


def test_cluster_mean_exact_values():
    m = cluster_mean([1.0, 2.0, 3.0, 4.0], [0, 0, 1, 1])
    # cluster residual sums -2 and +2: se = sqrt(2/1 * 8) / 4 = 1; t(0.975, df=1) = 12.7062
    assert m["mean"] == 2.5 and m["ci"] == pytest.approx([2.5 - 12.7062047, 2.5 + 12.7062047])
    one = cluster_mean([1.0, 2.0, 4.0], [5, 6, 7])  # one value per cluster: the t interval
    half = 4.30265273 * np.std([1.0, 2.0, 4.0], ddof=1) / np.sqrt(3)
    assert one["ci"] == pytest.approx([7 / 3 - half, 7 / 3 + half])
    assert cluster_mean([float("nan")], [0]) == {"n": 0, "clusters": 0, "mean": None, "ci": None}


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=payoff_calibration",
                f"output_dir={out}",
                "episodes_per_family=2",
                "assistants.n_particles=4",
                "assistants.oracle_particles=4",
                "env.tasks_per_family=8",
                "progress=false",
                "print_table=false",
                *extra,
            ],
        )


def test_experiment_outputs(tmp_path):
    m = payoff_calibration.run(_cfg(tmp_path))
    recs = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    names = ["gtalign", "gtalign_cd", "oracle", "clairvoyant"]
    assert m["assistants"] == names and len(recs) == 4 * 8
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == m
    for name in names:
        n_dec = sum(len(r["decisions"]) for r in recs if r["assistant"] == name)
        rec = m["reconstruction"][name]
        assert rec["decisions"] == rec["replayed"] == rec["assistant_verified"] == n_dec
        assert m["chosen"][name]["all"]["U"]["n"] == n_dec
        assert m["failures"][name] == {"failed": 0, "attempted": 8, "reasons": {}, "fraction": 0.0}
    # gtalign's matrix: 3 actual-row cells per decision; its chosen cell is the recorded
    # one divided back to gains
    g = [r for r in recs if r["assistant"] == "gtalign"]
    assert m["cells"]["gtalign"]["all"]["U"]["n"] == 3 * sum(len(r["decisions"]) for r in g)
    # the metrics aggregate the rows calibrate_record gives (replayed, as in the run)
    bank, env, asst = _bank(), ClarificationGameEnv(tasks=_bank()), GTAlignAssistant(n_particles=4)
    rows = [
        x for r in g for x in calibrate_record(r, bank.get(r["task_id"]), WorldConfig(), env, asst)
    ]
    err = [abs(x["chosen"]["est_u"] - x["chosen"]["true_u"]) for x in rows]
    assert m["chosen"]["gtalign"]["all"]["U"]["mae"] == pytest.approx(np.mean(err), abs=1e-12)
    for r, x in zip(g, (x for x in rows if x["turn"] == 1), strict=True):  # payoff units / 5
        cell = f"{r['strategy']}_{['DA', 'CQ', 'AQ'][r['actions'][0] // 3]}"
        assert x["chosen"]["est_u"] == r["decisions"][0]["payoff"][cell]["user"] / 5
    assert m["chosen"]["clairvoyant"]["all"]["U"]["mae"] < 1e-6
    assert m["chosen"]["gtalign"]["all"]["U"]["mae"] > 0.01
    assert (
        m["regret"].keys() == {"gtalign", "gtalign_cd"}
        and m["paired"]["chosen"]["reference"] == "gtalign"
    )
    assert (
        len(m["reliability"]["gtalign"]["U"]) == 10
        and m["reliability"]["oracle"]["of"] == "chosen action"
    )
    text = (tmp_path / "summary.md").read_text()
    assert "| **gtalign** | all | all |" in text and "its estimates are exact" in text
    for img in ("calibration.png", "calibration_by_turn.png"):
        assert (tmp_path / img).stat().st_size > 10_000 and f"![{img}]({img})" in text
    assert payoff_calibration.report_run(_cfg(tmp_path), tmp_path) == m


def _bank() -> TaskBank:
    return TaskBank.build(families=FAMILIES, per_family=8, seed=0)


def test_summarize_orders_assistants_and_pairs_them():
    row = {
        "kind": "estimate",
        "state": "record",
        "assistant_ok": True,
        "family": "math",
        "regret": None,
    }
    rows = [
        {
            **row,
            "assistant": a,
            "episode": e,
            "turn": 1,
            "chosen": {
                "est_u": x,
                "est_l": 0.0,
                "true_u": 0.0,
                "true_l": 0.0,
                "info_u": 0.0,
                "info_l": 0.0,
            },
        }
        for a, xs in (("b", [0.1, 0.3]), ("a", [0.2, 0.2]))
        for e, x in enumerate(xs)
    ]
    m = summarize(rows, bins=2, order=["b", "a"])
    assert list(m["chosen"]) == ["b", "a"] and m["paired"]["chosen"]["reference"] == "b"
    d = m["paired"]["chosen"]["vs"]["a"]["U"]
    assert d["diff"] == pytest.approx(0.0) and d["episodes"] == 2 and d["tie"]
    assert m["chosen"]["b"]["all"]["U"]["mae"] == pytest.approx(0.2)
    assert m["chosen"]["b"]["all"]["U"]["bias"] == pytest.approx(0.2)  # estimate − truth
    assert [p["est"] for p in m["reliability"]["b"]["U"]] == pytest.approx([0.1, 0.3])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("calibration.bins=1", r"calibration\.bins must be an integer >= 2"),
        ("+calibration.foo=1", r"calibration\.foo unknown"),
    ],
)
def test_bad_calibration_config_is_refused_before_any_work(tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        payoff_calibration.run(_cfg(tmp_path / "run", override))
    assert not (tmp_path / "run").exists()


def test_metrics_csv_holds_the_headline_numbers(tmp_path):
    import csv

    from gtalign_sim.eval.tidy import COLUMNS

    m = payoff_calibration.run(_cfg(tmp_path, "plots=false"))
    with (tmp_path / "metrics.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = {(r["assistant"], r["metric"], r["group"]): r for r in reader}
    c = m["cells"]["gtalign"]["all"]["U"]
    r = rows[("gtalign", "cells_U_mae", "all")]
    assert (float(r["mean"]), float(r["lo"]), float(r["hi"]), int(r["n"])) == (
        c["mae"],
        *c["mae_ci"],
        c["n"],
    )
    s = m["regret"]["gtalign_cd"]["by_turn"]["1"]["mutual"]
    assert float(rows[("gtalign_cd", "regret_mutual", "turn=1")]["mean"]) == s["regret"]
    d = m["paired"]["chosen"]["vs"]["clairvoyant"]["L"]
    assert float(rows[("clairvoyant", "paired_chosen_L_diff", "vs=gtalign")]["mean"]) == d["diff"]
