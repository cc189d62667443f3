"""The ``tasks=`` group: a run on real task data from config (GTAlign rows, saved tasks, HF)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_datasets import fixture_rows

from gtalign_sim.tasks import TaskBank
from gtalign_sim.tasks.datasets import save_rows_jsonl
from gtalign_sim.tasks.sources import check_task_spec, load_task_bank

ROOT = Path(__file__).resolve().parents[1]


def test_generated_is_the_built_in_bank() -> None:
    got = load_task_bank({}, ("math", "safety"), per_family=5, seed=3)
    want = TaskBank.build(families=("math", "safety"), per_family=5, seed=3)
    assert got.to_records() == want.to_records()


def test_gtalign_rows_keep_only_the_requested_families(tmp_path: Path) -> None:
    path = save_rows_jsonl(fixture_rows(), tmp_path / "rows.jsonl")
    bank = load_task_bank({"source": "gtalign", "path": str(path)}, ("safety",), 1, 0)
    assert [t.id for t in bank] == ["wildguard-8", "wildguard-9", "advbench-10"]
    bank = load_task_bank(
        {"source": "gtalign", "path": str(path), "max_rows": 3}, ("ambiguous_qa",), 1, 0
    )
    assert [t.id for t in bank] == ["ambig_qa-0", "ambig_qa-1", "ambig_qa-2"]


def test_tasks_jsonl_round_trip(tmp_path: Path) -> None:
    bank = TaskBank.build(families=("writing",), per_family=4, seed=1)
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in bank.to_records()))
    got = load_task_bank({"source": "tasks_jsonl", "path": str(path)}, ("writing",), 1, 0)
    assert got.to_records() == bank.to_records()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"source": "csv"}, "tasks.source 'csv' invalid; valid choices"),
        ({"source": "gtalign"}, "tasks.path is required with tasks.source=gtalign"),
        ({"source": "gtalign", "path": "/no/such"}, "tasks.path '/no/such': no such file"),
        ({"pth": "x"}, "tasks: unknown keys ['pth']; allowed:"),
        ({"max_rows": 0}, "tasks.max_rows must be null or an integer >= 1, got 0"),
        ({"drop_unjudgeable": "yes"}, "tasks.drop_unjudgeable must be true or false"),
    ],
)
def test_bad_specs_name_the_field(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_task_spec(spec)


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "gtalign_sim.run",
        "experiment=clarification_game",
        "assistants.names=[gtalign,always_da]",
        "progress=false",
        "plots=false",
        "print_table=false",
        f"hydra.run.dir={out}",
        *extra,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)


def test_a_run_plays_the_loaded_tasks(tmp_path: Path) -> None:
    path = save_rows_jsonl(fixture_rows(), tmp_path / "rows.jsonl")
    out = tmp_path / "run"
    proc = _run(
        out, "tasks=gtalign", f"tasks.path={path}", "families=[safety]", "episodes_per_family=6"
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 12
    assert {r["task_id"] for r in records} <= {"wildguard-8", "wildguard-9", "advbench-10"}
    assert {r["family"] for r in records} == {"safety"}


def test_missing_families_are_refused_before_any_work(tmp_path: Path) -> None:
    path = save_rows_jsonl(fixture_rows()[:3], tmp_path / "rows.jsonl")
    out = tmp_path / "run"
    proc = _run(out, "tasks=gtalign", f"tasks.path={path}", "families=[math,ambiguous_qa]")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"gtalign-sim: error: tasks.path '{path}' holds no tasks of families ['math'] "
        "(it holds ['ambiguous_qa']); choose families=['ambiguous_qa']"
    ]
    assert not (out / "episodes.jsonl").exists()


def test_hf_dataset_saved_to_disk(tmp_path: Path) -> None:
    from conftest import require

    require("datasets", "the train extra")
    from gtalign_sim.tasks.datasets import rows_to_hf, tasks_to_hf

    rows_to_hf(fixture_rows()).save_to_disk(str(tmp_path / "rows"))
    bank = load_task_bank({"source": "hf", "path": str(tmp_path / "rows")}, ("safety",), 1, 0)
    assert [t.id for t in bank] == ["wildguard-8", "wildguard-9", "advbench-10"]
    tasks = TaskBank.build(families=("math",), per_family=3, seed=2)
    tasks_to_hf(tasks).save_to_disk(str(tmp_path / "tasks"))
    spec = {"source": "hf", "path": str(tmp_path / "tasks"), "format": "tasks"}
    assert load_task_bank(spec, ("math",), 1, 0).to_records() == tasks.to_records()
