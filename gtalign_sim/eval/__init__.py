"""Evaluation of experiment runs: metrics, plots and reports over per-episode records.

Input is the list of episode dicts an experiment writes to ``episodes.jsonl``
(:func:`load_records`). Assistants are compared on matched episodes (common random
numbers: the same ``episode`` index means the same task, user and randomness).

* :mod:`~gtalign_sim.eval.stats` — t and bootstrap CIs, paired t-tests and Holm's
  adjustment on top of ``scipy.stats`` (imported on first use);
* :mod:`~gtalign_sim.eval.columns` — records as per-assistant columns, episode matching;
* :mod:`~gtalign_sim.eval.metrics` — per-assistant welfare with CIs, first-action mixes by
  user strategy, family and pricing breakdowns, efficiency, ``metrics.json``;
* :mod:`~gtalign_sim.eval.comparisons` — paired differences on matched episodes with
  Holm-adjusted p-values and tie/higher/lower verdicts;
* :mod:`~gtalign_sim.eval.pareto` — Pareto analysis in the (U, L) plane (frontier,
  hypervolume, ε-dominance, ε-coverage, L∞ regret, Nash social welfare);
* :mod:`~gtalign_sim.eval.tidy` — the metrics in long form, ``metrics.csv``;
* :mod:`~gtalign_sim.eval.plots` — welfare bars, the (U, L) plane, action mixes, pricing
  shift (matplotlib, imported lazily, Agg canvas);
* :mod:`~gtalign_sim.eval.report` — ``summary.md``, computed findings, rich console table.

Importing this package does not import matplotlib, rich or scipy.
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
from .report import console_table, findings, print_summary, summary_markdown
from .stats import bootstrap_ci, clip_interval, holm, mean_ci, paired_test, t_cdf, t_quantile
from .tidy import metrics_rows, write_metrics_csv

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
    "clip_interval",
    "compare",
    "compute_metrics",
    "console_table",
    "findings",
    "holm",
    "jsonable",
    "load_records",
    "mean_ci",
    "metrics_rows",
    "paired_difference",
    "paired_test",
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
    "write_metrics_csv",
]
