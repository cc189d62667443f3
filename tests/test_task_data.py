"""Tests of the task banks' data files (``gtalign_sim/tasks/data/*.jsonl``) and their loader."""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path

import pytest

from gtalign_sim.tasks import TaskBank, max_tasks
from gtalign_sim.tasks.banks import _data, ambiguous_qa, qa_facts, safety, writing
from gtalign_sim.tasks.banks._data import SCHEMAS, DataFileError, Optional

DATA = files("gtalign_sim.tasks").joinpath("data")

#: Records per data file. Adding or removing facts changes these on purpose.
EXPECTED_COUNTS = {
    "qa_capitals.jsonl": 48,
    "qa_summer_olympics.jsonl": 29,
    "qa_winter_olympics.jsonl": 24,
    "qa_fifa_men.jsonl": 7,
    "qa_world_cups.jsonl": 6,
    "qa_best_picture.jsonl": 16,
    "qa_super_bowl.jsonl": 14,
    "qa_authors.jsonl": 30,
    "qa_artworks.jsonl": 14,
    "qa_symbols.jsonl": 10,
    "qa_atomic_numbers.jsonl": 13,
    "qa_polygons.jsonl": 7,
    "qa_currencies.jsonl": 13,
    "qa_largest_cities.jsonl": 14,
    "qa_singles.jsonl": 56,
    "qa_capital_ambiguities.jsonl": 17,
    "qa_repeat_hosts.jsonl": 7,
    "qa_remakes.jsonl": 44,
    "qa_roles.jsonl": 12,
    "qa_songs.jsonl": 18,
    "qa_adaptations.jsonl": 13,
    "qa_misc_ambiguities.jsonl": 39,
    "writing_kinds.jsonl": 10,
    "writing_subjects.jsonl": 40,
    "safety_scenarios.jsonl": 50,
}

#: sha256 of ``json.dumps(records, sort_keys=True, ensure_ascii=False)`` for
#: ``TaskBank.build(families=[family], per_family=n, seed=seed).to_records()``, pinned from
#: the banks as they were when the facts were still Python literals: moving the data out
#: changed no task. (A numpy release that changes its random streams would move these too;
#: then re-pin only after checking that the data files did not change.)
GOLDEN = {
    ("math", 200, 17): "2277141155bcbecdd595569438b52d47b769575b5f8c31be0c7f84b89615a2bd",
    ("ambiguous_qa", 3464, 17): "f9da0a0a0646b77250512a9cbda91a99f51ef6d81f26c81d354256e45cdb67ff",
    ("writing", 200, 17): "8d96335ebb4c67b5f3db06bd50829a48f6633968fcbff9ddb40aca22f8f84fa8",
    ("safety", 400, 17): "e06196184f4863534cfe2d9d58e7b973d2a135c96e0cc2d28860149bfd389b80",
    ("math", 50, 0): "5d334b58dce5fb31c4c869c3282364686b1ca162ae48fa1df93d3c7b91396cdb",
    ("ambiguous_qa", 50, 0): "b8cd8ce57604b9b5f727594f1c27c725b5f193f93750fc7b3c0cbdd05ba6016c",
    ("writing", 50, 0): "d063d4755016d7ed7b0bb902dc6753f9b2fab6991a3c466678b5d82ac9bcff26",
    ("safety", 50, 0): "3cf23e215f5c975d161555654d652418516d523dce1f660f5b1eba07eedaad13",
}


def _lines(name: str) -> list[str]:
    return [line for line in DATA.joinpath(name).read_text(encoding="utf-8").splitlines() if line]


