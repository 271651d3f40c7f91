"""The cost-vs-decision-time scatter drawn for every case: each method's day cost against its
compute per decision, the plan included."""

from __future__ import annotations

from gridbench.benchmarks.leaderboard import finite_number
from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.plotting import (
    FAMILY_MARKERS,
    METHOD_COLORS,
    case_slug,
    method_color,
    new_figure,
)
from gridbench.benchmarks.report.registry import Figure

__all__ = ["cost_vs_decision_time"]


def cost_vs_decision_time(ctx: ReportContext, case_id: str) -> list[Figure]:
    """Scatter of every method's cost (IQM, 95 % interval) against its compute per decision
    including the plan, ``compute_ms_per_decision`` = (plan in ``reset`` + Σ act) / decisions
    (log axis), so a planner's solve is counted — drawn for every case."""
    points = []
    for e in ctx.case_entries(case_id):
        x, y = finite_number(e.get("compute_ms_per_decision")), finite_number(e.get("cost"))
        if x is None or y is None or x <= 0:
            ctx.note(case_id, f"{e['method']} left out of the cost-vs-time scatter (no cost/time)")
            continue
        lo, hi = finite_number(e.get("cost_lo")), finite_number(e.get("cost_hi"))
        points.append((e["method"], e["family"], x, y, lo if lo is not None else y, hi or y))
    if not points:
        return []
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    other = 0
    for method, family, x, y, lo, hi in points:
        color = method_color(method, other)
        other += method not in METHOD_COLORS
        ax.errorbar(
            [x],
            [y],
            yerr=[[max(y - lo, 0.0)], [max(hi - y, 0.0)]],
            fmt=FAMILY_MARKERS.get(family, "o"),
            color=color,
            markersize=9 if family == "bound" else 6,
            capsize=3,
            label=f"{method} ({family})",
        )
    ax.set_xscale("log")
    ax.set_xlabel("compute per decision incl. the plan, ms (log)")
    ax.set_ylabel("day cost, $ (IQM over seeds)")
    ax.set_title(f"{case_id}: cost vs compute per decision")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return [
        ctx.save(
            fig,
            f"{case_slug(case_id)}_cost_vs_decision_time.png",
            "Cost vs compute per decision (plan included)",
            "Each method's day cost (interquartile mean over seeds of the mean over days, bars: "
            "95 % bootstrap interval) against its compute per decision including the plan: "
            "(the controller's reset, where planners compute their plan, + every act) / the "
            "day's decisions (compute_ms_per_decision, amortized, log scale).",
        )
    ]
