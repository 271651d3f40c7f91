"""The planning controllers of every case with a :class:`~gridbench.cases.contracts.Formulation`:
plan the day once and replay it (``oracle`` on the realized day, ``day-ahead`` on the forecast
issued at noon the day before), or re-plan every hour over a shrinking horizon (``mpc``).

They read the case only through its surface (:class:`~gridbench.cases.contracts.FormulatedCase`):
``day_data`` (what each method sees: :meth:`PlanningController.actual_day`,
:meth:`PlanningController.day_ahead_forecast`, :meth:`PlanningController.forecast`),
``formulation()`` (built once per day, refilled by ``update``) and ``measured_state`` (the
state a solve starts from, read from the referee's ``info``). The solve → record → plan
sequence has the idle fallback of :class:`~gridbench.solvers.fallback.FallbackController`. A
case family registers these classes as its planners (:func:`~.planners.register_planner`) with
its time limits; it subclasses them only where its method differs (the loss-arbitrage
oracle's temperature fixed point overrides :meth:`PlanOnceController.plan_day`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import FormulatedCase, Formulation, Plan, PlanningCase
from gridbench.solvers.fallback import FallbackController, current_step

__all__ = [
    "DAY_AHEAD_LEAD_H",
    "DayAheadController",
    "MpcController",
    "OracleController",
    "PlanOnceController",
    "PlanningController",
    "check_planning_case",
    "day_ahead_forecast",
]

#: Hours between issuing the day-ahead forecast and midnight (issued at noon the day before).
DAY_AHEAD_LEAD_H: Final[float] = 12.0
#: Steps of a day (hourly): an MPC re-solves at steps 0 … 23.
STEPS_PER_DAY: Final[int] = 24

Action = NDArray[np.float32]


def day_ahead_forecast(case: PlanningCase, day: datetime.date) -> Any:
    """``case``'s forecast of ``day`` issued at noon the day before
    (:data:`DAY_AHEAD_LEAD_H`), with the errors the referee shows controllers."""
    return case.day_data(day, "forecast", issue_step=0, lead_h=DAY_AHEAD_LEAD_H)


def check_planning_case(case: object, prefix: str, kind: str) -> None:
    """Refuse a case with the family's id prefix but not the planning surface
    (:class:`~gridbench.cases.contracts.PlanningCase`)."""
    if not isinstance(case, PlanningCase):
        raise ValueError(
            f"case {getattr(case, 'id', case)!r} has the {kind} id prefix {prefix!r} but not "
            f"the planning surface (day_data, action_layout, observation_names): the {kind} "
            "planners need a case of that family"
        )


class PlanningController(FallbackController):
    """A controller that solves its case's formulation (module docstring)."""

    case: FormulatedCase

    def __init__(
        self, case: FormulatedCase, day: datetime.date, time_limit_s: float | None
    ) -> None:
        super().__init__(case, day)
        #: Solver time limit per solve, s.
        self.time_limit_s = time_limit_s
        #: The formulation of the last solve.
        self.formulation: Formulation | None = None
        #: The plan of the last successful solve (``None`` before ``reset`` or after a
        #: failed solve).
        self.plan: Plan | None = None

    def new_formulation(self) -> Formulation:
        """A fresh formulation of the case (built, not solved)."""
        return self.case.formulation()

    # -------------------------------------------------------------- what each method sees
    def actual_day(self) -> Any:
        """The realized day (perfect foresight)."""
        return self.case.day_data(self.day, "actual")

    def day_ahead_forecast(self) -> Any:
        """The forecast issued at noon the day before (:func:`day_ahead_forecast`)."""
        return day_ahead_forecast(self.case, self.day)

    def forecast(self, issue_step: int) -> Any:
        """The rolling forecast issued at ``issue_step`` (what the observation shows)."""
        return self.case.day_data(self.day, "forecast", issue_step=issue_step)

    # -------------------------------------------------------------- solve → record → plan
    def _solve(
        self,
        form: Formulation,
        step: int,
        *,
        dpp: bool,
        warm_start: bool = True,
        **solver_options: Any,
    ) -> Plan | None:
        """Solve ``form`` (``solver_options``: the solver's settings), record the result
        (idle fallback on failure) and keep its plan."""
        result = form.solve(
            time_limit_s=self.time_limit_s, dpp=dpp, warm_start=warm_start, **solver_options
        )
        self.formulation = form
        if self._record(result, step):
            self.plan = form.plan()
        elif not (self.tolerate_timeouts and not self.fallback):
            self.plan = None
        # else: a tolerated timeout keeps the last plan (the deployed fallback)
        return self.plan


