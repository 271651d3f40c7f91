"""``gridbench report``: the leaderboard per case and the figures, as Markdown and HTML.

Public API
----------
* :func:`build_report` — read a results store, write ``report.md``, ``report.html`` and the
  figures (PNG, matplotlib's Agg canvas, no pyplot state) into a temporary directory beside
  the output directory, then swap it in (rename). Returns a :class:`ReportResult`.
* :func:`case_figures` — decorator registering a case's figure function under one or more
  case ids in :data:`CASE_FIGURES`: ``fn(ctx: ReportContext, case_id: str) -> list[Figure]``.
  A figure function saves its PNGs with :meth:`ReportContext.save` and records what it had to
  leave out with :meth:`ReportContext.note`; it must not raise for missing data (an
  exception is caught and becomes a note, so one broken figure never loses the report).
* :class:`ReportContext` — what a figure function gets: the store's rows, the leaderboard
  entries, the results directory, the training-curve directories, helpers to choose a
  representative day and to re-simulate a method on it through the referee
  (:meth:`ReportContext.rollout`: deterministic methods are fitted as ``run`` fits them; RL
  methods only *load* a shipped or trained agent — never train — and are skipped with a note
  when none exists).

Modules
-------
* :mod:`.build` — :func:`build_report`: the leaderboards, the notes on what is missing, the
  figures of each case, the documents;
* :mod:`.directory` — the output directory: its manifest, :func:`check_report_dir`, the swap;
* :mod:`.registry` — :class:`Figure` and the per-case registry :func:`case_figures`;
* :mod:`.context` — :class:`ReportContext` (rows, entries, notes, re-simulation);
* :mod:`.plotting` — colours per method, markers per family, a new figure, the case's slug;
* :mod:`.training_curves` — reading a training run's episode returns, their moving average;
* :mod:`.documents` — ``report.md`` and ``report.html`` from the per-case sections;
* :mod:`.figures` — the figures: :func:`cost_vs_decision_time` and :func:`budget_curves` for
  every case, and one module per case family registering its own (``ses_carbon``,
  ``loss_arbitrage``, ``sgls``).

Report layout
-------------
First, one page answering "when does RL beat mathematical programming, and by how much?"
across the cases (:mod:`gridbench.benchmarks.answer`). Then per case: the leaderboard
(:mod:`gridbench.benchmarks.leaderboard`, ``test`` split; other
splits when the case has no ``test`` rows), a cost-vs-decision-time scatter of every method
(log x, ``compute_ms_per_decision``: the plan in ``reset`` amortized over the day's
decisions with every ``act``; error bars: the cost's 95 % interval), then the case's own
figures. Last, a "Missing" section: what the report could not show and why (no RL or oracle
rows yet, registered methods never run, failed units, agents or training logs not found).

Every case also gets :func:`budget_curves` (from ``results/curves/*.csv``) and
:func:`tuning_table` (from ``results/tuning/<case>/*.csv``).
"""

from __future__ import annotations

from gridbench.benchmarks.report.build import DEFAULT_REPORT_DIR, ReportResult, build_report
from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.directory import REPORT_MARKER, ReportError, check_report_dir
from gridbench.benchmarks.report.documents import (
    best_rl_summary,
    render_html_report,
    render_markdown_report,
)
from gridbench.benchmarks.report.figures.budget_curves import budget_curves
from gridbench.benchmarks.report.figures.cost_vs_time import cost_vs_decision_time
from gridbench.benchmarks.report.figures.tuning import tuning_table
from gridbench.benchmarks.report.registry import CASE_FIGURES, Figure, case_figures

__all__ = [
    "CASE_FIGURES",
    "DEFAULT_REPORT_DIR",
    "REPORT_MARKER",
    "Figure",
    "ReportContext",
    "ReportError",
    "ReportResult",
    "best_rl_summary",
    "budget_curves",
    "build_report",
    "case_figures",
    "check_report_dir",
    "cost_vs_decision_time",
    "render_html_report",
    "render_markdown_report",
    "tuning_table",
]
