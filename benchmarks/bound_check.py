"""The oracle is a bound: no deployable method may cost less than it on the same day.

For every stored row ``r`` of a deployable method (family not ``bound``) with status ``ok``
and ``feasible`` true, on case ``c``, split ``s`` and day ``d``, with the bound ``B(c, s, d)``
of that day::

    margin_usd(r) = cost(r) − B(c, s, d)
    margin_rel(r) = margin_usd(r) / |B(c, s, d)|
    tol(c, s, d)  = max(usd(c), rel(c) · |B(c, s, d)|)     (tolerance_of(c))
    violation     ⇔ margin_usd(r) < −tol(c, s, d)

A game case's oracle bounds the leader's profit when every follower plays its best response
(``cases/stackelberg/kpi.py``): a row whose followers leave money on the table (the sum of
its ``regret_*`` columns above :data:`FOLLOWER_REGRET_TOL_USD`, e.g. MADDPG's learned
followers, or ``idle``'s idle ones) can pay the leader more than the bilevel optimum. Such a
row is compared on :data:`BEST_RESPONSE_COLUMN` instead of its cost: the leader's cost of
the day at the prices it posted had every follower best-responded, replayed through the same
AC power flow by the referee (``StackelbergCore.best_response_cost``), which the bilevel
optimum does bound; ``n_at_best_response`` counts these. A row without that column (written
before it existed) is not compared but counted (``n_off_best_response``); its Stackelberg
gap (:mod:`~gridbench.benchmarks.game_table`) is where it is judged.

``B(c, s, d)`` is the mean over the oracle's rows of that case, split and day (method
:data:`~gridbench.benchmarks.leaderboard.ORACLE_METHOD`, family ``bound``, status ``ok``; one
row per seed and budget, the oracle being deterministic) of each row's ``certified_bound`` where
that column exists and is finite (a certified lower bound), else its ``cost``. The solver
tolerance of an oracle is named once, where its planner is registered beside its solver's gap
(:func:`tolerance_of`; ``ORACLE_TOLERANCE`` in ``solvers/ses_carbon.py``,
``solvers/loss_arbitrage.py``, ``solvers/sgls.py``), else :data:`ORACLE_TOLERANCE_USD`,
:data:`ORACLE_TOLERANCE_REL`.

Per case (:class:`CaseBound`): the worst (smallest) ``margin_usd`` with its relative margin,
day and method, the number of comparisons, and every violation. A deployable row on a day
without an oracle row is not compared (counted in ``n_unmatched``).

CLI: ``python -m gridbench.benchmarks.bound_check --results DIR`` prints one line per case;
exit status 1 when any row is below the oracle beyond the tolerance, 2 (one line) when
``DIR`` holds no results.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from gridbench.benchmarks.leaderboard import BOUND_COLUMN, ORACLE_METHOD, oracle_value
from gridbench.cases.contracts import MethodFamily
from gridbench.solvers.planners import BoundTolerance, planner_for

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BEST_RESPONSE_COLUMN",
    "BOUND_COLUMN",
    "ORACLE_TOLERANCE_REL",
    "ORACLE_TOLERANCE_USD",
    "CaseBound",
    "Violation",
    "check_frame",
    "format_case",
    "main",
    "tolerance_of",
]

#: Followers' summed regret ($ per day) above which a row's followers are off their best
#: responses and the row is not compared (module docstring); exact best responses (HiGHS QPs)
#: reach about 2e-6 $ in the committed rows.
FOLLOWER_REGRET_TOL_USD: Final[float] = 1e-3
#: The row column a row off its followers' best responses is compared on (module docstring).
BEST_RESPONSE_COLUMN: Final[str] = "kpi_best_response_cost"
#: Absolute tolerance ($ per day) for an oracle that states none where it is registered.
ORACLE_TOLERANCE_USD: Final[float] = 0.5
#: Relative tolerance (a share of ``|oracle cost|``) for an oracle that states none.
ORACLE_TOLERANCE_REL: Final[float] = 1e-4


def tolerance_of(case_id: str) -> BoundTolerance:
    """The tolerance the oracle of ``case_id`` states where its planner is registered
    (``register_planner("oracle", …, tolerance=…)``, next to its solver's own gap), else
    :data:`ORACLE_TOLERANCE_USD` / :data:`ORACLE_TOLERANCE_REL`."""
    from gridbench.benchmarks.plugins import import_builtin_methods

    import_builtin_methods()  # the built-in planners register their tolerances
    spec = planner_for(ORACLE_METHOD, case_id)
    if spec is not None and spec.tolerance is not None:
        return spec.tolerance
    return BoundTolerance(ORACLE_TOLERANCE_USD, ORACLE_TOLERANCE_REL)


_DAY_KEY: Final[list[str]] = ["case", "split", "day"]


@dataclass(frozen=True, slots=True)
class Violation:
    """A deployable row below the bound beyond the tolerance (``margin_usd < −tolerance_usd``)."""

    case: str
    split: str
    day: str
    method: str
    seed: int
    budget: str
    cost: float
    bound: float
    margin_usd: float
    margin_rel: float
    tolerance_usd: float
    #: ``cost`` is the row's best-response cost (its followers off their best responses).
    at_best_response: bool = False


@dataclass(frozen=True, slots=True)
class CaseBound:
    """The bound check of one case (see the module docstring). ``worst_*`` are NaN / empty
    when no row could be compared (no oracle rows, no deployable rows)."""

    case: str
    worst_margin_usd: float
    worst_margin_rel: float
    worst_day: str
    worst_method: str
    n_compared: int
    n_certified: int
    n_unmatched: int
    violations: tuple[Violation, ...]
    #: Rows off their followers' best responses without a best-response cost: not compared.
    n_off_best_response: int = 0
    #: Rows off their followers' best responses compared on their best-response cost.
    n_at_best_response: int = 0

    @property
    def ok(self) -> bool:
        """No deployable row below the bound beyond the tolerance."""
        return not self.violations


def _column(frame: pd.DataFrame, name: str, default: object) -> pd.Series:
    import pandas as pd

    if name in frame:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def _bounds(frame: pd.DataFrame) -> pd.DataFrame:
    """``B(case, split, day)`` and how many of its oracle rows carry a certified bound."""
    oracle = frame[
        (frame["method"] == ORACLE_METHOD) & (_column(frame, "status", "ok").fillna("") == "ok")
    ]
    value = oracle_value(oracle)
    has = (np.isfinite(oracle[BOUND_COLUMN].to_numpy(dtype=float)) if BOUND_COLUMN in oracle
           else np.zeros(len(oracle), dtype=bool))
    table = oracle[_DAY_KEY].assign(bound=value, certified=has)
    table = table[np.isfinite(value)]
    return (
        table.groupby(_DAY_KEY, sort=True)
        .agg(bound=("bound", "mean"), certified=("certified", "any"))
        .reset_index()
    )


def check_frame(frame: pd.DataFrame) -> list[CaseBound]:
    """The bound check of every case in ``frame`` (rows as the results store gives them),
    sorted by case id."""
    import pandas as pd

    if frame.empty:
        return []
    frame = frame.assign(split=_column(frame, "split", "").fillna("").astype(str))
    frame = frame.assign(day=frame["day"].astype(str))
    bounds = _bounds(frame)
    family = _column(frame, "family", "").fillna("").astype(str)
    deployable = frame[
        (family != MethodFamily.BOUND.value)
        & (frame["method"] != ORACLE_METHOD)
        & (_column(frame, "status", "ok").fillna("") == "ok")
        & _column(frame, "feasible", True).fillna(False).astype(bool)
    ]
    regrets = [c for c in deployable.columns if str(c).startswith("regret_")]
    off_best = (deployable[regrets].astype(float).sum(axis=1, min_count=1)
                .gt(FOLLOWER_REGRET_TOL_USD)) if regrets else pd.Series(False, deployable.index)
    at_best = _column(deployable, BEST_RESPONSE_COLUMN, math.nan).astype(float)
    judged = off_best & np.isfinite(at_best)
    deployable = deployable.assign(cost=np.where(judged, at_best,
                                                 deployable["cost"].astype(float)),
                                   at_best_response=judged)
    n_off = deployable[off_best & ~judged].groupby("case").size()
    n_judged = deployable[judged].groupby("case").size()
    merged = deployable[~off_best | judged].merge(bounds, on=_DAY_KEY, how="left")
    out: list[CaseBound] = []
    for case_id in sorted(str(c) for c in frame["case"].dropna().unique()):
        n_off_best = int(n_off.get(case_id, 0))
        n_br = int(n_judged.get(case_id, 0))
        rows = merged[merged["case"] == case_id]
        cost = rows["cost"].astype(float).to_numpy()
        bound = rows["bound"].astype(float).to_numpy()
        usable = np.isfinite(cost) & np.isfinite(bound)
        rows, cost, bound = rows[usable], cost[usable], bound[usable]
        n_unmatched = int((~usable).sum())
        if rows.empty:
            out.append(CaseBound(case_id, math.nan, math.nan, "", "", 0, 0, n_unmatched, (),
                                 n_off_best, n_br))
            continue
        margin = cost - bound
        size = np.abs(bound)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(size > 0.0, margin / size, np.nan)
        tol = tolerance_of(case_id)
        tolerance = np.maximum(tol.usd, tol.rel * size)
        worst = int(np.argmin(margin))
        violations = tuple(
            Violation(
                case=case_id,
                split=str(rows["split"].iloc[i]),
                day=str(rows["day"].iloc[i]),
                method=str(rows["method"].iloc[i]),
                seed=int(rows["seed"].iloc[i]),
                budget=str(rows["budget"].iloc[i]),
                cost=float(cost[i]),
                bound=float(bound[i]),
                margin_usd=float(margin[i]),
                margin_rel=float(rel[i]),
                tolerance_usd=float(tolerance[i]),
                at_best_response=bool(rows["at_best_response"].iloc[i]),
            )
            for i in sorted(np.flatnonzero(margin < -tolerance), key=lambda i: margin[i])
        )
        out.append(
            CaseBound(
                case=case_id,
                worst_margin_usd=float(margin[worst]),
                worst_margin_rel=float(rel[worst]),
                worst_day=str(rows["day"].iloc[worst]),
                worst_method=str(rows["method"].iloc[worst]),
                n_compared=len(rows),
                n_certified=int(rows["certified"].eq(True).sum()),
                n_unmatched=n_unmatched,
                violations=violations,
                n_off_best_response=n_off_best,
                n_at_best_response=n_br,
            )
        )
    return out


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _signed(value: float, digits: int) -> str:
    """``value`` with its sign: ``digits`` decimals, or 3 significant digits below 1 (a
    margin of +0.0001 $ is not +0.00 $)."""
    if not math.isfinite(value):
        return "–"
    return f"{value:+,.{digits}f}" if abs(value) >= 1.0 or value == 0.0 else f"{value:+.3g}"


def _short(value: float) -> str:
    """``0.5``, ``1e-4``: the shorter of ``g`` and a plain exponent notation."""
    mantissa, _, exponent = f"{value:.0e}".partition("e")
    plain = f"{value:g}"
    sci = f"{mantissa}e{int(exponent)}"
    return sci if len(sci) < len(plain) and float(sci) == value else plain


def format_case(result: CaseBound) -> str:
    """One line: the worst margin, the comparisons and the count of violations."""
    tol = tolerance_of(result.case)
    tolerance = f"{_short(tol.usd)} $ / {_short(tol.rel)}"
    if result.n_compared == 0:
        why = (
            f"{_rows(result.n_unmatched)} of deployable methods on days without an oracle row"
            if result.n_unmatched
            else "no deployable rows"
        )
        return f"{result.case}: nothing compared ({why})"
    against = "the oracle"
    if result.n_certified:
        against += f" (a certified bound on {_rows(result.n_certified)})"
    extra = f", {result.n_unmatched:,} without an oracle row" if result.n_unmatched else ""
    if result.n_at_best_response:
        extra += (f", {result.n_at_best_response:,} with followers off their best response "
                  "compared at their best responses")
    if result.n_off_best_response:
        extra += (f", {result.n_off_best_response:,} with followers off their best response "
                  "not compared")
    return (
        f"{result.case}: worst margin {_signed(result.worst_margin_usd, 2)} $ "
        f"({_signed(100.0 * result.worst_margin_rel, 2)} %) over {_rows(result.n_compared)} "
        f"({result.worst_method} on {result.worst_day}{extra}); {len(result.violations):,} "
        f"below {against} beyond {tolerance}"
    )


#: Violations listed under a case line by the CLI (the worst first).
_SHOWN_VIOLATIONS: Final[int] = 5


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI (see the module docstring); returns the exit status."""
    from gridbench.benchmarks.store import CorruptResultsFile, ResultsNotFound, ResultsStore

    parser = argparse.ArgumentParser(
        prog="python -m gridbench.benchmarks.bound_check",
        description="Check that no deployable method costs less than the oracle on its day.",
    )
    parser.add_argument("--results", required=True, type=Path, help="results directory")
    args = parser.parse_args(argv)
    results: Path = args.results
    if results.exists() and not results.is_dir():
        print(f"error: --results {str(results)!r} is a file; valid: a directory", file=sys.stderr)
        return 2
    try:
        frame = ResultsStore(results).frame()
    except (ResultsNotFound, CorruptResultsFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    checks = check_frame(frame)
    for result in checks:
        print(format_case(result))
        for v in result.violations[:_SHOWN_VIOLATIONS]:
            what = " at its followers' best responses" if v.at_best_response else ""
            print(
                f"  {v.method} seed {v.seed} on {v.day}{what}: {v.cost:,.2f} $ < bound "
                f"{v.bound:,.2f} $ ({v.margin_usd:+,.2f} $, tolerance {v.tolerance_usd:,.2f} $)"
            )
        if len(result.violations) > _SHOWN_VIOLATIONS:
            print(f"  … and {len(result.violations) - _SHOWN_VIOLATIONS:,} more")
    return 1 if any(not r.ok for r in checks) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (`… | head`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
