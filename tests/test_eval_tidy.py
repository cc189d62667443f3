"""Tests of gtalign_sim.eval.tidy: metrics.csv in long form, read back without pandas."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from test_eval import make_records

from gtalign_sim.eval import compute_metrics, metrics_rows, write_metrics_csv
from gtalign_sim.eval.tidy import COLUMNS


@pytest.fixture(scope="module")
def metrics() -> dict[str, Any]:
    recs = make_records(40, seed=3)
    recs.append({"assistant": "gtalign", "episode": 99, "failure": {"stage": "x", "reason": "y"}})
    # through JSON, as a reader of metrics.json sees it
    return json.loads(json.dumps(compute_metrics(recs)))


def _read(path: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    table = {(r["assistant"], r["metric"], r["group"]): r for r in rows}
    assert len(table) == len(rows)  # one row per assistant × metric × group
    assert {r["run"] for r in rows} == {"r1"}
    return table


def test_csv_cells_equal_metrics_json_exactly(tmp_path, metrics) -> None:
    path = write_metrics_csv(metrics, tmp_path, run="r1")
    assert path == tmp_path / "metrics.csv"
    t = _read(path)
    per = metrics["assistant_metrics"]

    mw = per["gtalign"]["mutual_welfare"]
    row = t[("gtalign", "mutual_welfare", "all")]
    assert (float(row["mean"]), float(row["lo"]), float(row["hi"])) == (
        mw["mean"],
        mw["lo"],
        mw["hi"],
    )
    assert int(row["n"]) == mw["n"] == 40

    fam = per["oracle"]["by_family"]["math"]
    row = t[("oracle", "mutual_welfare", "family=math")]
    assert float(row["mean"]) == fam["mutual_welfare"]
    assert (float(row["lo"]), float(row["hi"])) == (
        fam["mutual_welfare_lo"],
        fam["mutual_welfare_hi"],
    )
    assert int(row["n"]) == fam["n"]

    row = t[("selfish_llm", "first_action_CQ", "strategy=VQ")]
    assert float(row["mean"]) == per["selfish_llm"]["action_frequencies"]["VQ"]["CQ"]
    assert int(row["n"]) == per["selfish_llm"]["action_counts"]["VQ"]["n"]
    assert row["lo"] == row["hi"] == ""  # frequencies have no interval

    plan = per["gtalign"]["by_pricing"]["per_token_api"]
    row = t[("gtalign", "user_welfare", "pricing=per_token_api")]
    assert float(row["mean"]) == plan["user_welfare"] and int(row["n"]) == plan["n"]
    row = t[("gtalign", "first_action_DA", "pricing=per_token_api,strategy=DQ")]
    assert float(row["mean"]) == plan["action_frequencies"]["DQ"]["DA"]

    d = metrics["comparison"]["always_cq"]
    row = t[("always_cq", "paired_diff_mutual_welfare", "vs=gtalign")]
    assert (float(row["mean"]), float(row["lo"]), float(row["hi"]), int(row["n"])) == (
        d["mean"],
        d["lo"],
        d["hi"],
        d["n"],
    )
    assert (
        float(t[("always_cq", "paired_p_holm_mutual_welfare", "vs=gtalign")]["mean"])
        == (d["p_holm"])
    )

    p = metrics["pareto"]
    row = t[("gtalign", "eps_dominance", "vs=always_cq")]
    assert float(row["mean"]) == p["eps_dominance"]["gtalign"]["always_cq"]["fraction"]
    assert (
        float(t[("oracle", "nash_social_welfare", "all")]["hi"])
        == (p["nash_social_welfare"]["oracle"]["hi"])
    )
    assert float(t[("oracle", "on_frontier", "all")]["mean"]) == 1.0
    row = t[("gtalign", "failed_fraction", "all")]
    assert (float(row["mean"]), int(row["n"])) == (1 / 41, 41)


def test_every_cell_round_trips(tmp_path, metrics) -> None:
    rows = metrics_rows(metrics, "r1")
    t = _read(write_metrics_csv(metrics, tmp_path / "sub" / "m.csv", run="r1"))
    assert len(t) == len(rows)
    for r in rows:
        cells = t[(r["assistant"], r["metric"], r["group"])]
        for key in ("mean", "lo", "hi"):
            assert (None if cells[key] == "" else float(cells[key])) == r[key]
        assert (None if cells["n"] == "" else int(cells["n"])) == r["n"]


def test_rows_cover_the_groups_and_runs_stack(metrics) -> None:
    rows = metrics_rows(metrics, "a") + metrics_rows(metrics, "b")
    assert {r["run"] for r in rows} == {"a", "b"}
    groups = {r["group"] for r in rows}
    assert {"all", "strategy=DQ", "strategy=VQ", "family=math", "pricing=free"} <= groups
    assert {"vs=gtalign", "pricing=subscription,strategy=VQ"} <= groups
    assert [r["assistant"] for r in rows[:1]] == [metrics["assistants"][0]]
    assert all(set(r) == set(COLUMNS) for r in rows)


def test_write_is_atomic_and_replaces(tmp_path, metrics) -> None:
    target = tmp_path / "metrics.csv"
    target.write_text("old\n")
    write_metrics_csv(metrics, target, run="r1")
    assert target.read_text().startswith(",".join(COLUMNS) + "\n")
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]  # no temp file left


def test_bad_input_raises_before_writing(tmp_path, metrics) -> None:
    with pytest.raises(ValueError, match="assistant_metrics"):
        write_metrics_csv({"experiment": "prisoners_dilemma"}, tmp_path, run="pd")
    with pytest.raises(ValueError, match="run"):
        metrics_rows(metrics, run=3)  # type: ignore[arg-type]
    assert not (tmp_path / "metrics.csv").exists()
