"""Solvers and baselines of the Stackelberg cases (``stackelberg-*``; spec §6).

Every method here is a *leader* method: it posts the day's 96 prices in the day-ahead step,
and the followers then play their exact best responses to the posted (admissible) prices on
the realized day, hour by hour (:class:`PricePostingController`;
:func:`~gridbench.cases.stackelberg.leader_view.best_response_schedule`). The methods differ in
the prices:

* ``oracle`` (bound; the spec's ``bilevel-oracle``): the single-level MILP
  (:func:`~gridbench.cases.stackelberg.bilevel.solve_bilevel`) on the realized day, HiGHS to a
  1e-4 MIP gap. A bound on the DSO's profit against rational followers *in the MILP's network
  model* (LinDistFlow, tangent losses): the referee prices the same responses with AC losses,
  and the difference is the model mismatch (spec §3, certification 4: measured by
  ``tests/test_stackelberg_referee.py`` on 2016-06-14, bounded by :data:`ORACLE_TOLERANCE` in
  the bound check); where the narrowed voltage band leaves no feasible prices the network
  model is loosened (:data:`NETWORK_LADDER`);
* ``day-ahead`` (solver; the spec's ``bilevel-day-ahead``): the same MILP on the day-ahead
  forecast (issued ``day_ahead_lead_h`` before midnight);
* ``tou`` (baseline): the regulated tariff (λTOU for what LA and the storage player buy, λFIT
  for what EA and the storage sell), made admissible by the referee (the average caps);
* ``idle`` (the suite's baseline, :mod:`.idle`): the tariff, followers idle.

The planning (the MILP) happens in the controller's ``reset`` and is counted as the day's plan
time; the followers' best responses in the first hour's decision.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Case, MethodFamily
from gridbench.solvers.planners import (
    BoundTolerance,
    PlannerMethod,
    planning_method,
    register_planner,
)

if TYPE_CHECKING:
    from gridbench.cases.stackelberg.case import StackelbergCase

__all__ = [
    "CASE_PREFIX",
    "ORACLE_TOLERANCE",
    "PricePostingController",
    "TouMethod",
]

CASE_PREFIX: Final[str] = "stackelberg-"
FloatArray = NDArray[np.float64]


@planning_method
class TouMethod(PlannerMethod):
    """The DSO posts the regulated tariff; the followers best-respond."""

    name: ClassVar[str] = "tou"
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE


class PricePostingController:
    """Posts ``plan()``'s prices in the day-ahead step, then plays the followers' best
    responses to the prices the referee posted (``info["prices"]`` of that step) on the
    realized day (module docstring). ``certified_bound`` stays NaN: the MILP's bound is one of
    its own network model, not of the referee's (the bound check's tolerance covers the
    mismatch)."""

    def __init__(self, case: StackelbergCase, day: datetime.date,
                 plan: Callable[[], FloatArray]) -> None:
        self.case, self.day = case, day
        self._plan = plan
        self.certified_bound = math.nan
        self.prices: FloatArray | None = None
        self._schedule: FloatArray | None = None

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        self.prices = np.asarray(self._plan(), dtype=np.float64)
        self._schedule = None
        self._idle = np.asarray(info["idle_action"], dtype=np.float64)

    def act(self, obs: Any, info: Mapping[str, Any]) -> NDArray[np.float64]:
        if self.prices is None:
            raise RuntimeError("PricePostingController.act() called before reset()")
        action = self._idle.copy()
        if info["next_layer"] == "day_ahead":
            action[: self.prices.size] = self.prices
            return action
        if self._schedule is None:
            posted = info.get("prices")
            if posted is None:
                raise ValueError("the first hour's info carries no posted 'prices'")
            from gridbench.cases.stackelberg.leader_view import best_response_schedule

            realized = self.case.game(self.day)
            self._schedule = best_response_schedule(self.case.config, realized,
                                                    np.asarray(posted))
        action[self.prices.size:] = self._schedule[int(info["next_step"])]
        return action


#: The MILP's network model, loosened in this order where it leaves no feasible prices: as
#: configured (the band narrowed by ``milp_margin_pu`` for the AC referee), then the
#: referee's own band (margin 0), then no voltage band (the flows and losses kept). On some
#: days the must-sell PV and wind hold a bus between 1.045 and 1.05 pu whatever the prices
#: (e.g. 2016-03-18), so the narrowed band is infeasible; the rung used is the plan's ``rung``.
NETWORK_LADDER: Final[tuple[dict[str, float], ...]] = (
    {},
    {"milp_margin_pu": 0.0},
    {"milp_margin_pu": 0.0, "v_min_pu": 0.5, "v_max_pu": 1.5},
)


class BilevelPlan:
    """The MILP's prices on ``day``'s data (realized or the day-ahead forecast), with its
    outcome kept for the row (``objective``, ``dual_bound``, ``mip_gap``, ``solve_s``)."""

    def __init__(self, case: StackelbergCase, day: datetime.date, *, forecast: bool,
                 time_limit_s: float = 300.0) -> None:
        self.case, self.day, self.forecast = case, day, forecast
        self.time_limit_s = time_limit_s
        self.solution: Any = None
        self.rung = 0

    def __call__(self) -> FloatArray:
        from gridbench.cases.stackelberg.bilevel import solve_bilevel
        from gridbench.cases.stackelberg.players import game_day, leader_problem

        cfg = self.case.config
        if self.forecast:
            data = game_day(cfg, self.day, info="forecast", seed=cfg.forecast_seed,
                            issue_step=0, lead_offset_h=cfg.day_ahead_lead_h)
        else:
            data = self.case.game(self.day)
        sol = None
        for rung, network in enumerate(NETWORK_LADDER):
            model = cfg if rung == 0 else cfg.model_copy(
                update={"network": cfg.network.model_copy(update=network)})
            sol = solve_bilevel(leader_problem(model, data), time_limit_s=self.time_limit_s)
            if sol.status.ok:
                break
        if sol is None or not np.all(np.isfinite(sol.prices)):
            raise RuntimeError(f"bilevel MILP of {self.day}: {sol.status if sol else '?'} "
                               f"({sol.message if sol else 'not solved'})")
        self.rung = rung
        self.solution = sol
        return sol.prices


#: The bound check's tolerance of this oracle: its model mismatch against the AC referee
#: (LinDistFlow with tangent losses against AC losses) plus the MIP gap. Measured on the 73
#: test days: ``day-ahead`` at most 0.50 $ (0.05 %) below it (README of ``cases/stackelberg``).
ORACLE_TOLERANCE: Final[BoundTolerance] = BoundTolerance(usd=5.0, rel=1e-2)


@register_planner("oracle", case_prefix=CASE_PREFIX, tolerance=ORACLE_TOLERANCE)
def stackelberg_oracle(case: Case, day: datetime.date) -> PricePostingController:
    return PricePostingController(case, day, BilevelPlan(case, day, forecast=False))  # type: ignore[arg-type]


@register_planner("day-ahead", case_prefix=CASE_PREFIX)
def stackelberg_day_ahead(case: Case, day: datetime.date) -> PricePostingController:
    return PricePostingController(case, day, BilevelPlan(case, day, forecast=True))  # type: ignore[arg-type]


@register_planner("tou", case_prefix=CASE_PREFIX)
def stackelberg_tou(case: Case, day: datetime.date) -> PricePostingController:
    from gridbench.cases.stackelberg.players import tariff_prices

    # the tariff is the same every day (players.tariff_prices needs no day data)
    return PricePostingController(case, day, lambda: tariff_prices(case.config))  # type: ignore[arg-type,attr-defined]
