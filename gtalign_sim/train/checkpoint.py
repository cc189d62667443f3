"""Checkpoints: one ``torch.save`` file holding everything a resumed run needs.

Keys: ``format``, ``config`` (:meth:`PPOConfig.to_dict`), ``features`` (the observation's
feature names), ``n_actions``, ``model`` and ``optimizer`` state dicts, ``update`` and
``env_steps`` done, ``torch_rng`` (the action sampler's generator state), ``curve`` (the
learning curve so far) and ``env_state`` (the training env pickled into a ``uint8``
tensor, or ``None`` when it cannot be pickled). Loading uses
``torch.load(weights_only=True)``; only :meth:`PPOTrainer.resume
<gtalign_sim.train.PPOTrainer.resume>` unpickles ``env_state`` — resume only from your
own checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

__all__ = ["FORMAT", "env_state_bytes", "load_checkpoint", "save_checkpoint"]

FORMAT = "gtalign_sim.train.ppo/1"

_REQUIRED = ("format", "config", "features", "n_actions", "model")


def save_checkpoint(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (see the module docstring) to ``path`` atomically."""
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    data = dict(payload)
    state = data.get("env_state")
    if isinstance(state, (bytes, bytearray)):
        data["env_state"] = torch.frombuffer(bytearray(state), dtype=torch.uint8).clone()
    torch.save(data, tmp)
    os.replace(tmp, p)
    return p


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; ``ValueError`` when it is missing or
    not one of ours."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"checkpoint {str(path)!r} not found")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file: one line naming it
        raise ValueError(f"checkpoint {str(path)!r} unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        fmt = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"checkpoint {str(path)!r} has format {fmt!r}; expected {FORMAT!r}")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ValueError(f"checkpoint {str(path)!r} lacks {missing}")
    return data


def env_state_bytes(data: Mapping[str, Any]) -> bytes | None:
    """The pickled env state stored in a loaded checkpoint, or ``None``."""
    state = data.get("env_state")
    if state is None:
        return None
    return bytes(state.numpy().tobytes())
