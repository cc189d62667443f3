"""experiment=train_assistant: PPO per reward variant, the learned policies against the
oracle and the baselines on paired episodes, shares of the oracle, Cobb–Douglas − other
with Holm, learning curves, checkpoint reuse on resume, refused configs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from conftest import require
from hydra import compose, initialize_config_module

from gtalign_sim.experiments import train_assistant as ta

VARIANTS = ["cobb_douglas", "linear", "user_only", "llm_only"]
LEARNED = [f"learned_{v}" for v in VARIANTS]
BASELINES = ["oracle", "selfish_llm", "gtalign", "always_da"]
N = 8  # episodes per arm: 2 per family
STEPS = 512  # 4 updates of 32 envs × 4 steps
TINY = [
    "episodes_per_family=2",
    "assistants.oracle_particles=4",
    "assistants.n_particles=4",
    "env.tasks_per_family=8",
    f"train_assistant.total_steps={STEPS}",
    "train_assistant.n_envs=32",
    "train_assistant.rollout_steps=4",
    "train_assistant.eval_every=1",
    "train_assistant.eval_episodes=20",
    "train_assistant.checkpoint_every=2",
    "progress=false",
    "print_table=false",
]


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=["experiment=train_assistant", f"output_dir={out}", *TINY, *extra],
        )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("torch")
    require("torchrl")
    out = tmp_path_factory.mktemp("train_assistant")
    metrics = ta.run(_cfg(out))
    recs = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    return out, metrics, recs


def _col(recs, name, metric):
    rows = sorted((r for r in recs if r["assistant"] == name), key=lambda r: r["episode"])
    if metric == "sum_welfare":
        return np.array([r["user_welfare"] + r["llm_welfare"] for r in rows])
    return np.array([r[metric] for r in rows], dtype=float)


def _holm(p):
    order, out, running = np.argsort(p), [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def test_every_policy_plays_the_same_episodes_and_the_learned_ones_are_the_checkpoints(run):
    out, metrics, recs = run
    assert sorted({r["assistant"] for r in recs}) == sorted(LEARNED + BASELINES)
    assert len(recs) == N * 8
    for i in range(N):  # common random numbers
        same = [r for r in recs if r["episode"] == i]
        assert len({(r["task_id"], r["seed"]) for r in same}) == 1 and len(same) == 8
    for r in recs:  # the LearnedAssistant played: its decisions carry the policy's p_action
        learned = r["assistant"] in LEARNED
        assert all(("p_action" in (d.get("estimates") or {})) == learned for d in r["decisions"])
    for v in VARIANTS:
        ckpt = out / "train" / v / "checkpoint.pt"
        torch = require("torch")
        data = torch.load(ckpt, weights_only=True)
        assert data["config"]["reward"] == v and data["config"]["seed"] == 0
        assert data["update"] == 4 and data["env_steps"] == STEPS
    # each checkpoint, replayed greedily on the plan, takes the recorded actions
    from gtalign_sim.envs.rollout import run_episode
    from gtalign_sim.experiments.runner import env_factory, episode_plan
    from gtalign_sim.experiments.settings import validate
    from gtalign_sim.tasks.sources import load_task_bank
    from gtalign_sim.train import LearnedAssistant

    s = validate(_cfg(out))
    bank = load_task_bank(s.tasks or {}, s.families, s.tasks_per_family, s.task_seed)
    env = env_factory(s, bank, s.user_spec, {"user": None, "assistant": None})()
    for v in ("cobb_douglas", "llm_only"):
        agent = LearnedAssistant(out / "train" / v / "checkpoint.pt")
        assert agent.reward == v
        played = {r["episode"]: r["actions"] for r in recs if r["assistant"] == f"learned_{v}"}
        for i, seed, opts in episode_plan(s):
            assert run_episode(env, agent, seed, opts)["actions"] == played[i]
    a = metrics["train_assistant"]
    assert a["reference"] == "learned_cobb_douglas" and a["oracle"] == "oracle"
    assert list(a["table"]) == LEARNED + BASELINES
    assert a["policies"]["learned_linear"] == {"reward": "linear", "learned": True}
    assert a["policies"]["gtalign"] == {"reward": None, "learned": False}


def test_shares_table_and_differences_match_the_episodes(run):
    _, metrics, recs = run
    a = metrics["train_assistant"]
    oracle = _col(recs, "oracle", "mutual_welfare")
    assert list(a["share_of_oracle"]) == LEARNED + BASELINES[1:]
    for name, share in a["share_of_oracle"].items():
        x = _col(recs, name, "mutual_welfare")
        r = x.mean() / oracle.mean()
        z = (x - r * oracle) / oracle.mean()  # delta method, written out
        half = scipy.stats.t.ppf(0.975, N - 1) * z.std(ddof=1) / np.sqrt(N)
        assert share["n"] == N
        assert share["mean"] == pytest.approx(r, abs=1e-12)
        assert (share["lo"], share["hi"]) == pytest.approx((r - half, r + half), abs=1e-12)
    for name in LEARNED + BASELINES:
        row = a["table"][name]
        assert row["n"] == N
        for metric in ("user_welfare", "llm_welfare", "mutual_welfare", "sum_welfare"):
            assert row[metric]["mean"] == pytest.approx(_col(recs, name, metric).mean(), 1e-12)
    assert [c["other"] for c in a["comparisons"]] == LEARNED[1:]
    for metric in ("mutual_welfare", "sum_welfare"):
        ps = []
        for c in a["comparisons"]:
            x, y = _col(recs, c["cd"], metric), _col(recs, c["other"], metric)
            t = c[metric]
            assert t["n"] == N and t["mean"] == pytest.approx((x - y).mean(), abs=1e-12)
            d = x - y
            if d.std() > 0:
                assert t["p_value"] == pytest.approx(scipy.stats.ttest_rel(x, y).pvalue, 1e-9)
            ps.append(t["p_value"])
        want = _holm(ps)
        for c, p in zip(a["comparisons"], want, strict=True):
            assert c[metric]["p_holm"] == pytest.approx(p, 1e-12)
            t = c[metric]
            win = p < 0.05 and t["lo"] > 0
            loss = p < 0.05 and t["hi"] < 0
            assert t["outcome"] == ("win" if win else "loss" if loss else "tie")
    for c in a["comparisons"]:  # same play: identical action sequences, episode by episode
        ref = {r["episode"]: r["actions"] for r in recs if r["assistant"] == c["cd"]}
        oth = {r["episode"]: r["actions"] for r in recs if r["assistant"] == c["other"]}
        assert c["same_actions"] == sum(ref[i] == oth[i] for i in ref) / N
    assert len(a["vs_baselines"]) == 16
    acc = a["acceptance"]
    assert acc["share"] == a["share_of_oracle"]["learned_cobb_douglas"]["mean"]
    assert acc["share_reached"] == (acc["share"] >= 0.97)
    assert acc["mutual_welfare_vs"] == {
        c["other"]: c["mutual_welfare"]["outcome"] for c in a["comparisons"]
    }


def test_curves_figures_and_summary(run):
    out, metrics, _ = run
    a = metrics["train_assistant"]
    for v in VARIANTS:
        lines = (out / "train" / v / "curve.csv").read_text().splitlines()
        assert len(lines) == 1 + 4  # header + one row per update
        t = a["training"][v]
        assert (t["updates"], t["env_steps"]) == (4, STEPS)
        assert t["eval_mutual"] is not None and t["curve"] == f"train/{v}/curve.csv"
    for name in ("train_assistant.png", "learning_curves.png"):
        assert (out / name).stat().st_size > 10_000
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# Trained assistants")
    assert "# Standard report (every arm)" in summary
    assert "![learning curves](learning_curves.png)" in summary
    for v in LEARNED[1:]:
        assert f"| learned_cobb_douglas − {v} |" in summary
    on_disk = json.loads((out / "metrics.json").read_text())["train_assistant"]
    assert on_disk == json.loads(json.dumps(a))
    again = ta.report_run(_cfg(out), out)  # re-rendered from the files: the same block
    assert json.loads(json.dumps(again["train_assistant"])) == on_disk


def test_resume_reuses_the_checkpoints(run, monkeypatch):
    out, _, _ = run
    ckpts = [out / "train" / v / "checkpoint.pt" for v in VARIANTS]
    before = [p.stat().st_mtime_ns for p in ckpts]
    lines = (out / "episodes.jsonl").read_text()
    from gtalign_sim.train import ppo

    def no_training(*args, **kwargs):
        raise AssertionError("a complete checkpoint was retrained")

    monkeypatch.setattr(ppo.PPOTrainer, "train", no_training)
    metrics = ta.run(_cfg(out, "resume=true"))
    assert [p.stat().st_mtime_ns for p in ckpts] == before
    assert (out / "episodes.jsonl").read_text() == lines
    assert metrics["train_assistant"]["training"]["linear"]["env_steps"] == STEPS
    # a fresh run into a directory holding one is refused before anything is trained
    with pytest.raises(ValueError, match="already holds a run"):
        ta.run(_cfg(out))
    assert [p.stat().st_mtime_ns for p in ckpts] == before


def test_an_interrupted_training_continues_exactly(run, tmp_path):
    torch = require("torch")
    from gtalign_sim.experiments.settings import validate
    from gtalign_sim.train import PPOTrainer

    out, _, _ = run
    cfg = _cfg(tmp_path)
    s = validate(cfg)
    configs = ta.ppo_configs(s, cfg)
    path = ta.checkpoint_path(tmp_path, "linear")
    PPOTrainer(configs["linear"]).train(updates=1, checkpoint=path)  # stopped after 1 of 4
    stale = configs["user_only"].replace(total_steps=2 * STEPS)  # another config: retrained
    PPOTrainer(stale).train(updates=1, checkpoint=ta.checkpoint_path(tmp_path, "user_only"))
    wanted = {v: configs[v] for v in ("linear", "user_only")}
    assert ta.train_variants(s, wanted, checkpoint_every=0) == {
        "linear": "resumed",
        "user_only": "trained",
    }
    for v in wanted:
        got = torch.load(ta.checkpoint_path(tmp_path, v), weights_only=True)
        ref = torch.load(out / "train" / v / "checkpoint.pt", weights_only=True)
        assert got["update"] == 4
        for k, w in ref["model"].items():
            assert torch.equal(got["model"][k], w), (v, k)
    assert ta.train_variants(s, wanted, checkpoint_every=0) == {
        "linear": "reused",
        "user_only": "reused",
    }


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train_assistant.variants=[linear,user_only]", "needs 'cobb_douglas'"),
        ("train_assistant.variants=[cobb_douglas,cobb_douglas]", "distinct names"),
        ("train_assistant.variants=[cobb_douglas,nash]", "train_assistant.variants"),
        ("train_assistant.baselines=[gtalign]", "needs 'oracle'"),
        ("train_assistant.total_steps=0", "train_assistant.total_steps must be"),
        ("train_assistant.n_envs=true", "train_assistant.n_envs must be"),
        ("train_assistant.eval_episodes=0", "train_assistant.eval_episodes must be"),
        ("+train_assistant.speed=2", "unknown keys ['speed']"),
        ("+train_assistant.ppo.lr=0", "train_assistant.ppo: lr must be > 0"),
        ("+train_assistant.ppo.reward=linear", "fields ['reward'] not allowed"),
        ("+user.learn=true", "ParametricUser with learn=false"),
    ],
)
def test_bad_config_is_refused_in_one_line_before_any_work(tmp_path, override, message):
    out = tmp_path / "run"
    with pytest.raises(ValueError) as exc:
        ta.run(_cfg(out, override))
    assert message in str(exc.value) and "\n" not in str(exc.value)
    assert not out.exists()


def test_cli_refuses_a_bad_config_with_exit_2(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gtalign_sim.run",
            "experiment=train_assistant",
            f"hydra.run.dir={tmp_path / 'run'}",
            "train_assistant.variants=[linear]",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert err[-1].startswith("gtalign-sim: error: train_assistant.variants")
    assert not (tmp_path / "run" / "train").exists()


def _groups(diffs: dict[str, np.ndarray]):
    """Columns of a reference ``cd`` (√(U·L) 0.5 on every episode), an ``oracle`` and one
    arm per entry of ``diffs`` whose √(U·L) is ``0.5 − diff``."""
    from gtalign_sim.eval.columns import group_records
    from gtalign_sim.experiments.train_assistant_report import COLUMNS

    n = len(next(iter(diffs.values())))
    values = {"cd": np.full(n, 0.5), "oracle": np.full(n, 0.52)}
    values.update({name: 0.5 - d for name, d in diffs.items()})
    recs = [
        {
            "assistant": name,
            "episode": i,
            "seed": i,
            "user_welfare": float(v[i]),
            "llm_welfare": float(v[i]),
            "mutual_welfare": float(v[i]),
            "answer_quality": 1.0,
            "tokens": {"assistant": 10},
            "turns": 1,
        }
        for name, v in values.items()
        for i in range(n)
    ]
    return group_records(recs, COLUMNS)


def test_verdicts_use_holm_adjusted_p_values():
    from gtalign_sim.experiments.train_assistant_report import analyse

    n = 20
    e = np.random.default_rng(7).standard_normal(n)
    e = (e - e.mean()) / e.std(ddof=1) * 0.01  # mean 0, sd 0.01 exactly

    def shifted(p: float) -> np.ndarray:  # differences whose paired t-test has p-value p
        return e + scipy.stats.t.ppf(1 - p / 2, n - 1) * 0.01 / np.sqrt(n)

    raw = {"a": 0.02, "b": 0.03, "c": 0.04}  # each below 0.05; Holm: 0.06, 0.06, 0.06
    a = analyse(_groups({k: shifted(p) for k, p in raw.items()}), {}, [], "cd")
    assert a["comparisons"] == []  # no learned arms named: nothing to compare
    learned = {"cd": "cobb_douglas", "a": "linear", "b": "user_only", "c": "llm_only"}
    a = analyse(_groups({k: shifted(p) for k, p in raw.items()}), learned, ["oracle"], "cd")
    for c in a["comparisons"]:
        t = c["mutual_welfare"]
        assert t["p_value"] == pytest.approx(raw[c["other"]], rel=1e-6)
        assert t["p_holm"] == pytest.approx(0.06, rel=1e-6)
        assert t["lo"] > 0 and t["outcome"] == "tie"
    strong = {"a": shifted(1e-6), "b": -shifted(1e-6), "c": np.zeros(n)}
    a = analyse(_groups(strong), learned, ["oracle"], "cd")
    assert [c["mutual_welfare"]["outcome"] for c in a["comparisons"]] == ["win", "loss", "tie"]
    assert a["claim_iii"]["cd vs b"] == {"mutual_welfare": "loss", "sum_welfare": "loss"}
    assert a["acceptance"]["mutual_welfare_vs"] == {"a": "win", "b": "loss", "c": "tie"}
    assert a["share_of_oracle"]["cd"]["mean"] == pytest.approx(0.5 / 0.52, abs=1e-12)
    assert a["acceptance"]["share_reached"] is (0.5 / 0.52 >= 0.97)
    worse = [v for v in a["vs_baselines"] if v["learned"] == "cd"]
    assert worse[0]["mutual_welfare"]["outcome"] == "lower"  # 0.5 < 0.52 every episode
