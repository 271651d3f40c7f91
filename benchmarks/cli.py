"""The ``gridbench`` command line (DESIGN.md §6). Users and reviewers script against it.

User errors (unknown names, bad values, missing results) print one line naming the bad value
and the valid choices, exit with status 2 and leave existing results untouched; no traceback.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["app", "main"]

warnings.filterwarnings("ignore", message="numba cannot be imported")

app = typer.Typer(
    name="gridbench",
    help="Energy-storage dispatch benchmarks: RL vs mathematical programming on one referee.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Energy-storage dispatch benchmarks: RL vs mathematical programming on one referee."""


JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


class UserError(Exception):
    """Anything the user can fix: printed as one line, exit status 2."""


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``ValueError``/``UserError`` raised by a command into one line and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (UserError, ValueError) as exc:
            typer.echo(f"gridbench: error: {exc}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper


def _emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=False))
    else:
        typer.echo(render(data))


@app.command("grid")
@user_errors
def grid_command(
    name: Annotated[str, typer.Argument(help="Grid name: ieee33, feeder38 or ieee30.")],
    as_json: JsonFlag = False,
) -> None:
    """Bus and branch counts, base-case losses and the minimum voltage of a grid."""
    from gridbench.cases.grid.summary import grid_summary

    summary = grid_summary(name)

    def render(s: dict[str, Any]) -> str:
        return (
            f"{s['name']}: {s['buses']} buses, {s['branches']} branches, {s['base_kv']} kV, "
            f"load {s['load_mw']} MW / {s['load_mvar']} Mvar\n"
            f"base case: losses {s['losses_kw']:.2f} kW, "
            f"V_min {s['v_min_pu']:.4f} pu at bus {s['v_min_bus']} ({s['power_flow']})"
        )

    _emit(summary, as_json, render)


def _load_registries() -> None:
    """Fill the registries (built-ins, then plugins); broken plugins are one warning each."""
    from gridbench.benchmarks.plugins import load_all

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_all(warn=True)
    for w in caught:
        if w.category.__name__ == "PluginWarning":
            typer.echo(f"gridbench: warning: {w.message}", err=True)


def _case_rows() -> list[dict[str, Any]]:
    from gridbench.cases.registry import case_ids, make_case

    rows = []
    for case_id in case_ids():
        case = make_case(case_id)
        rows.append(
            {
                "id": case.id,
                "grid": case.grid,
                "steps": case.steps,
                "step_hours": case.step_hours,
                "paper": case.paper,
            }
        )
    return rows


@app.command("cases")
@user_errors
def cases_command(as_json: JsonFlag = False) -> None:
    """The registered cases (versioned ids) with their grid, steps and paper."""
    _load_registries()
    rows = _case_rows()

    def render(rs: list[dict[str, Any]]) -> str:
        if not rs:
            return "no cases registered"
        return "\n".join(
            f"{r['id']:<28} {r['grid']:<9} {r['steps']:>3} x {r['step_hours']} h  {r['paper']}"
            for r in rs
        )

    _emit(rows, as_json, render)


