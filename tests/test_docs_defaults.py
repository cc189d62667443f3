"""docs/model.md's defaults table and the code agree; Hydra and the constructors build
the same world."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from gtalign_sim.core import DIFFICULTIES, WorldConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def _doc_table() -> dict[str, str]:
    text = DOC.read_text()
    block = text.split("<!-- world-defaults -->")[1].split("<!-- /world-defaults -->")[0]
    rows = {}
    for line in block.splitlines():
        m = re.match(r"\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def _render(name: str, value: object) -> str:
    if name == "skill":
        return ", ".join(f"{d} {value[d]}" for d in DIFFICULTIES)  # type: ignore[index]
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def test_every_world_default_is_documented_with_its_value():
    rows = _doc_table()
    defaults = WorldConfig()
    fields = [f.name for f in dataclasses.fields(WorldConfig) if f.name != "pricing"]
    assert sorted(rows) == sorted(fields)
    for name in fields:
        assert rows[name] == _render(name, getattr(defaults, name)), name


def test_hydra_default_builds_the_dataclass_world():
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module(config_module="gtalign_sim.conf", version_base=None):
        cfg = compose(config_name="config")
    world = WorldConfig.from_config(OmegaConf.to_container(cfg.env.world))
    assert world == WorldConfig()
    from gtalign_sim.envs import ClarificationGameEnv
    from gtalign_sim.tasks import TaskBank

    env = ClarificationGameEnv(tasks=TaskBank.build(per_family=2))
    assert env.world == world
