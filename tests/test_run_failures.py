"""Failed episodes in a run: kept out of the metrics, counted by cause, and a run whose
failures exceed max_failed_fraction (or that failed entirely) exits 3 saying why."""

from __future__ import annotations

import json
import textwrap

import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.experiments import clarification_game

PLUGIN = textwrap.dedent(
    """
    from gtalign_sim.users import ParametricUser

    class FlakyUser(ParametricUser):
        '''Raises on every ``every``-th episode it is reset for.'''

        def __init__(self, every=2, **kw):
            super().__init__(**kw)
            self.every, self.n = every, 0

        def choose_strategy(self, task, profile, rng):
            self.n += 1
            if self.n % self.every == 0:
                raise RuntimeError("plug-in user broke")
            return super().choose_strategy(task, profile, rng)
    """
)


def _cfg(tmp_path, *extra):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=clarification_game",
                f"output_dir={tmp_path / 'run'}",
                "episodes_per_family=2",
                "assistants.names=[always_da,always_aq]",
                "env.tasks_per_family=6",
                "progress=false",
                "plots=false",
                "print_table=false",
                "user._target_=flaky_user_mod.FlakyUser",
                *extra,
            ],
        )


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "flaky_user_mod.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_failures_are_counted_not_averaged_and_fail_the_run(tmp_path, plugin, capsys):
    with pytest.raises(SystemExit) as exc:
        clarification_game.run(_cfg(tmp_path, "+user.every=2"))
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert "error: 8/16 (50%) episodes failed" in err
    assert "always_da: user: RuntimeError on 50% of episodes" in err
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "| always_da | 4/8 | user: RuntimeError ×4 |" in summary
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["failures"]["always_da"] == {
        "failed": 4,
        "attempted": 8,
        "fraction": 0.5,
        "reasons": {"user: RuntimeError": 4},
    }
    # the welfare metrics are over the 4 episodes that did not fail
    lines = [
        json.loads(x) for x in (tmp_path / "run" / "episodes.jsonl").read_text().split("\n") if x
    ]
    ok = [r for r in lines if r["assistant"] == "always_da" and r["failure"] is None]
    assert len(ok) == 4
    got = m["assistant_metrics"]["always_da"]["mutual_welfare"]["mean"]
    assert got == pytest.approx(sum(r["mutual_welfare"] for r in ok) / 4)


def test_a_tolerated_failure_rate_completes(tmp_path, plugin, capsys):
    metrics = clarification_game.run(_cfg(tmp_path, "+user.every=2", "max_failed_fraction=0.6"))
    assert metrics["failures"]["always_aq"]["failed"] == 4
    assert "8/16 episodes failed (kept out of the metrics)" in capsys.readouterr().out


def test_max_failed_fraction_is_validated(tmp_path, plugin):
    with pytest.raises(ValueError, match=r"max_failed_fraction must be a number in \[0, 1\]"):
        clarification_game.run(_cfg(tmp_path, "max_failed_fraction=2"))
