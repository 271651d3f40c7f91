"""The ``gridbench`` command line (README "Command line", docs/architecture.md §6): users and
reviewers script against it.

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
from typer import _click as click  # typer 0.29 vendors click: its exceptions
from typer.core import TyperGroup

from gridbench.benchmarks.text_table import aligned

__all__ = ["MAX_DAYS", "MAX_SEEDS", "MAX_WORKERS", "app", "main"]

warnings.filterwarnings("ignore", message="numba cannot be imported")

#: Upper bounds of the count options: a larger value is a typo, not a plan (one line, exit 2).
MAX_SEEDS: int = 1000
MAX_DAYS: int = 3660
MAX_WORKERS: int = 512
_INTERRUPTED = "gridbench: interrupted; finished rows are kept in the results store"


class _OneLineErrors(TyperGroup):
    """The command group, with click's usage errors (a bad option value, an unknown option)
    printed as one line (``gridbench: error: …``, exit status 2) instead of a boxed usage,
    and Ctrl-C as the one documented line (exit status 130), whoever calls ``main``."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
            code = 2
        except click.exceptions.ClickException as exc:
            message = " ".join(exc.format_message().split())
            hint = ""
            if isinstance(exc, click.exceptions.UsageError) and exc.ctx is not None:
                hint = f" (see `{exc.ctx.command_path} --help`)"
            typer.echo(f"gridbench: error: {message}{hint}", err=True)
            code = exc.exit_code
        except typer.Abort:
            typer.echo(_INTERRUPTED, err=True)
            code = 130
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="gridbench",
    cls=_OneLineErrors,
    help="Energy-storage dispatch benchmarks: RL vs mathematical programming on one referee.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata

        try:
            version = metadata.version("gridbench")
        except metadata.PackageNotFoundError:  # pragma: no cover - an uninstalled tree
            version = "unknown"
        typer.echo(f"gridbench {version} (Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
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
            typer.echo(f"gridbench: error: {' '.join(str(exc).split())}", err=True)
            raise typer.Exit(code=2) from None
        except OSError as exc:  # unreadable/unwritable path, disk full: one line, no traceback
            where = f" ({exc.filename!s})" if exc.filename else ""
            typer.echo(
                f"gridbench: error: {exc.strerror or type(exc).__name__}{where}; rows already "
                "finished are kept in the results store",
                err=True,
            )
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            typer.echo(_INTERRUPTED, err=True)
            raise typer.Exit(code=130) from None

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


def _warn(text: str) -> None:
    typer.echo(f"gridbench: warning: {' '.join(text.split())}", err=True)


def _built_cases(ids: Any) -> list[Any]:
    """The cases ``ids``, built; a case whose factory fails (a broken plugin, an invalid
    config) is one warning line and left out, never hiding the others."""
    from gridbench.benchmarks.plugins import PLUGIN_ERRORS, one_line
    from gridbench.cases.registry import case_spec, origin

    cases = []
    for case_id in ids:
        spec = case_spec(case_id)
        try:
            cases.append(spec.make())
        except PLUGIN_ERRORS as exc:
            _warn(f"case {case_id!r} from {origin(spec)} cannot be built ({one_line(exc)}); "
                  "left out")
    return cases


def _case_rows() -> list[dict[str, Any]]:
    from gridbench.cases.registry import case_ids

    rows = []
    for case in _built_cases(case_ids()):
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
        return aligned(
            ("case", "grid", "steps", "paper"),
            [(r["id"], r["grid"], f"{r['steps']} x {r['step_hours']:g} h", r["paper"])
             for r in rs],
        )  # fmt: skip

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
    from gridbench.benchmarks.plugins import PLUGIN_ERRORS, one_line
    from gridbench.cases.registry import case_ids, method_specs, origin

    _load_registries()
    ids = case_ids()
    if case is not None:
        from gridbench.cases.registry import case_spec

        case_spec(case)  # unknown id: one line with a suggestion
        ids = (case,)
    cases = _built_cases(ids)
    rows = []
    for spec in method_specs():
        try:
            method = spec.make()
        except PLUGIN_ERRORS as exc:
            _warn(f"method {spec.name!r} from {origin(spec)} cannot be constructed "
                  f"({one_line(exc)}); left out")
            continue
        supported = []
        for c in cases:
            try:
                if method.supports(c):
                    supported.append(c.id)
            except PLUGIN_ERRORS as exc:
                _warn(f"method {spec.name!r} from {origin(spec)}: supports({c.id}) raised "
                      f"({one_line(exc)}); taken as unsupported")
        if case is not None and not supported:
            continue
        rows.append({"name": spec.name, "family": str(spec.family), "cases": supported})

    def render(rs: list[dict[str, Any]]) -> str:
        if not rs:
            return "no methods registered"
        return aligned(
            ("method", "family", "cases"),
            [(r["name"], r["family"], ", ".join(r["cases"]) or "(no case yet)") for r in rs],
        )

    _emit(rows, as_json, render)


#: Default wall-clock limits of ``run`` (seconds): one day's rollout, one unit (fit included).
DEFAULT_DAY_TIMEOUT_S: float = 1800.0
DEFAULT_UNIT_TIMEOUT_S: float = 12 * 3600.0
#: Default results directory of ``run``, ``leaderboard`` and ``report`` (ignored by git).
DEFAULT_RESULTS = str(Path("results") / "runs")
ResultsOption = Annotated[
    str, typer.Option("--results", help="Results directory (the Parquet store).")
]


def _path(value: str, option: str) -> Path:
    """``value`` as a path; an empty one is an error (it would mean the current directory)."""
    if not value.strip():
        raise UserError(f"{option} {value!r} is empty; valid: a path")
    return Path(value)


def _results_dir(results: str | Path) -> Path:
    path = _path(str(results), "--results") if isinstance(results, str) else results
    if path.exists() and not path.is_dir():
        raise UserError(f"--results {str(path)!r} is a file; valid: a directory")
    return path


#: The committed reference results: what ``leaderboard`` and ``report`` show, with a note,
#: when ``--results`` is not given and :data:`DEFAULT_RESULTS` has no rows (a fresh clone).
REFERENCE_RESULTS = str(Path("results") / "reference")
ShownResultsOption = Annotated[
    str | None,
    typer.Option(
        "--results",
        help=f"Results directory (default {DEFAULT_RESULTS}; when it has no rows, the "
        f"committed {REFERENCE_RESULTS}).",
        show_default=False,
    ),
]


def _shown_results(results: str | None) -> Path:
    """The results directory ``leaderboard`` and ``report`` read.

    ``--results`` given: that directory (missing ⇒ one-line error). Not given:
    :data:`DEFAULT_RESULTS` when it holds rows, else the committed :data:`REFERENCE_RESULTS`
    with a one-line note on stderr, else a one-line error."""
    from gridbench.benchmarks.store import ResultsStore

    if results is not None:
        results_dir = _results_dir(results)
        if not results_dir.is_dir():
            raise UserError(
                f"results directory {str(results_dir)!r} does not exist; run "
                f"`gridbench run --results {results_dir}` first"
            )
        return results_dir
    runs, reference = _results_dir(DEFAULT_RESULTS), _results_dir(REFERENCE_RESULTS)
    if ResultsStore(runs).has_rows():
        return runs
    if ResultsStore(reference).has_rows():
        typer.echo(
            f"gridbench: note: {runs} has no rows; showing the committed reference {reference}",
            err=True,
        )
        return reference
    raise UserError(
        f"neither {str(runs)!r} nor the committed reference {str(reference)!r} holds result "
        "rows; run `gridbench run` first or pass --results DIR"
    )


def _check_count(option: str, value: int | None, maximum: int, minimum: int = 1) -> None:
    """A count option within ``[minimum, maximum]`` (``None``: not given)."""
    if value is not None and not minimum <= value <= maximum:
        raise UserError(f"{option} {value} must be >= {minimum} and <= {maximum}")


def _eval_split(value: str) -> Any:
    """The split ``run``/``leaderboard`` evaluate: ``test`` or ``val`` (``train`` fits)."""
    from gridbench.benchmarks.harness import EVAL_SPLITS
    from gridbench.cases.contracts import Split

    names = tuple(s.value for s in EVAL_SPLITS)
    try:
        split = Split.parse(value)
    except ValueError:
        split = None
    if split not in EVAL_SPLITS:
        extra = " (train is for fitting only)" if split is Split.TRAIN else ""
        raise UserError(f"unknown split {value!r}; valid: {', '.join(names)}{extra}")
    return split


CaseOption = Annotated[
    list[str] | None,
    typer.Option("--case", help="Case id (repeatable; default: every registered case)."),
]
MethodOption = Annotated[
    list[str] | None,
    typer.Option(
        "--method", help="Method name (repeatable; default: every method supporting the case)."
    ),
]
FamilyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--family", help="Only methods of a family: solver, rl, baseline, bound (repeatable)."
    ),
]
SeedsOption = Annotated[int, typer.Option("--seeds", help="Seeds 0..N-1 per method.")]
BudgetOption = Annotated[
    str,
    typer.Option("--budget", help="smoke, quick, reference or paper (full = reference)."),
]
SplitOption = Annotated[str, typer.Option("--split", help="Days to evaluate: test or val.")]
ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local (process pool on this machine) or ray (a Ray cluster; needs the "
        "optional extra ray).",
    ),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray cluster to use (auto, HOST:PORT, ray://HOST:10001); default: start a "
        "local Ray instance.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Parallel worker processes (default: CPU cores; ray: CPUs "
        "of the local "
        "instance, or the most units in flight on a cluster).",
    ),
]
DaysOption = Annotated[
    int | None, typer.Option("--days", help="Only the first K days of the split (smoke runs).")
]
ProgressOption = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
]
RetrainOption = Annotated[
    bool,
    typer.Option(
        "--retrain",
        help="RL methods train at --budget even where a shipped agent exists (use a fresh "
        "--results: stored rows are never recomputed).",
    ),
]
DayTimeoutOption = Annotated[
    float,
    typer.Option(
        "--day-timeout",
        help="Wall-clock limit in seconds of one day's rollout (the row gets status "
        "timeout and the unit goes on with its next day); 0: no limit.",
    ),
]
TrainingDirOption = Annotated[
    str | None,
    typer.Option(
        "--training-dir",
        help="Where RL methods write their training runs (default: DIR/training under "
        "--results).",
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Print the units (which train, which evaluate a shipped agent) and an estimate "
        "of the time; run nothing.",
    ),
]
UnitTimeoutOption = Annotated[
    float,
    typer.Option(
        "--unit-timeout",
        help="Wall-clock limit in seconds of one unit (fit and every day; the unit is "
        "recorded as failed, its finished days are kept, the run goes on); 0: no limit.",
    ),
]


