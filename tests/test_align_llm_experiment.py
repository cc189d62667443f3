"""experiment=align_llm on the tiny random model: data → SFT → GRPO → evaluation of the
three models on the same episodes, stages kept and skipped on rerun, the report's numbers
re-derived from the episodes it played, bad config refused before any work."""

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
from hydra import compose, initialize_config_module

from gtalign_sim.envs.rollout import episode_seeds
from gtalign_sim.experiments import align_llm as al
from gtalign_sim.experiments import align_llm_report as rep

N = 3  # evaluation episodes per model and plan
TINY = [
    "experiment=align_llm",
    "align.model=tiny",
    "progress=false",
    "print_table=false",
    "env.tasks_per_family=8",
    "assistants.n_particles=4",
    "align.data.episodes=2",
    "align.data.n_candidates=2",
    "align.sft.max_steps=2",
    "align.sft.batch_size=1",
    "align.sft.max_length=1100",
    "align.grpo.max_steps=2",
    "align.grpo.batch_size=2",
    "align.grpo.num_generations=2",
    "align.grpo.max_completion_length=8",
    f"align.eval.episodes={N}",
    "align.eval.max_tokens=8",
    "align.eval.bootstrap=50",
    "align.eval.fallback=direct",  # every model plays the same standard answer: exact ties
]


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(config_name="config", overrides=[*TINY, f"output_dir={out}", *extra])


def _records(out: Path, model: str) -> list[dict]:
    path = out / "eval" / model / "episodes.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()]


def _stamps(out: Path) -> dict[str, int]:
    files = [out / s / "stage.json" for s in al.STAGES]
    files += [out / "eval" / m / f for m in al.MODELS for f in ("run.json", "episodes.jsonl")]
    files += [out / s / "model.safetensors" for s in ("sft", "grpo")]
    return {str(f.relative_to(out)): f.stat().st_mtime_ns for f in files}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("torch", "pip install -e '.[llm]'")
    require("trl", "pip install -e '.[train]'")
    require("datasets", "pip install -e '.[train]'")
    out = tmp_path_factory.mktemp("align_llm")
    return out, al.run(_cfg(out))


def test_every_stage_is_kept_in_the_run_dir(run):
    out, metrics = run
    for stage in al.STAGES:
        assert json.loads((out / stage / "stage.json").read_text())["stage"] == stage
    for folder in ("sft", "grpo"):  # Hugging Face folders the transformers backend loads
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
            p.name for p in (out / folder).iterdir()
        }
    grpo = json.loads((out / "grpo" / "stage.json").read_text())["config"]
    assert grpo["model"] == str(out / "sft")  # GRPO starts from the SFT model
    for folder in ("sft", "grpo"):  # trained in one go: the training time is within the stage's
        stage = json.loads((out / folder / "stage.json").read_text())
        assert 0 < stage["train_seconds"] <= stage["wall_seconds"] + 0.1  # both rounded
        assert "resumed_from" not in stage
    for m in al.MODELS:
        assert json.loads((out / "eval" / m / "run.json").read_text())["status"] == "complete"
    assert {"summary.md", "metrics.json", "metrics.csv", "align_llm.png", "config.yaml"} <= {
        p.name for p in out.iterdir()
    }
    assert metrics["paired_episodes"] == N
    assert [r["this_run"] for r in metrics["stages"].values()] == [
        "trained",
        "trained",
        "trained",
        "played",
        "played",
        "played",
    ]


def test_the_models_play_the_same_episodes_and_training_data_is_apart(run):
    out, _ = run
    plays = {}
    for m in al.MODELS:
        recs = _records(out, m)
        assert len(recs) == 2 * N and {r["assistant"] for r in recs} == {"llm_gtalign"}
        plays[m] = sorted((r["episode"], r["pricing"], r["seed"], r["task_id"]) for r in recs)
        for r in recs:  # the profile's pricing is the arm's plan
            assert r["profile"]["pricing"] == r["pricing"]
    assert plays["base"] == plays["sft"] == plays["grpo"]
    seeds = {p[2] for p in plays["base"]}
    assert seeds == set(episode_seeds(0, N))
    examples = [json.loads(x) for x in (out / "data" / "examples.jsonl").read_text().splitlines()]
    assert {e["seed"] for e in examples} == set(episode_seeds(al.data_seed(0), 2))
    assert not seeds & {e["seed"] for e in examples}


