"""Optimization methods and the tariff rule of the loss-arbitrage case (``loss-arbitrage-*``).

The planning methods solve the case's SOCP
(:mod:`gridbench.cases.loss_arbitrage.formulation`: branch flow with the Farivar–Low
relaxation, the remaining-available-energy model, Clarabel) on the same
:class:`~gridbench.cases.loss_arbitrage.day.LossArbitrageDay` objects the referee simulates:

``oracle`` (``bound``)
    perfect foresight on the realized day in ``reset``, replayed. The polarization term needs
    the cell temperatures, which depend on the schedule (joule heating): a fixed point
    plan → temperatures → plan (:meth:`_PlanOnceController.plan_day`). The first solve uses
    the temperatures of idle cells (the ambient through (S4); the referee's cells are never
    colder, so that plan is executable), each later one the temperatures the previous plan's
    heat gives (:func:`~gridbench.cases.loss_arbitrage.formulation.plan_temperatures`)
    lowered by :data:`TEMPERATURE_TOLERANCE_K`, until the temperatures move by less than
    :data:`TEMPERATURE_TOLERANCE_K` between two solves (at most
    :data:`TEMPERATURE_MAX_SOLVES` solves; past them the day ends ``timeout``: an iteration
    limit, idle). The accepted plan's own cells are then warmer than it assumed by
    ``(0, 2·tol)`` at every step — its polarization κ(T) is never underestimated, so the
    referee, which measures the cells, never cuts it — and the temperature-dependent terms
    are known ahead as far as a convex model can know them (the coupling temperature ↔
    schedule is not convex; the fixed point optimizes the schedule at its own temperatures,
    not the benefit of warming the cells). The first solve only decides temperatures, so it
    stops at ``TEMPERATURE_PASS_TOLERANCES`` (about 20 instead of 35 interior-point
    iterations). All solves use one formulation (cvxpy's solving chain and Clarabel's solver
    are reused; the values are canonicalized again). The solves, the temperature moves and
    whether the point converged are in the controller's ``fixed_point``
    (:class:`TemperatureFixedPoint`). Over the 73 test days two solves (the method until
    2026-12) left the temperatures moving by up to 0.09 K and the referee cut the plan by up
    to 0.012 $ a day; the converged point is reached in 3–5 solves (README, "Measured").
``day-ahead`` (``solver``)
    one plan on the load forecast issued at noon the day before, open loop, with the same
    temperature fixed point as the oracle (the ambient is known ahead and the cells heat only
    with the plan, so the referee measures the temperatures the plan assumed, up to the
    tolerance).
``mpc`` (``solver``)
    shrinking horizon: at every hour the forecast issued at that hour, the measured cell
    energies, temperatures and remaining cycle budgets refill one compiled (DPP) 24-slot
    problem; the first step is applied. No fixed point: the applied step's κ comes from the
    measured temperature (exact), the later slots' from the idle projection of it (never
    warmer than the cells will be: conservative, and re-measured an hour later).
``rule`` (``baseline``)
    tariff rule: in each valley window charge, in the peak window discharge, evenly over the
    window's remaining hours — first valley up to the top of the window, peak down to its
    bottom, last valley back to the initial energy (97 % of the window, so that the joule
    heat of charging keeps the throughput inside the one-cycle budget).

Failure handling as in the SES-carbon controllers: a failed or timed-out solve never raises;
the controller idles for the rest of the day and says so in ``status``
(``solver_failed``/``timeout``) and ``status_message``; ``results`` holds every
:class:`~gridbench.cases.loss_arbitrage.formulation.SolveResult`.
"""

from __future__ import annotations

import datetime
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Case
from gridbench.solvers import planning
from gridbench.solvers.fallback import FallbackController, current_step
from gridbench.solvers.planners import BoundTolerance, register_planner
from gridbench.solvers.planning import MpcController, PlanOnceController, check_planning_case

