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
* ``idle`` (the suite's baseline, :mod:`.idle`): the tariff, followers idle;
* ``social`` (bound of the system cost, :class:`SocialMethod`): every player's decisions
  chosen together (the convex social optimum), the tariff posted; not a leader method, the
  reference of the game table's price of hierarchy.

The planning (the MILP) happens in the controller's ``reset`` and is counted as the day's plan
time; the followers' best responses in the first hour's decision.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Case, MethodFamily
from gridbench.cases.stackelberg.leader_view import LeaderController
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
    "social_models",
]

CASE_PREFIX: Final[str] = "stackelberg-"
FloatArray = NDArray[np.float64]


@planning_method
class TouMethod(PlannerMethod):
    """The DSO posts the regulated tariff; the followers best-respond."""

    name: ClassVar[str] = "tou"
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE


class PricePostingController(LeaderController):
    """Posts ``plan()``'s prices in the day-ahead step (planned in ``reset``, timed as the day's
    plan), then plays ``respond`` (default: the followers' exact best responses to the prices
    the referee posted, on the realized day): a
    :class:`~gridbench.cases.stackelberg.leader_view.LeaderController` whose decision is a
    plan. ``certified_bound`` stays NaN: the MILP's bound is one of its own network model, not
    of the referee's (the bound check's tolerance covers the mismatch)."""

    def __init__(self, case: StackelbergCase, day: datetime.date,
                 plan: Callable[[], FloatArray],
                 respond: Callable[[FloatArray], FloatArray] | None = None) -> None:
        super().__init__(case, day, self._planned_prices, respond)
        self._plan = plan
        self._planned: FloatArray | None = None
        self.certified_bound = math.nan

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        super().reset(obs, info)
        self._planned = np.asarray(self._plan(), dtype=np.float64)

    def _planned_prices(self, obs: Any, info: Mapping[str, Any]) -> FloatArray:
        if self._planned is None:
            raise RuntimeError("PricePostingController.act() called before reset()")
        return self._planned


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
        for rung, model in _network_ladder(cfg):
            sol = solve_bilevel(leader_problem(model, data), time_limit_s=self.time_limit_s)
            self.rung = rung
            if sol.status.ok:
                break
        if sol is None or not np.all(np.isfinite(sol.prices)):
            raise RuntimeError(f"bilevel MILP of {self.day}: {sol.status if sol else '?'} "
                               f"({sol.message if sol else 'not solved'})")
        self.solution = sol
        return sol.prices


def _network_ladder(cfg: Any) -> Iterator[tuple[int, Any]]:
    """The configs of :data:`NETWORK_LADDER`, in order."""
    for rung, network in enumerate(NETWORK_LADDER):
        yield rung, (cfg if rung == 0 else cfg.model_copy(
            update={"network": cfg.network.model_copy(update=network)}))


def social_models(cfg: Any) -> Iterator[tuple[Any, FloatArray | None]]:
    """The social optimum's network models, in the order tried: the :data:`NETWORK_LADDER`
    with the referee's line ratings (a social planner keeps them), then without them. Yields
    ``(config, line ratings in MVA or None)``."""
    from gridbench.cases.grid import load_grid
    from gridbench.cases.stackelberg.core import line_ratings_mva

    ratings = line_ratings_mva(cfg, load_grid("feeder38"))
    for limits in (ratings, None):
        for _, model in _network_ladder(cfg):
            yield model, limits


@planning_method
class SocialMethod(PlannerMethod):
    """The social optimum (spec §6 ``social``; a bound on the *system cost*, not on the DSO's
    profit): every player's decisions chosen together to minimize the system cost on the
    realized day (the convex QP of :func:`~gridbench.cases.stackelberg.bilevel.solve_social`,
    Clarabel, in the bilevel MILP's network model with the referee's line ratings added, then
    its :data:`NETWORK_LADDER`, the ladder again without the ratings last), played
    through the referee with the tariff posted (prices are transfers: the system cost does not
    depend on them; the players' split of it does). Its rows give the game table's price of
    hierarchy."""

    name: ClassVar[str] = "social"
    family: ClassVar[MethodFamily] = MethodFamily.BOUND


class SocialSchedule:
    """The followers' part of the social optimum on the realized day as the referee's device
    schedule (``solution``: the last :class:`~.bilevel.SocialSolution`, ``rung`` its network
    model's rung)."""

    def __init__(self, case: StackelbergCase, day: datetime.date) -> None:
        self.case, self.day = case, day
        self.solution: Any = None
        self.rung = 0

    def __call__(self, posted: FloatArray) -> FloatArray:
        from gridbench.cases.stackelberg.bilevel import solve_social
        from gridbench.cases.stackelberg.leader_view import device_schedule
        from gridbench.cases.stackelberg.players import leader_problem

        data = self.case.game(self.day)
        for rung, (model, limits) in enumerate(social_models(self.case.config)):
            problem = leader_problem(model, data, line_ratings=limits)
            sol = solve_social(problem)
            self.solution, self.rung = sol, rung
            if sol.status.ok:
                break
        if not sol.status.ok:
            raise RuntimeError(f"social optimum of {self.day}: {sol.status}")
        values: dict[str, float] = {}
        for f in problem.followers:
            values.update(zip(f.variables, sol.responses[f.name].tolist(), strict=True))
        return device_schedule(self.case.config, data, values)


@register_planner("social", case_prefix=CASE_PREFIX)
def stackelberg_social(case: Case, day: datetime.date) -> PricePostingController:
    from gridbench.cases.stackelberg.players import tariff_prices

    return PricePostingController(case, day, lambda: tariff_prices(case.config),  # type: ignore[arg-type,attr-defined]
                                  SocialSchedule(case, day))  # type: ignore[arg-type]


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