def test_training_and_evaluation_use_the_profiles_instructions(run):
    from omegaconf import OmegaConf

    from gtalign_sim.experiments.runner import build_assistant
    from gtalign_sim.experiments.settings import validate
    from gtalign_sim.protocol import PromptConfig, build_instructions

    out, _ = run
    compact = build_instructions(PromptConfig(instructions="compact"))
    examples = [json.loads(x) for x in (out / "data" / "examples.jsonl").read_text().splitlines()]
    for e in examples:  # the instructions open the first user message of every turn
        assert e["prompt"][1]["content"].startswith(f"{compact}\n\nQuestion: ")
    for m in al.MODELS:
        sub = OmegaConf.load(out / "eval" / m / "config.yaml")
        assert sub.llm.instructions == "compact"
        asst = build_assistant("llm_gtalign", validate(sub), {"assistant": None})
        assert asst.instructions == compact


def _mean_of_plays(recs, key):
    by = {}
    for r in recs:
        by.setdefault(r["episode"], []).append(key(r))
    return np.array([np.mean(by[i]) for i in sorted(by)])


def test_the_reported_numbers_are_those_of_the_played_episodes(run):
    out, metrics = run
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["models"] == metrics["models"]
    cols = {}
    for m in al.MODELS:
        recs = _records(out, m)
        valid = _mean_of_plays(
            recs,
            lambda r: np.mean([d["estimates"]["decided_by"] == "model" for d in r["decisions"]]),
        )
        mutual = _mean_of_plays(recs, lambda r: r["mutual_welfare"])
        cols[m] = mutual
        got = metrics["models"][m]
        assert got["format_valid"]["mean"] == pytest.approx(valid.mean(), abs=1e-12)
        assert got["mutual_welfare"]["mean"] == pytest.approx(mutual.mean(), abs=1e-12)
        for k in ("answer_quality", "user_welfare", "llm_welfare"):
            assert got[k]["mean"] == pytest.approx(
                _mean_of_plays(recs, lambda r, k=k: r[k]).mean(), abs=1e-12
            )
        assert got["n_turns"] == sum(len(r["decisions"]) for r in recs)
    # the tiny random model never writes a valid reply: every turn is the direct fallback,
    # so the three models play identically and every difference is an exact tie
    assert metrics["models"]["base"]["format_valid"]["mean"] == 0.0
    assert metrics["models"]["base"]["mutual_welfare"]["mean"] == pytest.approx(
        0.225006999095022,
        abs=1e-12,  # the cpu profile: compact instructions
    )
    d = metrics["comparisons"]["grpo - sft"]["mutual_welfare"]
    assert d["mean"] == pytest.approx((cols["grpo"] - cols["sft"]).mean(), abs=1e-12)
    assert d["verdict"] == "tie" and d["n"] == N
    shift = metrics["pricing"]["base"]["shift"]["1"]
    subs = [r for r in _records(out, "base") if r["pricing"] == "subscription"]
    da = np.mean([r["modes"][0] == "DA" for r in subs])
    assert metrics["pricing"]["base"]["arms"]["subscription"]["share"]["DA"]["mean"] == da
    assert shift["tv"]["mean"] == 0.0
    assert metrics["calibration"]["decisions"] == {"base": 0, "sft": 0, "grpo": 0}
    # intervals stay within what a metric can take (shares in [0, 1], welfare √ ≥ 0)
    for m in al.MODELS:
        for k, (low, high) in rep.RANGES.items():
            ci = metrics["models"][m][k]
            assert low <= ci["lo"] <= ci["mean"] <= ci["hi"] <= high
    # without steering the models cannot see the plan: the report says so
    assert metrics["steering"] == "none"
    assert "its response is 0 by construction" in (out / "summary.md").read_text()
    csv_rows = (out / "metrics.csv").read_text().splitlines()
    assert csv_rows[0].startswith("kind,name,metric,mean")
    assert any(r.startswith("difference,grpo - sft,mutual_welfare,") for r in csv_rows)


def test_a_rerun_skips_every_finished_stage(run):
    out, metrics = run
    before = _stamps(out)
    again = al.run(_cfg(out))
    assert _stamps(out) == before
    assert {r["this_run"] for r in again["stages"].values()} == {"reused"}
    assert again["models"] == metrics["models"]
    # checkpointing does not change the weights, so it does not change a stage's digest
    checkpointed = al.run(_cfg(out, "align.sft.save_steps=1", "align.grpo.save_steps=1"))
    assert _stamps(out) == before
    assert {r["this_run"] for r in checkpointed["stages"].values()} == {"reused"}


