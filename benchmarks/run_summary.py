"""The table ``gridbench run`` ends with: per case and method, the units and days it ran, their
statuses and the mean cost of the stored rows (what ``leaderboard`` will rank), so that a user
sees at once what the run did without opening the store."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from gridbench.benchmarks.text_table import aligned

if TYPE_CHECKING:
    from gridbench.benchmarks.executors import RunSummary
    from gridbench.benchmarks.store import ResultsStore

__all__ = ["summary_table"]


def _cost(store: ResultsStore, case: str, method: str, seeds: set[int], budget: str) -> float:
    try:
        frame = store.frame(case=case, method=method)
    except ValueError:  # nothing stored (every unit failed before its first row)
        return math.nan
    if frame.empty or "cost" not in frame:
        return math.nan
    mine = frame[frame["seed"].isin(seeds) & (frame["budget"] == budget)]
    ok = mine[mine["status"].fillna("") == "ok"]["cost"].astype(float)
    return float(ok.mean()) if len(ok) else math.nan


def summary_table(summary: RunSummary, store: ResultsStore) -> str:
    """One line per (case, method) of the run: units (failed), days written / already stored,
    day statuses and the mean cost of its ``ok`` rows in the store."""
    groups: dict[tuple[str, str, str], list] = {}
    for result in summary.results:
        unit = result.unit
        groups.setdefault((unit.case, unit.method, unit.budget), []).append(result)
    header = ("case", "method", "units", "days new", "days stored", "statuses", "cost $/day")
    rows = []
    for (case, method, budget), results in sorted(groups.items()):
        statuses: dict[str, int] = {}
        for r in results:
            for status, n in r.statuses.items():
                statuses[status] = statuses.get(status, 0) + n
        failed = sum(r.failed for r in results)
        cost = _cost(store, case, method, {r.unit.seed for r in results}, budget)
        rows.append(
            (
                case,
                method,
                f"{len(results)}" + (f" ({failed} failed)" if failed else ""),
                str(sum(r.n_written for r in results)),
                str(sum(r.n_skipped for r in results)),
                ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "-",
                f"{cost:,.2f}" if math.isfinite(cost) else "-",
            )
        )
    return aligned(header, rows) + "\n"