if TYPE_CHECKING:
    from gridbench.cases.loss_arbitrage.case import LossArbitrageCase
    from gridbench.cases.loss_arbitrage.formulation import LossArbitrageFormulation, Plan

__all__ = [
    "CASE_PREFIX",
    "DayAheadController",
    "MpcController",
    "OracleController",
    "RuleController",
    "TemperatureFixedPoint",
]

logger = logging.getLogger(__name__)

CASE_PREFIX: Final[str] = "loss-arbitrage-"
PLAN_ONCE_TIME_LIMIT_S: Final[float] = 60.0
MPC_TIME_LIMIT_S: Final[float] = 10.0
#: Share of the energy window the rule uses.
RULE_WINDOW_SHARE: Final[float] = 0.97
#: Convergence tolerance of the plan-once controllers' temperature fixed point, K. A plan is
#: accepted when the cell temperatures its own joule heat gives (S4) differ from those of the
#: previous plan by less than this at every step and device; each solve assumes the previous
#: plan's temperatures lowered by this margin, so the accepted plan's cells are 0 … 2·tol
#: warmer than it assumed (its κ is never too small: the referee never cuts it). 1e-4 K, not
#: 1e-6 K: below about 1e-5 K the moves are Clarabel's resolution of the plan (at tolerance
#: 1e-8 the supercapacitors' small, nearly interchangeable loss-reduction flows wander by
#: ~1e-6 MW between solves); over the 73 test days the moves after the 6th solve reach up
#: to 4.6e-5 K (median 1.4e-6 K) and 5 days never go below 1e-6 K in 10 solves, while 1e-4 K
#: is reached in 3–5 solves on every day. A move of 1e-4 K shifts κ by < 6e-6 h (batteries
#: at −16.7 °C, the weather file's minimum: < 1.2e-6 MWh of available energy per step at the
#: rating).
TEMPERATURE_TOLERANCE_K: Final[float] = 1e-4
#: Most solves of the temperature fixed point (the idle-temperature solve included); a plan
#: whose temperatures still move by :data:`TEMPERATURE_TOLERANCE_K` or more after them is
#: refused: status ``timeout`` (an iteration limit), idle for the day. The test days need 3–5.
TEMPERATURE_MAX_SOLVES: Final[int] = 15
#: Clarabel tolerances of the fixed point's first solve (idle temperatures: its plan only
#: decides the cell temperatures of the next solve, and is never accepted).
TEMPERATURE_PASS_TOLERANCES: Final[Mapping[str, float]] = MappingProxyType(
    {"tol_gap_abs": 1e-4, "tol_gap_rel": 1e-4, "tol_feas": 1e-4}
)
#: Clarabel's default tolerances, set explicitly for the solves after the first (a refilled
#: solver keeps the settings of the previous solve unless told otherwise).
PLAN_TOLERANCES: Final[Mapping[str, float]] = MappingProxyType(
    {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}
)

Action = NDArray[np.float32]


def _check_case(case: Case) -> None:
    check_planning_case(case, CASE_PREFIX, "loss-arbitrage")


@dataclass(frozen=True, eq=False)
class TemperatureFixedPoint:
    """Record of a plan-once controller's temperature fixed point (module docstring).

    ``moves_k[i]`` is the largest change of any cell's start-of-step temperature between the
    plan of solve ``i`` and the temperatures before it (the idle ones for solve 0), K;
    ``temperatures_c`` are the last plan's own cell temperatures (S4, steps ``t0 … 23`` ×
    devices, °C) and ``previous_c`` those it moved from, so ``moves_k[-1] =
    max |temperatures_c − previous_c|``; the last solve assumed ``previous_c − tolerance_k``
    (``previous_c`` itself on the first, idle, solve). ``converged``: the last move is below
    ``tolerance_k`` on a solve at full tolerance (the first solve never counts), i.e. the
    executed plan is the fixed point to that tolerance.
    """

    moves_k: tuple[float, ...]
    tolerance_k: float
    converged: bool
    temperatures_c: NDArray[np.float64]
    previous_c: NDArray[np.float64]

    @property
    def solves(self) -> int:
        """Solves made."""
        return len(self.moves_k)

    @property
    def move_k(self) -> float:
        """The last solve's temperature move, K (``nan`` before any solve)."""
        return self.moves_k[-1] if self.moves_k else math.nan