def _check_run_counts(
    seeds: int, workers: int | None, days: int | None, day_timeout: float, unit_timeout: float
) -> None:
    """The count and time-limit options of ``run`` within their bounds (else one line)."""
    _check_count("--seeds", seeds, MAX_SEEDS)
    _check_count("--workers", workers, MAX_WORKERS)
    _check_count("--days", days, MAX_DAYS)
    for option, limit in (("--day-timeout", day_timeout), ("--unit-timeout", unit_timeout)):
        if not limit >= 0:
            raise UserError(f"{option} {limit} must be >= 0 seconds (0: no limit)")


def _report_plan(plan: Any) -> None:
    """The plan's warnings and notes on stderr; an empty plan is a user error."""
    for warning in plan.warnings:
        _warn(warning)
    for note in plan.notes:
        typer.echo(f"gridbench: note: {note}", err=True)
    if not plan.tasks:
        raise UserError("nothing to run: no requested method supports the requested case(s)")


def _worker_count(
    workers: int | None, n_tasks: int, executor: str, address: str | None
) -> int | None:
    """``--workers``, or by default this machine's cores, no more than there are units
    (``None`` on a Ray cluster: its free CPUs decide)."""
    if workers is not None:
        return workers
    n_workers: int | None = max(1, min(os.cpu_count() or 1, n_tasks))
    if executor == "ray" and address is not None:
        n_workers = None
    return n_workers


