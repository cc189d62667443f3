"""gtalign-sim: the user–assistant conversation as a playable, trainable game.

Layers (each imports only the ones listed before it): ``game``, ``protocol``,
``welfare``, ``tasks``, ``backends``, ``users``, ``agents``, ``envs``, ``train``,
``eval``, ``experiments``. Importing :mod:`gtalign_sim` is cheap and has no side
effects beyond registering Gymnasium environments once they exist.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]


def _register_gymnasium_envs() -> None:
    """Register ``gtalign_sim/ClarificationAssistant-v0`` (and its batched vector entry
    point) without importing the env code; the one place the id is registered."""
    try:
        import gymnasium
    except ImportError:  # pragma: no cover - gymnasium is a core dependency
        return
    env_id = "gtalign_sim/ClarificationAssistant-v0"
    if env_id not in gymnasium.registry:
        gymnasium.register(
            id=env_id,
            entry_point="gtalign_sim.envs.gym_wrapper:ClarificationAssistantEnv",
            vector_entry_point="gtalign_sim.envs.batched_vector:ClarificationVectorEnv",
        )


_register_gymnasium_envs()
