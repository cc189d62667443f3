"""Empirical games: the measured stage game between user strategies and assistant policies.

Every profile (user strategy × assistant policy) is played on the same episodes — the
same tasks, hidden users and outcome draws, paired by episode index (common random
numbers) — with the user's opening forced through ``reset(options={"strategy": ...})``.
The cell payoffs are the mean gains ``(U, L)`` over the disagreement point. The matrix is
analysed (equilibria, Pareto frontier, game type, price of anarchy/stability) and the
analysis is repeated on paired bootstrap resamples of the episodes, so a label that flips
between resamples is reported as unstable rather than as a finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..game import PayoffMatrix, analyze_dilemma

__all__ = ["EmpiricalGame", "bootstrap_analysis", "play_empirical_game"]


@dataclass
class EmpiricalGame:
    """Per-episode gains of every profile: ``user``/``llm`` arrays ``(S, P, N)``."""

    strategies: tuple[str, ...]
    policies: tuple[str, ...]
    user: np.ndarray
    llm: np.ndarray

    @property
    def n_episodes(self) -> int:
        """Episodes per cell."""
        return int(self.user.shape[-1])

    def matrix(self, idx: np.ndarray | None = None) -> PayoffMatrix:
        """The mean-gain payoff matrix (over episodes ``idx``, default all)."""
        u = self.user if idx is None else self.user[..., idx]
        l = self.llm if idx is None else self.llm[..., idx]
        return PayoffMatrix(
            user=u.mean(axis=-1),
            llm=l.mean(axis=-1),
            user_strategies=tuple(x.replace("_", "-") for x in self.strategies),
            assistant_actions=tuple(x.replace("_", "-") for x in self.policies),
        )

    def standard_errors(self) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors of the cell means ``(user, llm)``."""
        n = self.n_episodes
        return self.user.std(axis=-1, ddof=1) / np.sqrt(n), self.llm.std(axis=-1, ddof=1) / np.sqrt(
            n
        )


def play_empirical_game(
    env_factory: Callable[[], Any],
    policies: Mapping[str, Any],
    seeds: Sequence[int],
    strategies: Sequence[str] = ("DQ", "VQ"),
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    on_episode: Callable[[dict[str, Any]], None] | None = None,
) -> EmpiricalGame:
    """Play every (strategy, policy) cell on the same ``seeds`` and collect gains.

    ``policies`` maps a name to an assistant; each cell gets a fresh environment (a
    stationary user population) and the assistant is reset once per cell.
    ``on_episode`` receives each record (with ``assistant``, ``strategy``, ``episode``).
    """
    from ..envs.rollout import run_episode

    names = tuple(policies)
    u = np.zeros((len(strategies), len(names), len(seeds)))
    l = np.zeros_like(u)
    cells = [(si, pi) for si in range(len(strategies)) for pi in range(len(names))]
    it: Iterable[tuple[int, int]] = progress(cells) if progress else cells
    for si, pi in it:
        env = env_factory()
        assistant = policies[names[pi]]
        assistant.reset()
        for i, seed in enumerate(seeds):
            rec = run_episode(env, assistant, seed, {"strategy": strategies[si]})
            if rec.get("failure"):  # a hole would break the pairing across cells
                f = rec["failure"]
                raise RuntimeError(
                    f"episode {i} of cell ({strategies[si]}, {names[pi]}) failed: "
                    f"{f['stage']}: {f['reason']} ({f['detail']})"
                )
            u[si, pi, i] = rec["user_welfare"]
            l[si, pi, i] = rec["llm_welfare"]
            if on_episode is not None:
                on_episode({"assistant": names[pi], "episode": i, "seed": int(seed), **rec})
    return EmpiricalGame(tuple(strategies), names, u, l)


def _summary(report: Any) -> dict[str, Any]:
    return {
        "is_dilemma": bool(report.is_dilemma),
        "game_type": report.game_type,
        "price_of_anarchy": float(report.price_of_anarchy),
        "price_of_stability": float(report.price_of_stability),
    }


def _names(game: EmpiricalGame, cell: Sequence[str]) -> list[str]:
    """Matrix labels (``_`` replaced by ``-``) back to the game's names."""
    by_label = {x.replace("_", "-"): x for x in (*game.strategies, *game.policies)}
    return [by_label.get(c, c) for c in cell]


def bootstrap_analysis(
    game: EmpiricalGame, n_boot: int = 1000, seed: int = 0, welfare: str = "utilitarian"
) -> dict[str, Any]:
    """The matrix's analysis and its stability over paired bootstrap resamples.

    Returns the point analysis (equilibria as mixed strategies, Pareto frontier, dilemma
    flag, game type, PoA/PoS on gains under ``welfare``, with the disagreement point at
    zero), the fraction of resamples that are a dilemma and that have the same game type,
    and 95% percentile intervals of the PoA and of each cell's means.
    """
    m = game.matrix()
    rep = analyze_dilemma(m, welfare=welfare, disagreement=(0.0, 0.0))
    rng = np.random.default_rng(seed)
    n = game.n_episodes
    dilemma, types, poa = [], Counter(), []
    cells_u, cells_l = [], []
    for _ in range(int(n_boot)):
        idx = rng.integers(0, n, n)
        mb = game.matrix(idx)
        r = analyze_dilemma(mb, welfare=welfare, disagreement=(0.0, 0.0))
        dilemma.append(bool(r.is_dilemma))
        types[r.game_type] += 1
        poa.append(float(r.price_of_anarchy))
        cells_u.append(mb.user)
        cells_l.append(mb.llm)
    se_u, se_l = game.standard_errors()
    poa_arr = np.asarray(poa)
    finite = poa_arr[np.isfinite(poa_arr)]
    return {
        "strategies": list(game.strategies),
        "policies": list(game.policies),
        "episodes_per_cell": n,
        "disagreement_point": [0.0, 0.0],
        "welfare": welfare,
        "user": m.user.round(6).tolist(),
        "llm": m.llm.round(6).tolist(),
        "user_se": se_u.round(6).tolist(),
        "llm_se": se_l.round(6).tolist(),
        "user_ci95": np.percentile(cells_u, [2.5, 97.5], axis=0).round(6).tolist(),
        "llm_ci95": np.percentile(cells_l, [2.5, 97.5], axis=0).round(6).tolist(),
        "equilibria": [
            {"user": x.round(6).tolist(), "assistant": y.round(6).tolist()}
            for x, y in rep.equilibria
        ],
        "pareto_frontier": [_names(game, c) for c in m.pareto_frontier()],
        "optimum": _names(game, rep.optimum) if rep.optimum else None,
        **_summary(rep),
        "bootstrap": {
            "n": int(n_boot),
            "dilemma_fraction": float(np.mean(dilemma)),
            "same_type_fraction": types[rep.game_type] / max(int(n_boot), 1),
            "types": dict(types),
            "price_of_anarchy_ci95": (
                np.percentile(finite, [2.5, 97.5]).round(6).tolist() if len(finite) else None
            ),
            "price_of_anarchy_infinite_fraction": float(np.mean(~np.isfinite(poa_arr))),
        },
    }
