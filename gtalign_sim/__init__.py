"""gtalign-sim: the user–assistant conversation as a playable, trainable game.

Layers (each imports only the ones listed before it): ``game``, ``protocol``,
``welfare``, ``tasks``, ``backends``, ``users``, ``agents``, ``envs``, ``train``,
``eval``, ``experiments``. Importing :mod:`gtalign_sim` is cheap and has no side
effects beyond registering Gymnasium environments once they exist.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
