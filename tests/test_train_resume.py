"""Checkpointed TRL runs survive a killed process: the resumed run ends with the weights
an uninterrupted one has, and checkpoints of another run are refused."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require

from gtalign_sim.train.llm.sft import SFTRunConfig

# the child trains the same run and is killed by the OS right after its step-4 checkpoint
_CHILD = """
import json, os, signal, sys
import datasets
from transformers import TrainerCallback
from test_train_resume import train

class Die(TrainerCallback):
    def on_save(self, args, state, control, **kw):
        if state.global_step == 4:
            os.kill(os.getpid(), signal.SIGKILL)

rows = json.loads(open(sys.argv[3]).read())
train(sys.argv[1], json.loads(sys.argv[2]), datasets.Dataset.from_list(rows), [Die()])
"""


class LengthReward:
    """A GRPO reward of the completion alone (deterministic): shorter is better."""

    __name__ = "length"
    variant = "cobb_douglas"

    def __call__(self, prompts, completions, **_) -> list[float]:
        return [-len(str(c)) / 100 for c in completions]


_ENV = {"tasks_per_family": 20}


def train(kind: str, cfg: dict, ds, callbacks=()):
    """``kind`` (``sft``, ``grpo`` or ``grpo_mt``: multi-turn) run of ``cfg`` on ``ds``."""
    if kind == "sft":
        from gtalign_sim.train.llm.sft import train_sft

        return train_sft(SFTRunConfig(**cfg), ds, callbacks)
    from gtalign_sim.train.llm.grpo import GRPORunConfig, train_grpo

    if kind == "grpo_mt":  # every sample an episode against the simulated user
        from gtalign_sim.train.llm.multiturn import EpisodeRollout

        ro = EpisodeRollout.from_dataset(ds, env=_ENV, max_new_tokens=12, seed=cfg["seed"])
        return train_grpo(GRPORunConfig(**cfg), ds, rollout=ro, callbacks=callbacks)
    return train_grpo(GRPORunConfig(**cfg), ds, LengthReward(), callbacks=callbacks)


def _rows(kind: str = "sft") -> list[dict]:
    if kind == "grpo_mt":
        from gtalign_sim.train.llm.multiturn import openings

        return openings(8, seed=1, env=_ENV)
    return [
        {
            "prompt": [{"role": "user", "content": f"What is {a} plus {a}?"}],
            "completion": [{"role": "assistant", "content": f"It is {2 * a}."}],
            "task": "{}",
            "intent": "sum",
        }
        for a in range(8)
    ]


def _config(kind: str, base: str, out: Path) -> dict:
    cfg = dict(
        model=base, output_dir=str(out), max_steps=6, learning_rate=1e-3, save_steps=2, seed=0
    )
    if kind == "sft":
        return {**cfg, "batch_size": 2, "max_length": 64}
    if kind == "grpo_mt":  # 8 openings, 2 a step: the run crosses an epoch at step 4. The
        # tiny model's replies are all cut at 12 tokens, so a group's rewards tie and the
        # weights stay; the logged rewards show which prompts each step read.
        mt = {"mode": "multi_turn", "learning_rate": 1e-2, "num_generations": 2}
        return {**cfg, "batch_size": 4, "max_completion_length": 12, **mt}
    return {**cfg, "batch_size": 4, "num_generations": 4, "max_completion_length": 6}


def _weights(path: Path) -> dict:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path)).state_dict()


@pytest.fixture(scope="module", params=["sft", "grpo", "grpo_mt"])
def killed(request, tmp_path_factory):
    """A run killed (SIGKILL) after its step-4 checkpoint, and the same run uninterrupted."""
    require("torch", "pip install -e '.[llm]'")
    require("trl", "pip install -e '.[train]'")
    datasets = require("datasets", "pip install -e '.[train]'")
    from gtalign_sim.backends.models import resolve_model

    kind = request.param
    tmp = tmp_path_factory.mktemp(f"resume_{kind}")
    base = resolve_model("tiny")
    data = tmp / "rows.json"
    data.write_text(json.dumps(_rows(kind)))
    ds = datasets.Dataset.from_list(_rows(kind))
    whole = train(kind, _config(kind, base, tmp / "whole"), ds)
    cfg = _config(kind, base, tmp / "killed")
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, json.dumps(cfg), str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parent,
    )
    return kind, base, ds, whole, cfg, child


def test_the_child_died_after_its_checkpoint(killed):
    *_, cfg, child = killed
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    out = Path(cfg["output_dir"])
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert not (out / "model.safetensors").exists()
    # each checkpoint records the seconds trained to reach it
    clock = [
        json.loads((out / f"checkpoint-{n}" / "gtalign_sim_clock.json").read_text()) for n in (2, 4)
    ]
    assert 0 < clock[0]["train_seconds"] < clock[1]["train_seconds"]


def test_checkpoints_of_another_run_are_refused(killed):
    kind, _, ds, _, cfg, _ = killed
    with pytest.raises(ValueError, match="holds checkpoints of another run"):
        train(kind, {**cfg, "learning_rate": 2e-3}, ds)
    with pytest.raises(ValueError, match="holds checkpoints of another run"):
        train(kind, cfg, ds.select(range(len(ds) - 1)))


def test_a_checkpoint_cut_short_is_passed_over(killed, tmp_path):
    """A kill while checkpoint-6 was written leaves it without its clock record (written
    last): the run, moved elsewhere too, resumes from checkpoint-4 and ends as the
    uninterrupted one."""
    import torch

    kind, _, ds, whole, cfg, _ = killed
    out = Path(cfg["output_dir"])
    moved = tmp_path / "elsewhere" / out.name
    shutil.copytree(out, moved)
    part = moved / "checkpoint-6"
    shutil.copytree(moved / "checkpoint-4", part)
    (part / "gtalign_sim_clock.json").unlink()
    weights = part / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.warns(UserWarning, match=r"checkpoint-6 not complete .*from checkpoint-4"):
        resumed = train(kind, {**cfg, "output_dir": str(moved)}, ds)
    assert resumed.resumed_from == "checkpoint-4"
    a, b = _weights(whole.path), _weights(resumed.path)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resumed_run_ends_with_the_uninterrupted_weights(killed):
    import torch
    from transformers import TrainerCallback

    class Steps(TrainerCallback):
        def __init__(self) -> None:
            self.done: list[int] = []

        def on_step_end(self, args, state, control, **kw):
            self.done.append(state.global_step)

    kind, base, ds, whole, cfg, _ = killed
    clock = Path(cfg["output_dir"]) / "checkpoint-4" / "gtalign_sim_clock.json"
    clock.write_text(json.dumps({"train_seconds": 1000.0}))  # the killed segment's time
    steps_run = Steps()
    t0 = time.perf_counter()
    resumed = train(kind, {**cfg, "save_steps": 3}, ds, [steps_run])  # save_steps may change
    # the training time sums the segments: the stored 1000 s and this call's (a part of it)
    # (train_seconds is rounded to 0.1 s: up to 0.05 s above the true sum)
    assert 1000.0 < resumed.train_seconds <= 1000.0 + time.perf_counter() - t0 + 0.05
    assert 0 < whole.train_seconds < 1000.0
    assert steps_run.done == [5, 6]  # only the steps after the last checkpoint were trained
    a, b = _weights(whole.path), _weights(resumed.path)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    if kind != "grpo_mt":  # the tiny model's episodes tie within a group: no advantage
        assert any(not torch.equal(a[k], v) for k, v in _weights(Path(base)).items())
    steps = [h["step"] for h in resumed.log_history if "loss" in h]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert resumed.resumed_from == "checkpoint-4"
    losses = [[h["loss"] for h in r.log_history if "loss" in h] for r in (whole, resumed)]
    assert losses[0] == losses[1]
    if kind != "sft":  # the resumed steps read the prompts the uninterrupted ones read
        rewards = [[h["reward"] for h in r.log_history if "reward" in h] for r in (whole, resumed)]
        assert len(rewards[0]) == 6 and rewards[0] == rewards[1]
    # the checkpoints were removed once the folder was saved
    for run in (whole.path, resumed.path):
        assert not list(Path(run).glob("checkpoint-*"))
        assert not list(Path(run).glob(".removed-*"))
        assert not (Path(run) / "gtalign_sim_resume.json").exists()


def test_save_steps_is_validated_and_owned():
    with pytest.raises(ValueError, match="save_steps must be an int >= 0"):
        SFTRunConfig(save_steps=-1)
    with pytest.raises(ValueError, match="save_steps"):
        SFTRunConfig(extra={"save_strategy": "steps"})


def test_resume_point_compares_the_config_as_stored(tmp_path):
    """A tuple in the config is a list once stored: the same run still resumes."""
    require("transformers", "pip install -e '.[llm]'")
    from gtalign_sim.train.llm.common import resume_point

    cfg = SFTRunConfig(output_dir=tmp_path, save_steps=2, extra={"adam_betas": (0.9, 0.99)})
    assert resume_point(cfg, _rows()) is None  # a new run: the marker is written
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "checkpoint-2" / "gtalign_sim_clock.json").write_text("{}")  # complete
    assert resume_point(cfg, _rows()) == str(tmp_path / "checkpoint-2")
    assert resume_point(SFTRunConfig(output_dir=tmp_path, save_steps=0), _rows()) is None


def test_a_moved_folder_of_runs_still_resumes(tmp_path):
    """Paths inside the folder holding output_dir (a sibling model) count relative to it;
    a model outside it still counts as written."""
    require("transformers", "pip install -e '.[llm]'")
    from gtalign_sim.train.llm.common import resume_point
    from gtalign_sim.train.llm.grpo import GRPORunConfig

    def cfg(root, model=None):
        return GRPORunConfig(
            output_dir=root / "grpo", model=model or str(root / "sft"), save_steps=2
        )

    a, b = tmp_path / "a", tmp_path / "b"
    assert resume_point(cfg(a), _rows("grpo")) is None
    (a / "grpo" / "checkpoint-2").mkdir()
    (a / "grpo" / "checkpoint-2" / "gtalign_sim_clock.json").write_text("{}")
    stored = json.loads((a / "grpo" / "gtalign_sim_resume.json").read_text())
    assert (stored["config"]["model"], stored["config"]["output_dir"]) == (
        "<root>/sft",
        "<root>/grpo",
    )
    a.rename(b)
    assert resume_point(cfg(b), _rows("grpo")) == str(b / "grpo" / "checkpoint-2")
    with pytest.raises(ValueError, match="holds checkpoints of another run"):
        resume_point(cfg(b, model=str(tmp_path / "elsewhere")), _rows("grpo"))


@pytest.mark.parametrize(
    "stored, expected",
    [
        ({"train_seconds": 12.5}, 12.5),
        ({"train_seconds": 0}, 0.0),
        ({"train_seconds": -1.0}, None),
        ({"train_seconds": float("nan")}, None),
        ({"train_seconds": True}, None),
        ({"train_seconds": "12"}, None),
        ({}, None),
        (None, None),  # no clock file: a checkpoint written before clocks were kept
    ],
)
def test_the_prior_training_time_is_read_from_the_resumed_checkpoint(tmp_path, stored, expected):
    from gtalign_sim.train.llm.common import _prior_seconds

    assert _prior_seconds(None) == 0.0  # a new run
    if stored is not None:
        (tmp_path / "gtalign_sim_clock.json").write_text(json.dumps(stored))
    assert _prior_seconds(str(tmp_path)) == expected


def test_in_passes_shuffles_each_pass_from_the_seed():
    datasets = require("datasets", "pip install -e '.[train]'")
    from gtalign_sim.train.llm.common import in_passes

    ds = datasets.Dataset.from_list([{"x": i} for i in range(5)])
    out = in_passes(ds, 3, seed=7)
    xs = out["x"]
    assert len(xs) == 15
    for k in range(3):  # every pass is a permutation, drawn from [seed, k]
        assert sorted(xs[5 * k : 5 * k + 5]) == [0, 1, 2, 3, 4]
    assert xs[5:10] == [int(i) for i in np.random.default_rng([7, 1]).permutation(5)]
    assert in_passes(ds, 3, seed=7)["x"] == xs and in_passes(ds, 3, seed=8)["x"] != xs


def test_the_saved_folder_keeps_no_checkpoint_whole_or_half(tmp_path):
    """Checkpoints are renamed before they are deleted (a kill mid-removal leaves no
    half checkpoint that a rerun would take as one), and such leftovers go next time."""
    require("transformers", "pip install -e '.[llm]'")
    from types import SimpleNamespace

    from gtalign_sim.backends.models import resolve_model
    from gtalign_sim.train.llm.common import load_model, save_folder

    model, tok = load_model(resolve_model("tiny"))
    (tmp_path / ".removed-checkpoint-2" / "optimizer").mkdir(parents=True)
    (tmp_path / "checkpoint-4" / "gtalign_sim_clock.json").parent.mkdir()
    (tmp_path / "checkpoint-4" / "gtalign_sim_clock.json").write_text("{}")
    trainer = SimpleNamespace(model=model, state=SimpleNamespace(log_history=[]))
    result = save_folder(trainer, tok, SFTRunConfig(output_dir=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir() if "checkpoint" in p.name) == []
    assert (result.path / "model.safetensors").is_file()
