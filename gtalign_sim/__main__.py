"""``python -m gtalign_sim`` / ``gtalign-sim``: version, layers and a one-screen demo.

Until the Hydra experiment runner lands this prints the package version and analyses
the GTAlign example stage game (equilibria, Pareto frontier, selection rules), so a
fresh install shows that the core works.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__


def _demo() -> None:
    import warnings

    from rich.console import Console
    from rich.table import Table

    from .game import SELECTION_RULES, DegenerateGameWarning, get_preset

    console = Console()
    game = get_preset("gtalign_example")
    table = Table(title="GTAlign example stage game: (user, LLM) payoffs")
    table.add_column("user \\ assistant")
    for a in game.assistant_actions:
        table.add_column(a, justify="center")
    frontier = set(game.pareto_frontier())
    equilibria = set(game.pure_nash_equilibria())
    for s in game.user_strategies:
        row = []
        for a in game.assistant_actions:
            u, l = game.payoff(s, a)
            mark = ("*" if (s, a) in frontier else "") + ("†" if (s, a) in equilibria else "")
            row.append(f"({u:g}, {l:g}){mark}")
        table.add_row(s, *row)
    console.print(table)
    console.print("* Pareto-optimal   † pure Nash equilibrium")
    report = game.analyze_dilemma()
    console.print(
        f"social dilemma: {report.is_dilemma}; price of anarchy (utilitarian): "
        f"{report.price_of_anarchy:.2f}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateGameWarning)
        picks = ", ".join(f"{r}→{'_'.join(game.select(r))}" for r in SELECTION_RULES)
    console.print(f"selection rules (joint choice): {picks}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gtalign-sim`` console script; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="gtalign-sim",
        description="gtalign-sim: the user–assistant conversation as a playable, trainable game.",
    )
    parser.add_argument("--version", action="version", version=f"gtalign-sim {__version__}")
    parser.add_argument(
        "command", nargs="?", default="demo", choices=["demo"], help="what to run (default: demo)"
    )
    args = parser.parse_args(argv)
    print(f"gtalign-sim {__version__}")
    if args.command == "demo":
        _demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