class _FixedPointController(PlanOnceController):
    """Plans the day as the temperature fixed point (:meth:`plan_day`)."""

    case: LossArbitrageCase
    plan: Plan | None
    formulation: LossArbitrageFormulation | None
    #: The temperature fixed point of the last ``reset`` (``None`` before).
    fixed_point: TemperatureFixedPoint | None = None

    def plan_day(self, obs: Any, info: Mapping[str, Any], t0: int) -> None:
        """The temperature fixed point on :meth:`day_data` (module docstring), on one
        formulation::

            T⁰ = idle temperatures (S4 without heat);  plan_k = argmin cost(κ(T^k))
            T^{k+1} = plan_temperatures(plan_k) − tol;  stop when max |ΔT| < tol

        with ``ΔT`` the move of the plan's temperatures from the previous plan's (from ``T⁰``
        for the first); the first solve at :data:`TEMPERATURE_PASS_TOLERANCES`, the others at
        :data:`PLAN_TOLERANCES`, at most :data:`TEMPERATURE_MAX_SOLVES`. Every solve is
        recorded in ``results``; without convergence the last is recorded as ``timeout``."""
        from gridbench.cases.loss_arbitrage.formulation import (
            SolveStatus,
            idle_temperatures,
            plan_temperatures,
        )

        data = self.day_data()
        state = self.initial_state(obs, info)
        energy, temp0 = state["energy_mwh"], state["cell_temp_c"]
        amb = np.asarray(data.ambient_c, dtype=float)[t0:]
        tol = TEMPERATURE_TOLERANCE_K
        # the temperatures each plan moves from, and those its solve assumes (rows t0 …)
        own = previous = idle_temperatures(self.config, amb, temp0)
        assumed = np.zeros((24, energy.size))
        assumed[t0:] = previous
        moves: list[float] = []
        converged = False
        form = self.new_formulation()
        try:
            for i in range(TEMPERATURE_MAX_SOLVES):
                if i:
                    previous = own
                    assumed[t0:] = own - tol
                form.update(
                    data, t0=t0, energy_mwh=energy, cell_temp_c=temp0, temperatures_c=assumed
                )
                tolerances = PLAN_TOLERANCES if i else TEMPERATURE_PASS_TOLERANCES
                result = form.solve(time_limit_s=self.time_limit_s, dpp=False, **tolerances)
                self.formulation = form
                if not result.ok:
                    self._record(result, t0)
                    return
                plan = form.plan()
                own = plan_temperatures(self.config, amb, plan.dc_mw, temp0)
                moves.append(float(np.max(np.abs(own - previous), initial=0.0)))
                converged = i > 0 and moves[-1] < tol
                if not converged and i == TEMPERATURE_MAX_SOLVES - 1:
                    result = replace(
                        result,
                        status=SolveStatus.TIMEOUT,
                        message=(
                            f"temperature fixed point not converged: cell temperatures still "
                            f"move {moves[-1]:.2e} K ≥ {tol:g} K after {i + 1} solves"
                        ),
                    )
                self._record(result, t0)
                if converged:
                    self.plan = plan
                    return
        finally:
            self.fixed_point = TemperatureFixedPoint(tuple(moves), tol, converged, own, previous)


class OracleController(_FixedPointController, planning.OracleController):
    """Perfect foresight: the temperature fixed point on the realized day."""


class DayAheadController(_FixedPointController, planning.DayAheadController):
    """The temperature fixed point on the load forecast issued at noon the day before, open
    loop."""