# ------------------------------------------------------------------ (a) the files load
def test_every_data_file_has_a_schema_and_a_count() -> None:
    on_disk = {p.name for p in DATA.iterdir() if p.name.endswith(".jsonl")}
    assert on_disk == set(SCHEMAS), (
        f"data files without a schema: {sorted(on_disk - set(SCHEMAS))}; "
        f"schemas without a file: {sorted(set(SCHEMAS) - on_disk)}"
    )
    assert set(EXPECTED_COUNTS) == set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_data_file_loads_with_expected_count(name: str) -> None:
    records = _data.load(name)
    assert len(records) == EXPECTED_COUNTS[name], (
        f"{name}: {len(records)} records, expected {EXPECTED_COUNTS[name]}"
    )
    assert len(_lines(name)) == len(records), f"{name}: blank or extra lines"


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_data_file_records_have_required_fields(name: str) -> None:
    """Checked on the raw JSON, independently of the loader."""
    schema = SCHEMAS[name].schema
    required = [k for k, spec in schema.items() if not isinstance(spec, Optional)]
    for lineno, line in enumerate(_lines(name), start=1):
        assert line == line.strip(), f"{name}:{lineno}: stray whitespace"
        record = json.loads(line)
        assert isinstance(record, dict), f"{name}:{lineno}: not a JSON object"
        missing = [k for k in required if k not in record]
        assert not missing, f"{name}:{lineno}: missing fields {missing}"
        unknown = [k for k in record if k not in schema]
        assert not unknown, f"{name}:{lineno}: unknown fields {unknown}"


def test_data_files_are_utf8_json_lines_without_escapes() -> None:
    for name in SCHEMAS:
        text = DATA.joinpath(name).read_text(encoding="utf-8")
        assert text.endswith("\n"), f"{name}: no final newline"
        assert "\\u" not in text, f"{name}: use UTF-8 text, not \\u escapes"


def test_public_tables_keep_their_types() -> None:
    for name in qa_facts.TABLES:
        value = getattr(qa_facts, name)
        assert value is getattr(qa_facts, name), f"{name} is not cached"
        if name in ("BEST_PICTURE", "SUPER_BOWL"):
            assert isinstance(value, dict)
            assert all(isinstance(k, int) and isinstance(v, str) for k, v in value.items())
        else:
            assert isinstance(value, tuple) and all(isinstance(r, tuple) for r in value), name
    assert qa_facts.CAPITALS[0] == ("France", "Paris", "Lyon", ())
    assert qa_facts.REMAKES[0][1][0] == (1984, "David Lynch", ("lynch",))
    assert ambiguous_qa.MAX_TASKS == max_tasks("ambiguous_qa") == 3464
    assert isinstance(ambiguous_qa.SINGLE_ENTRIES[0], ambiguous_qa.Entry)
    assert safety.MAX_TASKS == max_tasks("safety") == 400
    assert all(isinstance(s, safety.Scenario) for s in safety.SCENARIOS)
    assert all(isinstance(i, safety.Intent) for s in safety.SCENARIOS for i in s.intents)
    assert isinstance(safety.SCENARIOS[0].vague, tuple)
    assert writing.KINDS["email"] == ("Draft an email to", "email")
    assert all(isinstance(s.points, tuple) for s in writing.SUBJECTS)
    assert {s.kind for s in writing.SUBJECTS} <= set(writing.KINDS)
    for module in (qa_facts, ambiguous_qa, safety, writing):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
        with pytest.raises(AttributeError):
            _ = module.NO_SUCH_NAME


