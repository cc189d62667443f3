"""Hydra configs of gtalign-sim (YAML files in this package) and the nodes generated from
the code's dataclasses, so that a default is defined once: ``env/world/default`` is
:class:`gtalign_sim.core.WorldConfig`'s defaults, registered in Hydra's ConfigStore when
this package is imported (``gtalign_sim.run`` and the tests import it first)."""

from __future__ import annotations


def register() -> None:
    """Store ``env/world/default`` (the WorldConfig defaults) in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    from ..core.world import WorldConfig

    ConfigStore.instance().store(group="env/world", name="default", node=WorldConfig().to_dict())


register()
