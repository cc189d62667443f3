"""Evaluation of experiment runs: metrics, plots and reports over per-episode records.

Input is the list of episode dicts an experiment writes to ``episodes.jsonl``
(:func:`load_records`). Assistants are compared on matched episodes (common random
numbers: the same ``episode`` index means the same task, user and randomness).

* :mod:`~gtalign_sim.eval.stats` — Student-t quantiles without scipy, t and bootstrap CIs;
* :mod:`~gtalign_sim.eval.metrics` — per-assistant welfare with CIs, first-action mixes by
  user strategy, family and pricing breakdowns, efficiency, paired differences, Pareto
  analysis (frontier, hypervolume, ε-dominance), ``metrics.json``;
* :mod:`~gtalign_sim.eval.plots` — welfare bars, the (U, L) plane, action mixes, pricing
  shift (matplotlib, imported lazily, Agg canvas);
* :mod:`~gtalign_sim.eval.report` — ``summary.md``, computed findings, rich console table,
  and :func:`write_report` for the whole bundle.

Importing this package does not import matplotlib or rich.
"""

from __future__ import annotations

from .metrics import (
    ACTION_MODES,
    ASSISTANT_ORDER,
    SCALAR_METRICS,
    STRATEGIES,
    assistant_metrics,
    assistant_order,
    compare,
    compute_metrics,
    jsonable,
    load_records,
    paired_difference,
    pareto_analysis,
    write_metrics,
)
from .plots import (
    ACTION_COLORS,
    ASSISTANT_COLORS,
    PLOT_FILES,
    assistant_color,
    plot_action_mix,
    plot_pricing_shift,
    plot_welfare_bars,
    plot_welfare_plane,
)
from .report import console_table, findings, print_summary, summary_markdown, write_report
from .stats import bootstrap_ci, mean_ci, t_cdf, t_quantile

__all__ = [
    "ACTION_COLORS",
    "ACTION_MODES",
    "ASSISTANT_COLORS",
    "ASSISTANT_ORDER",
    "PLOT_FILES",
    "SCALAR_METRICS",
    "STRATEGIES",
    "assistant_color",
    "assistant_metrics",
    "assistant_order",
    "bootstrap_ci",
    "compare",
    "compute_metrics",
    "console_table",
    "findings",
    "jsonable",
    "load_records",
    "mean_ci",
    "paired_difference",
    "pareto_analysis",
    "plot_action_mix",
    "plot_pricing_shift",
    "plot_welfare_bars",
    "plot_welfare_plane",
    "print_summary",
    "summary_markdown",
    "t_cdf",
    "t_quantile",
    "write_metrics",
    "write_report",
]