def _report_run(summary: Any, store: Any, results_dir: Path) -> None:
    """The run's summary table and totals on stdout, failed units on stderr (exit 1)."""
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.statuses.items())) or "none"
    if summary.results:
        from gridbench.benchmarks.run_summary import summary_table

        typer.echo(summary_table(summary, store), nl=False)
    typer.echo(
        f"{summary.n_units} unit(s): wrote {summary.n_written} row(s), "
        f"{summary.n_skipped} already stored; day statuses: {statuses}; results in "
        f"{results_dir}"
    )
    for failed in summary.failed:
        u = failed.unit
        typer.echo(
            f"gridbench: unit {u.case} / {u.method} / seed {u.seed} failed: {failed.error}",
            err=True,
        )
    if summary.failed:
        raise typer.Exit(code=1)


@app.command("run")
@user_errors
def run_command(
    case: CaseOption = None,
    method: MethodOption = None,
    family: FamilyOption = None,
    seeds: SeedsOption = 3,
    budget: BudgetOption = "quick",
    split: SplitOption = "test",
    executor: ExecutorOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
    results: ResultsOption = DEFAULT_RESULTS,
    days: DaysOption = None,
    progress: ProgressOption = True,
    retrain: RetrainOption = False,
    day_timeout: DayTimeoutOption = DEFAULT_DAY_TIMEOUT_S,
    training_dir: TrainingDirOption = None,
    dry_run: DryRunOption = False,
    unit_timeout: UnitTimeoutOption = DEFAULT_UNIT_TIMEOUT_S,
) -> None:
    """Fit and evaluate methods on cases; one row per case × method × seed × day (resumes)."""
    from gridbench.benchmarks.harness import plan_run
    from gridbench.cases.contracts import Budget

    # every check before any work starts: a user error leaves the results untouched
    budget_value = Budget.parse(budget)
    split_value = _eval_split(split)
    _check_run_counts(seeds, workers, days, day_timeout, unit_timeout)
    results_dir = _results_dir(results)
    run = _Runner(executor, address, workers, progress, day_timeout, unit_timeout)
    _load_registries()
    plan = plan_run(
        case, method, range(seeds), budget_value, split_value, days, family, retrain=retrain
    )
    _report_plan(plan)
    run(plan, results_dir, training_dir, dry_run)