class RuleController(FallbackController):
    """Tariff rule (module docstring); no solver."""

    method = "rule"
    case: LossArbitrageCase

    @cached_property
    def dev(self) -> Any:
        """The devices' parameter arrays (:meth:`~.config.LossArbitrageConfig.devices`)."""
        return self.config.devices()

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        from gridbench.cases.data import tou_tariff

        self._reset_common(info)
        price = tou_tariff(self.config.tariff).price(1.0)
        valley = np.isclose(price, price.min())
        self._charge = valley
        # contiguous windows: hours left in the current window, and which valley it is
        self._left = np.zeros(24, dtype=int)
        for t in range(23, -1, -1):
            same = t < 23 and valley[t + 1] == valley[t]
            self._left[t] = 1 + (self._left[t + 1] if same else 0)
        self._first_valley = valley & (np.cumsum(~valley) == 0)

    def act(self, obs: Any, info: Mapping[str, Any]) -> Action:
        if self.status == "pending":
            raise RuntimeError("RuleController.act() called before reset()")
        t = current_step(obs, info)
        if not 0 <= t < 24:
            return self.idle_action()
        dev = self.dev
        energy = self.case.measured_state(obs, info)["energy_mwh"]
        margin = 0.5 * (1.0 - RULE_WINDOW_SHARE) * dev.window
        if self._first_valley[t]:
            target = dev.f_max - margin
        elif self._charge[t]:
            target = dev.e_init
        else:
            target = dev.f_min + margin
        delta = (energy - target) / self._left[t]  # stored energy to move this hour (> 0 out)
        a = dev.joule * 1.0
        disc = np.maximum(1.0 + 4.0 * a * delta, 0.0)
        x = 2.0 * delta / (1.0 + np.sqrt(disc))  # (x + ρx²)·Δt = delta
        if self._charge[t]:
            x = np.minimum(x, 0.0)
        else:
            x = np.maximum(x, 0.0)
        p = np.where(x > 0.0, x * dev.eta_d, x / dev.eta_c)
        return np.clip(p, -dev.p_max, dev.p_max).astype(np.float32)


#: the bound check's tolerance of this oracle: the temperature fixed point to 1e-4 K (mpc
#: stays 1e-4–1.3e-3 $ above it on all 73 test days): a tenth of a cent per day, ten times
#: below the 0.012 $ by which the two-solve fixed point was beaten
ORACLE_TOLERANCE: Final[BoundTolerance] = BoundTolerance(usd=1e-3, rel=1e-6)


@register_planner("oracle", case_prefix=CASE_PREFIX, tolerance=ORACLE_TOLERANCE)
def loss_arbitrage_oracle(case: LossArbitrageCase, day: datetime.date) -> OracleController:
    """Perfect-foresight bound: the SOCP on the realized day."""
    _check_case(case)
    return OracleController(case, day, PLAN_ONCE_TIME_LIMIT_S)


@register_planner("day-ahead", case_prefix=CASE_PREFIX)
def loss_arbitrage_day_ahead(case: LossArbitrageCase, day: datetime.date) -> DayAheadController:
    """Day-ahead plan on the load forecast issued at noon the day before, open loop."""
    _check_case(case)
    return DayAheadController(case, day, PLAN_ONCE_TIME_LIMIT_S)


@register_planner("mpc", case_prefix=CASE_PREFIX)
def loss_arbitrage_mpc(case: LossArbitrageCase, day: datetime.date) -> MpcController:
    """Shrinking-horizon MPC with hourly re-solves of one compiled (DPP) problem."""
    _check_case(case)
    return MpcController(case, day, MPC_TIME_LIMIT_S)


@register_planner("rule", case_prefix=CASE_PREFIX)
def loss_arbitrage_rule(case: Case, day: datetime.date) -> RuleController:
    """Tariff rule: valley charging, peak discharging, back to the initial energy."""
    _check_case(case)
    return RuleController(case, day)
