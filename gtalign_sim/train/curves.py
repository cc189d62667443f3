"""Learning curves: one row per update, written as CSV and drawn as a figure.

Columns (:data:`CURVE_COLUMNS`): ``update``, ``env_steps``, ``episodes`` (finished so
far), ``wall_s``; the batch's finished episodes: ``reward`` (the configured reward),
``user_welfare``, ``llm_welfare``, ``mutual_welfare`` (means); the update's ``entropy``,
``entropy_coeff``, ``loss_objective``, ``loss_critic``, ``clip_fraction``, ``kl_approx``,
``explained_variance``, ``grad_norm`` (means over minibatches); and on evaluation
updates the greedy policy's held-out means ``eval_reward``, ``eval_user``, ``eval_llm``,
``eval_mutual`` (empty otherwise). Live views: a tqdm progress bar, TensorBoard
scalars (optional). Matplotlib on an Agg canvas; torch only for TensorBoard.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CURVE_COLUMNS",
    "plot_curve",
    "progress_bar",
    "read_csv",
    "tensorboard_writer",
    "write_csv",
]

CURVE_COLUMNS: tuple[str, ...] = (
    "update",
    "env_steps",
    "episodes",
    "wall_s",
    "reward",
    "user_welfare",
    "llm_welfare",
    "mutual_welfare",
    "entropy",
    "entropy_coeff",
    "loss_objective",
    "loss_critic",
    "clip_fraction",
    "kl_approx",
    "explained_variance",
    "grad_norm",
    "eval_reward",
    "eval_user",
    "eval_llm",
    "eval_mutual",
)


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write ``rows`` with the :data:`CURVE_COLUMNS` header (missing values empty)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CURVE_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: _cell(row.get(k)) for k in CURVE_COLUMNS})
    return p


def _cell(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return round(v, 6) if isinstance(v, float) else v


def read_csv(path: str | Path) -> list[dict[str, float | None]]:
    """Rows of a curve CSV as numbers (empty cells ``None``)."""
    with Path(path).open(newline="") as fh:
        return [
            {k: (float(v) if v != "" else None) for k, v in r.items()} for r in csv.DictReader(fh)
        ]


def plot_curve(
    rows: Sequence[Mapping[str, Any]],
    path: str | Path,
    references: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Path | None:
    """Training reward and held-out mutual welfare against env steps; ``references``
    (e.g. ``{"oracle": 0.527, "always_da": 0.506}``) as horizontal lines on the held-out
    panel. Writes ``path`` (format from its suffix); ``None`` when ``rows`` is empty."""
    if not rows:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.0))
    FigureCanvasAgg(fig)
    ax_train, ax_eval = fig.subplots(1, 2)
    steps = [r["env_steps"] for r in rows]
    for key, label in (("reward", "reward (configured)"), ("mutual_welfare", "√(U·L)")):
        pts = [(s, r.get(key)) for s, r in zip(steps, rows, strict=True) if _num(r.get(key))]
        if pts:
            ax_train.plot(*zip(*pts, strict=True), label=label, lw=1.2)
    ax_train.set_title("training episodes", fontsize=10)
    evals = [(s, r) for s, r in zip(steps, rows, strict=True) if _num(r.get("eval_mutual"))]
    for key, label in (("eval_mutual", "√(U·L)"), ("eval_user", "U"), ("eval_llm", "L")):
        if evals:
            ax_eval.plot(
                [s for s, _ in evals],
                [r[key] for _, r in evals],
                marker="o",
                ms=3,
                label=label,
                lw=1.2,
            )
    for i, (name, value) in enumerate(sorted((references or {}).items())):
        ax_eval.axhline(value, ls="--", lw=0.9, color=f"C{i + 3}", label=f"{name} √(U·L)")
    ax_eval.set_title("held-out episodes (greedy policy)", fontsize=10)
    for ax in (ax_train, ax_eval):
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=150)
    return p


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))


def progress_bar(total: int, initial: int, desc: str) -> Any:
    """A tqdm bar over env steps (the trainer shows the live reward in its postfix)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="step", desc=desc, dynamic_ncols=True)


def tensorboard_writer(logdir: str | None) -> Any:
    """A TensorBoard ``SummaryWriter`` on ``logdir`` (``None``: off); ``ValueError`` when
    the ``tensorboard`` package is missing."""
    if logdir is None:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ValueError(
            f"tensorboard={logdir!r} needs the tensorboard package "
            f"(pip install -e '.[tensorboard]'): {exc}"
        ) from None
    return SummaryWriter(log_dir=str(logdir))