class _Runner:
    """Runs a plan's units into a results directory (``gridbench run`` and each condition of
    ``gridbench sweep``); the executor is checked when made (Ray installed, cluster
    reachable), before any work."""

    def __init__(self, executor: str, address: str | None, workers: int | None,
                 progress: bool, day_timeout: float, unit_timeout: float) -> None:
        from gridbench.benchmarks.executors import TimeLimits, make_executor

        self.executor, self.address, self.workers = executor, address, workers
        limits = TimeLimits(day_s=day_timeout or None, unit_s=unit_timeout or None)
        self.options = {"address": address, "progress": progress, "limits": limits}
        make_executor(executor, workers, **self.options)

    def __call__(self, plan: Any, results_dir: Path, training_dir: str | None,
                 dry_run: bool) -> None:
        from gridbench.benchmarks.atomic import check_writable_dir
        from gridbench.benchmarks.executors import make_executor, scoped_environ
        from gridbench.benchmarks.store import ResultsStore
        from gridbench.rl_agents.sb3_methods import TRAINING_DIR_ENV

        n_workers = _worker_count(self.workers, len(plan.tasks), self.executor, self.address)
        training_path = (
            _path(training_dir, "--training-dir") if training_dir is not None
            else results_dir / "training"
        )
        if dry_run:
            from gridbench.benchmarks.dry_run import describe_plan

            typer.echo(describe_plan(plan.tasks, n_workers or 1, training_path), nl=False)
            return
        # units in worker processes, even one at a time: a method that kills its process
        # (os._exit, a native crash) or hangs costs only its unit
        runner = make_executor(self.executor, n_workers, isolate=True, **self.options)
        check_writable_dir(results_dir, f"--results {str(results_dir)!r}", create=True)
        store = ResultsStore(results_dir)
        # RL methods write their runs there (spawned and Ray workers inherit the variable)
        with scoped_environ({TRAINING_DIR_ENV: str(training_path.resolve())}):
            summary = runner.run(plan.tasks, store)
        _report_run(summary, store, results_dir)


#: Where ``gridbench sweep`` stores its conditions unless ``--results`` is given.
DEFAULT_SWEEP_RESULTS = "results/sweeps"