def test_a_moved_run_directory_keeps_every_stage(run, tmp_path):
    """Digests and the evaluations' config hashes hold no absolute path inside the run
    directory: a copy elsewhere (a cluster's run brought home) reruns nothing."""
    out, metrics = run
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    before = _stamps(moved)
    again = al.run(_cfg(moved))
    assert _stamps(moved) == before
    assert {r["this_run"] for r in again["stages"].values()} == {"reused"}
    for m in ("sft", "grpo"):  # the report names where the models are now
        assert again["models"][m].pop("model") == str(moved / m)
        assert metrics["models"][m]["model"] == str(out / m)
    assert again["models"] == {
        m: {k: v for k, v in row.items() if not (m != "base" and k == "model")}
        for m, row in metrics["models"].items()
    }


def test_the_reply_caps_are_checked_against_the_taught_replies(run):
    """A reply as long as the longest taught one must fit align.eval.max_tokens and
    align.grpo.max_completion_length, else a warning names the cap and both figures (the
    tiny run's caps are 8 tokens: it cuts every reply)."""
    import warnings

    from transformers import AutoTokenizer

    from gtalign_sim.backends.models import resolve_model
    from gtalign_sim.experiments.align_llm_eval import check_reply_caps
    from gtalign_sim.experiments.settings import validate

    out, _ = run
    examples = [json.loads(x) for x in (out / "data" / "examples.jsonl").read_text().splitlines()]
    tok = AutoTokenizer.from_pretrained(resolve_model("tiny"))
    texts = [e["completion"][0]["content"] for e in examples]
    longest = max(len(tok(x, add_special_tokens=False)["input_ids"]) for x in texts)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        again = al.run(_cfg(out))  # checked before SFT, finished or not
    assert {r["this_run"] for r in again["stages"].values()} == {"reused"}
    caps = [str(w.message).split(" is below")[0] for w in seen if "taught" in str(w.message)]
    assert caps == ["align.eval.max_tokens 8", "align.grpo.max_completion_length 8"]
    assert f"the longest taught completion ({longest} tokens)" in str(seen[-1].message)

    def check(eval_cap: int, grpo_cap: int) -> int:
        caps = [f"align.eval.max_tokens={eval_cap}", f"align.grpo.max_completion_length={grpo_cap}"]
        cfg = _cfg(out, *caps)
        return check_reply_caps(al.options(cfg, validate(cfg)), examples)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check(longest, longest) == longest  # replies as long as the longest fit
    with pytest.warns(UserWarning, match=f"^align.eval.max_tokens {longest - 1} is below"):
        check(longest - 1, longest)
    with pytest.warns(UserWarning, match=f"^align.grpo.max_completion_length {longest - 1} "):
        check(longest, longest - 1)


def test_until_stops_after_a_stage_and_the_next_run_goes_on(tmp_path):
    """align.until=sft: data and SFT, nothing after; the same command without it reuses
    them and finishes (one job per stage, or evaluation in a fresh process)."""
    require("trl", "pip install -e '.[train]'")
    out = tmp_path / "run"
    first = al.run(_cfg(out, "align.until=sft"))
    assert first == {
        "experiment": "align_llm",
        "stopped_after": "sft",
        "stages": {"data": "trained", "sft": "trained"},
    }
    assert [s for s in al.STAGES if (out / s / "stage.json").is_file()] == ["data", "sft"]
    assert not (out / "eval").exists() and not (out / "metrics.json").exists()
    again = al.run(_cfg(out))
    assert {k: r["this_run"] for k, r in again["stages"].items()} == {
        "data": "reused",
        "sft": "reused",
        "grpo": "trained",
        "eval_base": "played",
        "eval_sft": "played",
        "eval_grpo": "played",
    }


def test_a_changed_stage_config_is_refused_before_any_work(run):
    out, _ = run
    before = _stamps(out)
    with pytest.raises(ValueError, match=r"sft was made with another config"):
        al.run(_cfg(out, "align.sft.max_steps=3"))
    assert _stamps(out) == before


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("align.eval.fallback=guess", "align.eval.fallback"),
        ("align.until=eval", "align.until 'eval' unknown; allowed: null"),
        ("align.eval.episodes=1", "align.eval.episodes"),
        ("align.eval.backend.name=template", "align.eval.backend.name"),
        ("align.grpo.reward=nash", "align.grpo: reward"),
        ("align.grpo.num_generations=3", "align.grpo: batch_size"),
        ("+align.grpo.output_dir=x", "align.grpo: unknown or managed keys"),
        ("align.sft.max_steps=0", "align.sft: max_steps"),
        ("align.sft.save_steps=-1", "align.sft: save_steps must be an int >= 0"),
        ("align.data.planner=random", "align.data: planner"),
        ("align.device=tpu", "align.device"),
        ("align.instructions=short", "align.instructions 'short' unknown"),
        ("llm.instructions=short", "llm.instructions 'short' invalid"),
        ("backend=transformers", "leave backend=template"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(tmp_path, override, match):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=match) as err:
        al.run(_cfg(out, override))
    assert "\n" not in str(err.value)
    assert not out.exists()  # refused before any work


