"""``gridbench run --dry-run``: the units a run would execute, what each one's ``fit`` does
(train, load a shipped agent, nothing) and an estimate of the time, without running anything.

The estimate uses the timings stored in the committed reference results
(``results/reference``: per case and method, the median ``fit_s`` of the same budget and the
median per-day ``solve_s + decide_s``), scaled to the requested days. Units with no such
timing are counted as unknown and named; the referee's own simulation time is not in those
columns, so the figures are lower bounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridbench.benchmarks.text_table import aligned

if TYPE_CHECKING:
    import pandas as pd

    from gridbench.benchmarks.harness import UnitTask

__all__ = ["UnitPreview", "describe_plan", "preview_units", "reference_results_dir"]


def reference_results_dir() -> Path | None:
    """The committed reference results of this checkout (``results/reference``), if any."""
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        candidate = root / "results" / "reference"
        if (candidate / "rows").is_dir():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class UnitPreview:
    """One unit of the plan: what ``fit`` does and the estimated seconds (NaN: unknown)."""

    case: str
    method: str
    family: str
    seed: int
    days: int
    fit: str
    estimate_s: float


def _timings(reference: Path | None) -> pd.DataFrame | None:
    if reference is None:
        return None
    from gridbench.benchmarks.store import ResultsStore

    try:
        frame = ResultsStore(reference).frame()
    except ValueError:  # a damaged or empty reference: no estimate rather than no dry run
        return None
    frame = frame[frame["status"].fillna("") == "ok"].copy()
    frame["day_s"] = frame["solve_s"].fillna(0.0) + frame["decide_s"].fillna(0.0)
    return frame


def _estimate(timings: pd.DataFrame | None, task: UnitTask, trains: bool) -> float:
    if timings is None:
        return math.nan
    rows = timings[(timings["case"] == task.case_id) & (timings["method"] == task.method_name)]
    if rows.empty:
        return math.nan
    fit = 0.0
    same_budget = rows[rows["budget"] == task.budget]
    if trains:
        if same_budget.empty:
            return math.nan
        fit = float(same_budget["fit_s"].median())
    per_day = float(rows.groupby(["seed", "day"])["day_s"].first().median())
    return fit + per_day * len(task.days)


def _fit_kind(task: UnitTask, method: Any, case: Any) -> tuple[str, bool]:
    """``(description, trains)`` of what ``fit`` will do for ``task``."""
    if str(method.family) != "rl":
        return "no training", False
    path = Path(method.agent_path(case, task.seed)) if hasattr(method, "agent_path") else None
    if task.budget == "quick" and not task.retrain and path is not None and path.is_file():
        return "loads the shipped agent", False
    steps = ""
    try:
        from gridbench.rl_agents.sb3_methods import steps_per_day, training_plan

        probe = case.make_env(day=None, seed=task.seed)
        try:
            plan = training_plan(
                task.method_name, task.budget, steps_per_day(probe), case_id=case.id
            )
        finally:
            probe.close()
        steps = f" {plan.timesteps:,} env steps"
    except Exception:  # a plugin method with its own plan: say only that it trains
        steps = ""
    return f"trains{steps}", True


def preview_units(tasks: Sequence[UnitTask]) -> list[UnitPreview]:
    """A :class:`UnitPreview` per task (registries must be loaded)."""
    from gridbench.cases.registry import get_method, make_case

    timings = _timings(reference_results_dir())
    cases: dict[str, Any] = {}
    out: list[UnitPreview] = []
    for task in tasks:
        case = cases.setdefault(task.case_id, make_case(task.case_id))
        method = get_method(task.method_name).make()
        fit, trains = _fit_kind(task, method, case)
        out.append(
            UnitPreview(
                case=task.case_id,
                method=task.method_name,
                family=str(method.family),
                seed=task.seed,
                days=len(task.days),
                fit=fit,
                estimate_s=_estimate(timings, task, trains),
            )
        )
    return out


def _minutes(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def describe_plan(tasks: Sequence[UnitTask], workers: int, training_dir: Path) -> str:
    """The dry run's text: a line per (case, method) with its seeds, days, what ``fit`` does
    and the estimate; then the totals."""
    units = preview_units(tasks)
    groups: dict[tuple[str, str], list[UnitPreview]] = {}
    for unit in units:
        groups.setdefault((unit.case, unit.method), []).append(unit)
    header = ("case", "method", "family", "seeds", "days", "fit", "estimate")
    rows = []
    for (case, method), mine in sorted(groups.items()):
        fits = sorted({u.fit for u in mine})
        total = sum(u.estimate_s for u in mine)
        rows.append(
            (
                case,
                method,
                mine[0].family,
                str(len(mine)),
                str(mine[0].days),
                "; ".join(fits),
                _minutes(total),
            )
        )
    lines = aligned(header, rows).splitlines()
    known = [u.estimate_s for u in units if math.isfinite(u.estimate_s)]
    unknown = sorted({f"{u.case} / {u.method}" for u in units if not math.isfinite(u.estimate_s)})
    work = sum(known)
    n_train = sum(u.fit.startswith("trains") for u in units)
    n_ship = sum(u.fit == "loads the shipped agent" for u in units)
    lines.append("")
    lines.append(
        f"{len(units)} unit(s), {sum(u.days for u in units)} day rollouts; {n_train} train, "
        f"{n_ship} evaluate a shipped agent; training runs go to {training_dir}"
    )
    source = reference_results_dir()
    lines.append(
        f"estimate: {_minutes(work)} of work, about {_minutes(work / max(1, workers))} on "
        f"{workers} worker(s) (from the timings in {source or 'no reference results'}; "
        "referee time not included, so a lower bound)"
    )
    if unknown:
        shown = ", ".join(unknown[:6]) + (f" and {len(unknown) - 6} more" if len(unknown) > 6
                                           else "")  # fmt: skip
        lines.append(f"no timing for: {shown}")
    lines.append("dry run: nothing was run or written")
    return "\n".join(lines) + "\n"