@app.command("methods")
@user_errors
def methods_command(
    case: Annotated[
        str | None, typer.Option("--case", help="Only methods that support this case id.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The registered methods, their family and the cases each supports."""
    from gridbench.cases.registry import case_ids, make_case, method_specs

    _load_registries()
    ids = case_ids()
    if case is not None:
        from gridbench.cases.registry import case_spec

        case_spec(case)  # unknown id: one line with a suggestion
        ids = (case,)
    cases = [make_case(i) for i in ids]
    rows = []
    for spec in method_specs():
        method = spec.make()
        supported = [c.id for c in cases if method.supports(c)]
        if case is not None and not supported:
            continue
        rows.append({"name": spec.name, "family": str(spec.family), "cases": supported})

    def render(rs: list[dict[str, Any]]) -> str:
        if not rs:
            return "no methods registered"
        return "\n".join(
            f"{r['name']:<16} {r['family']:<9} {', '.join(r['cases']) or '(no case yet)'}"
            for r in rs
        )

    _emit(rows, as_json, render)


#: Default results directory of ``run`` and ``leaderboard`` (ignored by git).
DEFAULT_RESULTS = Path("results") / "runs"
ResultsOption = Annotated[
    Path, typer.Option("--results", help="Results directory (the Parquet store).")
]


def _results_dir(results: Path) -> Path:
    if results.exists() and not results.is_dir():
        raise UserError(f"--results {str(results)!r} is a file; valid: a directory")
    return results


@app.command("run")
@user_errors
def run_command(
    case: Annotated[
        list[str] | None,
        typer.Option("--case", help="Case id (repeatable; default: every registered case)."),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method", help="Method name (repeatable; default: every method supporting the case)."
        ),
    ] = None,
    family: Annotated[
        list[str] | None,
        typer.Option(
            "--family", help="Only methods of a family: solver, rl, baseline, bound (repeatable)."
        ),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds 0..N-1 per method.")] = 3,
    budget: Annotated[
        str,
        typer.Option("--budget", help="smoke, quick, reference or paper (full = reference)."),
    ] = "quick",
    split: Annotated[str, typer.Option("--split", help="Days to evaluate: test or val.")] = "test",
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local (process pool on this machine) or ray (a Ray cluster; needs the "
            "optional extra ray).",
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Ray cluster to use (auto, HOST:PORT, ray://HOST:10001); default: start a "
            "local Ray instance.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Parallel units (default: CPU cores; local 1 = inline; ray: CPUs of the local "
            "instance, or the most units in flight on a cluster).",
        ),
    ] = None,
    results: ResultsOption = DEFAULT_RESULTS,
    days: Annotated[
        int | None, typer.Option("--days", help="Only the first K days of the split (smoke runs).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain",
            help="RL methods train at --budget even where a shipped agent exists (use a fresh "
            "--results: stored rows are never recomputed).",
        ),
    ] = False,
) -> None:
    """Fit and evaluate methods on cases; one row per case × method × seed × day (resumes)."""
    from gridbench.benchmarks.executors import make_executor
    from gridbench.benchmarks.harness import plan_run
    from gridbench.benchmarks.store import ResultsStore
    from gridbench.cases.contracts import Budget, Split

    # every check before any work starts: a user error leaves the results untouched
    budget_value = Budget.parse(budget)
    split_value = Split.parse(split)
    if seeds < 1:
        raise UserError(f"--seeds {seeds} must be >= 1")
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers} must be >= 1")
    if days is not None and days < 1:
        raise UserError(f"--days {days} must be >= 1")
    results = _results_dir(results)
    runner = make_executor(executor, workers, address=address, progress=progress)  # checks
    _load_registries()
    plan = plan_run(
        case, method, range(seeds), budget_value, split_value, days, family, retrain=retrain
    )
    for note in plan.notes:
        typer.echo(f"gridbench: note: {note}", err=True)
    if not plan.tasks:
        raise UserError("nothing to run: no requested method supports the requested case(s)")
    if workers is None:  # default: this machine's cores, no more than there are units
        n_workers = max(1, min(os.cpu_count() or 1, len(plan.tasks)))
        if executor == "ray" and address is not None:
            n_workers = None  # on a cluster, its free CPUs decide
        runner = make_executor(executor, n_workers, address=address, progress=progress)
    store = ResultsStore(results)
    summary = runner.run(plan.tasks, store)
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.statuses.items())) or "none"
    typer.echo(
        f"{summary.n_units} unit(s): wrote {summary.n_written} row(s), "
        f"{summary.n_skipped} already stored; day statuses: {statuses}; results in {results}"
    )
    for failed in summary.failed:
        u = failed.unit
        typer.echo(
            f"gridbench: unit {u.case} / {u.method} / seed {u.seed} failed: {failed.error}",
            err=True,
        )
    if summary.failed:
        raise typer.Exit(code=1)


@app.command("compact")
@user_errors
def compact_command(results: ResultsOption = DEFAULT_RESULTS) -> None:
    """Merge the row files of each case × method into one (same rows; small enough to commit)."""
    from gridbench.benchmarks.store import ResultsStore

    counts = ResultsStore(_results_dir(results)).compact()
    typer.echo(
        f"{counts['rows']} row(s): {counts['files_before']} file(s) -> {counts['files_after']}"
    )


@app.command("ship")
@user_errors
def ship_command(
    case: Annotated[str, typer.Option("--case", help="Case id.")],
    method: Annotated[list[str], typer.Option("--method", help="RL method (repeatable).")],
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds 0..N-1.")] = 5,
    training_dir: Annotated[
        Path | None,
        typer.Option("--training-dir", help="Where the runs are (default: results/runs/training)."),
    ] = None,
    agents_dir: Annotated[
        Path | None,
        typer.Option("--agents-dir", help="Where shipped agents go (default: results/agents)."),
    ] = None,
) -> None:
    """Copy trained agents (model.zip + plan) to results/agents/<case>/<method>/seed<k>.zip,
    which the quick budget evaluates instead of training."""
    from gridbench.cases.registry import get_method, make_case

    if seeds < 1:
        raise UserError(f"--seeds {seeds} must be >= 1")
    _load_registries()
    the_case = make_case(case)
    for name in method:
        agent = get_method(name).make()
        if not hasattr(agent, "ship"):
            raise UserError(f"method {name!r} has no trained agents to ship (family rl only)")
        if training_dir is not None:
            agent.training_dir = training_dir
        if agents_dir is not None:
            agent.agents_dir = agents_dir
        for seed in range(seeds):
            try:
                path = agent.ship(the_case, seed)
            except FileNotFoundError as exc:
                raise UserError(str(exc)) from None
            typer.echo(f"shipped {path}")


