"""Figures: every configured format written, summary.md links exactly the files written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from gtalign_sim.experiments import clarification_game


def _cfg(out: Path, *extra: str):
    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        return compose(
            config_name="config",
            overrides=[
                "experiment=clarification_game",
                "assistants.names=[always_da,selfish_llm]",
                "episodes_per_family=2",
                "progress=false",
                "print_table=false",
                f"output_dir={out}",
                *extra,
            ],
        )


def test_summary_links_exactly_the_figures_written(tmp_path: Path) -> None:
    out = tmp_path / "run"
    clarification_game.run(_cfg(out, "plot_formats=[png,pdf]", "plot_dpi=60"))
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (out / "summary.md").read_text())
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert (
        sorted(links)
        == pngs
        == [
            "action_mix.png",
            "pricing_shift.png",
            "welfare_by_assistant.png",
            "welfare_by_family.png",
            "welfare_plane.png",
        ]
    )
    assert sorted(p.stem for p in out.glob("*.pdf")) == [Path(p).stem for p in pngs]
    assert all((out / p).read_bytes().startswith(b"%PDF") for p in out.glob("*.pdf"))
    # the dpi setting reaches the raster files: 8 x 5 inch figures at 60 dpi
    header = (out / "action_mix.png").read_bytes()[16:24]
    assert (int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")) == (480, 300)


def test_no_plots_no_links(tmp_path: Path) -> None:
    out = tmp_path / "run"
    clarification_game.run(_cfg(out, "plots=false"))
    assert "![" not in (out / "summary.md").read_text()
    assert not list(out.glob("*.png"))


@pytest.mark.parametrize("value", ["[png,gif]", "[]", "[png,png]"])
def test_bad_plot_formats_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match=r"plot_formats .* invalid: a list of distinct formats"):
        clarification_game.run(_cfg(tmp_path / "run", f"plot_formats={value}"))
