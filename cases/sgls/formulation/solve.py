"""Solving an SGLS model with HiGHS: :func:`solve`, LP first through the standard form
(:mod:`.standard_form`, :mod:`.rounding`), or persistently through ``appsi_highs``
(:class:`~.mpc.Mpc`); the outcome is a :class:`SolveInfo` whose status is the shared
:class:`~gridbench.cases.solve_status.SolveStatus`."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np

from gridbench.cases.sgls.day import FloatArray
from gridbench.cases.sgls.formulation.rounding import round_binaries
from gridbench.cases.sgls.formulation.standard_form import (
    StandardForm,
    compile_to_highs,
    load_solution,
)
from gridbench.cases.solve_status import SolveStatus

__all__ = ["SolveInfo", "SolveStatus", "solve"]


@dataclasses.dataclass(frozen=True)
class SolveInfo:
    """Outcome of :func:`solve`. ``gap``: certified relative gap of ``objective`` to the best
    bound (0 when the LP relaxation is integral; nan when unknown, e.g. ``appsi``);
    ``stage``: ``"lp"`` (relaxation integral), ``"rounded"`` (rounded binaries within the
    gap), ``"mip"`` (branch and bound), ``"appsi"`` (persistent interface)."""

    status: SolveStatus
    objective: float
    seconds: float
    message: str = ""
    gap: float = float("nan")
    stage: str = ""

    @property
    def ok(self) -> bool:
        """A usable solution: optimal, or stopped at its time limit with an incumbent."""
        return self.status is SolveStatus.OPTIMAL or (
            self.status is SolveStatus.TIMEOUT and math.isfinite(self.objective)
        )

    @property
    def solve_time_s(self) -> float:
        """:attr:`seconds` (the name a planning controller reads)."""
        return self.seconds


def solve(m, time_limit_s: float = 60.0, mip_gap: float = 1e-4, solver: Any = None,
          abs_gap: float = 0.0) -> SolveInfo:
    """Solve ``m`` with HiGHS, to a relative gap ``mip_gap`` or an absolute gap ``abs_gap``
    (objective units, $), whichever is reached first (HiGHS's own rule).

    Without ``solver``: compile the model (Pyomo's standard-form compiler → ``highspy``),
    solve the LP relaxation; if it is integral it is optimal (``gap`` 0). Otherwise round the
    binaries (:func:`~.rounding.round_binaries`), re-solve the LP with them fixed and keep
    that solution if it is within the gap of the relaxation's bound; otherwise run HiGHS's
    branch and bound from it. ``SolveInfo.gap`` is the certified relative gap.

    With ``solver`` (a Pyomo ``appsi_highs`` object): solve through it, persistently (only
    changed parameters are pushed; :class:`~.mpc.Mpc`).
    """
    if solver is not None:
        return _solve_appsi(m, time_limit_s, mip_gap, solver, abs_gap)
    return _solve_lp_first(m, time_limit_s, mip_gap, abs_gap)


def _gap(upper: float, lower: float) -> float:
    return max(upper - lower, 0.0) / max(abs(upper), 1.0)


def _new_highs(time_limit_s: float, mip_gap: float, abs_gap: float):
    """A quiet, single-threaded, seeded ``highspy.Highs`` with the solve's limits."""
    from gridbench.cases.highs import new_highs

    return new_highs(time_limit=float(time_limit_s), mip_rel_gap=float(mip_gap),
                     mip_abs_gap=max(float(abs_gap), 1e-6))


def _failed(h, stage: str, t0: float) -> SolveInfo:
    """The outcome of a stage whose HiGHS run did not end optimal."""
    import highspy

    MS = highspy.HighsModelStatus
    ms = h.getModelStatus()
    status = {MS.kInfeasible: SolveStatus.INFEASIBLE,
              MS.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE,
              MS.kTimeLimit: SolveStatus.TIMEOUT}.get(ms, SolveStatus.FAILED)
    return SolveInfo(status, float("nan"), time.perf_counter() - t0,
                     f"{stage}: {h.modelStatusToString(ms)}", stage=stage)


def _solve_lp_first(m, time_limit_s: float, mip_gap: float, abs_gap: float) -> SolveInfo:
    """:func:`solve` without ``solver``: LP relaxation, rounded binaries, branch and bound."""
    import highspy

    from gridbench.cases.highs import quiet_highs_banner

    quiet_highs_banner()
    t0 = time.perf_counter()
    h = _new_highs(time_limit_s, mip_gap, abs_gap)
    try:
        comp = compile_to_highs(m, h)
        h.run()
    except Exception as exc:  # an infeasible constant row, a nonlinear term, ...
        status = SolveStatus.INFEASIBLE if "infeasible" in str(exc).lower() \
            else SolveStatus.FAILED
        return SolveInfo(status, float("nan"), time.perf_counter() - t0, str(exc))
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return _failed(h, "lp", t0)
    x = np.array(h.getSolution().col_value)
    bound = float(h.getInfo().objective_function_value)
    ints = comp.integer
    if not ints.size or np.all(np.abs(x[ints] - np.round(x[ints])) <= 1e-6):
        load_solution(m, comp, x)
        return SolveInfo(SolveStatus.OPTIMAL, bound, time.perf_counter() - t0, gap=0.0,
                         stage="lp")
    incumbent, rounded = _solve_rounded(m, h, comp, x, bound, mip_gap, abs_gap, t0)
    if rounded is not None:
        return rounded
    return _branch_and_bound(m, h, comp, incumbent, time_limit_s, t0)


def _solve_rounded(m, h, comp: StandardForm, x: FloatArray, bound: float, mip_gap: float,
                   abs_gap: float, t0: float) -> tuple[FloatArray | None, SolveInfo | None]:
    """Re-solve the LP with the binaries of the relaxation ``x`` rounded and fixed:
    ``(its solution or None, its outcome where it is within the gap of ``bound``, else
    None)``."""
    import highspy

    ints = comp.integer
    fixed = round_binaries(comp, x)
    h.changeColsBounds(len(ints), ints, fixed, fixed)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, None
    incumbent = np.array(h.getSolution().col_value)
    value = float(h.getInfo().objective_function_value)
    if _gap(value, bound) <= mip_gap or value - bound <= abs_gap:
        load_solution(m, comp, incumbent)
        return incumbent, SolveInfo(SolveStatus.OPTIMAL, value, time.perf_counter() - t0,
                                    gap=_gap(value, bound), stage="rounded")
    return incumbent, None


def _branch_and_bound(m, h, comp: StandardForm, incumbent: FloatArray | None,
                      time_limit_s: float, t0: float) -> SolveInfo:
    """HiGHS's branch and bound on the compiled model, from ``incumbent`` where there is
    one, within what is left of ``time_limit_s``."""
    import highspy

    MS = highspy.HighsModelStatus
    ints = comp.integer
    h.changeColsBounds(len(ints), ints, comp.col_lower[ints], comp.col_upper[ints])
    h.changeColsIntegrality(len(ints), ints,
                            np.full(len(ints), int(highspy.HighsVarType.kInteger), np.uint8))
    if incumbent is not None:
        h.setSolution(len(incumbent), np.arange(len(incumbent), dtype=np.int32), incumbent)
    # what is left of the limit (at least 1 ms: HiGHS needs a positive limit)
    h.setOptionValue("time_limit", max(float(time_limit_s) - (time.perf_counter() - t0), 1e-3))
    h.run()
    ms, info = h.getModelStatus(), h.getInfo()
    feasible = info.primal_solution_status == 2
    if ms == MS.kOptimal or (ms == MS.kTimeLimit and feasible):
        x = np.array(h.getSolution().col_value)
        load_solution(m, comp, x)
        status = SolveStatus.OPTIMAL if ms == MS.kOptimal else SolveStatus.TIMEOUT
        return SolveInfo(status, float(info.objective_function_value),
                         time.perf_counter() - t0, gap=float(info.mip_gap), stage="mip")
    return _failed(h, "mip", t0)


def _solve_appsi(m, time_limit_s: float, mip_gap: float, opt: Any,
                 abs_gap: float = 0.0) -> SolveInfo:
    from pyomo.contrib.appsi.base import TerminationCondition

    opt.config.time_limit = time_limit_s
    opt.config.mip_gap = mip_gap
    opt.config.load_solution = False
    opt.config.stream_solver = False
    opt.highs_options = {"threads": 1, "output_flag": False, "random_seed": 0,
                         "mip_abs_gap": max(float(abs_gap), 1e-6)}
    t0 = time.perf_counter()
    try:
        res = opt.solve(m)
    except Exception as exc:
        return SolveInfo(SolveStatus.FAILED, float("nan"), time.perf_counter() - t0, str(exc),
                         stage="appsi")
    seconds = time.perf_counter() - t0
    tc = res.termination_condition
    if tc == TerminationCondition.optimal or (
        tc == TerminationCondition.maxTimeLimit and res.best_feasible_objective is not None
    ):
        res.solution_loader.load_vars()
        status = SolveStatus.OPTIMAL if tc == TerminationCondition.optimal else SolveStatus.TIMEOUT
        return SolveInfo(status, float(res.best_feasible_objective), seconds, stage="appsi")
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return SolveInfo(SolveStatus.INFEASIBLE, float("nan"), seconds, str(tc), stage="appsi")
    if tc == TerminationCondition.maxTimeLimit:
        return SolveInfo(SolveStatus.TIMEOUT, float("nan"), seconds, str(tc), stage="appsi")
    return SolveInfo(SolveStatus.FAILED, float("nan"), seconds, str(tc), stage="appsi")