@app.command("sweep")
@user_errors
def sweep_command(
    axis: Annotated[
        str,
        typer.Option("--axis", help="AXIS=LEVEL[,LEVEL...], e.g. forecast_error=0,0.5,1,2,4."),
    ],
    case: CaseOption = None,
    method: MethodOption = None,
    family: FamilyOption = None,
    seeds: SeedsOption = 1,
    budget: BudgetOption = "quick",
    split: SplitOption = "test",
    executor: ExecutorOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
    results: Annotated[
        str,
        typer.Option("--results", help="Sweep directory: one results store per condition, "
                     "<results>/<axis>=<level>/."),
    ] = DEFAULT_SWEEP_RESULTS,
    days: DaysOption = None,
    progress: ProgressOption = True,
    retrain: RetrainOption = False,
    day_timeout: DayTimeoutOption = DEFAULT_DAY_TIMEOUT_S,
    training_dir: TrainingDirOption = None,
    dry_run: DryRunOption = False,
    unit_timeout: UnitTimeoutOption = DEFAULT_UNIT_TIMEOUT_S,
) -> None:
    """Run methods under each level of one condition axis (the crossover study); each
    condition is an ordinary, resumable run into <results>/<axis>=<level>/."""
    from gridbench.benchmarks.harness import plan_run
    from gridbench.benchmarks.sweep import parse_axis
    from gridbench.cases.contracts import Budget

    try:
        conditions = parse_axis(axis)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    budget_value = Budget.parse(budget)
    split_value = _eval_split(split)
    _check_run_counts(seeds, workers, days, day_timeout, unit_timeout)
    sweep_dir = _results_dir(results)
    run = _Runner(executor, address, workers, progress, day_timeout, unit_timeout)
    _load_registries()
    plans = [
        (c, plan_run(case, method, range(seeds), budget_value, split_value, days, family,
                     retrain=retrain, case_config=c.case_config, condition=c.name))
        for c in conditions
    ]  # every condition planned (cases built with its config) before any runs
    for condition, plan in plans:
        typer.echo(f"== {condition.name}", err=True)
        _report_plan(plan)
        run(plan, condition.directory(sweep_dir), training_dir, dry_run)


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

    _check_count("--seeds", seeds, MAX_SEEDS)
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
    results: ShownResultsOption = None,
    split: Annotated[str, typer.Option("--split", help="Days ranked: test or val.")] = "test",
    out: Annotated[
        str | None, typer.Option("--out", help="Write to this file (atomically), not stdout.")
    ] = None,
) -> None:
    """Rank methods per case: feasible first, then by cost (IQM over seeds, 95% CI)."""
    from gridbench.benchmarks.leaderboard import FORMATS, build, render
    from gridbench.benchmarks.store import ResultsStore
    from gridbench.cases.naming import unknown_name_message

    if fmt not in FORMATS:
        raise UserError(unknown_name_message("format", fmt, FORMATS))
    split_value = _eval_split(split)
    out_file = _out_file(out) if out is not None else None
    results_dir = _shown_results(results)
    store = ResultsStore(results_dir)
    frame = store.frame()
    if case is not None:
        stored = sorted(frame["case"].dropna().unique())
        if case not in stored:
            raise UserError(
                unknown_name_message("case", case, stored) + f" in {str(results_dir)!r}"
            )
    entries = build(frame, case=case, split=split_value.value, failures=store.failures())
    text = render(entries, fmt)
    if out_file is None:
        typer.echo(text, nl=False)
    else:
        from gridbench.benchmarks.atomic import atomic_write_text

        out_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_file, text)


def _out_file(value: str) -> Path:
    """A file destination: not empty, not a directory, in a directory that can be written."""
    from gridbench.benchmarks.atomic import check_writable_dir

    out = _path(value, "--out")
    if out.is_dir():
        raise UserError(f"--out {value!r} is a directory; valid: a file path")
    check_writable_dir(out.parent, f"--out {value!r}")
    return out


@app.command("schedule")
@user_errors
def schedule_command(
    case: Annotated[str, typer.Option("--case", help="Case id.")],
    method: Annotated[str, typer.Option("--method", help="Method name.")],
    day: Annotated[str, typer.Option("--day", help="ISO date (2016-07-01) or SPLIT:K (test:0).")],
    out: Annotated[
        str, typer.Option("--out", help="FILE.csv to write (sidecar FILE.json beside it).")
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

    out_file = _out_file(out)
    _load_registries()
    request = prepare_schedule(case, method, day, seed, budget, out_file)
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
    results: ShownResultsOption = None,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            help="Report directory (default results/report): new, empty, or one a previous "
            "report wrote (it is replaced; a directory holding other files is refused).",
        ),
    ] = str(Path("results") / "report"),
) -> None:
    """Write report.md and report.html (leaderboards, figures, what is missing)."""
    from gridbench.benchmarks.atomic import check_writable_dir
    from gridbench.benchmarks.report import build_report, check_report_dir

    out_dir = _path(out, "--out")
    results_dir = _shown_results(results)
    check_report_dir(out_dir)
    check_writable_dir(out_dir.parent, f"--out {out!r}")
    _load_registries()
    report = build_report(results_dir, out_dir)
    typer.echo(
        f"wrote {report.markdown} and {report.html} ({len(report.figures)} figure(s), "
        f"{len(report.notes)} note(s) on what is missing)"
    )


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo(_INTERRUPTED, err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
