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


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("gridbench: interrupted; finished rows are kept in the results store", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