class PlanOnceController(PlanningController):
    """Plans the whole day once in ``reset`` and replays the plan (:class:`OracleController`,
    :class:`DayAheadController`)."""

    def day_data(self) -> Any:
        """The day the plan is made on (:meth:`actual_day` or :meth:`day_ahead_forecast`)."""
        raise NotImplementedError

    def initial_state(self, obs: Any, info: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments of the formulation's ``update`` from the reset observation
        (the case's measured state)."""
        return self.case.measured_state(obs, info)

    def plan_day(self, obs: Any, info: Mapping[str, Any], t0: int) -> None:
        """One solve on :meth:`day_data` from step ``t0``, canonicalized with the values as
        constants (``dpp=False``: solved once, no parametric compile)."""
        form = self.new_formulation()
        form.update(self.day_data(), t0=t0, **self.initial_state(obs, info))
        self._solve(form, t0, dpp=False)

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        self._reset_common(info)
        self.plan = None
        self.plan_day(obs, info, current_step(obs, info))

    def act(self, obs: Any, info: Mapping[str, Any]) -> Action:
        if self.status == "pending":
            raise RuntimeError(f"{type(self).__name__}.act() called before reset()")
        if self.plan is None:
            return self.idle_action()
        k = current_step(obs, info) - self.plan.t0
        if not 0 <= k < self.plan.n_steps:
            return self.idle_action()
        return np.asarray(self.plan.action(k), dtype=np.float32)


class MpcController(PlanningController):
    """Shrinking-horizon MPC over one compiled (DPP) problem: at every hour ``t`` the forecast
    issued at ``t`` and the measured state (:meth:`mpc_state`) refill the parameters, the
    problem is re-solved over hours ``t … 23`` and its first step applied."""

    method: ClassVar[str] = "mpc"

    def __init__(
        self, case: FormulatedCase, day: datetime.date, time_limit_s: float | None
    ) -> None:
        super().__init__(case, day, time_limit_s)
        self._planned_step: int | None = None
        self._day_start: dict[str, Any] | None = None

    def mpc_state(self, obs: Any, info: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments of the formulation's ``update`` from the latest observation:
        the case's measured state, with the state measured at the day's reset."""
        return self.case.measured_state(obs, info, day_start=self._day_start)

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        """Build and compile the problem, and plan the first hour (timed as planning)."""
        self._reset_common(info)
        self.plan, self._planned_step = None, None
        self._day_start = self.case.measured_state(obs, info)
        self.formulation = self.new_formulation()
        self._replan(obs, info)

    def _replan(self, obs: Any, info: Mapping[str, Any]) -> None:
        form = self.formulation
        if form is None:
            raise RuntimeError(f"{type(self).__name__} used before reset()")
        t = current_step(obs, info)
        t0 = min(t, STEPS_PER_DAY - 1)
        form.update(self.forecast(t0), t0=t0, **self.mpc_state(obs, info))
        self._planned_step = t
        self._solve(form, t, dpp=True, warm_start=True)

    def act(self, obs: Any, info: Mapping[str, Any]) -> Action:
        if self.status == "pending":
            raise RuntimeError(f"{type(self).__name__}.act() called before reset()")
        if self.fallback:
            return self.idle_action()
        t = current_step(obs, info)
        if t >= STEPS_PER_DAY:
            return self.idle_action()
        if self._planned_step != t:
            self._replan(obs, info)
        if self.plan is None:
            return self.idle_action()
        k = t - self.plan.t0  # 0 unless the last re-solve hit a tolerated time limit
        if not 0 <= k < self.plan.n_steps:
            return self.idle_action()
        return np.asarray(self.plan.action(k), dtype=np.float32)


class OracleController(PlanOnceController):
    """Perfect foresight: one plan on the realized day in ``reset``, replayed."""

    method: ClassVar[str] = "oracle"

    def day_data(self) -> Any:
        return self.actual_day()


class DayAheadController(PlanOnceController):
    """One plan on the forecast issued at noon the day before, executed open loop."""

    method: ClassVar[str] = "day-ahead"

    def day_data(self) -> Any:
        return self.day_ahead_forecast()
