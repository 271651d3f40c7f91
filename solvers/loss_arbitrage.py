"""Optimization methods and the tariff rule of the loss-arbitrage case (``loss-arbitrage-*``).

The planning methods solve the case's SOCP
(:mod:`gridbench.cases.loss_arbitrage.formulation`: branch flow with the Farivar–Low
relaxation, the remaining-available-energy model, Clarabel) on the same
:class:`~gridbench.cases.loss_arbitrage.day.LossArbitrageDay` objects the referee simulates:

``oracle`` (``bound``)
    perfect foresight on the realized day in ``reset``, replayed. The polarization term needs
    the cell temperatures, which depend on the schedule (joule heating): the first solve uses
    the temperatures of idle cells (the ambient through (S4); the referee's cells are never
    colder, so that plan is executable), the second the temperatures the first plan's heat
    gives (:func:`~gridbench.cases.loss_arbitrage.formulation.plan_temperatures`) — the
    temperature-dependent terms known ahead, as far as a convex model can know them
    (``ORACLE_TEMPERATURE_SOLVES``). Only the last plan is executed: the earlier solves only
    decide temperatures, so they stop at ``TEMPERATURE_PASS_TOLERANCES`` (about 20 instead of
    35 interior-point iterations). Over the 73 test days that moves the executed plan by at
    most 5.4e-5 MW (median 4e-6) and its objective by at most 5e-5 $, below the fixed point's
    own truncation after two solves (up to 6e-4 MW from the converged point). All solves use
    one formulation (cvxpy's solving chain and Clarabel's solver are reused; the values are
    canonicalized again).
``day-ahead`` (``solver``)
    one solve on the load forecast issued at noon the day before, open loop.
``mpc`` (``solver``)
    shrinking horizon: at every hour the forecast issued at that hour, the measured cell
    energies, temperatures and remaining cycle budgets refill one compiled (DPP) 24-slot
    problem; the first step is applied.
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
from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Case
from gridbench.solvers._fallback import FallbackController, current_step
from gridbench.solvers._planned import MpcController as _MpcController
from gridbench.solvers._planned import PlanOnceController, check_planning_case
from gridbench.solvers.planners import register_planner

if TYPE_CHECKING:
    from gridbench.cases.loss_arbitrage.day import LossArbitrageDay
    from gridbench.cases.loss_arbitrage.formulation import (
        LossArbitrageFormulation,
        Plan,
    )

__all__ = [
    "CASE_PREFIX",
    "DayAheadController",
    "MpcController",
    "OracleController",
    "RuleController",
]

logger = logging.getLogger(__name__)

CASE_PREFIX: Final[str] = "loss-arbitrage-"
PLAN_ONCE_TIME_LIMIT_S: Final[float] = 60.0
MPC_TIME_LIMIT_S: Final[float] = 10.0
#: Share of the energy window the rule uses.
RULE_WINDOW_SHARE: Final[float] = 0.97
#: Solves of the oracle's temperature fixed point (idle temperatures, then the plan's).
ORACLE_TEMPERATURE_SOLVES: Final[int] = 2
#: Clarabel tolerances of the fixed point's solves before the last (their plans only decide
#: the cell temperatures of the next solve): 1e-4 instead of 1e-8 moves the executed plan by
#: at most 5.4e-5 MW over the 73 test days (module docstring).
TEMPERATURE_PASS_TOLERANCES: Final[Mapping[str, float]] = MappingProxyType(
    {"tol_gap_abs": 1e-4, "tol_gap_rel": 1e-4, "tol_feas": 1e-4}
)
#: Clarabel's default tolerances, set explicitly for the last solve (a refilled solver keeps
#: the settings of the previous solve unless told otherwise).
PLAN_TOLERANCES: Final[Mapping[str, float]] = MappingProxyType(
    {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}
)

Action = NDArray[np.float32]


def _check_case(case: Case) -> None:
    check_planning_case(case, CASE_PREFIX, "loss-arbitrage")


class _Controller(FallbackController):
    """The measured state of the loss-arbitrage case (its controllers' shared readers)."""

    @classmethod
    def n_setpoints(cls, case: Case) -> int:
        return int(case.config.devices().n)  # type: ignore[attr-defined]

    @cached_property
    def dev(self) -> Any:
        """The devices' parameter arrays (:meth:`~.config.LossArbitrageConfig.devices`)."""
        return self.config.devices()

    def _state(
        self, obs: Any, info: Mapping[str, Any], key: str, entry: int
    ) -> NDArray[np.float64]:
        """A per-device state from ``info[key]``, else from the observation's device block."""
        if key in info and np.size(info[key]) == self.dev.n:
            return np.asarray(info[key], dtype=float)
        from gridbench.cases.loss_arbitrage.core import (
            DEVICE_OBSERVATION_NAMES,
            OBSERVATION_NAMES,
        )

        flat = np.asarray(obs, dtype=float).reshape(-1)
        block = flat[len(OBSERVATION_NAMES) :].reshape(self.dev.n, len(DEVICE_OBSERVATION_NAMES))
        return block[:, entry].copy()

    def _energy(self, obs: Any, info: Mapping[str, Any]) -> NDArray[np.float64]:
        if "energy_mwh" in info:
            return np.asarray(info["energy_mwh"], dtype=float)
        return self._state(obs, info, "energy_mwh", 0) * self.dev.e_cap

    def new_formulation(self) -> LossArbitrageFormulation:
        from gridbench.cases.loss_arbitrage.formulation import LossArbitrageFormulation

        return LossArbitrageFormulation(self.config)


class _PlanOnceController(_Controller, PlanOnceController):
    plan: Plan | None
    formulation: LossArbitrageFormulation | None

    #: Solves of the temperature fixed point (1: idle cell temperatures only).
    temperature_solves: ClassVar[int] = 1

    def plan_day(self, obs: Any, info: Mapping[str, Any], t0: int) -> None:
        """``temperature_solves`` solves on :meth:`day_data`: the first with idle cell
        temperatures, each later one with the temperatures the previous plan's heat gives;
        all but the last at :data:`TEMPERATURE_PASS_TOLERANCES`, on one formulation."""
        from gridbench.cases.loss_arbitrage.formulation import plan_temperatures

        data = self.day_data()
        energy = self._energy(obs, info)
        temp0 = self._state(obs, info, "cell_temp_c", 2)
        temps = None
        form = self.new_formulation()
        for i in range(self.temperature_solves):
            last = i == self.temperature_solves - 1
            form.update(data, t0=t0, energy_mwh=energy, cell_temp_c=temp0, temperatures_c=temps)
            tolerances = PLAN_TOLERANCES if last else TEMPERATURE_PASS_TOLERANCES
            plan = self._solve(form, t0, dpp=False, **tolerances)
            if plan is None or last:
                return
            amb = np.asarray(data.ambient_c, dtype=float)
            temps = np.zeros((24, self.dev.n))
            temps[t0:] = plan_temperatures(self.config, amb[t0:], plan.dc_mw, temp0)


class OracleController(_PlanOnceController):
    """Perfect foresight: one solve on the realized day."""

    method = "oracle"
    temperature_solves = ORACLE_TEMPERATURE_SOLVES

    def day_data(self) -> LossArbitrageDay:
        return self.actual_day()


class DayAheadController(_PlanOnceController):
    """One solve on the load forecast issued at noon the day before, open loop."""

    method = "day-ahead"

    def day_data(self) -> LossArbitrageDay:
        return self.day_ahead_forecast()


class MpcController(_Controller, _MpcController):
    """Shrinking-horizon MPC over one compiled 24-slot problem."""

    method = "mpc"
    plan: Plan | None
    formulation: LossArbitrageFormulation | None

    def mpc_state(self, obs: Any, info: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "energy_mwh": self._energy(obs, info),
            "cell_temp_c": self._state(obs, info, "cell_temp_c", 2),
            "budget_left_mwh": (
                np.asarray(info["budget_left_mwh"], dtype=float)
                if "budget_left_mwh" in info
                else self._state(obs, info, "budget_left_mwh", 3) * self.dev.budget
            ),
        }


class RuleController(_Controller):
    """Tariff rule (module docstring); no solver."""

    method = "rule"

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
        energy = self._energy(obs, info)
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


@register_planner("oracle", case_prefix=CASE_PREFIX)
def loss_arbitrage_oracle(case: Case, day: datetime.date) -> OracleController:
    """Perfect-foresight bound: the SOCP on the realized day."""
    _check_case(case)
    return OracleController(case, day, PLAN_ONCE_TIME_LIMIT_S)


@register_planner("day-ahead", case_prefix=CASE_PREFIX)
def loss_arbitrage_day_ahead(case: Case, day: datetime.date) -> DayAheadController:
    """Day-ahead plan on the load forecast issued at noon the day before, open loop."""
    _check_case(case)
    return DayAheadController(case, day, PLAN_ONCE_TIME_LIMIT_S)


@register_planner("mpc", case_prefix=CASE_PREFIX)
def loss_arbitrage_mpc(case: Case, day: datetime.date) -> MpcController:
    """Shrinking-horizon MPC with hourly re-solves of one compiled (DPP) problem."""
    _check_case(case)
    return MpcController(case, day, MPC_TIME_LIMIT_S)


@register_planner("rule", case_prefix=CASE_PREFIX)
def loss_arbitrage_rule(case: Case, day: datetime.date) -> RuleController:
    """Tariff rule: valley charging, peak discharging, back to the initial energy."""
    _check_case(case)
    return RuleController(case, day)
