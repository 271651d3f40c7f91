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
    (``ORACLE_TEMPERATURE_SOLVES``).
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
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Case
from gridbench.solvers._fallback import FallbackController, current_step
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
DAY_AHEAD_LEAD_H: Final[float] = 12.0
PLAN_ONCE_TIME_LIMIT_S: Final[float] = 60.0
MPC_TIME_LIMIT_S: Final[float] = 10.0
#: Share of the energy window the rule uses.
RULE_WINDOW_SHARE: Final[float] = 0.97
#: Solves of the oracle's temperature fixed point (idle temperatures, then the plan's).
ORACLE_TEMPERATURE_SOLVES: Final[int] = 2

Action = NDArray[np.float32]


def _check_case(case: Case) -> None:
    if not (hasattr(case, "day_data") and hasattr(case, "config")):
        raise ValueError(
            f"case {getattr(case, 'id', case)!r} has the loss-arbitrage prefix {CASE_PREFIX!r} "
            "but no day_data()/config: these planners need a LossArbitrageCase"
        )


class _Controller(FallbackController):
    """Shared state and the idle fallback of the loss-arbitrage controllers."""

    def __init__(self, case: Case, day: datetime.date) -> None:
        dev = case.config.devices()  # type: ignore[attr-defined]
        super().__init__(case, day, dev.n)
        self.dev = dev

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


class _PlanOnceController(_Controller):
    def __init__(self, case: Case, day: datetime.date, time_limit_s: float | None) -> None:
        super().__init__(case, day)
        self.time_limit_s = time_limit_s
        self.plan: Plan | None = None
        self.formulation: LossArbitrageFormulation | None = None

    #: Solves of the temperature fixed point (1: idle cell temperatures only).
    temperature_solves: ClassVar[int] = 1

    def day_data(self) -> LossArbitrageDay:
        raise NotImplementedError

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        from gridbench.cases.loss_arbitrage.formulation import (
            LossArbitrageFormulation,
            plan_temperatures,
        )

        self._reset_common(info)
        self.plan = None
        t0 = current_step(obs, info)
        data = self.day_data()
        energy = self._energy(obs, info)
        temp0 = self._state(obs, info, "cell_temp_c", 2)
        temps = None
        for _ in range(self.temperature_solves):
            form = LossArbitrageFormulation(self.config)
            form.update(data, t0=t0, energy_mwh=energy, cell_temp_c=temp0, temperatures_c=temps)
            result = form.solve(time_limit_s=self.time_limit_s, dpp=False)
            self.formulation = form
            if not self._record(result, t0):
                self.plan = None
                return
            self.plan = form.plan()
            amb = np.asarray(data.ambient_c, dtype=float)
            temps = np.zeros((24, self.dev.n))
            temps[t0:] = plan_temperatures(self.config, amb[t0:], self.plan.dc_mw, temp0)

    def act(self, obs: Any, info: Mapping[str, Any]) -> Action:
        if self.status == "pending":
            raise RuntimeError(f"{type(self).__name__}.act() called before reset()")
        if self.plan is None:
            return self.idle_action()
        k = current_step(obs, info) - self.plan.t0
        if not 0 <= k < self.plan.n_steps:
            return self.idle_action()
        return self.plan.action(k)


class OracleController(_PlanOnceController):
    """Perfect foresight: one solve on the realized day."""

    method = "oracle"
    temperature_solves = ORACLE_TEMPERATURE_SOLVES

    def day_data(self) -> LossArbitrageDay:
        return self.case.day_data(self.day, info="actual")  # type: ignore[attr-defined]


class DayAheadController(_PlanOnceController):
    """One solve on the load forecast issued at noon the day before, open loop."""

    method = "day-ahead"

    def day_data(self) -> LossArbitrageDay:
        return self.case.day_data(  # type: ignore[attr-defined]
            self.day,
            info="forecast",
            seed=self.config.forecast_seed,
            issue_step=0,
            lead_offset_h=DAY_AHEAD_LEAD_H,
        )


class MpcController(_Controller):
    """Shrinking-horizon MPC over one compiled 24-slot problem."""

    method = "mpc"

    def __init__(self, case: Case, day: datetime.date, time_limit_s: float | None) -> None:
        super().__init__(case, day)
        self.time_limit_s = time_limit_s
        self.formulation: LossArbitrageFormulation | None = None
        self.plan: Plan | None = None
        self._planned_step: int | None = None

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        from gridbench.cases.loss_arbitrage.formulation import LossArbitrageFormulation

        self._reset_common(info)
        self.plan, self._planned_step = None, None
        self.formulation = LossArbitrageFormulation(self.config)
        self._replan(obs, info)

    def _replan(self, obs: Any, info: Mapping[str, Any]) -> None:
        form = self.formulation
        if form is None:
            raise RuntimeError("MpcController used before reset()")
        t = min(current_step(obs, info), 23)
        data = self.case.day_data(  # type: ignore[attr-defined]
            self.day, info="forecast", seed=self.config.forecast_seed, issue_step=t
        )
        form.update(
            data,
            t0=t,
            energy_mwh=self._energy(obs, info),
            cell_temp_c=self._state(obs, info, "cell_temp_c", 2),
            budget_left_mwh=(
                np.asarray(info["budget_left_mwh"], dtype=float)
                if "budget_left_mwh" in info
                else self._state(obs, info, "budget_left_mwh", 3) * self.dev.budget
            ),
        )
        result = form.solve(time_limit_s=self.time_limit_s, dpp=True)
        self._planned_step = t
        self.plan = form.plan() if self._record(result, t) else None

    def act(self, obs: Any, info: Mapping[str, Any]) -> Action:
        if self.status == "pending":
            raise RuntimeError("MpcController.act() called before reset()")
        if self.fallback:
            return self.idle_action()
        t = current_step(obs, info)
        if t >= 24:
            return self.idle_action()
        if self._planned_step != t:
            self._replan(obs, info)
        if self.plan is None:
            return self.idle_action()
        return self.plan.action(0)


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