@app.command("leaderboard")
@user_errors
def leaderboard_command(
    case: Annotated[str | None, typer.Option("--case", help="Only this case id.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, csv or json.")] = "md",
    results: ResultsOption = DEFAULT_RESULTS,
    split: Annotated[str, typer.Option("--split", help="Days ranked: test or val.")] = "test",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (atomically), not stdout.")
    ] = None,
) -> None:
    """Rank methods per case: feasible first, then by cost (IQM over seeds, 95% CI)."""
    from gridbench.benchmarks.leaderboard import FORMATS, build, render
    from gridbench.benchmarks.store import ResultsStore
    from gridbench.cases.contracts import Split
    from gridbench.cases.naming import unknown_name_message

    if fmt not in FORMATS:
        raise UserError(unknown_name_message("format", fmt, FORMATS))
    split_value = Split.parse(split)
    results = _results_dir(results)
    if not results.is_dir():
        raise UserError(
            f"results directory {str(results)!r} does not exist; run "
            f"`gridbench run --results {results}` first"
        )
    frame = ResultsStore(results).frame()
    if case is not None:
        stored = sorted(frame["case"].dropna().unique())
        if case not in stored:
            raise UserError(unknown_name_message("case", case, stored) + f" in {str(results)!r}")
    text = render(build(frame, case=case, split=split_value.value), fmt)
    if out is None:
        typer.echo(text, nl=False)
    else:
        from gridbench.benchmarks.atomic import atomic_write_text

        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, text)


@app.command("schedule")
@user_errors
def schedule_command(
    case: Annotated[str, typer.Option("--case", help="Case id.")],
    method: Annotated[str, typer.Option("--method", help="Method name.")],
    day: Annotated[str, typer.Option("--day", help="ISO date (2016-07-01) or SPLIT:K (test:0).")],
    out: Annotated[
        Path, typer.Option("--out", help="FILE.csv to write (sidecar FILE.json beside it).")
    ],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fit and the day.")] = 0,
    budget: Annotated[
        str,
        typer.Option("--budget", help="smoke, quick, reference or paper (full = reference)."),
    ] = "quick",
) -> None:
    """Run a method on one day through the referee; write what it executed (CSV + JSON)."""
    from gridbench.benchmarks.schedule import (
        ScheduleError,
        export_schedule,
        prepare_schedule,
        sidecar_path,
    )

    _load_registries()
    request = prepare_schedule(case, method, day, seed, budget, out)
    try:
        rollout = export_schedule(request)
    except ScheduleError as exc:
        typer.echo(f"gridbench: error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    row = rollout.row
    if rollout.status != "ok":
        typer.echo(
            f"gridbench: warning: {request.method.name} ended the day with status "
            f"{rollout.status}: {row.get('message') or 'no message'}",
            err=True,
        )
    typer.echo(
        f"{request.case.id} / {request.method.name} / {request.day.isoformat()} / seed "
        f"{request.seed}: cost {row.get('cost', float('nan')):.2f} $, emissions "
        f"{row.get('emissions_t', float('nan')):.3f} t, feasible {row.get('feasible')}; wrote "
        f"{request.out} and {sidecar_path(request.out)}"
    )


@app.command("report")
@user_errors
def report_command(
    results: ResultsOption = DEFAULT_RESULTS,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Report directory (replaced as a whole; default results/report)."
        ),
    ] = Path("results") / "report",
) -> None:
    """Write report.md and report.html (leaderboards, figures, what is missing)."""
    from gridbench.benchmarks.report import build_report

    results = _results_dir(results)
    if not results.is_dir():
        raise UserError(
            f"results directory {str(results)!r} does not exist; run "
            f"`gridbench run --results {results}` first"
        )
    _load_registries()
    report = build_report(results, out)
    typer.echo(
        f"wrote {report.markdown} and {report.html} ({len(report.figures)} figure(s), "
        f"{len(report.notes)} note(s) on what is missing)"
    )


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("gridbench: interrupted; finished rows are kept in the results store", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
