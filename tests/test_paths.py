"""A run's paths inside its folder count relative to it: a moved run directory compares
equal (core.paths.relocatable, rundir.hashed_config)."""

from __future__ import annotations

import pytest

from gtalign_sim.core.paths import relocatable
from gtalign_sim.experiments.rundir import config_hash, hashed_config


def test_paths_inside_the_root_become_relative_and_nothing_else_changes():
    cfg = {
        "model": "/runs/a/sft",
        "out": "/runs/a",
        "nested": {"list": ["/runs/a/eval/base/x.json", "/runs/ab/sft", ("/runs/a/./g",)]},
        "outside": "/runs/b/sft",
        "up": "/runs/a/../b",
        "name": "smollm2",
        "relative": "runs/a/sft",
        "n": 3,
        "none": None,
    }
    assert relocatable(cfg, "/runs/a/") == {
        "model": "<root>/sft",
        "out": "<root>",
        "nested": {"list": ["<root>/eval/base/x.json", "/runs/ab/sft", ["<root>/g"]]},
        "outside": "/runs/b/sft",
        "up": "/runs/a/../b",  # lexically outside (normalised: /runs/b): kept as written
        "name": "smollm2",
        "relative": "runs/a/sft",
        "n": 3,
        "none": None,
    }
    assert relocatable("/a/b", "/") == "<root>/a/b"


@pytest.mark.parametrize("root_key", ["output_dir", "run_root"])
def test_a_moved_run_hashes_as_it_did(root_key):
    def cfg(root: str) -> dict:
        c = {"seed": 1, "backend": {"model": f"{root}/sft"}, "output_dir": f"{root}/eval"}
        if root_key == "run_root":
            c["run_root"] = root
        else:
            c["output_dir"] = root
        return c

    a, b = hashed_config(cfg("/x/run")), hashed_config(cfg("/y/moved"))
    assert a == b == {"seed": 1, "backend": {"model": "<root>/sft"}}
    assert config_hash(a) == config_hash(b)
    other = cfg("/x/run")
    other["backend"]["model"] = "/x/other/sft"  # a model outside the run still counts
    assert config_hash(hashed_config(other)) != config_hash(a)