def test_multi_turn_grpo_plays_the_runs_own_simulator(tmp_path, monkeypatch):
    from gtalign_sim.train.llm import multiturn

    seen = []
    real = multiturn.EpisodeRollout.from_dataset.__func__

    def spy(cls, dataset, **kwargs):
        seen.append((dataset, kwargs))
        return real(cls, dataset, **kwargs)

    monkeypatch.setattr(multiturn.EpisodeRollout, "from_dataset", classmethod(spy))
    cfg = _cfg(tmp_path / "run", "align.grpo.mode=multi_turn", "env.world.discount=0.8")
    o = al.options(cfg)
    assert o.grpo.mode == "multi_turn"
    al.run(cfg)
    [(dataset, kwargs)] = seen
    assert kwargs["env"] == o.synthesis.env and kwargs["env"]["world"]["discount"] == 0.8
    assert kwargs["max_new_tokens"] == o.grpo.max_completion_length
    assert kwargs["prompt"] == o.synthesis.prompt and o.synthesis.prompt.instructions == "compact"
    assert dataset["prompt"][0][1]["content"].startswith("Reply in four blocks:")
    assert sorted(dataset["seed"]) == sorted(
        {
            r["seed"]
            for r in multiturn.openings(
                o.synthesis.n_episodes,
                o.synthesis.seed,
                env=o.synthesis.env,
                prompt=o.synthesis.prompt,
            )
        }
    )
    stage = json.loads((tmp_path / "run" / "grpo" / "stage.json").read_text())
    assert stage["config"]["mode"] == "multi_turn"


def test_a_killed_run_resumes_its_stage_when_rerun(tmp_path):
    """The real command killed (SIGKILL) during SFT, then run again: the data stage is
    kept, SFT resumes from its last complete checkpoint, and the run finishes."""
    require("trl", "pip install -e '.[train]'")
    out = tmp_path / "run"
    steps = ["align.sft.max_steps=40", "align.sft.save_steps=2"]
    cmd = [sys.executable, "-m", "gtalign_sim.run", *TINY, *steps, f"hydra.run.dir={out}"]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (out / "sft" / "checkpoint-4").is_dir():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert time.monotonic() < deadline, "no SFT checkpoint within 300 s"
        time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "sft" / "stage.json").exists()
    data = (out / "data" / "stage.json").stat().st_mtime_ns
    again = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (out / "data" / "stage.json").stat().st_mtime_ns == data
    sft = json.loads((out / "sft" / "stage.json").read_text())
    assert sft["resumed_from"].startswith("checkpoint-")
    assert 2 <= int(sft["resumed_from"].split("-")[1]) < 40
    assert not list((out / "sft").glob("checkpoint-*"))  # removed once the folder is saved
    assert json.loads((out / "eval" / "grpo" / "run.json").read_text())["status"] == "complete"


def test_the_cli_refuses_bad_config_in_one_line(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gtalign_sim.run",
            "experiment=align_llm",
            "align.eval.fallback=guess",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("gtalign-sim: error: align.eval.fallback")
    run_dir = tmp_path / "run"  # Hydra makes the folder; nothing of the run is in it
    assert not run_dir.exists() or not {"data", "config.yaml"} & {p.name for p in run_dir.iterdir()}


def test_the_gpu_profile_composes_and_validates(tmp_path):
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        cfg = compose(
            config_name="config",
            overrides=["experiment=align_llm", "align=gpu", f"output_dir={tmp_path / 'run'}"],
        )
    o = al.options(cfg)
    assert (o.profile, o.model, o.device) == ("gpu", "Qwen/Qwen2.5-1.5B-Instruct", "auto")
    assert o.grpo.use_vllm and o.grpo.extra["bf16"] and o.sft.extra["gradient_checkpointing"]
    assert o.eval["backend"]["name"] == "vllm"


def test_the_ranges_of_metrics_and_of_their_differences():
    assert rep._difference_range("format_valid") == (-1.0, 1.0)
    assert rep._difference_range("mutual_welfare") == (-float("inf"), float("inf"))
    assert rep._difference_range("user_welfare") is None