# ------------------------------------------------------------------ (b) golden fingerprint
@pytest.mark.parametrize(("family", "n", "seed"), sorted(GOLDEN))
def test_generated_tasks_match_golden_fingerprint(family: str, n: int, seed: int) -> None:
    records = TaskBank.build(families=[family], per_family=n, seed=seed).to_records()
    text = json.dumps(records, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == GOLDEN[family, n, seed], f"{family} tasks (n={n}, seed={seed}) changed"


# ------------------------------------------------------------------ (c) bad records
def _copy_with(tmp_path: Path, name: str, lineno: int, edit) -> Path:
    """A copy of data file ``name`` whose line ``lineno`` (1-based) is ``edit(record)``."""
    lines = _lines(name)
    record = json.loads(lines[lineno - 1])
    new = edit(record)
    lines[lineno - 1] = new if isinstance(new, str) else json.dumps(new, ensure_ascii=False)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _set(field: str, value):
    def edit(record: dict) -> dict:
        record[field] = value
        return record

    return edit


def _drop(field: str):
    def edit(record: dict) -> dict:
        del record[field]
        return record

    return edit


def _drop_harm(record: dict) -> dict:
    harmful = next(i for i in record["intents"] if i["harmful"])
    del harmful["harm"]
    return record


def _bad_reading_answer(record: dict) -> dict:
    record["readings"][1]["answer"] = 1990
    return record


def _copy_key_of_line_1(record: dict) -> dict:
    record["key"] = json.loads(_lines("qa_singles.jsonl")[0])["key"]
    return record


BAD = [
    # (file, line, edit, field named in the message, what the message says)
    ("qa_capitals.jsonl", 5, _set("capital", 3), "'capital'", "expected a non-empty string"),
    ("qa_capitals.jsonl", 2, _drop("wrong"), "'wrong'", "missing"),
    ("qa_capitals.jsonl", 7, _set("aliases", "x"), "'aliases'", "expected an array"),
    ("qa_capitals.jsonl", 9, _set("capitol", "Bern"), "'capitol'", "unknown field"),
    ("qa_fifa_men.jsonl", 3, _set("year", "2006"), "'year'", "expected an integer"),
    ("qa_fifa_men.jsonl", 4, _set("year", True), "'year'", "expected an integer"),
    ("qa_singles.jsonl", 30, _copy_key_of_line_1, "'key'", "duplicate value"),
    ("qa_misc_ambiguities.jsonl", 4, _bad_reading_answer, "'readings[1].answer'", "string"),
    ("qa_remakes.jsonl", 2, lambda r: "{not json", "", "invalid JSON"),
    ("safety_scenarios.jsonl", 1, _drop_harm, "'intents[2].harm'", "harmful intent"),
    ("safety_scenarios.jsonl", 3, _set("vague", "one"), "'vague'", "expected an array"),
    ("writing_subjects.jsonl", 6, _set("kind", "sonnet"), "'kind'", "unknown kind"),
    ("writing_subjects.jsonl", 6, _set("points", [""]), "'points[0]'", "non-empty string"),
]


#: How each file is read in the bad-record test: the bank's own loader where it has one.
LOADERS = {
    "safety_scenarios.jsonl": safety.load_scenarios,
    "writing_subjects.jsonl": writing.load_subjects,
    "writing_kinds.jsonl": writing.load_kinds,
}


@pytest.mark.parametrize(("name", "lineno", "edit", "field", "what"), BAD)
def test_bad_record_gives_one_line_error(tmp_path, name, lineno, edit, field, what) -> None:
    path = _copy_with(tmp_path, name, lineno, edit)
    loader = LOADERS.get(name, lambda p: _data.load(name, p))
    with pytest.raises(DataFileError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}:{lineno}: "), message
    if field:
        assert f"field {field}: " in message, message
    assert what in message, message


def test_bank_loaders_take_a_path(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "safety_scenarios.jsonl", 4, _set("difficulty", 2))
    with pytest.raises(DataFileError, match=r"safety_scenarios\.jsonl:4: field 'difficulty'"):
        safety.load_scenarios(path)
    path = _copy_with(tmp_path, "writing_subjects.jsonl", 12, _set("kind", "limerick"))
    with pytest.raises(DataFileError, match=r"writing_subjects\.jsonl:12: field 'kind'"):
        writing.load_subjects(path)
    path = _copy_with(tmp_path, "writing_kinds.jsonl", 3, _drop("doc"))
    with pytest.raises(DataFileError, match=r"writing_kinds\.jsonl:3: field 'doc': missing"):
        writing.load_kinds(path)
    # an unchanged copy reads exactly like the packaged file
    good = tmp_path / "good.jsonl"
    good.write_text(DATA.joinpath("safety_scenarios.jsonl").read_text(encoding="utf-8"))
    assert safety.load_scenarios(good) == safety.SCENARIOS


def test_missing_file_is_a_data_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(DataFileError, match="cannot read data file"):
        _data.load("qa_capitals.jsonl", missing)
