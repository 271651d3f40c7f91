"""The ``gridbench`` command line (DESIGN.md §6). Users and reviewers script against it.

User errors (unknown names, bad values, missing results) print one line naming the bad value
and the valid choices, exit with status 2 and leave existing results untouched; no traceback.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from functools import wraps
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


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("gridbench: interrupted; finished rows are kept in the results store", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
